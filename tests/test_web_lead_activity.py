"""Logging a call, meeting or note from the lead page: who works the lead logs it, the panel is
swapped in place, and the first one after acceptance stops the first-touch clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from leadflow.leads.models import Activity, ActivityKind
from leadflow.web.testing import element, text

HTMX = {"HX-Request": "true"}
TUESDAY_10 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(TUESDAY_10, tick=False) as traveller:
        yield traveller


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def log(client, lead, kind, detail="", *, htmx=True):
    data = {"kind": kind, "detail": detail}
    return client.post(f"/leads/{lead.pk}/activity/", data, headers=HTMX if htmx else {})


def accepted(world):
    """A lead sdr accepted, its first touch due."""
    world.sdr2.out_of_office = True
    world.sdr2.save()
    lead = world.lead_at("sal")
    assert lead.owner == world.sdr
    return lead


def test_the_owner_sees_a_log_activity_form_with_call_meeting_and_note(world):
    lead = accepted(world)
    html = client_as(world.sdr).get(f"/leads/{lead.pk}/").text
    form = element(html, "activity-form")
    assert f'hx-post="/leads/{lead.pk}/activity/"' in form
    assert 'hx-target="#lead-panel"' in form
    assert '<label class="form-label" for="id_activity_kind">What happened' in form
    assert '<label class="form-label" for="id_activity_detail">Detail' in form
    assert [o for o in ("call", "meeting", "note") if f'<option value="{o}"' in form] == [
        "call",
        "meeting",
        "note",
    ]
    assert 'value="email_open"' not in form  # marketing's activities come from their tools
    assert "it stops the clock due 4 Mar 2025, 11:00 UTC" in text(element(html, "activity-card"))


def test_a_call_stops_the_first_touch_clock_and_shows_in_the_timeline(world, clock):
    lead = accepted(world)
    clock.shift(timedelta(minutes=20))
    response = log(client_as(world.sdr), lead, "call", "Spoke to Dana: demo on Friday")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="lead-panel"')
    assert (
        "Call logged. It is the first touch since the lead was accepted: that clock has stopped."
        in text(response.text)
    )
    timeline = element(response.text, "timeline")
    assert 'data-kind="activity" data-activity="call"' in timeline
    assert "Spoke to Dana: demo on Friday" in text(timeline)
    assert "First touch 4 Mar 2025, 10:20 UTC" in text(element(response.text, "handoff-card"))
    offer = lead.handoffs.get()
    assert offer.first_touch_at == TUESDAY_10 + timedelta(minutes=20)
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.actor, activity.detail) == (
        ActivityKind.CALL,
        world.sdr,
        "Spoke to Dana: demo on Friday",
    )

    # The next activity is just logged: the clock stopped already.
    clock.shift(timedelta(minutes=5))
    response = log(client_as(world.sdr), lead, "meeting")
    assert "Meeting logged." in text(response.text)
    assert "first touch since" not in text(response.text)
    offer.refresh_from_db()
    assert offer.first_touch_at == TUESDAY_10 + timedelta(minutes=20)


def test_the_owners_manager_may_log_too(world):
    lead = accepted(world)
    assert 'id="activity-form"' in client_as(world.sales_manager).get(f"/leads/{lead.pk}/").text
    response = log(client_as(world.sales_manager), lead, "note", "Called the account's CFO")
    assert response.status_code == 200
    assert Activity.objects.get(lead=lead).actor == world.sales_manager


def test_a_teammate_who_does_not_own_the_lead_sees_no_form_and_is_refused(world):
    lead = accepted(world)
    html = client_as(world.sdr2).get(f"/leads/{lead.pk}/").text
    assert 'id="activity-form"' not in html
    response = log(client_as(world.sdr2), lead, "call")
    assert response.status_code == 403
    assert "Only the lead's owner, or a manager of its team, logs activities on it." in text(
        response.text
    )
    assert not Activity.objects.filter(lead=lead).exists()


def test_someone_who_cannot_see_the_lead_gets_not_found(world):
    lead = accepted(world)
    assert log(client_as(world.ae), lead, "call").status_code == 404
    assert not Activity.objects.filter(lead=lead).exists()


def test_a_note_needs_its_text(world):
    lead = accepted(world)
    response = log(client_as(world.sdr), lead, "note", "  ")
    assert response.status_code == 422
    form = element(response.text, "activity-form")
    assert 'data-field-error="detail"' in form
    assert "Write the note" in text(form)
    assert '<option value="note" selected>' in form
    assert not Activity.objects.filter(lead=lead).exists()
    assert lead.handoffs.get().first_touch_at is None


def test_without_javascript_it_goes_back_to_the_lead_page_with_a_message(world):
    lead = accepted(world)
    client = client_as(world.sdr)
    response = log(client, lead, "call", htmx=False)
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert "Call logged." in client.get(response["Location"]).text
