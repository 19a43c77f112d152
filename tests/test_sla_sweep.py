"""The SLA sweep: overdue offers are escalated, reminders go at 50% and 90% of the allowed
business time, and a missed first touch is alerted once. Time is the sweep's `now`."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from leadflow.leads import actions, sla
from leadflow.leads.models import Decision, OutboxEvent, Stage

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the teams' default calendar: UTC, 9–17
SECOND = timedelta(seconds=1)


def offer_made_at(world, when):
    with time_machine.travel(when, tick=False):
        lead = world.lead_at("mql")
    return lead, lead.handoffs.get()


def events(name):
    return list(OutboxEvent.objects.filter(name=name).order_by("id"))


def test_an_overdue_offer_is_escalated_to_the_arbiter_by_leadflow_itself(world):
    lead, offer = offer_made_at(world, MONDAY_9)
    assert offer.accept_by == MONDAY_9 + timedelta(hours=8)

    assert sla.sweep(offer.accept_by - SECOND).escalated == []
    result = sla.sweep(offer.accept_by)

    assert result.escalated == [offer.pk]
    lead.refresh_from_db()
    offer.refresh_from_db()
    assert (lead.stage, lead.owner, lead.owner_team) == (Stage.IN_REVIEW, None, world.arbiter_team)
    assert (offer.decision, offer.decided_at, offer.decided_by) == (
        Decision.IGNORED, offer.accept_by, None,
    )
    entry = lead.history.last()
    assert (entry.transition, entry.actor, entry.from_stage) == ("ignore", None, Stage.MQL)
    [ignored] = events("handoff.ignored")
    assert ignored.payload["handoff"]["offered_to"] == lead.history.get(
        transition="qualify"
    ).owner.username


def test_sweeping_again_repeats_nothing(world):
    _, offer = offer_made_at(world, MONDAY_9)
    later = offer.accept_by + timedelta(hours=1)
    assert len(sla.sweep(later).escalated) == 1
    again = sla.sweep(later)
    assert (again.escalated, again.reminded, again.skipped) == ([], [], [])
    assert len(events("handoff.ignored")) == 1


def test_an_offer_decided_in_time_is_left_alone(world):
    lead, offer = offer_made_at(world, MONDAY_9)
    actions.transition(lead, "accept", actor=lead.owner, now=MONDAY_9 + timedelta(hours=1))
    result = sla.sweep(offer.accept_by + timedelta(days=3))
    assert result.escalated == [] and result.reminded == []
    assert events("handoff.ignored") == []


def test_reminders_go_at_half_and_nine_tenths_of_the_allowed_time(world):
    _, offer = offer_made_at(world, MONDAY_9)  # 8 business hours: due Monday 17:00
    half, nine_tenths = MONDAY_9 + timedelta(hours=4), MONDAY_9 + timedelta(hours=7, minutes=12)

    assert sla.sweep(half - SECOND).reminded == []
    offer.refresh_from_db()
    assert offer.remind_at == half

    assert sla.sweep(half).reminded == [offer.pk]
    offer.refresh_from_db()
    assert (offer.remind_at, offer.reminders_sent) == (nine_tenths, 1)

    assert sla.sweep(nine_tenths - SECOND).reminded == []
    assert sla.sweep(nine_tenths).reminded == [offer.pk]
    offer.refresh_from_db()
    assert (offer.remind_at, offer.reminders_sent) == (None, 2)

    assert sla.sweep(offer.accept_by - SECOND).reminded == []
    first, second = events(sla.REMINDER_EVENT)
    assert (first.payload["fraction"], first.payload["business_seconds_left"]) == (0.5, 4 * 3600)
    assert (second.payload["fraction"], second.payload["business_seconds_left"]) == (0.9, 48 * 60)
    assert second.payload["reminder"] == 2
    assert second.payload["handoff"]["id"] == offer.pk


def test_reminder_points_count_business_time_across_the_weekend(world):
    friday_15 = MONDAY_9 + timedelta(days=4, hours=6)
    _, offer = offer_made_at(world, friday_15)  # 2 h on Friday, 6 h on Monday
    monday_15 = friday_15 + timedelta(days=3)
    assert offer.accept_by == monday_15

    sla.sweep(friday_15 + timedelta(days=1))  # Saturday: nothing is due
    offer.refresh_from_db()
    assert offer.remind_at == MONDAY_9 + timedelta(days=7, hours=2)  # 2 h Friday + 2 h Monday
    assert offer.reminders_sent == 0


def test_a_worker_that_was_down_sends_one_reminder_for_the_latest_point(world):
    _, offer = offer_made_at(world, MONDAY_9)
    sla.sweep(MONDAY_9 + timedelta(minutes=1))
    assert sla.sweep(MONDAY_9 + timedelta(hours=7, minutes=30)).reminded == [offer.pk]
    [reminder] = events(sla.REMINDER_EVENT)
    assert reminder.payload["fraction"] == 0.9
    offer.refresh_from_db()
    assert (offer.remind_at, offer.reminders_sent) == (None, 1)


def test_no_reminders_when_none_are_configured(world, settings):
    settings.LEADFLOW_REMINDER_FRACTIONS = ()
    _, offer = offer_made_at(world, MONDAY_9)
    assert sla.sweep(offer.accept_by - SECOND).reminded == []
    assert events(sla.REMINDER_EVENT) == []


def test_a_missed_first_touch_is_alerted_once(world):
    lead, offer = offer_made_at(world, MONDAY_9)
    accepted_at = MONDAY_9 + timedelta(hours=1)
    actions.transition(lead, "accept", actor=lead.owner, now=accepted_at)
    offer.refresh_from_db()
    assert offer.first_touch_by == accepted_at + timedelta(hours=1)

    assert sla.sweep(offer.first_touch_by - SECOND).first_touch_alerts == []
    assert sla.sweep(offer.first_touch_by).first_touch_alerts == [offer.pk]
    assert sla.sweep(offer.first_touch_by + timedelta(days=2)).first_touch_alerts == []

    [alert] = events(sla.FIRST_TOUCH_MISSED_EVENT)
    assert alert.payload["handoff"]["offered_to"] == lead.owner.username
    assert alert.payload["first_touch_by"] == offer.first_touch_by.isoformat()
    offer.refresh_from_db()
    assert offer.first_touch_alerted_at == offer.first_touch_by


def test_a_touched_lead_raises_no_alert(world):
    lead, offer = offer_made_at(world, MONDAY_9)
    rep = lead.owner
    actions.transition(lead, "accept", actor=rep, now=MONDAY_9 + timedelta(minutes=5))
    actions.log_activity(lead, "call", actor=rep, occurred_at=MONDAY_9 + timedelta(minutes=20))
    assert sla.sweep(MONDAY_9 + timedelta(days=1)).first_touch_alerts == []


DUE_QUERIES = {
    "overdue": ("handoff_pending_due", lambda now: sla.overdue_offers(now)),
    "reminders": ("handoff_pending_remind", lambda now: sla.due_reminders(now)),
    "unscheduled": ("handoff_pending_remind", lambda now: sla.unscheduled_offers()),
    "untouched": ("handoff_untouched_due", lambda now: sla.untouched_offers(now)),
}


@pytest.mark.parametrize("kind", DUE_QUERIES)
def test_each_kind_of_due_work_is_found_through_its_partial_index(world, kind):
    index, due = DUE_QUERIES[kind]
    query = due(MONDAY_9).values_list("pk", flat=True)[:25]
    if connection.vendor == "postgresql":
        # A few rows make a sequential scan cheapest; the question is whether the index *can*
        # answer the query, i.e. its predicate implies the partial index's condition.
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
        try:
            plan = query.explain()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET enable_seqscan = on")
    else:
        plan = query.explain()
    assert index in plan, plan
