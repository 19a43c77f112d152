"""Read models for the pages: the lead timeline, the current hand-off, a page of rows.

They only read. Anything that changes a lead goes through `leadflow.leads.actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from leadflow.leads import lifecycle
from leadflow.leads.models import Activity, Decision, Handoff, Lead, StageChange
from leadflow.leads.routing import DatabaseServices

TIMELINE_LIMIT = 200


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
