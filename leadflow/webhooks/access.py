"""Who may see and manage webhooks, in one place: admins (the admin role, or a superuser).
A webhook's secret and deliveries carry every event's data, whoever's lead it concerns."""

from __future__ import annotations

from leadflow.accounts.models import Role
from leadflow.webhooks.models import Webhook, WebhookDelivery


class WebhookAccessError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


NOT_ADMIN = "webhooks are managed by admins"


def is_admin(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.role == Role.ADMIN)
    )


def require_admin(user) -> None:
    if not is_admin(user):
        raise WebhookAccessError(403, "forbidden", NOT_ADMIN)


def webhook_for(user, webhook_id) -> Webhook:
    """The webhook, if `user` may manage it; else WebhookAccessError (403, or 404)."""
    require_admin(user)
    try:
        return Webhook.objects.get(pk=webhook_id)
    except (Webhook.DoesNotExist, ValueError, TypeError):
        raise WebhookAccessError(404, "not-found", f"webhook {webhook_id} not found") from None


def delivery_for(user, delivery_id) -> WebhookDelivery:
    require_admin(user)
    try:
        return WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError):
        raise WebhookAccessError(
            404, "not-found", f"webhook delivery {delivery_id} not found"
        ) from None
