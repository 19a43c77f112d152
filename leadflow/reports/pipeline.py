"""Pipeline and outcomes (DOMAIN.md "Measurements"): pipeline thickness, new opportunities,
win rate, bid-to-win, velocity and revenue for a span, and a forecast of the next quarter with
its back-test.

An opportunity's stage at a moment is the stage of its last history row before that moment,
so past snapshots are rebuilt from the append-only history, not from today's rows. Amounts are
today's (amount changes are not historised). Filters: `source` and `campaign` of the lead,
`team` of the opportunity's owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Lead as Next
from django.utils import timezone

from leadflow.leads.models import Opportunity, OpportunityStage, StageChange
from leadflow.reports.grouping import NO_FILTERS, Filters
from leadflow.reports.measures import DAY, Seconds, Spread, grouped_percentiles, money, ratio
from leadflow.reports.output import Compared, compare
from leadflow.reports.periods import QUARTER, Span

OPEN_STAGES = (OpportunityStage.DISCOVERY, OpportunityStage.PROPOSAL, OpportunityStage.FORECAST)
HISTORY_QUARTERS = 4
BACKTEST_QUARTERS = 4


def opportunities(filters: Filters = NO_FILTERS):
    """Opportunities of leads from `filters.source` / `campaign`, owned by `filters.team`."""
    rows = Opportunity.objects.all()
    if filters.source is not None:
        rows = rows.filter(lead__source_id=filters.source)
    if filters.campaign is not None:
        rows = rows.filter(lead__campaign_id=filters.campaign)
    if filters.team is not None:
        rows = rows.filter(owner__team_id=filters.team)
    return rows


def open_at(moment: datetime, filters: Filters = NO_FILTERS):
    """Opportunities open at `moment` (created before it, not closed before it), annotated
    with `stage_then`, their stage at that moment."""
    last_change = StageChange.objects.filter(
        opportunity=OuterRef("pk"), entity=StageChange.Entity.OPPORTUNITY, at__lt=moment
    ).order_by("-at", "-id")
    return (
        opportunities(filters)
        .filter(created_at__lt=moment)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=moment))
        .annotate(stage_then=Subquery(last_change.values("to_stage")[:1]))
    )


# --- the span ------------------------------------------------------------------------------


@dataclass
class Pipeline:
    period: str
    snapshot_at: datetime  # pipeline thickness is measured here: the span's end, or as_of
    open_count: dict[str, int]
    open_value: dict[str, Decimal]
    open_total_count: int
    open_total_value: Decimal
    new_opportunities: int
    new_value: Decimal
    won: int
    lost: int
    win_rate: float | None
    revenue: Decimal
    closed_after_proposal: int
    won_after_proposal: int
    bid_to_win: float | None
    velocity_days: dict[str, Spread] = field(default_factory=dict)


def thickness(moment: datetime, filters: Filters = NO_FILTERS) -> dict[str, tuple[int, Decimal]]:
    """Pipeline thickness: open opportunities at `moment` by stage, (count, value)."""
    rows = (
        open_at(moment, filters)
        .values("stage_then")
        .annotate(n=Count("id"), value=Sum("amount"))
        .order_by()
    )
    found = {r["stage_then"]: (r["n"], money(r["value"])) for r in rows}
    return {s: found.get(s, (0, money(0))) for s in OPEN_STAGES}


def outcomes(span: Span, filters: Filters = NO_FILTERS) -> dict:
    """New and closed opportunities of the span, in one query:
    new = created in the span (count, value); won, lost = closed in the span;
    win rate = won / (won + lost); revenue = amounts won in the span;
    bid-to-win = won / closed, among the closed opportunities that reached proposal."""
    created = Q(created_at__gte=span.start, created_at__lt=span.end)
    closed = Q(closed_at__gte=span.start, closed_at__lt=span.end)
    won = closed & Q(stage=OpportunityStage.WON)
    lost = closed & Q(stage=OpportunityStage.LOST)
    reached_proposal = Exists(
        StageChange.objects.filter(
            opportunity=OuterRef("pk"),
            entity=StageChange.Entity.OPPORTUNITY,
            to_stage=OpportunityStage.PROPOSAL,
        )
    )
    counts = (
        opportunities(filters)
        .filter(created | closed)
        .annotate(bid=reached_proposal)
        .aggregate(
            new=Count("id", filter=created),
            new_value=Sum("amount", filter=created),
            won=Count("id", filter=won),
            lost=Count("id", filter=lost),
            revenue=Sum("amount", filter=won),
            closed_after_proposal=Count("id", filter=closed & Q(bid=True)),
            won_after_proposal=Count("id", filter=won & Q(bid=True)),
        )
    )
    return counts


def stays(filters: Filters = NO_FILTERS):
    """Every stay of an opportunity in a stage: from the history row that entered the stage
    (`g_stage`) to the next row of the same opportunity (`left_at`), in seconds (`stay`)."""
    rows = StageChange.objects.filter(entity=StageChange.Entity.OPPORTUNITY)
    if filters.source is not None:
        rows = rows.filter(opportunity__lead__source_id=filters.source)
    if filters.campaign is not None:
        rows = rows.filter(opportunity__lead__campaign_id=filters.campaign)
    if filters.team is not None:
        rows = rows.filter(opportunity__owner__team_id=filters.team)
    following = Window(
        Next("at"), partition_by=[F("opportunity_id")], order_by=[F("at").asc(), F("id").asc()]
    )
    return rows.annotate(g_stage=F("to_stage"), left_at=following).annotate(
        stay=Seconds(F("left_at"), F("at"))
    )


def velocity(span: Span, filters: Filters = NO_FILTERS) -> dict[str, Spread]:
    """Velocity: median (and p90) days in each open stage, over the stays that ended in the
    span (the opportunity moved on, or closed, during the span)."""
    ended = (
        stays(filters)
        .filter(left_at__gte=span.start, left_at__lt=span.end)
        .values("g_stage", "stay")
        .order_by()
    )
    spreads = grouped_percentiles(ended, ["stay"], ["g_stage"], total=False, unit=DAY)
    return {s: spreads.get(("stay", (s,)), Spread()) for s in OPEN_STAGES}


def pipeline(
    span: Span, filters: Filters = NO_FILTERS, as_of: datetime | None = None
) -> Pipeline:
    """Pipeline and outcomes of one span (three queries)."""
    as_of = as_of or timezone.now()
    snapshot_at = min(span.end, as_of)
    open_by_stage = thickness(snapshot_at, filters)
    counts = outcomes(span, filters)
    return Pipeline(
        period=span.label,
        snapshot_at=snapshot_at,
        open_count={s: n for s, (n, _) in open_by_stage.items()},
        open_value={s: v for s, (_, v) in open_by_stage.items()},
        open_total_count=sum(n for n, _ in open_by_stage.values()),
        open_total_value=money(sum(v for _, v in open_by_stage.values())),
        new_opportunities=counts["new"],
        new_value=money(counts["new_value"]),
        won=counts["won"],
        lost=counts["lost"],
        win_rate=ratio(counts["won"], counts["won"] + counts["lost"]),
        revenue=money(counts["revenue"]),
        closed_after_proposal=counts["closed_after_proposal"],
        won_after_proposal=counts["won_after_proposal"],
        bid_to_win=ratio(counts["won_after_proposal"], counts["closed_after_proposal"]),
        velocity_days=velocity(span, filters),
    )


def report(span: Span, filters: Filters = NO_FILTERS, as_of: datetime | None = None) -> Compared:
    """Pipeline and outcomes for the span, the previous span and the same span last year."""
    as_of = as_of or timezone.now()
    return compare("pipeline", span, lambda s: pipeline(s, filters, as_of))


# --- the forecast --------------------------------------------------------------------------


@dataclass
class StageSnapshot:
    """Opportunities open in a stage at a moment, and those of them won before a horizon."""

    open: int = 0
    open_value: Decimal = Decimal(0)
    won: int = 0
    won_value: Decimal = Decimal(0)


def snapshot(
    moment: datetime, horizon: datetime, filters: Filters = NO_FILTERS
) -> dict[str, StageSnapshot]:
    """Per stage at `moment`: open opportunities (count, value) and those won in
    [moment, horizon) — one query."""
    won = Q(stage=OpportunityStage.WON, closed_at__gte=moment, closed_at__lt=horizon)
    rows = (
        open_at(moment, filters)
        .values("stage_then")
        .annotate(
            n=Count("id"),
            value=Sum("amount"),
            won=Count("id", filter=won),
            won_value=Sum("amount", filter=won),
        )
        .order_by()
    )
    found = {
        r["stage_then"]: StageSnapshot(
            r["n"], money(r["value"]), r["won"], money(r["won_value"])
        )
        for r in rows
    }
    return {s: found.get(s, StageSnapshot(0, money(0), 0, money(0))) for s in OPEN_STAGES}


@dataclass
class StageForecast:
    stage: str
    open: int
    open_value: Decimal
    conversion: float | None  # won within a quarter / open at the quarter's start, historically
    expected_value: Decimal


@dataclass
class Backtest:
    quarter: str
    forecast: Decimal | None
    actual: Decimal  # won in the quarter by the opportunities open at its start
    error: Decimal | None  # forecast − actual
    relative_error: float | None  # error / actual


@dataclass
class Forecast:
    quarter: str
    base_at: datetime
    history: list[str]
    stages: list[StageForecast]
    value: Decimal | None
    backtest: list[Backtest]
    mean_absolute_relative_error: float | None


class _Snapshots:
    """Snapshots at quarter starts, each taken once however many forecasts use it."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self._taken: dict[tuple, dict[str, StageSnapshot]] = {}

    def at(self, moment: datetime, horizon: datetime) -> dict[str, StageSnapshot]:
        key = (moment, horizon)
        if key not in self._taken:
            self._taken[key] = snapshot(moment, horizon, self.filters)
        return self._taken[key]

    def quarter(self, q: Span) -> dict[str, StageSnapshot]:
        return self.at(q.start, q.end)


