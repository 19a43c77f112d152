"""From the outbox to webhooks: each event becomes one delivery per subscribed webhook.

`queue` is called by the notify fan-out (`leadflow.notify.fanout.fan_out`) inside the
transaction that marks the `OutboxEvent` processed. So the deliveries exist exactly when the
event is marked processed: a worker that dies before the commit leaves the event unprocessed
and no delivery written, and the next pass does both; one that dies after it leaves the
deliveries for the delivery step. No event is lost, and none is queued twice for a webhook
(the constraint `webhook_delivery_once_per_event` backs this up).
"""

from __future__ import annotations

from datetime import datetime

from leadflow.leads.models import OutboxEvent
from leadflow.webhooks.models import Webhook, WebhookDelivery


def payload(event: OutboxEvent) -> dict:
    """The JSON body a webhook receives for `event`. `id` is the event's: the same in every
    delivery and replay of it."""
    return {
        "id": event.pk,
        "event": event.name,
        "occurred_at": event.created_at.isoformat(),
        "data": event.payload,
    }


def queue(event: OutboxEvent, now: datetime) -> list[WebhookDelivery]:
    """A pending delivery of `event`, due at `now`, for every active webhook that wants it.
    Runs inside the caller's transaction."""
    deliveries = [
        WebhookDelivery(
            webhook=webhook, event=event, event_name=event.name, payload=payload(event),
            next_attempt_at=now, created_at=now,
        )
        for webhook in Webhook.objects.filter(active=True)
        if webhook.wants(event.name)
    ]
    return WebhookDelivery.objects.bulk_create(deliveries)
