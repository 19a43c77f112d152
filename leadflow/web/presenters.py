"""Read models for the pages: the lead timeline, the current hand-off, SLA clocks, a page of
rows.

They only read. Anything that changes a lead goes through `leadflow.leads.actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from leadflow.leads import lifecycle
from leadflow.leads.business_time import BusinessCalendar
from leadflow.leads.models import Activity, Decision, Handoff, Lead, StageChange
from leadflow.leads.routing import DatabaseServices

TIMELINE_LIMIT = 200
# More than half of the allowed business time gone: the offer is at risk (DOMAIN.md; the
# first reminder goes out at the same point).
AT_RISK_FRACTION = 0.5


def owner_label(lead: Lead) -> str:
    """The person who owns the lead, else its team's queue."""
    if lead.owner_id:
        return str(lead.owner)
    if lead.owner_team_id:
        return f"{lead.owner_team} queue"
    return "Nobody"


def owner_phrase(lead: Lead) -> str:
    """The owner in a sentence: 'owned by Sam Rivera', 'in the Arbiter queue'."""
    if lead.owner_id:
        return f"owned by {lead.owner}"
    if lead.owner_team_id:
        return f"in the {lead.owner_team} queue"
    return "owned by nobody"


# --- the timeline --------------------------------------------------------------------------

_LABELS = {(t.name, t.source, t.target): t.label for t in lifecycle.TRANSITIONS}
_LABELS_BY_NAME = {t.name: t.label for t in lifecycle.TRANSITIONS}
_OTHER_LABELS = {"create": "Created"}
# An opportunity's own history rows, named after what happened to the opportunity.
_OPPORTUNITY_LABELS = {
    "accept": "Opportunity opened",
    "advance": "Opportunity moved",
    "win": "Opportunity won",
    "lose": "Opportunity lost",
    "return": "Opportunity closed: lead returned",
}


def transition_label(change: StageChange) -> str:
    if change.entity == StageChange.Entity.OPPORTUNITY:
        return _OPPORTUNITY_LABELS.get(change.transition, "Opportunity changed")
    found = _LABELS.get((change.transition, change.from_stage, change.to_stage))
    return (
        found
        or _OTHER_LABELS.get(change.transition)
        or _LABELS_BY_NAME.get(change.transition)
        or change.transition.replace("_", " ").capitalize()
    )


@dataclass
class TimelineEntry:
    at: datetime
    change: StageChange | None = None
    activity: Activity | None = None

    @property
    def label(self) -> str:
        if self.change is not None:
            return transition_label(self.change)
        return self.activity.get_kind_display()

    @property
    def sort_key(self) -> tuple:
        # At the same instant a stage change is shown above the activity that led to it.
        row = self.change or self.activity
        return (self.at, self.change is not None, row.pk)


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    truncated: bool


def timeline(lead: Lead, limit: int = TIMELINE_LIMIT) -> Timeline:
    """History rows and activities of a lead in one list, newest first (two queries)."""
    changes = list(
        StageChange.objects.filter(lead=lead)
        .select_related("actor", "reason", "definition", "opportunity")
        .order_by("-at", "-id")[: limit + 1]
    )
    activities = list(
        Activity.objects.filter(lead=lead)
        .select_related("actor", "campaign")
        .order_by("-occurred_at", "-id")[: limit + 1]
    )
    entries = [TimelineEntry(at=c.at, change=c) for c in changes]
    entries += [TimelineEntry(at=a.occurred_at, activity=a) for a in activities]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    return Timeline(entries=entries[:limit], truncated=len(entries) > limit)


# --- the current hand-off ------------------------------------------------------------------


@dataclass
class HandoffSummary:
    handoff: Handoff
    pending: bool
    overdue: bool = False
    remaining: timedelta | None = None  # business time left, or past the deadline if overdue

    @property
    def remaining_text(self) -> str:
        if self.remaining is None:
            return ""
        span = business_span(self.remaining)
        if self.overdue:
            return f"Overdue by {span} of business time"
        return f"{span} of business time left"


