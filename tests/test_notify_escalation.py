"""From the clock to people's inboxes: an ignored offer, a reminder and a missed first touch
reach the right people in the app and by e-mail, through a real SMTP server."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leadflow.accounts.models import User
from leadflow.leads import actions, sla
from leadflow.leads.models import Stage
from leadflow.notify import delivery, fanout
from leadflow.notify.models import EmailDelivery, Notification
from leadflow.notify.testing import SmtpSink

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        sink.use_in(settings)
        yield sink


@pytest.fixture
def people(world):
    for user in User.objects.all():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return world


def work(now):
    """One worker pass at `now`."""
    sla.sweep(now)
    fanout.process_outbox(now)
    return delivery.deliver_emails(now)


def told(event_name):
    return sorted(
        Notification.objects.filter(event_name=event_name).values_list("user__username", flat=True)
    )


def test_an_ignored_offer_reaches_the_rep_their_manager_and_the_arbiter(people, smtp):
    world = people
    with time_machine.travel(MONDAY_9, tick=False):
        lead = world.lead_at("mql")
    rep, offer = lead.owner, lead.handoffs.get()

    work(offer.accept_by)

    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW
    assert told("handoff.ignored") == sorted([rep.username, "sales-manager", "arbiter"])
    note = Notification.objects.get(event_name="handoff.ignored", user=world.arbiter)
    assert note.read_at is None and note.lead == lead and note.url == f"/leads/{lead.pk}/"
    assert note.title == "Ignored, escalated to the arbiter: Pat Lee (Acme)"
    assert "Mon 02 Mar 2026 17:00 UTC" in note.body

    subject = "Ignored, escalated to the arbiter: Pat Lee (Acme)"
    mails = [m for m in smtp.received() if m["Subject"] == subject]
    assert sorted(m["To"] for m in mails) == sorted(
        f"{u}@example.com" for u in (rep.username, "sales-manager", "arbiter")
    )
    assert f"http://127.0.0.1:8000/leads/{lead.pk}/" in mails[0].get_content()
    assert Notification.objects.filter(user=world.arbiter).unread().count() == 1


def test_the_offered_rep_is_reminded_at_half_and_nine_tenths(people, smtp):
    world = people
    with time_machine.travel(MONDAY_9, tick=False):
        lead = world.lead_at("mql")
    rep = lead.owner
    work(MONDAY_9 + timedelta(minutes=1))  # the offer itself, and the first reminder point
    for now in (MONDAY_9 + timedelta(hours=4), MONDAY_9 + timedelta(hours=7, minutes=12)):
        work(now)
        work(now + timedelta(minutes=1))

    assert told(sla.REMINDER_EVENT) == [rep.username, rep.username]
    subjects = [m["Subject"] for m in smtp.to(f"{rep.username}@example.com")]
    assert subjects == [
        "New MQL for you to decide: Pat Lee (Acme)",
        "Reminder: decide on Pat Lee (Acme) by Mon 02 Mar 2026 17:00 UTC",
        "Reminder: decide on Pat Lee (Acme) by Mon 02 Mar 2026 17:00 UTC",
    ]
    bodies = [
        n.body for n in Notification.objects.filter(event_name=sla.REMINDER_EVENT).order_by("id")
    ]
    assert bodies[0].startswith("50% of the time to decide on this MQL has gone; 4 h of")
    assert bodies[1].startswith("90% of the time to decide on this MQL has gone; 48 min of")


def test_a_missed_first_touch_is_told_to_the_rep_and_their_manager_once(people, smtp):
    world = people
    with time_machine.travel(MONDAY_9, tick=False):
        lead = world.lead_at("mql")
    rep = lead.owner
    actions.transition(lead, "accept", actor=rep, now=MONDAY_9 + timedelta(minutes=10))
    for minutes in (71, 90, 240):
        work(MONDAY_9 + timedelta(minutes=minutes))

    assert told(sla.FIRST_TOUCH_MISSED_EVENT) == sorted([rep.username, "sales-manager"])
    alerts = [m for m in smtp.received() if m["Subject"].startswith("No first touch yet")]
    assert len(alerts) == 2
    assert EmailDelivery.objects.filter(status="sent").count() == len(smtp.received())
