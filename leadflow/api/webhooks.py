"""Outbound webhooks, for admins: subscribe a URL to events, read its delivery log, replay a
delivery. Thin edges over `leadflow.webhooks.actions`; who may is `leadflow.webhooks.access`.

How requests are signed and how to verify them: `leadflow.webhooks.signing` (and the README).
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from leadflow.api.problems import Problem
from leadflow.api.schemas import ProblemOut
from leadflow.webhooks import access, actions
from leadflow.webhooks.access import WebhookAccessError
from leadflow.webhooks.models import Webhook, WebhookDelivery

router = Router(tags=["webhooks"])

REFUSALS = {403: ProblemOut, 404: ProblemOut, 422: ProblemOut}
MAX_PAGE_SIZE = 200


# --- shapes --------------------------------------------------------------------------------


class WebhookIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    url: str = Field(..., description="http(s) URL that receives a POST per event.")
    events: list[str] = Field(
        default_factory=list, description="Event names wanted; empty: every event."
    )
    active: bool = True


class WebhookChange(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    url: str | None = None
    events: list[str] | None = None
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    events: list[str] = Field(description="Event names wanted; empty: every event.")
    active: bool
    created_by: str | None
    created_at: datetime
    pending: int = Field(description="Deliveries waiting to be sent or retried.")
    failed: int = Field(description="Deliveries given up on.")


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="Signs every request (Leadflow-Signature); keep it on the receiver."
    )


class DeliveryOut(Schema):
    id: int = Field(description="The Leadflow-Delivery header: the same on every attempt.")
    webhook_id: int
    event_id: int | None = Field(description="The outbox event (the body's `id`).")
    event: str
    status: str = Field(description="pending, delivered, or failed (given up)")
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending delivery goes next.")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's last HTTP status.")
    last_error: str
    response_excerpt: str
    delivered_at: datetime | None
    created_at: datetime
    replay_of: int | None = Field(description="The delivery this one replays.")
    payload: dict = Field(description="The JSON body sent.")


class DeliveryFilters(Schema):
    status: WebhookDelivery.Status | None = None
    before: int | None = Field(None, description="Only deliveries with a smaller id: paging.")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


def _webhook_out(webhook: Webhook, *, secret: bool = False) -> dict:
    """`webhook` as the API shows it; read again with its log counts."""
    webhook = Webhook.objects.with_log_counts().select_related("created_by").get(pk=webhook.pk)
    return _listed(webhook, secret=secret)


def _listed(webhook: Webhook, *, secret: bool = False) -> dict:
    out = {
        "id": webhook.pk,
        "name": webhook.name,
        "url": webhook.url,
        "events": webhook.events,
        "active": webhook.active,
        "created_by": webhook.created_by.username if webhook.created_by else None,
        "created_at": webhook.created_at,
        "pending": webhook.pending,
        "failed": webhook.failed,
    }
    if secret:
        out["secret"] = webhook.secret
    return out


def _delivery_out(d: WebhookDelivery) -> dict:
    pending = d.status == WebhookDelivery.Status.PENDING
    return {
        "id": d.pk,
        "webhook_id": d.webhook_id,
        "event_id": d.event_id,
        "event": d.event_name,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at if pending else None,
        "last_attempt_at": d.last_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "response_excerpt": d.response_excerpt,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
        "replay_of": d.replay_of_id,
        "payload": d.payload,
    }


def _allowed(check, *args):
    try:
        return check(*args)
    except WebhookAccessError as exc:
        raise Problem(exc.status, exc.code, exc.message) from None


# --- endpoints -----------------------------------------------------------------------------


@router.get("/webhooks", response={200: list[WebhookOut], 403: ProblemOut})
def list_webhooks(request: HttpRequest):
    """Every webhook (admins only). The secrets are not listed: read one webhook for its."""
    _allowed(access.require_admin, request.auth)
    webhooks = Webhook.objects.with_log_counts().select_related("created_by")
    return [_listed(w) for w in webhooks]


@router.post("/webhooks", response={201: WebhookWithSecret, **REFUSALS})
def create_webhook(request: HttpRequest, payload: WebhookIn):
    """Subscribe a URL to events. The answer carries the signing secret."""
    _allowed(access.require_admin, request.auth)
    webhook = actions.create_webhook(actor=request.auth, **payload.model_dump())
    return Status(201, _webhook_out(webhook, secret=True))


@router.get("/webhooks/{webhook_id}", response={200: WebhookWithSecret, **REFUSALS})
def get_webhook(request: HttpRequest, webhook_id: int):
    """One webhook, with its signing secret."""
    return _webhook_out(_allowed(access.webhook_for, request.auth, webhook_id), secret=True)


@router.patch("/webhooks/{webhook_id}", response={200: WebhookWithSecret, **REFUSALS})
def change_webhook(request: HttpRequest, webhook_id: int, payload: WebhookChange):
    """Change the name, URL, events or active flag. A paused webhook's pending deliveries wait;
    events while it is paused are not queued for it."""
    webhook = _allowed(access.webhook_for, request.auth, webhook_id)
    changes = payload.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise Problem(422, "invalid-input", f"{name} cannot be null", field=name)
    actions.change_webhook(webhook, actor=request.auth, **changes)
    return _webhook_out(webhook, secret=True)


@router.post("/webhooks/{webhook_id}/secret", response={200: WebhookWithSecret, **REFUSALS})
def new_secret(request: HttpRequest, webhook_id: int):
    """Replace the signing secret: every attempt from now on is signed with the new one."""
    webhook = _allowed(access.webhook_for, request.auth, webhook_id)
    actions.new_webhook_secret(webhook, actor=request.auth)
    return _webhook_out(webhook, secret=True)


@router.delete("/webhooks/{webhook_id}", response={204: None, **REFUSALS})
def delete_webhook(request: HttpRequest, webhook_id: int):
    """Delete a webhook with its delivery log; pending deliveries are not sent."""
    webhook = _allowed(access.webhook_for, request.auth, webhook_id)
    actions.delete_webhook(webhook, actor=request.auth)
    return Status(204, None)


@router.get("/webhooks/{webhook_id}/deliveries", response={200: list[DeliveryOut], **REFUSALS})
def list_deliveries(request: HttpRequest, webhook_id: int, filters: Query[DeliveryFilters]):
    """The webhook's delivery log, newest first; `before` the last id seen for the next page."""
    webhook = _allowed(access.webhook_for, request.auth, webhook_id)
    deliveries = webhook.deliveries.order_by("-id")
    if filters.status:
        deliveries = deliveries.filter(status=filters.status)
    if filters.before:
        deliveries = deliveries.filter(pk__lt=filters.before)
    return [_delivery_out(d) for d in deliveries[: filters.limit]]


@router.post("/webhook-deliveries/{delivery_id}/replay", response={201: DeliveryOut, **REFUSALS})
def replay_delivery(request: HttpRequest, delivery_id: int):
    """Send the delivery's event again, as a new delivery (a new Leadflow-Delivery id, the same
    body), due now."""
    original = _allowed(access.delivery_for, request.auth, delivery_id)
    return Status(201, _delivery_out(actions.replay(original, actor=request.auth)))
