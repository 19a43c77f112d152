"""Webhook delivery to a real receiver on localhost: every event once, signed; retried with
backoff while the receiver is down or failing, each delivered once when it is back; given up
after the last attempt; a paused webhook's deliveries wait."""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from leadflow.leads import actions
from leadflow.leads.models import OutboxEvent
from leadflow.notify import fanout
from leadflow.webhooks import actions as webhook_actions
from leadflow.webhooks import delivery
from leadflow.webhooks.models import WebhookDelivery
from leadflow.webhooks.testing import Receiver

# The events the issue names; `journey` makes each at least once.
NAMED_EVENTS = {
    "lead.created", "lead.mql", "handoff.accepted", "handoff.rejected", "handoff.ignored",
    "lead.returned", "arbiter.decided", "opportunity.won", "opportunity.lost",
}


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def subscribe(world, receiver, events=()):
    webhook = webhook_actions.create_webhook(
        actor=world.admin, name="CRM", url=receiver.url, events=list(events)
    )
    receiver.secret = webhook.secret
    return webhook


def journey(world):
    """Leads walked through the real transitions to every event the issue names."""
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        world.lead_at("mql", email="late@example.com")  # ignored by the sweep, later
    rejected = world.lead_at("in_review", email="rejected@example.com")
    actions.transition(rejected, "uphold", actor=world.arbiter, comment="right call")
    returned = world.lead_at("sal", email="returned@example.com")
    actions.transition(
        returned, "return", actor=returned.owner, reason="went-cold", comment="no answer"
    )
    won = world.lead_at("sql_accepted", email="won@example.com")
    actions.transition(won, "win", actor=world.ae)
    lost = world.lead_at("sql_accepted", email="lost@example.com")
    actions.transition(lost, "lose", actor=world.ae, reason="price")


def test_the_worker_delivers_every_event_exactly_once_with_a_valid_signature(world, receiver):
    webhook = subscribe(world, receiver)
    journey(world)

    call_command("worker", "--once")  # sweep (the ignored offer), fan-out, delivery, webhooks

    events = OutboxEvent.objects.order_by("id")
    assert NAMED_EVENTS <= set(events.values_list("name", flat=True))
    got = receiver.received()
    assert all(r.valid for r in got)
    # One request per event: each delivery id once, each event id once.
    assert Counter(r.payload["id"] for r in got) == Counter(events.values_list("id", flat=True))
    deliveries = webhook.deliveries.all()
    assert sorted(int(r.delivery_id) for r in got) == sorted(d.pk for d in deliveries)
    assert {d.status for d in deliveries} == {"delivered"}
    for r in got:
        event = OutboxEvent.objects.get(pk=r.payload["id"])
        assert r.event == r.payload["event"] == event.name
        assert r.payload["data"] == event.payload
        assert r.payload["occurred_at"] == event.created_at.isoformat()

    call_command("worker", "--once")  # nothing is sent twice
    assert len(receiver.received()) == len(got)


def test_a_delivery_records_the_receivers_answer(world, receiver):
    subscribe(world, receiver)
    world.lead()
    fanout.process_outbox()
    [queued] = WebhookDelivery.objects.all()

    assert delivery.deliver().delivered == [queued.pk]

    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_status_code) == ("delivered", 1, 200)
    assert (queued.last_error, queued.response_excerpt) == ("", '{"ok": true}')
    assert queued.delivered_at is not None
    [request] = receiver.received()
    assert request.delivery_id == str(queued.pk) and request.event == "lead.created"


