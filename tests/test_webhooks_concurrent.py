"""Two workers delivering webhooks at once on PostgreSQL: each delivery is claimed by one of
them and the receiver gets every event exactly once."""

from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from leadflow.notify import fanout
from leadflow.webhooks import actions, delivery
from leadflow.webhooks.models import WebhookDelivery
from leadflow.webhooks.testing import Receiver

from .concurrency import raised, run_together
from .conftest import World

EVENTS = 40

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several workers need PostgreSQL's row locks (SKIP LOCKED); on SQLite one runs",
)


@postgres_only
def test_two_workers_released_together_deliver_each_event_once(transactional_db):
    world = World()
    with Receiver() as receiver:
        webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
        receiver.secret = webhook.secret
        receiver.delay = 0.01  # slow enough that the two overlap for many deliveries
        for n in range(EVENTS):
            world.lead(email=f"lead{n}@example.com")
        fanout.process_outbox()
        now = timezone.now()
        results = run_together(lambda: delivery.deliver(now), lambda: delivery.deliver(now))

    assert all(results) and not raised(results), results
    delivered = [d for r in results for d in r.delivered]
    assert all(r.delivered for r in results), "one worker did everything: no overlap tested"
    ids = sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert sorted(delivered) == ids and len(ids) == EVENTS
    got = Counter(r.delivery_id for r in receiver.received())
    assert got == Counter(str(pk) for pk in ids)  # each once
    assert all(r.valid for r in receiver.received())


@postgres_only
def test_two_workers_fanning_out_and_delivering_together_send_each_event_once(transactional_db):
    world = World()
    with Receiver() as receiver:
        webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
        receiver.secret = webhook.secret
        for n in range(EVENTS):
            world.lead(email=f"lead{n}@example.com")
        now = timezone.now()

        def work():
            fanout.process_outbox(now, batch=3)  # small batches: many rounds interleave
            return delivery.deliver(now)

        results = run_together(work, work)

    assert not raised(results) and all(results), results
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == EVENTS and {d.status for d in deliveries} == {"delivered"}
    got = Counter(r.payload["id"] for r in receiver.received())
    assert len(got) == EVENTS and set(got.values()) == {1}
