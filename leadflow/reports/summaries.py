"""Monthly cohort summaries: the lead-source table's counts for the leads created in one month,
kept so that a twelve-month table adds up twelve summaries instead of counting half a million
leads and their hand-offs again.

A month's summary holds, per (source, campaign) of the cohort's leads, the counts the source
table's formulas take (`sources`): leads, reached(S) for each stage after inquiry
(`funnel.reached`), revenue of the won opportunities, the hand-off outcomes
(`handoffs.outcome_counts`: decided, rejected, accepted, returned) and the rejection and
return reasons (reason id → hand-offs). `count_month` computes them from the rows; the
summaries are what it returned, kept in `CohortSummary`, per company time zone.

Freshness. Database triggers (migration reports 0002) write a `CohortChange` note for the
month of every lead whose figures may have changed, whatever wrote the row — actions,
importer, demo, restore, a bulk update — so no code path can forget. A summary is used only
while its month has no note; otherwise `refresh` counts the month again and deletes the notes
it saw, in one transaction that cannot miss a change:
- SQLite: the transaction holds the write lock from its start (transaction_mode IMMEDIATE):
  no write is in flight while it counts, and every note is one it reads.
- PostgreSQL: REPEATABLE READ. Notes are always written (never skipped as already there), and
  the refresh deletes only the notes its snapshot shows: a change committed after the
  snapshot keeps its note, so the next read counts again. Two refreshes of one month at once:
  one fails to serialize and its caller uses the figures without keeping them.
The worker refreshes noted months between reads (`refresh_noted`), so a read seldom counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from leadflow.leads.models import Decision, Opportunity, OpportunityStage
from leadflow.reports import funnel
from leadflow.reports import handoffs as handoff_measures
from leadflow.reports.grouping import Grouping
from leadflow.reports.models import CohortChange, CohortSummary
from leadflow.reports.periods import MONTH, Span

STAGES = funnel.STAGES[1:]  # mql, sal, sql, opportunity, won
OUTCOMES = ("decided", "rejected", "accepted", "returned")
MONTHS_PER_PASS = 24  # the worker's bound on one pass


@dataclass
class CampaignCounts:
    """The counts of one (source, campaign) of a cohort; reasons are {reason id: hand-offs}."""

    source_id: int | None
    campaign_id: int | None
    leads: int = 0
    reached: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    revenue: Decimal = Decimal("0")
    decided: int = 0
    rejected: int = 0
    accepted: int = 0
    returned: int = 0
    rejections: dict[int | None, int] = field(default_factory=dict)
    returns: dict[int | None, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int | None, int | None]:
        return (self.source_id, self.campaign_id)

    def add(self, other: CampaignCounts) -> None:
        self.leads += other.leads
        for s in STAGES:
            self.reached[s] += other.reached[s]
        self.revenue += other.revenue
        for name in OUTCOMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.rejections, other.rejections), (self.returns, other.returns)):
            for reason, n in theirs.items():
                mine[reason] = mine.get(reason, 0) + n

    def to_json(self) -> dict:
        return {
            "source": self.source_id,
            "campaign": self.campaign_id,
            "leads": self.leads,
            "reached": self.reached,
            "revenue": str(self.revenue),
            **{name: getattr(self, name) for name in OUTCOMES},
            "rejections": [[reason, n] for reason, n in self.rejections.items()],
            "returns": [[reason, n] for reason, n in self.returns.items()],
        }

    @classmethod
    def from_json(cls, data: dict) -> CampaignCounts:
        return cls(
            data["source"],
            data["campaign"],
            leads=data["leads"],
            reached={s: data["reached"][s] for s in STAGES},
            revenue=Decimal(data["revenue"]),
            **{name: data[name] for name in OUTCOMES},
            rejections={reason: n for reason, n in data["rejections"]},
            returns={reason: n for reason, n in data["returns"]},
        )


MonthCounts = dict[tuple, CampaignCounts]  # (source id, campaign id) → counts
Counts = dict[date, MonthCounts]


# --- counting from the rows ----------------------------------------------------------------


def count_month(month: date) -> MonthCounts:
    """The counts of one month's cohort, from the rows (no summary read or kept): five
    grouped queries by (source, campaign) — reached counts, revenue, hand-off outcomes,
    rejection reasons, return reasons."""
    span = Span(MONTH, month)
    found: MonthCounts = {}

    def at(source_id, campaign_id) -> CampaignCounts:
        key = (source_id, campaign_id)
        if key not in found:
            found[key] = CampaignCounts(source_id, campaign_id)
        return found[key]

    cohort = Grouping(
        "campaign", {"g_source_id": F("source_id"), "g_campaign_id": F("campaign_id")}
    )
    for values, counts in funnel.reached(span, cohort):
        c = at(*values)
        c.leads = counts[funnel.INQUIRY]
        c.reached = {s: counts[s] for s in STAGES}

    names = ["lead__source_id", "lead__campaign_id"]

    # The cohort's leads by the creation index, then their rows through the lead index: a
    # filter on the joined lead's creation time would read every row of the other table.
    cohort_ids = funnel.cohort(span).values("pk")

    def per_campaign(queryset, *extra, **aggregates):
        """Aggregates per campaign of the cohort's leads (and per `extra` column)."""
        return (
            queryset.filter(lead__in=cohort_ids)
            .values(*names, *extra)
            .annotate(**aggregates)
            .order_by()
        )

    won = Opportunity.objects.filter(stage=OpportunityStage.WON)
    for r in per_campaign(won, revenue=Sum("amount")):
        at(*(r[n] for n in names)).revenue = r["revenue"] or Decimal(0)

    outcomes = handoff_measures.outcome_counts()
    for r in per_campaign(handoff_measures.handoffs(), **{n: outcomes[n] for n in OUTCOMES}):
        c = at(*(r[n] for n in names))
        for name in OUTCOMES:
            setattr(c, name, r[name])

    rejected = handoff_measures.handoffs().filter(decision=Decision.REJECTED)
    for r in per_campaign(rejected, "reason_id", n=Count("id")):
        at(*(r[n] for n in names)).rejections[r["reason_id"]] = r["n"]
    # A return's reason is on the history row of the return: found through the returned
    # hand-off (a few rows, the (lead, at) index), not by scanning the history for returns.
    returned = (
        handoff_measures.handoffs()
        .filter(decision=Decision.ACCEPTED, returned_at__isnull=False)
        .annotate(return_reason=handoff_measures.return_reason_id())
    )
    for r in per_campaign(returned, "return_reason", n=Count("id")):
        at(*(r[n] for n in names)).returns[r["return_reason"]] = r["n"]
    return found


