"""`Idempotency-Key`: a retried call does its work once and gets the first answer back.

The key is per caller. It is claimed in the transaction that does the work, together with
what the work did (`outcome`): two concurrent calls with one key cannot both commit — the
second's claim fails on the unique constraint (PostgreSQL makes it wait for the first), its
work is rolled back, and it answers from the first's record. The answer itself is rendered
after the commit (so it shows what scoring did on commit) and stored; a retry gets it back
verbatim, or, if it is not stored yet, rendered again from the same outcome.

A call that fails as a whole (422, 403) claims nothing: it changed nothing, and may be retried
with the same key once corrected. The same key with a different request is refused. Keys are
forgotten after LEADFLOW_IDEMPOTENCY_HOURS (24 by default); expired rows are deleted lazily.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.intake.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 100
# Expired keys are swept at most this often per server process.
SWEEP_EVERY_SECONDS = 60
_last_sweep = 0.0


class KeyMisused(Exception):
    """The key was used before with a different request."""


@dataclass
class Answer:
    status: int
    body: str  # JSON text
    replayed: bool


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


def ttl() -> timedelta:
    return timedelta(hours=settings.LEADFLOW_IDEMPOTENCY_HOURS)


def run(
    *,
    user,
    key: str,
    request_fingerprint: str,
    work: Callable[[], dict],
    render: Callable[[dict], tuple[int, dict]],
    now: datetime | None = None,
) -> Answer:
    """Do `work` once for (`user`, `key`). `work()` changes the database and returns its
    outcome as JSON; `render(outcome)` makes the answer (status, body) from it."""
    now = now or timezone.now()
    _sweep(now)
    known = _known(user, key, now)
    if known is not None:
        return _replay(known, request_fingerprint, render)
    try:
        with transaction.atomic():
            outcome = work()
            claim = IdempotencyKey.objects.create(
                user=user, key=key, fingerprint=request_fingerprint, created_at=now,
                outcome=outcome,
            )
    except IntegrityError:
        # A concurrent call with this key committed first; its work stands, ours is undone.
        known = _known(user, key, now)
        if known is None:
            raise
        return _replay(known, request_fingerprint, render)
    status, body = _rendered(render, outcome)
    IdempotencyKey.objects.filter(pk=claim.pk).update(status=status, response=body)
    return Answer(status, body, replayed=False)


def _rendered(render, outcome: dict) -> tuple[int, str]:
    status, body = render(outcome)
    return status, json.dumps(body, separators=(", ", ": "))


def _known(user, key: str, now: datetime) -> IdempotencyKey | None:
    known = IdempotencyKey.objects.filter(user=user, key=key).first()
    if known is not None and known.created_at < now - ttl():
        known.delete()
        return None
    return known


def _replay(known: IdempotencyKey, request_fingerprint: str, render) -> Answer:
    if known.fingerprint != request_fingerprint:
        raise KeyMisused(
            f"this {HEADER} was used on {known.created_at:%Y-%m-%d %H:%M} UTC with a different "
            "request; send a new key for a new request"
        )
    if not known.response:
        # The first call has committed but not stored its answer (yet, or it died): the same
        # outcome renders the same answer.
        status, body = _rendered(render, known.outcome)
        IdempotencyKey.objects.filter(pk=known.pk, response="").update(
            status=status, response=body
        )
        return Answer(status, body, replayed=True)
    return Answer(known.status, known.response, replayed=True)


def _sweep(now: datetime) -> None:
    global _last_sweep
    if time.monotonic() - _last_sweep < SWEEP_EVERY_SECONDS:
        return
    _last_sweep = time.monotonic()
    IdempotencyKey.objects.filter(created_at__lt=now - ttl()).delete()