def test_a_receiver_down_for_a_while_gets_each_event_once_when_it_is_back(world):
    receiver = Receiver()  # not started: its port refuses connections
    subscribe(world, receiver)
    for n in range(3):
        world.lead(email=f"lead{n}@example.com")
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        fanout.process_outbox()
        queued = list(WebhookDelivery.objects.order_by("id"))
        ids = [d.pk for d in queued]

        # Every attempt fails; each delivery waits 30 s, then 1 min, then 2 min.
        assert delivery.deliver().retrying == ids
        for d in queued:
            d.refresh_from_db()
            assert (d.status, d.attempts) == ("pending", 1)
            assert d.next_attempt_at == now + timedelta(seconds=30)
            assert "ConnectionRefusedError" in d.last_error and d.last_status_code is None
        clock.shift(timedelta(seconds=29))
        assert delivery.deliver().retrying == []  # not due yet
        clock.shift(timedelta(seconds=1))
        assert delivery.deliver().retrying == ids
        assert {d.next_attempt_at for d in WebhookDelivery.objects.all()} == {
            now + timedelta(seconds=30) + timedelta(minutes=1)
        }
        clock.shift(timedelta(minutes=1))
        assert delivery.deliver().retrying == ids
        assert {d.attempts for d in WebhookDelivery.objects.all()} == {3}

        with receiver:  # back up
            clock.shift(timedelta(minutes=1))
            assert delivery.deliver().delivered == []  # still waiting out the 2 minutes
            clock.shift(timedelta(minutes=1))
            assert delivery.deliver().delivered == ids
            clock.shift(timedelta(days=1))
            assert delivery.deliver().delivered == []

    got = receiver.received()
    assert sorted(int(r.delivery_id) for r in got) == ids  # each once, none lost
    assert all(r.valid for r in got)
    assert {d.status for d in WebhookDelivery.objects.all()} == {"delivered"}


def test_a_failing_receiver_is_retried_then_given_up_on(world, receiver):
    subscribe(world, receiver)
    receiver.status = 503
    world.lead()
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        fanout.process_outbox()
        [queued] = WebhookDelivery.objects.all()
        waits = []
        for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
            result = delivery.deliver()
            queued.refresh_from_db()
            assert queued.attempts == attempt and queued.last_status_code == 503
            if attempt < delivery.MAX_ATTEMPTS:
                assert result.retrying == [queued.pk]
                waits.append(queued.next_attempt_at - timezone.now())
                clock.move_to(queued.next_attempt_at)
        assert result.failed == [queued.pk]

    assert (queued.status, queued.last_error) == ("failed", "HTTP 503 Service Unavailable")
    assert queued.response_excerpt == "busy, try later"
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-2:] == [timedelta(hours=6)] * 2
    assert timedelta(hours=18) < sum(waits, timedelta()) < timedelta(hours=30)
    got = receiver.received()
    assert len(got) == delivery.MAX_ATTEMPTS
    assert {r.delivery_id for r in got} == {str(queued.pk)}  # the same id on every attempt
    assert all(r.valid for r in got)


def test_a_paused_webhooks_deliveries_wait_until_it_is_active_again(world, receiver):
    webhook = subscribe(world, receiver)
    world.lead()
    fanout.process_outbox()
    webhook_actions.change_webhook(webhook, actor=world.admin, active=False)

    assert delivery.deliver().delivered == []
    world.lead(email="while-paused@example.com")
    fanout.process_outbox()  # not queued for a paused webhook
    webhook_actions.change_webhook(webhook, actor=world.admin, active=True)

    [queued] = WebhookDelivery.objects.all()
    assert delivery.deliver().delivered == [queued.pk]
    queued.refresh_from_db()
    assert queued.attempts == 1  # the pause counted no attempt
    assert len(receiver.received()) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(world, receiver):
    webhook = subscribe(world, receiver)
    receiver.status = 301
    world.lead()
    fanout.process_outbox()

    [d] = delivery.deliver().retrying
    assert WebhookDelivery.objects.get(pk=d).last_status_code == 301
    assert webhook.deliveries.get().status == "pending"


def test_a_receiver_that_does_not_answer_costs_one_timeout_per_pass(world, receiver, monkeypatch):
    """Timed out, the receiver counts as unreachable for the rest of the pass: its other due
    deliveries count a failed attempt without waiting for a timeout each."""
    monkeypatch.setattr(delivery, "TIMEOUT", 0.3)
    subscribe(world, receiver)
    receiver.delay = 1.0
    for n in range(3):
        world.lead(email=f"lead{n}@example.com")
    fanout.process_outbox()

    result = delivery.deliver()

    assert len(result.retrying) == 3
    assert len(receiver.received()) == 1  # only the first was sent
    errors = set(WebhookDelivery.objects.values_list("last_error", flat=True))
    assert len(errors) == 1 and "timed out" in errors.pop()
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
