"""The lead funnel (DOMAIN.md "Measurements"): the cohort waterfall and the flow view.

Stages of the waterfall, in order: inquiry (raw lead), mql, sal, sql, opportunity, won.
A lead *enters* a stage when a history row (StageChange, the waterfall's source of truth)
takes it there; the opportunity stage is entered when its opportunity is opened (the
opportunity's first history row, at `discovery`). Paths do not matter: a lead that skipped a
stage has not reached it, and a lead that entered a stage twice (recycled from nurture,
overruled back to sales) has reached it once.

Queries, per span: the cohort view is one statement over the cohort's lead rows alone — each
lead carries when it first entered each stage (`Lead.first_mql_at` … `won_at`, set by the
lifecycle plan that takes it there and equal to its first history row entering the stage;
tests/test_reports_first_entries.py), read through the `lead_cohort` index — counted and ranked per
group (`measures.grouped_measures`). The flow view is one GROUP BY over the history rows of the
span, found through the (to_stage, at) index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q
from django.utils import timezone

from leadflow.leads.models import FIRST_ENTERED, Lead, OpportunityStage, Stage, StageChange
from leadflow.reports import grouping as dims
from leadflow.reports.grouping import ALL, NO_FILTERS, Filters, Grouping
from leadflow.reports.measures import (
    COUNT_ALL,
    DAY,
    Measured,
    Seconds,
    Spread,
    grouped_measures,
    ratio,
)
from leadflow.reports.output import Compared, compare
from leadflow.reports.periods import Span

COHORT, FLOW = "cohort", "flow"
VIEWS = (COHORT, FLOW)
INQUIRY, MQL, SAL, SQL, OPPORTUNITY, WON = "inquiry", "mql", "sal", "sql", "opportunity", "won"
STAGES = (INQUIRY, MQL, SAL, SQL, OPPORTUNITY, WON)
STEPS = tuple(zip(STAGES, STAGES[1:], strict=False))  # consecutive stages (S, T)

_ENTRY = {
    INQUIRY: ("lead", Stage.INQUIRY),
    MQL: ("lead", Stage.MQL),
    SAL: ("lead", Stage.SAL),
    SQL: ("lead", Stage.SQL),
    OPPORTUNITY: ("opportunity", OpportunityStage.DISCOVERY),
    WON: ("lead", Stage.WON),
}


def entered(stage: str, prefix: str = "") -> Q:
    """History rows by which a lead enters a waterfall stage (prefix: path to StageChange)."""
    entity, to_stage = _ENTRY[stage]
    return Q(**{f"{prefix}entity": entity, f"{prefix}to_stage": to_stage})


def cohort(span: Span, filters: Filters = NO_FILTERS):
    """The cohort: leads created in the span (company time), narrowed by `filters`."""
    leads = Lead.objects.filter(created_at__gte=span.start, created_at__lt=span.end)
    return dims.filter_leads(leads, filters)


# --- results -------------------------------------------------------------------------------


@dataclass
class FunnelRow:
    """One group's funnel. Keys of `conversion`, `from_raw` and `hours_from_previous` are the
    later stage T of each step S→T."""

    group: str
    reached: dict[str, int]
    conversion: dict[str, float | None]
    from_raw: dict[str, float | None]
    hours_from_previous: dict[str, Spread] = field(default_factory=dict)
    total: bool = False


@dataclass
class Funnel:
    view: str
    period: str
    by: str | None
    stages: list[str]
    rows: list[FunnelRow]  # the total ("All") first
    approximate: bool  # flow-view ratios compare different leads: approximate
    cohort_age_days: dict[str, int] | None = None  # youngest and oldest lead, at `as_of`


def funnel_row(group: str, reached: dict[str, int], *, total: bool = False) -> FunnelRow:
    """Conversion S→T = reached(T) / reached(S) for consecutive stages; from raw =
    reached(T) / reached(inquiry). None when the denominator is zero."""
    counts = {s: int(reached.get(s) or 0) for s in STAGES}
    return FunnelRow(
        group=group,
        reached=counts,
        conversion={t: ratio(counts[t], counts[s]) for s, t in STEPS},
        from_raw={t: ratio(counts[t], counts[INQUIRY]) for t in STAGES[1:]},
        total=total,
    )


def zero_row(group: str) -> FunnelRow:
    return funnel_row(group, {})


# --- cohort view ---------------------------------------------------------------------------


def first_entries(span: Span, group: Grouping, filters: Filters = NO_FILTERS):
    """One row per cohort lead: its group columns, `t_<S>` = when it first entered each stage S
    (NULL: never; inquiry: its creation) and `d_<T>` = seconds from first entering S to first
    entering T for each step S→T (NULL unless it reached both).

    The first entries are the lead's own columns (`FIRST_ENTERED`): no join to the history.
    """
    first_entry = {f"t_{s}": F(FIRST_ENTERED[s]) for s in STAGES[1:]}
    return (
        cohort(span, filters)
        .annotate(**group.columns, t_inquiry=F("created_at"), **first_entry)
        .annotate(**{f"d_{t}": Seconds(F(f"t_{t}"), F(f"t_{s}")) for s, t in STEPS})
        .values(*group.names, *first_entry, *(f"d_{t}" for _, t in STEPS))
        .order_by()
    )


def measure_cohort(
    span: Span, group: Grouping, filters: Filters = NO_FILTERS, *, times: bool = True
) -> Measured:
    """reached(S) per group of the cohort (leads with a first entry into S: each lead once,
    whatever the path and however often it entered S) and, with `times`, the median and p90
    of each step's `d_<T>` — one query."""
    return grouped_measures(
        first_entries(span, group, filters),
        [f"d_{t}" for _, t in STEPS] if times else [],
        group.names,
        counts=[COUNT_ALL, *(f"t_{s}" for s in STAGES[1:])],
    )


