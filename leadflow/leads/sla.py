"""The SLA sweep: the worker's clock for every hand-off (DOMAIN.md "Hand-offs").

Three kinds of due work, each found through its own partial index on `Handoff`, in small
batches, each batch one transaction:

- escalate (`handoff_pending_due`): a pending offer past its accept-by is *ignored*; the
  `ignore` transition sends the lead to the arbiter and writes `handoff.ignored`.
- remind (`handoff_pending_remind`): a pending offer whose `remind_at` has come gets a
  `handoff.reminder` event, and `remind_at` moves to the next reminder point.
- first touch (`handoff_untouched_due`): an accepted offer nobody touched by its
  `first_touch_by` gets one `handoff.first_touch_missed` event.

Several workers may sweep at once on PostgreSQL: each claims its rows with
`SELECT … FOR UPDATE SKIP LOCKED`, so a row is worked by one worker, and the others take the
next ones. On SQLite one worker runs; its IMMEDIATE transactions serialise with every other
writer anyway. The events go to the outbox in the same transaction as the change, so a worker
killed mid-batch leaves that batch undone, not half done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from leadflow.leads import actions
from leadflow.leads.business_time import BusinessCalendar
from leadflow.leads.lifecycle import TransitionError
from leadflow.leads.models import (
    CLOSED_STAGES,
    Decision,
    Handoff,
    Lead,
    OutboxEvent,
)
from leadflow.leads.routing import DatabaseServices

logger = logging.getLogger(__name__)

REMINDER_EVENT = "handoff.reminder"
FIRST_TOUCH_MISSED_EVENT = "handoff.first_touch_missed"

# Small batches keep each transaction (and, on SQLite, the database write lock) short.
BATCH = 25

# What a payload needs of a hand-off and its lead, loaded with the row.
HANDOFF_RELATED = (
    "lead__source",
    "lead__campaign",
    "lead__owner",
    "lead__owner_team",
    "offered_to",
    "offered_to_team",
)


def _never_stop() -> bool:
    return False


@dataclass
class SweepResult:
    escalated: list[int] = field(default_factory=list)  # hand-off ids
    reminded: list[int] = field(default_factory=list)
    scheduled: int = 0
    first_touch_alerts: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # decided meanwhile, or broken

    def __str__(self) -> str:
        return (
            f"escalated {len(self.escalated)}, reminded {len(self.reminded)}, "
            f"first-touch alerts {len(self.first_touch_alerts)}, "
            f"reminders scheduled {self.scheduled}, skipped {len(self.skipped)}"
        )


# --- the due rows, each through its partial index -------------------------------------------


def overdue_offers(now: datetime) -> QuerySet[Handoff]:
    """Pending offers past their deadline (index `handoff_pending_due`)."""
    return Handoff.objects.filter(decision=Decision.PENDING, accept_by__lte=now).order_by(
        "accept_by", "id"
    )


def due_reminders(now: datetime) -> QuerySet[Handoff]:
    """Pending offers whose next reminder has come (index `handoff_pending_remind`). An offer
    already past its deadline is left to escalation: a reminder would come too late."""
    return Handoff.objects.filter(
        decision=Decision.PENDING, remind_at__lte=now, accept_by__gt=now
    ).order_by("remind_at", "id")


def unscheduled_offers() -> QuerySet[Handoff]:
    """Pending offers that never had a reminder scheduled (index `handoff_pending_remind`:
    its NULL entries). Offers whose reminders are all sent have `reminders_sent` > 0."""
    # Ordered by the (all NULL) remind_at: the index's own order, so a LIMIT walks it rather
    # than the table, whatever the planner guesses about how many rows match.
    return Handoff.objects.filter(
        decision=Decision.PENDING, remind_at__isnull=True, reminders_sent=0
    ).order_by("remind_at")


def untouched_offers(now: datetime) -> QuerySet[Handoff]:
    """Accepted offers nobody touched by their first-touch deadline, not yet alerted
    (index `handoff_untouched_due`)."""
    return Handoff.objects.filter(
        decision=Decision.ACCEPTED,
        first_touch_at__isnull=True,
        first_touch_alerted_at__isnull=True,
        first_touch_by__lte=now,
        returned_at__isnull=True,
    ).order_by("first_touch_by", "id")


# --- reminder points ------------------------------------------------------------------------


def reminder_fractions() -> tuple[float, ...]:
    return tuple(settings.LEADFLOW_REMINDER_FRACTIONS)


def reminder_point(
    calendar: BusinessCalendar, offered_at: datetime, accept_by: datetime, fraction: float
) -> datetime:
    """The moment `fraction` of the offer's allowed business time has gone."""
    allowed = calendar.between(offered_at, accept_by)
    return calendar.add(offered_at, allowed * fraction)