def _complete_quarters_before(moment: datetime, count: int) -> list[Span]:
    """The `count` calendar quarters that ended at or before `moment`, latest first."""
    last = Span.containing(moment, QUARTER).previous()  # ends at or before `moment`
    return [last.shifted(-3 * k) for k in range(count)]


def _forecast_from(
    base: dict[str, StageSnapshot], training: list[dict[str, StageSnapshot]]
) -> tuple[list[StageForecast], Decimal | None]:
    """expected(S) = open value in S × conversion(S); conversion(S) = Σ won within the quarter
    / Σ open at the quarter's start, over the training quarters (None: no history for S)."""
    stages, known = [], False
    for s in OPEN_STAGES:
        opened = sum(t[s].open for t in training)
        won = sum(t[s].won for t in training)
        expected = money(0)
        if opened:
            known = True
            expected = money(base[s].open_value * Decimal(won) / Decimal(opened))
        stages.append(
            StageForecast(s, base[s].open, base[s].open_value, ratio(won, opened), expected)
        )
    return stages, (money(sum(f.expected_value for f in stages)) if known else None)


def forecast(
    quarter: Span | None = None,
    filters: Filters = NO_FILTERS,
    as_of: datetime | None = None,
    history: int = HISTORY_QUARTERS,
    backtest: int = BACKTEST_QUARTERS,
) -> Forecast:
    """Revenue expected in `quarter` (default: the next quarter) from the opportunities open
    now: Σ over stages of open value × the historical share of opportunities in that stage at
    a quarter's start that were won within that quarter — stage conversion and velocity in one
    rate, measured on the `history` complete quarters before the forecast is made.
    New opportunities opened and won within the quarter are not in it.

    Back-test: the same forecast made at the start of each of the last `backtest` complete
    quarters (with the `history` quarters before it), against what the opportunities open at
    that start actually won in the quarter; error = forecast − actual, and the mean absolute
    relative error. Queries: one per distinct quarter start, plus one for now.
    """
    as_of = as_of or timezone.now()
    quarter = quarter or Span.containing(as_of, QUARTER).next()
    if quarter.kind != QUARTER or quarter.count != 1:
        raise ValueError(f"a forecast is for one quarter, not {quarter.label}")
    snapshots = _Snapshots(filters)
    base_at = min(quarter.start, as_of)
    training_quarters = _complete_quarters_before(base_at, history)
    stages, value = _forecast_from(
        snapshots.at(base_at, quarter.end), [snapshots.quarter(q) for q in training_quarters]
    )
    tests = []
    for past in reversed(_complete_quarters_before(as_of, backtest)):
        if past.end > base_at:
            continue  # a quarter the forecast itself covers is no test of it
        base = snapshots.quarter(past)
        training = [snapshots.quarter(q) for q in _complete_quarters_before(past.start, history)]
        _, predicted = _forecast_from(base, training)
        actual = money(sum(s.won_value for s in base.values()))
        error = None if predicted is None else predicted - actual
        tests.append(
            Backtest(
                past.label, predicted, actual, error,
                None if error is None else ratio(float(error), float(actual)),
            )
        )
    errors = [abs(t.relative_error) for t in tests if t.relative_error is not None]
    return Forecast(
        quarter=quarter.label,
        base_at=base_at,
        history=[q.label for q in reversed(training_quarters)],
        stages=stages,
        value=value,
        backtest=tests,
        mean_absolute_relative_error=sum(errors) / len(errors) if errors else None,
    )