def _reached(counts: dict[str, int]) -> dict[str, int]:
    return {INQUIRY: counts[COUNT_ALL], **{s: counts[f"t_{s}"] for s in STAGES[1:]}}


def reached(span: Span, group: Grouping, filters: Filters = NO_FILTERS) -> list[tuple]:
    """reached(S) for each stage S, per group of the cohort: [(group values, {stage: n})].

    reached(inquiry) = leads in the cohort; reached(S) = leads of the cohort with at least one
    history row entering S, counted once (`first_entries`).
    """
    measured = measure_cohort(span, group, filters, times=False)
    if not group.columns:
        return [((), _reached(measured.counts.get(None) or _NO_COUNTS))]
    return [(values, _reached(c)) for values, c in measured.counts.items() if values is not None]


_NO_COUNTS = {COUNT_ALL: 0, **{f"t_{s}": 0 for s in STAGES[1:]}}


def cohort_waterfall(
    span: Span,
    by: str | None = None,
    filters: Filters = NO_FILTERS,
    as_of: datetime | None = None,
) -> Funnel:
    """The cohort waterfall of the leads created in `span`, per group of `by`.

    Counts per stage (`reached`), conversion between consecutive stages and from raw
    (`funnel_row`), and the median and p90 hours from first entering S to first entering T
    among the leads that reached both (`first_entries`), all in one query. Cohort age: days
    from the end (youngest lead) and from the start (oldest) of the span to `as_of`: young
    cohorts are not finished.
    """
    as_of = as_of or timezone.now()
    group = dims.grouping(by)
    measured = measure_cohort(span, group, filters)
    total = funnel_row(ALL, _reached(measured.counts.get(None) or _NO_COUNTS), total=True)
    rows = []
    if group.columns:
        rows = [
            funnel_row(group.label(values), _reached(c))
            for values, c in measured.counts.items()
            if values is not None
        ]
    by_label = {r.group: r for r in rows}
    for (column, values), spread in measured.spreads.items():
        row = total if values is None else by_label.get(group.label(values))
        if row is not None:
            row.hours_from_previous[column.removeprefix("d_")] = spread
    for row in [total, *rows]:
        row.hours_from_previous = {
            t: row.hours_from_previous.get(t, Spread()) for _, t in STEPS
        }
    return Funnel(
        view=COHORT,
        period=span.label,
        by=by,
        stages=list(STAGES),
        rows=[total, *sorted(rows, key=lambda r: r.group)],
        approximate=False,
        cohort_age_days={
            "youngest": max(0, int((as_of - span.end).total_seconds() // DAY)),
            "oldest": max(0, int((as_of - span.start).total_seconds() // DAY)),
        },
    )


# --- flow view -----------------------------------------------------------------------------


def entries(span: Span, group: Grouping, filters: Filters = NO_FILTERS) -> list[tuple]:
    """Leads entering each stage during `span`, whatever their creation date, per group:
    COUNT(DISTINCT lead) of history rows entering S with `at` in the span
    (the (to_stage, at) index)."""
    rows = StageChange.objects.filter(at__gte=span.start, at__lt=span.end).filter(
        _any_entry()
    )
    rows = dims.filter_leads(rows, filters, prefix="lead__")
    counts = {s: Count("lead", distinct=True, filter=entered(s)) for s in STAGES}
    if not group.columns:
        return [((), rows.aggregate(**counts))]
    grouped = rows.annotate(**group.columns).values(*group.names).annotate(**counts).order_by()
    return [(tuple(r[n] for n in group.names), r) for r in grouped]


def _any_entry() -> Q:
    q = Q()
    for stage in STAGES:
        q |= entered(stage)
    return q


def flow(span: Span, by: str | None = None, filters: Filters = NO_FILTERS) -> Funnel:
    """The flow view: leads entering each stage in `span`. Ratios between the flows
    (entering T / entering S) relate different leads, so they are labelled approximate.

    A lead may enter a stage in several periods or groups' periods, so the total is counted on
    its own, not summed from the groups.
    """
    group = dims.grouping(by, prefix="lead__", moment="at")
    rows = [funnel_row(group.label(v), c) for v, c in entries(span, group, filters)]
    if group.columns:
        (_, counts), = entries(span, dims.grouping(None), filters)
    else:
        counts = rows[0].reached
    total = funnel_row(ALL, counts, total=True)
    rows = [total] + (sorted(rows, key=lambda r: r.group) if group.columns else [])
    return Funnel(
        view=FLOW, period=span.label, by=by, stages=list(STAGES), rows=rows, approximate=True
    )


# --- the report ----------------------------------------------------------------------------


def waterfall(
    span: Span,
    view: str = COHORT,
    by: str | None = None,
    filters: Filters = NO_FILTERS,
    as_of: datetime | None = None,
) -> Compared:
    """The waterfall (cohort or flow view) for the span, the previous span and the same span
    last year, with the same groups in each."""
    if view not in VIEWS:
        raise ValueError(f"view is one of {', '.join(VIEWS)}, not {view!r}")
    dims.grouping(by)  # refuse an unknown dimension before any query
    as_of = as_of or timezone.now()

    def compute(s: Span) -> Funnel:
        if view == FLOW:
            return flow(s, by, filters)
        return cohort_waterfall(s, by, filters, as_of)

    def zero(group: str) -> FunnelRow:
        row = zero_row(group)
        if view == COHORT:
            row.hours_from_previous = {t: Spread() for _, t in STEPS}
        return row

    return compare(f"waterfall-{view}", span, compute, zero, dims.grouping(by).expected)
