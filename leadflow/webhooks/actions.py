"""Every change to webhooks and their deliveries: the API, the pages and the admin call these.
The actor is the admin doing it (checked by `leadflow.webhooks.access` before)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.webhooks.models import Webhook, WebhookDelivery, new_secret

EDITABLE = ("name", "url", "events", "active")


def create_webhook(
    *, actor: User, name: str, url: str, events: list[str] | None = None, active: bool = True
) -> Webhook:
    """A new webhook with a fresh secret. Raises ValidationError naming the field at fault."""
    webhook = Webhook(
        name=name, url=url, events=list(events or []), active=active, created_by=actor
    )
    webhook.full_clean()
    webhook.save()
    return webhook


def change_webhook(webhook: Webhook, *, actor: User, **changes) -> Webhook:
    """Change some of name, url, events, active. A paused webhook's pending deliveries wait;
    events that happen while it is paused are not queued for it."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.full_clean()
    webhook.save(update_fields=list(changes) or None)
    return webhook


def new_webhook_secret(webhook: Webhook, *, actor: User) -> Webhook:
    """Replace the signing secret; attempts from now on are signed with the new one."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret"])
    return webhook


def delete_webhook(webhook: Webhook, *, actor: User) -> None:
    """Delete a webhook and its delivery log."""
    webhook.delete()


@transaction.atomic
def replay(delivery: WebhookDelivery, *, actor: User) -> WebhookDelivery:
    """Queue the same event to the same webhook again, as a new delivery (a new
    `Leadflow-Delivery` id, the same body): due now, whatever became of the original."""
    now = timezone.now()
    return WebhookDelivery.objects.create(
        webhook=delivery.webhook,
        event=delivery.event,
        event_name=delivery.event_name,
        payload=delivery.payload,
        replay_of=delivery,
        requested_by=actor,
        next_attempt_at=now,
        created_at=now,
    )