# --- kept summaries ------------------------------------------------------------------------


def _note(month: date) -> str:
    return f"{month:%Y-%m}"


def monthly(months: Iterable[date]) -> Counts:
    """The counts of each month's cohort: its summary while no change is noted for the month,
    else counted again now (`refresh`)."""
    months = sorted(set(months))
    zone = settings.TIME_ZONE
    # Notes first: a refresh that commits between the two reads then shows its summary,
    # rather than the notes it deleted being missed beside the summary it replaced.
    noted = set(
        CohortChange.objects.filter(month__in=[_note(m) for m in months])
        .values_list("month", flat=True)
        .distinct()
    )
    kept = {
        s.month: s for s in CohortSummary.objects.filter(month__in=months, time_zone=zone)
    }
    stale = [m for m in months if m not in kept or _note(m) in noted]
    found = {
        m: {c.key: c for c in map(CampaignCounts.from_json, kept[m].rows)}
        for m in months
        if m not in stale
    }
    if stale:
        found.update(refresh(stale))
    return found


def refresh(months: Iterable[date]) -> Counts:
    """Count `months` again, keep their summaries and delete the notes seen (module docstring),
    a month per transaction: on SQLite the write lock is held while a month is counted, a
    fraction of a second, not for as long as a whole range would take. A refresh that loses a
    race with another returns its counts without keeping them."""
    found: Counts = {}
    for month in sorted(set(months)):
        found.update(_refresh_month(month))
    return found


def _refresh_month(month: date) -> Counts:
    counted: Counts | None = None
    # Inside a caller's transaction (a test's) the isolation level is the caller's.
    own_transaction = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql" and own_transaction:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            counted = {month: count_month(month)}
            zone = settings.TIME_ZONE
            CohortSummary.objects.filter(month=month, time_zone=zone).delete()
            CohortSummary.objects.create(
                month=month,
                time_zone=zone,
                computed_at=timezone.now(),
                rows=[c.to_json() for c in counted[month].values()],
            )
            CohortChange.objects.filter(month=_note(month)).delete()
    except DatabaseError:
        if counted is None:
            raise
    return counted


@dataclass
class Refreshed:
    months: int = 0


def refresh_noted(should_stop: Callable[[], bool] = lambda: False) -> Refreshed:
    """The worker's step: count again the months with notes, a bounded number per pass."""
    notes = CohortChange.objects.values_list("month", flat=True).distinct()
    months = sorted({date(int(n[:4]), int(n[5:7]), 1) for n in notes})[-MONTHS_PER_PASS:]
    if not months or should_stop():
        return Refreshed()
    refresh(months)
    return Refreshed(months=len(months))


def total_per_campaign(counts: Counts) -> dict[tuple, CampaignCounts]:
    """The months' counts added up per (source, campaign)."""
    out: dict[tuple, CampaignCounts] = {}
    for month in counts.values():
        for key, c in month.items():
            if key not in out:
                out[key] = CampaignCounts(*key)
            out[key].add(c)
    return out

