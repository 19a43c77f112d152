"""How reports slice and filter leads: one definition per dimension, shared by every family.

Dimensions of a lead:
- `source`, `campaign` (shown as "Source › Campaign"), the segment fields `country`,
  `industry` and `employee_band` (bands of `employee_count`);
- `team` and `owner`: the inside-sales team and rep the lead was **first handed to** (its first
  MQL hand-off; the rep is the person offered it, or who decided it when it went to the team's
  queue). A lead's current owner says only where it is now (marketing for nurture, field sales
  once won), so it cannot rank how teams convert; the first hand-off can. Leads never handed
  over fall in "(not handed over)".
- `month`, `quarter`: the period of the moment the view counts (creation for a cohort, entry
  into the stage for the flow view), in the company's time zone.

The `team` filter uses the same definition as the `team` dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Trunc

from leadflow.leads.models import Handoff, HandoffKind
from leadflow.reports.periods import MONTH, QUARTER, Span, company_zone

SOURCE, CAMPAIGN, COUNTRY, INDUSTRY, EMPLOYEE_BAND = (
    "source", "campaign", "country", "industry", "employee_band",
)
TEAM, OWNER = "team", "owner"
LEAD_DIMENSIONS = (SOURCE, CAMPAIGN, COUNTRY, INDUSTRY, EMPLOYEE_BAND, TEAM, OWNER)
PERIOD_DIMENSIONS = (MONTH, QUARTER)
DIMENSIONS = LEAD_DIMENSIONS + PERIOD_DIMENSIONS

ALL = "All"
NOT_SET = "(not set)"
NOT_HANDED_OVER = "(not handed over)"
TEAM_QUEUE = "(team queue)"
NO_CAMPAIGN = "(no campaign)"

# (lowest, highest or None, label): employee_count bands for the `employee_band` dimension.
EMPLOYEE_BANDS = (
    (1, 49, "1–49"),
    (50, 199, "50–199"),
    (200, 999, "200–999"),
    (1000, 4999, "1,000–4,999"),
    (5000, None, "5,000+"),
)


@dataclass(frozen=True)
class Filters:
    """Narrow a report to one source, campaign or team (ids)."""

    source: int | None = None
    campaign: int | None = None
    team: int | None = None


NO_FILTERS = Filters()


def first_mql_offer(lead_ref: str) -> QuerySet[Handoff]:
    """The lead's first hand-off to inside sales (uses the (lead, offered_at) index)."""
    return Handoff.objects.filter(lead=OuterRef(lead_ref), kind=HandoffKind.MQL).order_by(
        "offered_at", "id"
    )


def _lead_ref(prefix: str) -> str:
    # 'lead__' -> 'lead_id': the foreign key column itself, no join to the lead table.
    return "pk" if not prefix else f"{prefix.removesuffix('__')}_id"


def handed_to_team_id(prefix: str = "") -> Subquery:
    return Subquery(first_mql_offer(_lead_ref(prefix)).values("offered_to_team_id")[:1])


def filter_leads(queryset: QuerySet, filters: Filters, prefix: str = "") -> QuerySet:
    """`queryset` (of leads, or of rows with a `lead` FK when prefix is 'lead__') narrowed."""
    if filters.source is not None:
        queryset = queryset.filter(**{f"{prefix}source_id": filters.source})
    if filters.campaign is not None:
        queryset = queryset.filter(**{f"{prefix}campaign_id": filters.campaign})
    if filters.team is not None:
        queryset = queryset.alias(_handed_team=handed_to_team_id(prefix)).filter(
            _handed_team=filters.team
        )
    return queryset


@dataclass(frozen=True)
class Grouping:
    """A dimension as annotations to GROUP BY, and how a row's values read as a label."""

    name: str | None
    columns: dict = field(default_factory=dict)
    labeller: Callable[[tuple], str] = lambda values: ALL
    period_kind: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def label(self, values: tuple | None) -> str:
        return ALL if values is None or not self.columns else self.labeller(tuple(values))

    def expected(self, span: Span) -> list[str]:
        """Groups that must appear even when empty: every period of a period dimension."""
        if self.period_kind is None:
            return []
        out, current = [], Span(self.period_kind, _period_first(span.first, self.period_kind))
        while current.start < span.end:
            out.append(current.label)
            current = current.next()
        return out


def _period_first(day: date, kind: str) -> date:
    month = day.month - (day.month - 1) % (3 if kind == QUARTER else 1)
    return date(day.year, month, 1)


def _text(value) -> str:
    return NOT_SET if value in (None, "") else str(value)


def _period_label(kind: str):
    def label(values: tuple) -> str:
        # SQLite hands back 'YYYY-MM-DD …' text, PostgreSQL a datetime: both start YYYY-MM.
        raw = str(values[0])[:7]
        return Span.period_label(kind, date(int(raw[:4]), int(raw[5:7]), 1))

    return label


def employee_band(field_name: str = "employee_count") -> Case:
    whens = []
    for low, high, label in EMPLOYEE_BANDS:
        condition = Q(**{f"{field_name}__gte": low})
        if high is not None:
            condition &= Q(**{f"{field_name}__lte": high})
        whens.append(When(condition, then=Value(label)))
    return Case(*whens, default=Value(NOT_SET), output_field=CharField())


def grouping(by: str | None, prefix: str = "", moment: str = "created_at") -> Grouping:
    """The `by` dimension for a queryset of leads (prefix '') or of rows with a `lead` FK
    (prefix 'lead__'). `moment` is the datetime a period dimension buckets."""
    p = prefix
    if by is None:
        return Grouping(None)
    if by == SOURCE:
        return Grouping(by, {"g_source": F(f"{p}source__name")}, lambda v: _text(v[0]))
    if by == CAMPAIGN:
        return Grouping(
            by,
            {
                "g_source": F(f"{p}source__name"),
                "g_campaign": F(f"{p}campaign__name"),
            },
            lambda v: f"{v[0]} › {v[1] or NO_CAMPAIGN}",
        )
    if by in (COUNTRY, INDUSTRY):
        return Grouping(by, {f"g_{by}": F(f"{p}{by}")}, lambda v: _text(v[0]))
    if by == EMPLOYEE_BAND:
        return Grouping(by, {"g_band": employee_band(f"{p}employee_count")}, lambda v: v[0])
    if by == TEAM:
        team = Subquery(first_mql_offer(_lead_ref(p)).values("offered_to_team__name")[:1])
        return Grouping(by, {"g_team": team}, lambda v: v[0] or NOT_HANDED_OVER)
    if by == OWNER:
        # The subquery is NULL for a lead never handed over; a hand-off to the queue that
        # nobody decided (ignored) has no person.
        rep = Subquery(
            first_mql_offer(_lead_ref(p))
            .annotate(
                rep=Coalesce(
                    "offered_to__username", "decided_by__username", Value(TEAM_QUEUE),
                    output_field=CharField(),
                )
            )
            .values("rep")[:1]
        )
        return Grouping(by, {"g_owner": rep}, lambda v: v[0] or NOT_HANDED_OVER)
    if by in PERIOD_DIMENSIONS:
        bucket = Trunc(moment, by, tzinfo=company_zone())
        return Grouping(by, {"g_period": bucket}, _period_label(by), period_kind=by)
    raise ValueError(f"cannot group by {by!r}; one of: {', '.join(DIMENSIONS)}")

