"""From the outbox to people: who is told about each event, in the app and by e-mail.

Each unprocessed `OutboxEvent` is claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
workers share the work), turned into `Notification` and `EmailDelivery` rows, and marked
processed — in one transaction. A worker killed half-way leaves the event unprocessed and
nothing written; the next pass does it whole. Sending the e-mails is a separate step
(`leadflow.notify.delivery`), so slow SMTP never holds an event.

Who is told (besides every active subscription whose filters match the payload):

- handoff.offered, handoff.reminder: the rep it is offered to (a queue offer: the team's
  managers);
- handoff.ignored: the rep who let it pass, their team's managers, and the arbiters;
- handoff.rejected, lead.returned: the arbiters;
- arbiter.decided: the rep whose decision was reviewed, and the lead's new owner;
- handoff.first_touch_missed: the rep who accepted, and their team's managers;
- handoff.reassigned: the lead's new owner (an offer they now must decide, or a lead to work).

Nobody is told by these rules about their own action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.leads.models import Decision, Handoff, OutboxEvent, Stage, StageChange
from leadflow.leads.sla import FIRST_TOUCH_MISSED_EVENT, REMINDER_EVENT
from leadflow.notify.messages import email_body, lead_url, render
from leadflow.notify.models import EmailDelivery, Notification, Subscription
from leadflow.webhooks import outbox as webhooks

logger = logging.getLogger(__name__)

BATCH = 50


def _never_stop() -> bool:
    return False


# --- who is told ----------------------------------------------------------------------------

ARBITERS = Q(role=Role.ARBITER)


def _handoff(event: OutboxEvent) -> dict:
    return event.payload.get("handoff") or {}


def _rep(handoff: dict) -> list[Q]:
    return [Q(username=handoff["offered_to"])] if handoff.get("offered_to") else []


def _managers(team_name: str | None) -> list[Q]:
    return [Q(role=Role.MANAGER, team__name=team_name)] if team_name else []


def _rep_or_managers(event: OutboxEvent) -> list[Q]:
    handoff = _handoff(event)
    return _rep(handoff) or _managers(handoff.get("team"))


def _rep_and_managers(event: OutboxEvent) -> list[Q]:
    handoff = _handoff(event)
    return _rep(handoff) + _managers(handoff.get("team"))


def _ignored(event: OutboxEvent) -> list[Q]:
    return _rep_and_managers(event) + [ARBITERS]


def _arbiters(event: OutboxEvent) -> list[Q]:
    return [ARBITERS]


def _decided(event: OutboxEvent) -> list[Q]:
    return _reviewed(event) + _new_owner(event)


def _new_owner(event: OutboxEvent) -> list[Q]:
    owner = (event.payload.get("lead") or {}).get("owner")
    return [Q(username=owner)] if owner else []


def _reviewed(event: OutboxEvent) -> list[Q]:
    """The person whose decision the arbiter reviewed: who rejected or returned the lead, or
    the rep who let the offer pass (for a queue offer, the team's managers)."""
    entry = (
        StageChange.objects.filter(
            lead_id=event.lead_id,
            entity=StageChange.Entity.LEAD,
            to_stage=Stage.IN_REVIEW,
            at__lte=event.created_at,
        )
        .order_by("-at", "-id")
        .first()
    )
    if entry is None:
        return []
    if entry.actor_id is not None:
        return [Q(pk=entry.actor_id)]
    ignored = (
        Handoff.objects.filter(lead_id=event.lead_id, decision=Decision.IGNORED)
        .select_related("offered_to_team")
        .order_by("-decided_at", "-id")
        .first()
    )
    if ignored is None:
        return []
    if ignored.offered_to_id is not None:
        return [Q(pk=ignored.offered_to_id)]
    return _managers(ignored.offered_to_team.name)


RULES: dict[str, Callable[[OutboxEvent], list[Q]]] = {
    "handoff.offered": _rep_or_managers,
    REMINDER_EVENT: _rep_or_managers,
    "handoff.ignored": _ignored,
    "handoff.rejected": _arbiters,
    "lead.returned": _arbiters,
    "arbiter.decided": _decided,
    FIRST_TOUCH_MISSED_EVENT: _rep_and_managers,
    "handoff.reassigned": _new_owner,
}


@dataclass
class Recipient:
    user: User
    in_app: bool = False
    by_email: bool = False


def recipients(event: OutboxEvent) -> list[Recipient]:
    """Everyone told about `event` and how: the rules' people get both channels; a
    subscriber gets the channels of their subscription."""
    found: dict[int, Recipient] = {}
    conditions = RULES.get(event.name, lambda e: [])(event)
    if conditions:
        people = User.objects.filter(reduce(or_, conditions), is_active=True)
        if actor := event.payload.get("actor"):
            people = people.exclude(username=actor)
        for user in people.select_related("team"):
            found[user.pk] = Recipient(user, in_app=True, by_email=True)
    subscriptions = Subscription.objects.filter(
        event=event.name, active=True, user__is_active=True
    ).select_related("user__team")
    for sub in subscriptions:
        if sub.matches(event.payload):
            recipient = found.setdefault(sub.user_id, Recipient(sub.user))
            recipient.in_app |= sub.in_app
            recipient.by_email |= sub.by_email
    return sorted(found.values(), key=lambda r: r.user.pk)


# --- the step -------------------------------------------------------------------------------


@dataclass
class FanoutResult:
    events: list[int] = field(default_factory=list)
    notifications: int = 0
    emails: int = 0
    skipped: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"events {len(self.events)}, notifications {self.notifications}, "
            f"e-mails queued {self.emails}, skipped {len(self.skipped)}"
        )


