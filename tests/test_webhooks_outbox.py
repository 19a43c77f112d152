"""Webhooks go through the transactional outbox, so a crash loses no event: an event not yet
fanned out is delivered later; a fan-out that fails writes nothing and is done whole on the
next pass; a worker killed while posting leaves nothing undelivered, and what it was posting
goes again with the same delivery id."""

import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadflow.leads.models import OutboxEvent
from leadflow.notify import fanout
from leadflow.notify.models import Notification
from leadflow.notify.testing import SmtpSink, start_worker, worker_env
from leadflow.webhooks import actions, delivery
from leadflow.webhooks.models import WebhookDelivery
from leadflow.webhooks.testing import Receiver

from .conftest import World


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def subscribe(world, receiver):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
    receiver.secret = webhook.secret
    return webhook


def test_events_written_before_the_fan_out_are_delivered_once_it_runs(world, receiver):
    """As after a crash between the change's commit and the worker: the events wait in the
    outbox, and a webhook created meanwhile gets them too."""
    world.lead_at("in_review")
    subscribe(world, receiver)
    assert delivery.deliver().delivered == []  # nothing queued yet: nothing sent, nothing lost

    fanout.process_outbox()
    delivered = delivery.deliver().delivered

    events = OutboxEvent.objects.values_list("id", flat=True)
    assert len(delivered) == len(events) == 4
    assert sorted(r.payload["id"] for r in receiver.received()) == sorted(events)


def test_a_fan_out_that_fails_queues_nothing_and_is_done_whole_next_pass(world, receiver):
    webhook = subscribe(world, receiver)
    lead = world.lead_at("in_review")  # the arbiter is told of the rejection
    rejected = OutboxEvent.objects.get(name="handoff.rejected")
    # A delivery of that event already there: the fan-out's insert breaks the constraint.
    blocker = WebhookDelivery.objects.create(
        webhook=webhook, event=rejected, event_name=rejected.name, payload={}
    )

    result = fanout.process_outbox()

    assert result.skipped == [rejected.pk]
    rejected.refresh_from_db()
    assert rejected.processed_at is None
    assert not Notification.objects.filter(event=rejected).exists()  # rolled back together
    assert list(webhook.deliveries.filter(event=rejected)) == [blocker]

    blocker.delete()
    assert fanout.process_outbox().events == [rejected.pk]
    assert webhook.deliveries.filter(event=rejected).count() == 1
    assert Notification.objects.filter(event=rejected, user=world.arbiter).count() == 1
    assert lead.pk == rejected.lead_id


@pytest.fixture
def shared_world(transactional_db):
    return World()


def test_a_worker_killed_while_posting_leaves_no_event_undelivered(shared_world, receiver):
    """SIGKILL while a request is in flight: the receiver may have it while the database does
    not say so. Restarted, the worker sends the rest; when the killed claim's lease runs out
    the one in flight goes again, with the same Leadflow-Delivery id for the receiver to drop."""
    world = shared_world
    subscribe(world, receiver)
    for n in range(30):
        world.lead(email=f"lead{n}@example.com")
    receiver.delay = 0.05
    env = worker_env(SmtpSink())  # nobody has an e-mail address: no e-mail is sent

    worker = start_worker("--once", env=env)
    deadline = time.monotonic() + 60
    while not WebhookDelivery.objects.filter(status="delivered").exists():
        assert time.monotonic() < deadline and worker.poll() is None, worker.stdout.read()
        time.sleep(0.005)
    worker.kill()
    worker.wait(timeout=10)
    at_kill = WebhookDelivery.objects.filter(status="delivered").count()
    assert 0 < at_kill < 30, "killed after the webhooks step, not during it"

    receiver.delay = 0
    restarted = start_worker("--once", env=env)
    log, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, log
    with time_machine.travel(timezone.now() + delivery.LEASE + timedelta(seconds=1)):
        delivery.deliver()  # the killed worker's lease has run out

    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 30
    assert {d.status for d in deliveries} == {"delivered"}
    got = receiver.received()
    assert all(r.valid for r in got)
    ids = Counter(r.delivery_id for r in got)
    assert set(ids) == {str(d.pk) for d in deliveries}  # none lost
    assert sum(ids.values()) - len(ids) <= 1, ids.most_common(2)  # at most the one in flight
    assert Counter(r.payload["id"] for r in got).keys() == set(
        OutboxEvent.objects.values_list("id", flat=True)
    )