def first_remind_at(
    calendar: BusinessCalendar, offered_at: datetime, accept_by: datetime
) -> datetime | None:
    """When an offer's first reminder is due: what an offer should start with."""
    fractions = reminder_fractions()
    if not fractions:
        return None
    return reminder_point(calendar, offered_at, accept_by, fractions[0])


def next_reminder(
    calendar: BusinessCalendar, offered_at: datetime, accept_by: datetime, now: datetime
) -> tuple[float | None, datetime | None]:
    """(the last reminder fraction already reached at `now`, the next reminder point after
    `now`). A worker that was down sends one reminder for the latest point, not a burst."""
    reached, upcoming = None, None
    for fraction in reminder_fractions():
        point = reminder_point(calendar, offered_at, accept_by, fraction)
        if point <= now:
            reached = fraction
        elif point < accept_by:
            upcoming = point
            break
    return reached, upcoming


# --- the sweep ------------------------------------------------------------------------------


def sweep(
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
) -> SweepResult:
    """Do all due SLA work as of `now`. Escalation goes first, so no reminder is sent for an
    offer that is already overdue."""
    now = now or timezone.now()
    result = SweepResult()
    services = DatabaseServices()
    escalate_overdue(now, result=result, batch=batch, should_stop=should_stop, services=services)
    if should_stop():
        return result
    schedule_reminders(now, result=result, batch=batch, should_stop=should_stop, services=services)
    send_reminders(now, result=result, batch=batch, should_stop=should_stop, services=services)
    if should_stop():
        return result
    alert_missed_first_touch(now, result=result, batch=batch, should_stop=should_stop)
    return result


def escalate_overdue(
    now: datetime,
    *,
    result: SweepResult | None = None,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
    services: DatabaseServices | None = None,
) -> SweepResult:
    """Ignore every pending offer past its deadline: the lead goes to the arbiter's queue.

    The claim locks the *lead* rows (the offers' rows are only read), in the order every action
    locks: lead first, then its hand-off. Locking the offer first would deadlock against a rep
    accepting it at that moment. `transition` re-reads the lead's state under the lock, so an
    offer another worker escalated (or the rep decided) a moment ago is refused, not repeated.
    """
    result = result or SweepResult()
    services = services or DatabaseServices()

    def one_batch() -> int:
        claimed = list(
            overdue_offers(now)
            .exclude(pk__in=result.skipped)
            .select_related("lead")
            .select_for_update(skip_locked=True, of=("lead",))
            .only("id", "lead", "lead__id")[:batch]
        )
        for offer in claimed:
            try:
                actions.transition(offer.lead_id, "ignore", actor=None, now=now, services=services)
            except TransitionError as exc:
                # Decided or escalated since the read: nothing left to do here.
                logger.info("hand-off %s not escalated: %s", offer.pk, exc)
                result.skipped.append(offer.pk)
            except Exception:
                # One broken row must not stop the sweep for every other lead.
                logger.exception("escalating hand-off %s failed", offer.pk)
                result.skipped.append(offer.pk)
            else:
                result.escalated.append(offer.pk)
        return len(claimed)

    _in_batches(one_batch, batch, should_stop)
    return result


def schedule_reminders(
    now: datetime,
    *,
    result: SweepResult | None = None,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
    services: DatabaseServices | None = None,
) -> SweepResult:
    """Give offers made without a reminder point their first one (see `first_remind_at`)."""
    result = result or SweepResult()
    if not reminder_fractions():
        return result
    services = services or DatabaseServices()

    def one_batch() -> int:
        offers = _claim(unscheduled_offers(), batch, "offered_to_team")
        for offer in offers:
            calendar = services.calendar(offer.offered_to_team)
            offer.remind_at = first_remind_at(calendar, offer.offered_at, offer.accept_by)
            offer.save(update_fields=["remind_at"])
        result.scheduled += len(offers)
        return len(offers)

    _in_batches(one_batch, batch, should_stop)
    return result


