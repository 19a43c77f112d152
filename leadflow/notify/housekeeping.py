"""Pruning what only grows: the worker's `housekeeping` step.

Kept for `LEADFLOW_KEEP_DAYS` (90 by default), then deleted, oldest first, a batch per
transaction:
- outbox events processed that long ago whose e-mails are all settled (sent or failed; their
  e-mails go with them). Notifications and webhook deliveries keep their own copy of what
  they said, so a person's inbox and a webhook's log outlive the event;
- webhook deliveries delivered or given up that long ago (pending ones are never touched);
- rejected form posts received that long ago.
The lead history, hand-offs, activities and notifications are records, not logs: never pruned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.intake.models import RejectedPost
from leadflow.leads.models import OutboxEvent
from leadflow.notify.models import EmailDelivery
from leadflow.webhooks.models import WebhookDelivery

BATCH = 1_000
EVERY = timedelta(hours=1)  # how often a worker prunes: the queries scan whole tables
_last_run: datetime | None = None


@dataclass
class Pruned:
    events: int = 0
    webhook_deliveries: int = 0
    rejected_posts: int = 0

    def __str__(self) -> str:
        return (
            f"pruned {self.events} outbox events, {self.webhook_deliveries} webhook "
            f"deliveries, {self.rejected_posts} rejected form posts"
        )


def cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.LEADFLOW_KEEP_DAYS)


def prune(
    now: datetime | None = None, *, should_stop: Callable[[], bool] = lambda: False
) -> Pruned:
    """Delete what is older than `LEADFLOW_KEEP_DAYS` (module docstring)."""
    before = cutoff(now)
    pending_email = EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING)
    old = {
        "events": OutboxEvent.objects.filter(processed_at__lt=before).exclude(
            pk__in=pending_email.values("event_id")
        ),
        "webhook_deliveries": WebhookDelivery.objects.filter(created_at__lt=before).filter(
            ~Q(status=WebhookDelivery.Status.PENDING)
        ),
        "rejected_posts": RejectedPost.objects.filter(at__lt=before),
    }
    result = Pruned()
    for name, rows in old.items():
        while not should_stop():
            ids = list(rows.order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                break
            with transaction.atomic():
                rows.model.objects.filter(pk__in=ids).delete()
            setattr(result, name, getattr(result, name) + len(ids))
    return result


def prune_hourly(should_stop: Callable[[], bool] = lambda: False) -> Pruned:
    """The worker's step: `prune`, at most once an `EVERY` in this process."""
    global _last_run
    now = timezone.now()
    if _last_run is not None and now - _last_run < EVERY:
        return Pruned()
    _last_run = now
    return prune(now, should_stop=should_stop)
