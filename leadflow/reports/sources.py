"""Lead-source economics (DOMAIN.md "Cost per stage"): the table the seeds ask for, per source
and campaign, for the cohort of leads created in a span.

For a source or campaign and span, with reached(S) from the cohort waterfall
(`funnel.reached`, each lead counted once per stage however it got there):
- raw leads = reached(inquiry); spend = Spend rows of the span's months;
- cost per raw lead = spend / raw leads; cost per S = spend / reached(S) for S in mql, sal,
  sql (the qualified lead), opportunity, won — rounded to cents, None for zero leads;
- % reaching S = reached(S) / raw leads;
- revenue = amounts of the cohort's won opportunities; ROI = (revenue − spend) / spend;
- rejection rate = rejected / decided and return rate = returned / accepted, over the
  hand-offs of the cohort's leads (`handoffs.outcome_counts`), with their top reasons.

Rows: each source's total, then its campaigns; leads and spend without a campaign make a
"(no campaign)" row, since spend may be booked on the source as a whole. "All" first.
The cohort's counts come from the monthly cohort summaries (`summaries`), added up over the
span's months; spend is read from its rows.
The seeds' example: $23.15 per raw lead and 1.28% of raw leads qualifying is
23.15 / 0.0128 = $1,808.59 per qualified lead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from leadflow.leads.models import Campaign, ReasonCode, Source, Spend
from leadflow.reports import handoffs as handoff_measures
from leadflow.reports import summaries
from leadflow.reports.grouping import ALL, NO_CAMPAIGN, NO_FILTERS, NOT_SET, Filters
from leadflow.reports.handoffs import ReasonShare, pareto, reason_counts
from leadflow.reports.measures import cost_per, money, ratio, roi
from leadflow.reports.output import Compared, compare
from leadflow.reports.periods import Span

STAGES = summaries.STAGES
TOP_REASONS = 3
TOTAL, SOURCE, CAMPAIGN = "total", "source", "campaign"


@dataclass
class SourceRow:
    group: str  # "Source" for a source's total, "Source › Campaign" for a campaign
    source: str
    campaign: str | None  # None on a source's own row and on the "All" row
    level: str  # total, source or campaign
    raw_leads: int = 0
    reached: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    spend: Decimal = Decimal("0.00")
    revenue: Decimal = Decimal("0.00")
    cost_per_raw_lead: Decimal | None = None
    reach_rate: dict[str, float | None] = field(default_factory=dict)
    cost_per: dict[str, Decimal | None] = field(default_factory=dict)
    roi: float | None = None
    decided: int = 0
    rejected: int = 0
    rejection_rate: float | None = None
    accepted: int = 0
    returned: int = 0
    return_rate: float | None = None
    top_rejection_reasons: list[ReasonShare] = field(default_factory=list)
    top_return_reasons: list[ReasonShare] = field(default_factory=list)
    total: bool = False

    def add(self, other: SourceRow) -> None:
        self.raw_leads += other.raw_leads
        for s in STAGES:
            self.reached[s] += other.reached[s]
        self.spend += other.spend
        self.revenue += other.revenue
        self.decided += other.decided
        self.rejected += other.rejected
        self.accepted += other.accepted
        self.returned += other.returned

    def finish(self, rejections: list, returns: list) -> None:
        """The derived figures, from the counts; reasons as (code, label, class, n)."""
        self.spend, self.revenue = money(self.spend), money(self.revenue)
        self.cost_per_raw_lead = cost_per(self.spend, self.raw_leads)
        self.reach_rate = {s: ratio(self.reached[s], self.raw_leads) for s in STAGES}
        self.cost_per = {s: cost_per(self.spend, self.reached[s]) for s in STAGES}
        self.roi = roi(self.revenue, self.spend)
        self.rejection_rate = handoff_measures.rejection_rate(self.rejected, self.decided)
        self.return_rate = handoff_measures.return_rate(self.returned, self.accepted)
        self.top_rejection_reasons = pareto(_merge(rejections))[:TOP_REASONS]
        self.top_return_reasons = pareto(_merge(returns))[:TOP_REASONS]


def _merge(reasons: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    merged: dict[tuple, int] = defaultdict(int)
    for code, label, reason_class, n in reasons:
        merged[(code, label, reason_class)] += n
    return [(*key, n) for key, n in merged.items()]


@dataclass
class SourceTable:
    period: str
    rows: list[SourceRow]


def _label(source: str, campaign: str | None, level: str) -> str:
    return source if level == SOURCE else f"{source} › {campaign or NO_CAMPAIGN}"


def source_table(span: Span, filters: Filters = NO_FILTERS) -> SourceTable:
    """The source table for the cohort of leads created in `span` (see the module docstring).

    The cohort's counts per campaign are the span's monthly summaries added up
    (`summaries.monthly`: kept, or counted again where a change was noted); spend is one
    grouped query; source and "All" rows are sums of the campaign rows (each lead and each
    spend row belongs to exactly one campaign row).
    """
    if filters.team is not None:
        raise ValueError("the source table cannot be narrowed to a team: spend is not")
    counted = summaries.total_per_campaign(summaries.monthly(span.month_starts()))
    counted = {
        key: c
        for key, c in counted.items()
        if filters.source in (None, c.source_id) and filters.campaign in (None, c.campaign_id)
    }
    spend = Spend.objects.filter(month__in=span.month_starts())
    if filters.source is not None:
        spend = spend.filter(source_id=filters.source)
    if filters.campaign is not None:
        spend = spend.filter(campaign_id=filters.campaign)
    spent = {
        (r["source_id"], r["campaign_id"]): r["amount"]
        for r in spend.values("source_id", "campaign_id").annotate(amount=Sum("amount")).order_by()
    }
    keys = set(counted) | set(spent)
    source_names = dict(
        Source.objects.filter(pk__in={s for s, _ in keys}).values_list("pk", "name")
    )
    campaign_names = dict(
        Campaign.objects.filter(pk__in={c for _, c in keys if c is not None})
        .values_list("pk", "name")
    )
    reasons = ReasonCode.objects.in_bulk()
    campaigns: dict[tuple, SourceRow] = {}
    rejections: dict[tuple, list] = {}
    returns: dict[tuple, list] = {}
    for key in keys:
        source_id, campaign_id = key
        source = source_names.get(source_id, NOT_SET)
        campaign = campaign_names.get(campaign_id)
        r = SourceRow(
            _label(source, campaign, CAMPAIGN), source, campaign or NO_CAMPAIGN, CAMPAIGN
        )
        r.spend = spent.get(key, Decimal(0))
        c = counted.get(key) or summaries.CampaignCounts(*key)
        r.raw_leads, r.reached, r.revenue = c.leads, dict(c.reached), c.revenue
        r.decided, r.rejected, r.accepted, r.returned = (
            c.decided, c.rejected, c.accepted, c.returned
        )
        campaigns[key] = r
        rejections[key] = reason_counts(reasons, c.rejections)
        returns[key] = reason_counts(reasons, c.returns)
    return _assemble(span, campaigns, rejections, returns)


def _assemble(span: Span, campaigns: dict, rejections: dict, returns: dict) -> SourceTable:
    total = SourceRow(ALL, ALL, None, TOTAL, total=True)
    all_rejections, all_returns = [], []
    by_source: dict[int, list[tuple]] = defaultdict(list)
    for key in campaigns:
        by_source[key[0]].append(key)
    rows = []
    for source_id in sorted(by_source, key=lambda s: campaigns[by_source[s][0]].source):
        keys = sorted(
            by_source[source_id],
            key=lambda k: (k[1] is None, campaigns[k].campaign or ""),
        )
        name = campaigns[keys[0]].source
        source_row = SourceRow(name, name, None, SOURCE)
        source_rejections, source_returns = [], []
        for key in keys:
            r = campaigns[key]
            r.finish(rejections[key], returns[key])
            source_row.add(r)
            source_rejections += rejections[key]
            source_returns += returns[key]
        source_row.finish(source_rejections, source_returns)
        total.add(source_row)
        all_rejections += source_rejections
        all_returns += source_returns
        rows += [source_row, *(campaigns[k] for k in keys)]
    total.finish(all_rejections, all_returns)
    return SourceTable(period=span.label, rows=[total, *rows])


def report(span: Span, filters: Filters = NO_FILTERS) -> Compared:
    """The source table for the span, the previous span and the same span last year, with
    the same rows in each (zeros where a source or campaign had nothing)."""
    if filters.team is not None:
        raise ValueError("the source table cannot be narrowed to a team: spend is not")
    seen: dict[str, SourceRow] = {}

    def compute(s: Span) -> SourceTable:
        table = source_table(s, filters)
        for r in table.rows:
            seen.setdefault(r.group, r)
        return table

    def zero(label: str) -> SourceRow:
        like = seen[label]
        r = SourceRow(label, like.source, like.campaign, like.level)
        r.finish([], [])
        return r

    def order(r: SourceRow):
        return (r.source, r.level != SOURCE, r.campaign == NO_CAMPAIGN, r.campaign or "")

    return compare("sources", span, compute, zero, sort_key=order)
