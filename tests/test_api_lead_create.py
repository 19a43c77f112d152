"""POST /api/leads: marketing creates a lead at inquiry; a bad input is refused by name."""

from leadflow.api.testing import client_for, post_json
from leadflow.leads.models import Campaign, Lead, Source, StageChange


def test_marketing_creates_a_lead_at_inquiry(world):
    campaign = Campaign.objects.create(source=world.source, name="Spring webinar")
    response = post_json(
        client_for(world.marketing),
        "/api/leads",
        {
            "source": "Organic Web",
            "campaign": campaign.pk,
            "first_name": "Ana",
            "email": "ana@example.com",
            "employee_count": 250,
            "custom": {"segment": "mid-market"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/api/leads/{lead.pk}"
    assert body["url"] == response["Location"]
    assert (lead.stage, lead.source, lead.campaign) == ("inquiry", world.source, campaign)
    assert (lead.email, lead.employee_count, lead.custom["segment"]) == (
        "ana@example.com",
        250,
        "mid-market",
    )
    assert lead.owner_team == world.marketing_team
    assert StageChange.objects.filter(
        lead=lead, transition="create", actor=world.marketing
    ).exists()


def test_the_source_may_be_given_by_id(world):
    response = post_json(client_for(world.marketing), "/api/leads", {"source": world.source.pk})
    assert response.status_code == 201
    assert response.json()["source"] == {"id": world.source.pk, "name": "Organic Web"}


def test_an_unknown_field_is_refused_by_name(world):
    response = post_json(
        client_for(world.marketing), "/api/leads", {"source": "Organic Web", "emial": "x@y.com"}
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["field"] == "emial"
    assert body["errors"] == [{"field": "emial", "message": "Extra inputs are not permitted"}]
    assert not Lead.objects.exists()


def test_an_invalid_value_is_refused_by_name(world):
    response = post_json(
        client_for(world.marketing), "/api/leads", {"source": "Organic Web", "email": "not-mail"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "email"
    assert response.json()["code"] == "invalid-input"


def test_several_invalid_values_are_all_named(world):
    response = post_json(
        client_for(world.marketing),
        "/api/leads",
        {"source": "Organic Web", "email": "not-mail", "country": "Germany"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"email", "country"}


def test_an_unknown_source_is_refused_by_name(world):
    response = post_json(client_for(world.marketing), "/api/leads", {"source": "Billboards"})
    assert response.status_code == 422
    assert response.json()["field"] == "source"


def test_a_campaign_of_another_source_is_refused(world):
    other = Source.objects.create(name="Events")
    campaign = Campaign.objects.create(source=other, name="Trade fair")
    response = post_json(
        client_for(world.marketing),
        "/api/leads",
        {"source": "Organic Web", "campaign": campaign.pk},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "campaign"
    assert not Lead.objects.exists()


def test_inside_sales_may_not_create_leads(world):
    response = post_json(client_for(world.sdr), "/api/leads", {"source": "Organic Web"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Lead.objects.exists()