def current_handoff(lead: Lead, now: datetime | None = None) -> HandoffSummary | None:
    handoff = (
        Handoff.objects.filter(lead=lead)
        .select_related("offered_to", "offered_to_team", "decided_by", "reason")
        .order_by("-id")
        .first()
    )
    if handoff is None:
        return None
    summary = HandoffSummary(handoff=handoff, pending=handoff.decision == Decision.PENDING)
    if summary.pending:
        now = now or timezone.now()
        # The calendar the deadline was set with: the team's hours, holidays and days off.
        calendar = DatabaseServices().calendar(handoff.offered_to_team)
        if handoff.accept_by > now:
            summary.remaining = calendar.between(now, handoff.accept_by)
        else:
            summary.overdue = True
            summary.remaining = calendar.between(handoff.accept_by, now)
    return summary


def business_span(span: timedelta) -> str:
    """'3 h 20 min', '45 min', 'less than a minute'."""
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "less than a minute"


# --- SLA clocks (the inbox, the team view) --------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """Where a deadline stands: wall-clock seconds for the live countdown, business time for
    the sentence (the deadline counts working hours of the receiving team's calendar)."""

    deadline: datetime
    seconds_left: int  # negative once the deadline has passed
    business: timedelta  # business time left; once past the deadline, business time overdue
    fraction_used: float  # of the allowed business time

    @property
    def overdue(self) -> bool:
        return self.seconds_left <= 0

    @property
    def at_risk(self) -> bool:
        return not self.overdue and self.fraction_used > AT_RISK_FRACTION

    @property
    def status(self) -> str:
        return "overdue" if self.overdue else "at_risk" if self.at_risk else "on_track"

    @property
    def percent_used(self) -> int:
        return min(100, round(self.fraction_used * 100))

    # What the countdown shows before its script takes over (and without JavaScript).
    @property
    def countdown_word(self) -> str:
        return countdown_parts(self.seconds_left)[0]

    @property
    def countdown_time(self) -> str:
        return countdown_parts(self.seconds_left)[1]

    @property
    def business_span(self) -> str:
        return business_span(self.business)


def clock(calendar: BusinessCalendar, start: datetime, deadline: datetime, now: datetime) -> Clock:
    allowed = calendar.between(start, deadline)
    used = calendar.between(start, now)
    if now < deadline:
        business = calendar.between(now, deadline)
    else:
        business = calendar.between(deadline, now)
    fraction = used / allowed if allowed else (1.0 if now >= deadline else 0.0)
    return Clock(
        deadline=deadline,
        seconds_left=int((deadline - now).total_seconds()),
        business=business,
        fraction_used=fraction,
    )


def countdown_parts(seconds: int) -> tuple[str, str]:
    """('Due in', '02:14:05'), ('Due in', '1 d 02:14:05'), ('Overdue by', '00:03:10'):
    countdown.js writes the same."""
    word = "Due in" if seconds > 0 else "Overdue by"
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    span = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return word, f"{days} d {span}" if days else span


def offer_clock(offer: Handoff, now: datetime, services: DatabaseServices) -> Clock:
    """The accept-by clock of a hand-off, in its team's calendar (`services` caches it)."""
    calendar = services.calendar(offer.offered_to_team)
    return clock(calendar, offer.offered_at, offer.accept_by, now)


# --- a page of rows without COUNT(*) -------------------------------------------------------


@dataclass
class RowPage:
    """One page of a query. It fetches one row more than it shows to know whether a next page
    exists, so a large table is never counted."""

    number: int
    rows: list
    has_next: bool
    per_page: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.rows) - 1 if self.rows else 0


def row_page(queryset, page: str | None, per_page: int) -> RowPage:
    try:
        number = max(1, int(page or 1))
    except ValueError:
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return RowPage(
        number=number, rows=rows[:per_page], has_next=len(rows) > per_page, per_page=per_page
    )
