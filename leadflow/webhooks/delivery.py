"""POSTing the queued webhook deliveries, signed, with retries (the worker's `webhooks` step).

Unlike e-mail (`leadflow.notify.delivery`), no transaction is held open during the request: a
receiver may take seconds to answer, and on SQLite an open write transaction would stop every
other write in leadflow for that long. Each attempt is therefore

1. claim: in a short transaction, take the first due pending row (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so another worker skips it) and, by a conditional UPDATE on its attempt count,
   count the attempt and push `next_attempt_at` a lease (`LEASE`) ahead; commit. Another
   worker — or the same one, next pass — sees the row as not due until the lease runs out;
2. POST, outside any transaction, bounded by `TIMEOUT`;
3. record the answer with an UPDATE conditional on the attempt count claimed: delivered on a
   2xx, otherwise due again after a backoff (30 s, 1 min, 2 min … at most 6 h), or failed
   after `MAX_ATTEMPTS` (about 20 hours of trying).

Delivery is at least once. A worker that dies between the receiver's answer and step 3 leaves
the row pending; the lease expires and the delivery goes again, with the same
`Leadflow-Delivery` id. Receivers drop a delivery id they have already processed. Without
such a crash, every delivery arrives once: a row is claimed by one worker at a time, and
recorded delivered right after the receiver's 2xx. (A receiver that dribbles its answer out
for longer than the lease, each byte within `TIMEOUT`, can also get it twice, same id.)

When a receiver cannot be reached at all (connection refused, timed out, name unknown), its
other deliveries due in the same pass count a failed attempt with the same error without
being sent: one dead receiver costs one timeout per pass, not one per queued event.

Deliveries of a paused webhook wait, unsent and uncounted, until it is active again.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leadflow.notify import retry
from leadflow.webhooks import signing
from leadflow.webhooks.models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

# Seconds to connect, and then for each read, before an attempt counts as failed.
TIMEOUT = 10
# How long a claimed delivery is not due for anyone else: well beyond one request's timeouts.
LEASE = timedelta(minutes=2)
# 30 s, 1 min, 2 min … then every 6 h: about 20 hours of attempts before giving up.
MAX_ATTEMPTS = 13
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
# How much of a receiver's answer the delivery log keeps.
EXCERPT = 1000
USER_AGENT = "leadflow-webhooks/1"

Status = WebhookDelivery.Status


def _never_stop() -> bool:
    return False


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return retry.backoff(attempts, first=FIRST_BACKOFF, cap=MAX_BACKOFF)


def due_deliveries(now: datetime) -> QuerySet[WebhookDelivery]:
    """Pending deliveries of active webhooks whose attempt is due (index
    `webhook_delivery_due`), oldest due first."""
    return WebhookDelivery.objects.filter(
        status=Status.PENDING, next_attempt_at__lte=now, webhook__active=True
    ).order_by("next_attempt_at", "id")


def body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): the same on every attempt."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def headers(delivery: WebhookDelivery, secret: str, data: bytes, timestamp: int) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Leadflow-Event": delivery.event_name,
        "Leadflow-Delivery": str(delivery.pk),
        "Leadflow-Timestamp": str(timestamp),
        "Leadflow-Signature": signing.signature(secret, timestamp, data),
    }


@dataclass
class Answer:
    """What one POST came to: the receiver's status (None if it could not be reached)."""

    status_code: int | None = None
    error: str = ""
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def unreachable(self) -> bool:
        return self.status_code is None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a 2xx: the receiver's URL should be fixed, and re-POSTing
    a signed body wherever a redirect points is not ours to decide."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(webhook: Webhook, delivery: WebhookDelivery) -> Answer:
    """Send one delivery, signed now with the webhook's current secret."""
    data = body(delivery)
    request = urllib.request.Request(
        webhook.url,
        data=data,
        method="POST",
        headers=headers(delivery, webhook.secret, data, int(time.time())),
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            return Answer(response.status, excerpt=_excerpt(response))
    except urllib.error.HTTPError as exc:  # the receiver answered, but not 2xx
        answer = Answer(exc.code, error=f"HTTP {exc.code} {exc.reason}")
        answer.excerpt = _excerpt(exc)
        return answer
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Answer(error=f"{type(reason).__name__}: {reason}"[:2000])


def _excerpt(response) -> str:
    try:
        return response.read(EXCERPT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""


@dataclass
class WebhookResult:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"webhooks delivered {len(self.delivered)}, to retry {len(self.retrying)}, "
            f"failed {len(self.failed)}"
        )


def claim(now: datetime) -> WebhookDelivery | None:
    """The next due delivery, its attempt counted and leased to the caller; None if none is
    due. Commits before returning."""
    while True:
        with transaction.atomic():
            # Only the delivery's row: locking its webhook too would make other workers skip
            # every delivery to that webhook while this claim commits.
            delivery = (
                due_deliveries(now).select_for_update(skip_locked=True, of=("self",)).first()
            )
            if delivery is None:
                return None
            # Conditional on the attempt count read: of two workers that read the same row
            # (possible on SQLite, which has no row locks), one takes it.
            taken = WebhookDelivery.objects.filter(
                pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts
            ).update(
                attempts=F("attempts") + 1,
                next_attempt_at=_later_of(now) + LEASE,
                last_attempt_at=_later_of(now),
            )
        if taken:
            delivery.attempts += 1
            return delivery


def _later_of(now: datetime) -> datetime:
    """`now` (the pass's time, fixed when it began) or the clock, whichever is later: a lease
    or a wait counted from a long pass's start could already be over."""
    return max(now, timezone.now())


def deliver(
    now: datetime | None = None, *, should_stop: Callable[[], bool] = _never_stop
) -> WebhookResult:
    """Send every delivery due at `now`, each claimed, posted and recorded on its own."""
    now = now or timezone.now()
    result = WebhookResult()
    webhooks: dict[int, Webhook] = {}
    unreachable: dict[int, Answer] = {}
    while not should_stop():
        delivery = claim(now)
        if delivery is None:
            break
        if delivery.webhook_id not in webhooks:
            webhooks[delivery.webhook_id] = Webhook.objects.filter(pk=delivery.webhook_id).first()
        webhook = webhooks[delivery.webhook_id]
        if webhook is None:  # deleted since the claim, with its deliveries
            continue
        answer = unreachable.get(webhook.pk) or post(webhook, delivery)
        if answer.unreachable:
            unreachable[webhook.pk] = answer
        record(delivery, answer, now, result)
    return result


def record(delivery: WebhookDelivery, answer: Answer, now: datetime, result: WebhookResult) -> None:
    """Write what the attempt came to — if the claim is still ours (its attempt count
    unchanged: the lease did not run out and another worker did not take it over)."""
    changes: dict = {
        "last_status_code": answer.status_code,
        "last_error": answer.error,
        "response_excerpt": answer.excerpt,
    }
    if answer.ok:
        changes.update(status=Status.DELIVERED, delivered_at=timezone.now())
        outcome = result.delivered
    elif delivery.attempts >= MAX_ATTEMPTS:
        changes.update(status=Status.FAILED)
        outcome = result.failed
    else:
        changes.update(next_attempt_at=_later_of(now) + backoff(delivery.attempts))
        outcome = result.retrying
    ours = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts
    ).update(**changes)
    if not ours:
        logger.warning("webhook delivery %s was taken over before its answer was recorded",
                       delivery.pk)
        return
    outcome.append(delivery.pk)
    if outcome is result.failed:
        logger.error("webhook delivery %s (%s to %s) failed for good after %s attempts: %s",
                     delivery.pk, delivery.event_name, delivery.webhook_id, delivery.attempts,
                     answer.error)
    elif outcome is result.retrying:
        logger.warning("webhook delivery %s (%s) failed (attempt %s), retrying at %s: %s",
                       delivery.pk, delivery.event_name, delivery.attempts,
                       changes["next_attempt_at"].isoformat(), answer.error)