def message_id(event: OutboxEvent, user: User) -> str:
    """A Message-ID fixed by the event and the person: the same on every retry."""
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2] or "leadflow"
    return f"<event-{event.pk}.user-{user.pk}@{domain}>"


def fan_out(event: OutboxEvent, now: datetime) -> tuple[int, int]:
    """Write the notifications and e-mails of one event and mark it processed. Runs inside
    the caller's transaction; returns (notifications, e-mails)."""
    url = lead_url(event.payload)
    notifications, emails = [], []
    for r in recipients(event):
        title, body = render(event.name, event.payload, r.user)
        if r.in_app:
            notifications.append(
                Notification(
                    user=r.user, event=event, event_name=event.name, lead_id=event.lead_id,
                    title=title[:200], body=body, url=url, created_at=now,
                )
            )
        if r.by_email and r.user.email:
            emails.append(
                EmailDelivery(
                    event=event, user=r.user, to_address=r.user.email, subject=title[:255],
                    body=email_body(body, url, settings.LEADFLOW_BASE_URL),
                    message_id=message_id(event, r.user), next_attempt_at=now, created_at=now,
                )
            )
    Notification.objects.bulk_create(notifications)
    EmailDelivery.objects.bulk_create(emails)
    # In this transaction: an event marked processed has its webhook deliveries queued.
    webhooks.queue(event, now)
    OutboxEvent.objects.filter(pk=event.pk).update(processed_at=now)
    return len(notifications), len(emails)


def process_outbox(
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = _never_stop,
) -> FanoutResult:
    """Fan out every unprocessed outbox event, oldest first, a batch per transaction."""
    now = now or timezone.now()
    result = FanoutResult()
    while not should_stop():
        with transaction.atomic():
            events = list(
                OutboxEvent.objects.filter(processed_at__isnull=True)
                .exclude(pk__in=result.skipped)
                .order_by("id")
                .select_for_update(skip_locked=True)[:batch]
            )
            for event in events:
                try:
                    with transaction.atomic():
                        notified, emailed = fan_out(event, now)
                except Exception:
                    # Left unprocessed, retried next pass; the others must not wait for it.
                    logger.exception("fan-out of event %s (%s) failed", event.pk, event.name)
                    result.skipped.append(event.pk)
                    continue
                result.events.append(event.pk)
                result.notifications += notified
                result.emails += emailed
        if len(events) < batch:
            break
    return result
