"""POST /api/activities: one activity, through log_activity; GET a lead's activities."""

from django.test import Client

from leadflow.api.testing import client_for, post_json
from leadflow.leads.models import Activity


def test_it_records_one_activity_and_shows_it_on_the_timeline(world):
    lead = world.lead()
    client = client_for(world.marketing)
    response = post_json(
        client,
        "/api/activities",
        {"lead": lead.pk, "kind": "content_download", "detail": "State of RevOps report"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    activity = Activity.objects.get()
    assert body["activity"]["id"] == activity.pk
    assert (body["activity"]["lead"], body["activity"]["kind"]) == (lead.pk, "content_download")
    listed = client.get(f"/api/leads/{lead.pk}/activities").json()
    assert [a["id"] for a in listed] == [activity.pk]
    browser = Client()
    browser.force_login(world.marketing)
    page = browser.get(f"/leads/{lead.pk}/").text
    assert 'data-activity="content_download"' in page


def test_an_unknown_lead_is_refused_by_field(world):
    response = post_json(
        client_for(world.marketing), "/api/activities", {"email": "no@x.com", "kind": "web_visit"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown-lead"
    assert response.json()["field"] == "email"
