"""POST /api/activities/batch: up to 10,000 activities per call, matched by id, e-mail or
external id; unknown leads refused one by one, the rest stored together."""

from datetime import timedelta

from django.utils import timezone

from leadflow.api.testing import client_for, post_json
from leadflow.intake.models import IdempotencyKey
from leadflow.leads.models import Activity, Campaign

URL = "/api/activities/batch"


def _at(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def test_it_matches_leads_by_id_email_and_external_id(world):
    by_id = world.lead(email="id@example.com")
    by_email = world.lead(email="dana.cho@example.com")
    by_external = world.lead(email="x@example.com", external_id="crm-42")
    response = post_json(
        client_for(world.marketing),
        URL,
        {
            "activities": [
                {"lead": by_id.pk, "kind": "web_visit", "url": "/blog", "occurred_at": _at(3)},
                {"email": "Dana.Cho@Example.com", "kind": "email_open", "occurred_at": _at(2)},
                {"external_id": "crm-42", "kind": "form_fill", "occurred_at": _at(1)},
            ]
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "received": 3, "stored": 3, "refused": [], "qualified": [], "queued": []
    }
    assert list(Activity.objects.order_by("occurred_at").values_list("lead_id", "kind")) == [
        (by_id.pk, "web_visit"),
        (by_email.pk, "email_open"),
        (by_external.pk, "form_fill"),
    ]
    visit = Activity.objects.get(kind="web_visit")
    assert (visit.url, visit.source_system) == ("/blog", "api")


def test_unknown_leads_are_refused_by_index_and_the_rest_stored(world):
    lead = world.lead()
    response = post_json(
        client_for(world.marketing),
        URL,
        {
            "activities": [
                {"lead": lead.pk, "kind": "web_visit"},
                {"lead": 999_999, "kind": "web_visit"},
                {"email": "nobody@example.com", "kind": "email_click"},
                {"external_id": "nope", "kind": "form_fill"},
                {"lead": lead.pk, "kind": "email_open"},
            ]
        },
    )
    body = response.json()
    assert (body["received"], body["stored"]) == (5, 2)
    assert [(r["index"], r["code"]) for r in body["refused"]] == [
        (1, "unknown-lead"),
        (2, "unknown-lead"),
        (3, "unknown-lead"),
    ]
    assert body["refused"][1]["detail"] == "no lead has the e-mail nobody@example.com"
    assert Activity.objects.filter(lead=lead).count() == 2


def test_an_email_shared_by_several_leads_goes_to_the_newest_open_one(world):
    older = world.lead(email="same@example.com")
    newer = world.lead(email="same@example.com")
    post_json(client_for(world.marketing), URL,
              {"activities": [{"email": "same@example.com", "kind": "web_visit"}]})
    assert list(Activity.objects.values_list("lead_id", flat=True)) == [newer.pk]
    assert not older.activities.exists()


def test_campaigns_and_actors_are_found_or_the_activity_refused(world):
    lead = world.lead()
    campaign = Campaign.objects.create(source=world.source, name="Webinar", external_id="wb-1")
    response = post_json(
        client_for(world.marketing),
        URL,
        {
            "activities": [
                {"lead": lead.pk, "kind": "webinar_attended", "campaign": "wb-1"},
                {"lead": lead.pk, "kind": "email_click", "campaign": campaign.pk},
                {"lead": lead.pk, "kind": "email_click", "campaign": "no-such"},
                {"lead": lead.pk, "kind": "call", "actor": "nobody"},
                {"lead": lead.pk, "kind": "web_visit", "occurred_at": _at(-2)},
            ]
        },
    )
    body = response.json()
    assert [(r["index"], r["code"]) for r in body["refused"]] == [
        (2, "unknown-campaign"),
        (3, "unknown-actor"),
        (4, "in-the-future"),
    ]
    assert set(Activity.objects.values_list("campaign_id", flat=True)) == {campaign.pk}


def test_a_malformed_activity_rejects_the_batch_naming_it(world):
    lead = world.lead()
    response = post_json(
        client_for(world.marketing),
        URL,
        {"activities": [{"lead": lead.pk, "kind": "web_visit"}, {"lead": lead.pk, "kind": "x"}]},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "activities.1.kind"
    assert not Activity.objects.exists()


def test_each_activity_names_exactly_one_lead_reference(world):
    lead = world.lead()
    response = post_json(
        client_for(world.marketing),
        URL,
        {"activities": [{"lead": lead.pk, "email": "pat@example.com", "kind": "web_visit"}]},
    )
    assert response.status_code == 422
    assert "exactly one of lead, email or external_id" in response.json()["detail"]


def test_a_batch_holds_at_most_ten_thousand_activities(world):
    lead = world.lead()
    response = post_json(
        client_for(world.marketing),
        URL,
        {"activities": [{"lead": lead.pk, "kind": "web_visit"}] * 10_001},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "activities"
    assert not Activity.objects.exists()


def test_a_retried_batch_with_the_same_key_is_stored_once(world):
    lead = world.lead()
    client = client_for(world.marketing)
    payload = {"activities": [{"lead": lead.pk, "kind": "web_visit"}]}
    key = {"Idempotency-Key": "batch-7"}
    first = client.post(URL, payload, content_type="application/json", headers=key)
    again = client.post(URL, payload, content_type="application/json", headers=key)
    assert first.json() == again.json() == {
        "received": 1, "stored": 1, "refused": [], "qualified": [], "queued": []
    }
    assert again["Idempotent-Replayed"] == "true"
    assert Activity.objects.count() == 1
    assert IdempotencyKey.objects.filter(key="batch-7").count() == 1
    other = {"activities": [{"lead": lead.pk, "kind": "form_fill"}]}
    reused = client.post(URL, other, content_type="application/json", headers=key)
    assert reused.status_code == 422
    assert reused.json()["field"] == "Idempotency-Key"
    assert Activity.objects.count() == 1


def test_a_rep_records_activities_only_on_leads_they_may_see(world):
    theirs = world.lead_at("sal")
    other = world.lead()
    response = post_json(
        client_for(theirs.owner),
        URL,
        {"activities": [{"lead": theirs.pk, "kind": "call"}, {"lead": other.pk, "kind": "call"}]},
    )
    body = response.json()
    assert body["stored"] == 1
    assert body["refused"] == [
        {"index": 1, "code": "unknown-lead", "detail": f"there is no lead {other.pk}"}
    ]


def test_the_arbiter_records_no_activities(world):
    lead = world.lead()
    response = post_json(
        client_for(world.arbiter), URL, {"activities": [{"lead": lead.pk, "kind": "note"}]}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
