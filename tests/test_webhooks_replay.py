"""Replaying a delivery queues the same event to the same webhook as a new delivery: the same
body, a new Leadflow-Delivery id, whatever became of the original."""

import pytest

from leadflow.notify import fanout
from leadflow.webhooks import actions, delivery
from leadflow.webhooks.models import WebhookDelivery
from leadflow.webhooks.testing import Receiver


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def test_a_replay_sends_the_same_event_again_as_a_new_delivery(world, receiver):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
    receiver.secret = webhook.secret
    world.lead()
    fanout.process_outbox()
    [original] = delivery.deliver().delivered

    again = actions.replay(WebhookDelivery.objects.get(pk=original), actor=world.admin)

    assert (again.status, again.attempts, again.replay_of_id) == ("pending", 0, original)
    assert again.requested_by == world.admin
    assert delivery.deliver().delivered == [again.pk]
    first, second = receiver.received()
    assert (first.delivery_id, second.delivery_id) == (str(original), str(again.pk))
    assert first.body == second.body  # the same event, byte for byte
    assert second.valid
    assert WebhookDelivery.objects.get(pk=original).status == "delivered"  # left as it was


def test_a_delivery_given_up_on_can_be_replayed(world, receiver):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
    world.lead()
    fanout.process_outbox()
    WebhookDelivery.objects.update(status="failed", attempts=delivery.MAX_ATTEMPTS)

    again = actions.replay(webhook.deliveries.get(), actor=world.admin)

    assert delivery.deliver().delivered == [again.pk]
    assert webhook.deliveries.filter(status="delivered").get() == again