def send_reminders(
    now: datetime,
    *,
    result: SweepResult | None = None,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
    services: DatabaseServices | None = None,
) -> SweepResult:
    """Write a `handoff.reminder` for each offer whose reminder is due, and move its
    `remind_at` to the next point (NULL when none remains)."""
    result = result or SweepResult()
    services = services or DatabaseServices()

    def one_batch() -> int:
        # Only the hand-off row is locked: a reminder does not change the lead.
        offers = _claim(due_reminders(now), batch, *HANDOFF_RELATED)
        events = []
        for offer in offers:
            calendar = services.calendar(offer.offered_to_team)
            reached, upcoming = next_reminder(calendar, offer.offered_at, offer.accept_by, now)
            allowed = calendar.between(offer.offered_at, offer.accept_by)
            left = calendar.between(now, offer.accept_by)
            gone = 1 - left / allowed if allowed else 1.0
            events.append(
                _event(
                    REMINDER_EVENT,
                    offer,
                    now,
                    reminder=offer.reminders_sent + 1,
                    fraction=reached if reached is not None else round(gone, 3),
                    fraction_gone=round(gone, 3),
                    business_seconds_left=int(left.total_seconds()),
                    seconds_left=int((offer.accept_by - now).total_seconds()),
                )
            )
            offer.remind_at = upcoming
            offer.reminders_sent += 1
            offer.save(update_fields=["remind_at", "reminders_sent"])
            result.reminded.append(offer.pk)
        OutboxEvent.objects.bulk_create(events)
        return len(offers)

    _in_batches(one_batch, batch, should_stop)
    return result


def alert_missed_first_touch(
    now: datetime,
    *,
    result: SweepResult | None = None,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
) -> SweepResult:
    """Write one `handoff.first_touch_missed` for each accepted offer not touched in time."""
    result = result or SweepResult()

    def one_batch() -> int:
        offers = _claim(untouched_offers(now), batch, *HANDOFF_RELATED)
        events = []
        for offer in offers:
            events.append(
                _event(
                    FIRST_TOUCH_MISSED_EVENT,
                    offer,
                    now,
                    first_touch_by=offer.first_touch_by.isoformat(),
                    accepted_at=offer.decided_at.isoformat() if offer.decided_at else None,
                )
            )
            offer.first_touch_alerted_at = now
            offer.save(update_fields=["first_touch_alerted_at"])
            result.first_touch_alerts.append(offer.pk)
        OutboxEvent.objects.bulk_create(events)
        return len(offers)

    _in_batches(one_batch, batch, should_stop)
    return result


def _in_batches(one_batch: Callable[[], int], batch: int, should_stop: Callable[[], bool]):
    """Run `one_batch` (claim up to `batch` rows and work them; returns how many it claimed),
    each time in its own transaction, until a batch comes back short or the worker stops."""
    while not should_stop():
        with transaction.atomic():
            claimed = one_batch()
        if claimed < batch:
            return


def _claim(due: QuerySet[Handoff], batch: int, *related: str) -> list[Handoff]:
    """Lock up to `batch` due hand-offs no other worker holds, then load them with `related`.
    Two queries, so the claim is a plain walk of the due index: joined into it, the related
    tables can tempt the planner into scanning them whole."""
    ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch])
    if not ids:
        return []
    return list(Handoff.objects.filter(pk__in=ids).select_related(*related).order_by("pk"))


def _event(name: str, offer: Handoff, now: datetime, **details) -> OutboxEvent:
    """An outbox event about a hand-off, with the same `lead` and `handoff` shapes as the
    events `actions` writes for transitions, and the clock's details on top."""
    lead = offer.lead
    payload = {
        "at": now.isoformat(),
        "transition": None,
        "lead": actions.lead_payload(lead),
        "handoff": actions.handoff_payload(offer),
        **details,
    }
    return OutboxEvent(name=name, lead=lead, payload=payload, created_at=now)


# --- the invariant --------------------------------------------------------------------------


@dataclass
class Violations:
    """What `leadflow check` and `GET /api/check` report (DOMAIN.md "Invariants")."""

    leads_without_owner: list[int]
    offers_without_deadline: list[int]
    offers_not_escalated: list[int]
    counts: dict[str, int]
    grace: timedelta

    @property
    def total(self) -> int:
        return sum(self.counts.values())


LIMIT_IDS = 100


def violations(now: datetime | None = None, *, limit: int = LIMIT_IDS) -> Violations:
    """Open leads without an owner, open hand-offs without a deadline, and open hand-offs past
    their deadline by more than one sweep interval (the sweep should have escalated them).
    Each list holds at most `limit` ids; `counts` has the full numbers."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.LEADFLOW_SWEEP_SECONDS)
    queries = {
        # A person always comes with their team, so the team is the owner that must be there.
        "leads_without_owner": Lead.objects.exclude(stage__in=CLOSED_STAGES)
        .filter(owner_team__isnull=True)
        .order_by("pk"),
        "offers_without_deadline": Handoff.objects.filter(
            decision=Decision.PENDING, accept_by__isnull=True
        ).order_by("pk"),
        "offers_not_escalated": overdue_offers(now - grace),
    }
    counts = {name: qs.count() for name, qs in queries.items()}
    # Each in its own query's order (the overdue: by deadline), which its index gives.
    ids = {
        name: list(qs.values_list("pk", flat=True)[:limit]) if counts[name] else []
        for name, qs in queries.items()
    }
    return Violations(**ids, counts=counts, grace=grace)
