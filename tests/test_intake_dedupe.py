"""A person who arrives again is merged into their lead, by the merge policy, not duplicated."""

from leadflow.api.testing import client_for, post_json
from leadflow.leads.models import Activity, Campaign, Lead, StageChange


def test_the_same_email_in_another_case_and_with_a_gmail_tag_is_merged(world):
    api = client_for(world.marketing)
    first = post_json(
        api, "/api/leads",
        {"source": "Organic Web", "email": "Ana.Ruiz@gmail.com", "first_name": "Ana",
         "title": "Analyst", "phone": "+1 555 0100"},
    )
    assert first.status_code == 201, first.content
    again = post_json(
        api, "/api/leads",
        {"source": "Organic Web", "email": "ana.ruiz+webinar@GMAIL.com", "title": "VP Sales",
         "phone": "", "custom": {"segment": "enterprise"}},
    )
    assert again.status_code == 200, again.content
    body = again.json()
    assert (body["result"], body["id"]) == ("merged", first.json()["id"])
    assert body["changed"] == ["custom", "title"]
    lead = Lead.objects.get()
    # Newest non-blank wins; a blank never erases; the e-mail the lead was found by stays.
    assert (lead.title, lead.phone, lead.email) == ("VP Sales", "+1 555 0100", "Ana.Ruiz@gmail.com")
    assert lead.custom == {"segment": "enterprise"}
    assert lead.version == 2
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.source_system) == ("form_fill", "api")
    assert "changed custom, title" in activity.detail
    # Only one creation in the history: the merge is not a stage change.
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_a_plus_tag_at_an_unknown_provider_is_another_person(world):
    api = client_for(world.marketing)
    post_json(api, "/api/leads", {"source": "Organic Web", "email": "jo@firm.example"})
    other = post_json(
        api, "/api/leads", {"source": "Organic Web", "email": "jo+sales@firm.example"}
    )
    assert other.json()["result"] == "created"
    assert Lead.objects.count() == 2


def test_a_lead_is_found_by_external_id_when_the_email_is_new(world):
    api = client_for(world.marketing)
    first = post_json(
        api, "/api/leads", {"source": "Organic Web", "external_id": "crm-7", "company": "Acme"}
    )
    again = post_json(
        api, "/api/leads",
        {"source": "Organic Web", "external_id": "crm-7", "email": "kim@acme.example",
         "company": "Acme Corp"},
    )
    assert again.json()["result"] == "merged"
    lead = Lead.objects.get(pk=first.json()["id"])
    # The lead had no e-mail: the one that arrived is set; the company is the newest.
    assert (lead.email, lead.company) == ("kim@acme.example", "Acme Corp")
    assert Lead.objects.count() == 1


def test_source_and_campaign_stay_those_of_the_first_touch(world):
    webinar = Campaign.objects.create(source=world.source, name="Webinar")
    api = client_for(world.marketing)
    first = post_json(api, "/api/leads", {"source": "Organic Web", "email": "li@x.example"})
    again = post_json(
        api, "/api/leads",
        {"source": "Organic Web", "campaign": webinar.pk, "email": "li@x.example"},
    )
    assert (again.status_code, again.json()["changed"]) == (200, [])
    lead = Lead.objects.get(pk=first.json()["id"])
    assert lead.campaign is None
    # The new touch carries its own campaign.
    assert Activity.objects.get(lead=lead).campaign == webinar


def test_a_merge_never_moves_the_lead(world):
    lead = world.lead_at("sal", email="sam@acme.example")
    owner, stage = lead.owner, lead.stage
    response = post_json(
        client_for(world.marketing), "/api/leads",
        {"source": "Organic Web", "email": "sam@acme.example", "title": "CTO"},
    )
    assert response.json()["result"] == "merged"
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.title) == (stage, owner, "CTO")
