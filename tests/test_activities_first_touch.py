"""A batch does for first touches exactly what log_activity does for each activity in order:
a call, meeting or note by a person after acceptance stops the first-touch clock."""

from datetime import timedelta

from leadflow.leads import actions
from leadflow.leads.models import Handoff
from leadflow.scoring import ingest


def _accepted(world):
    lead = world.lead_at("sal")
    offer = Handoff.objects.get(lead=lead, decision="accepted")
    return lead, offer


def _events(lead, offer, rep):
    accepted = offer.decided_at
    return [
        ("note", accepted - timedelta(hours=1), rep),  # before acceptance: not a touch
        ("web_visit", accepted + timedelta(minutes=5), rep),  # not a sales activity
        ("call", accepted + timedelta(minutes=10), None),  # nobody did it (a dialer's log)
        ("call", accepted + timedelta(hours=2), rep),  # the first touch
        ("meeting", accepted + timedelta(hours=1), rep),  # later in the batch: too late
    ]


def test_a_batch_sets_the_first_touch_as_log_activity_would(world):
    lead, offer = _accepted(world)
    events = [
        ingest.Event(kind=kind, occurred_at=at, lead=lead.pk, actor=rep.username if rep else None)
        for kind, at, rep in _events(lead, offer, lead.owner)
    ]
    later = offer.decided_at + timedelta(days=1)
    result = ingest.record(events, user=world.marketing, now=later)
    assert (result.stored, result.refused) == (5, [])
    offer.refresh_from_db()

    twin, twin_offer = _accepted(world)
    for kind, at, rep in _events(twin, twin_offer, twin.owner):
        actions.log_activity(twin, kind, actor=rep, occurred_at=at)
    twin_offer.refresh_from_db()

    assert offer.first_touch_at - offer.decided_at == timedelta(hours=2)
    assert twin_offer.first_touch_at - twin_offer.decided_at == timedelta(hours=2)


def test_a_touch_before_acceptance_leaves_the_clock_running(world):
    lead, offer = _accepted(world)
    ingest.record(
        [ingest.Event(kind="call", occurred_at=offer.decided_at - timedelta(minutes=1),
                      lead=lead.pk, actor=lead.owner.username)],
        user=world.marketing,
    )
    offer.refresh_from_db()
    assert offer.first_touch_at is None
