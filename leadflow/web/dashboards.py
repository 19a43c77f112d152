"""The dashboards' read model: one page per audience (executive, marketing, sales), built from
the report functions of `leadflow.reports` and nothing else.

Every figure on a dashboard is read from a report's JSON (`output.jsonable` of the result the
API returns for the same filter), by its path in that JSON: the tile, the chart and the table
show the value found there, and each cell carries the path and the API URL, so a test (or a
curious person) can check every number against `/api/reports/...`. Nothing is computed here
but the layout: no rate, cost or total is recomputed from counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from django.utils import timezone

from leadflow.accounts.models import Role, Side, Team, User
from leadflow.leads.models import HandoffKind, OpportunityStage, Source
from leadflow.reports import funnel, handoffs, pipeline, sources
from leadflow.reports.grouping import ALL, Filters
from leadflow.reports.output import jsonable
from leadflow.reports.periods import MONTH, QUARTER, PeriodError, Span, company_zone

EXECUTIVE, MARKETING, SALES = "executive", "marketing", "sales"
AUDIENCES = {
    EXECUTIVE: "Executive",
    MARKETING: "Marketing",
    SALES: "Sales",
}
COMPARISONS = ("current", "previous", "last_year")
TREND_MONTHS = 12

STAGE_LABELS = {
    funnel.INQUIRY: "Raw leads",
    funnel.MQL: "MQL",
    funnel.SAL: "SAL",
    funnel.SQL: "SQL (qualified)",
    funnel.OPPORTUNITY: "Opportunity",
    funnel.WON: "Won",
}
OPEN_STAGE_LABELS = {s: OpportunityStage(s).label for s in pipeline.OPEN_STAGES}


def audience_for(user: User) -> str:
    """The dashboard a person starts on: marketing's for marketing, sales' for reps and sales
    managers, the executive one for the arbiter, admins and anyone else."""
    if user.role == Role.MARKETING:
        return MARKETING
    if user.role in (Role.INSIDE_SALES, Role.FIELD_SALES):
        return SALES
    if user.role == Role.MANAGER:
        side = user.side
        if side == Side.MARKETING:
            return MARKETING
        if side in (Side.INSIDE_SALES, Side.FIELD_SALES):
            return SALES
    return EXECUTIVE


# --- numbers as the pages show them ------------------------------------------------------------


def fmt(value: Any, kind: str) -> str:
    """A report value as text: counts with thousands separators, rates as percentages with one
    decimal, money in dollars and cents, durations in hours or days; "—" for none."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "money":
        sign = "−" if value < 0 else ""
        return f"{sign}${abs(float(value)):,.2f}"
    if kind == "hours":
        return f"{float(value):,.1f} h"
    if kind == "days":
        return f"{float(value):,.1f} d"
    return str(value)


@dataclass
class Cell:
    """One figure: its value in the report's JSON, where it was found, and how it reads."""

    value: Any
    kind: str
    path: str = ""

    @property
    def text(self) -> str:
        return fmt(self.value, self.kind)

    @property
    def raw(self) -> str:
        return json.dumps(self.value)


@dataclass
class Report:
    """One report as the API answers it: the same function's result as JSON, and the URLs of
    its JSON and CSV."""

    endpoint: str  # the API's url name: report-waterfall, report-sources, ...
    params: dict[str, str]
    data: dict

    def url(self, **extra: str) -> str:
        query = {k: v for k, v in {**self.params, **extra}.items() if v not in (None, "")}
        return f"{reverse(f'api-1.0.0:{self.endpoint}')}?{urlencode(query)}"

    @property
    def api_url(self) -> str:
        return self.url()

    def csv_url(self, **extra: str) -> str:
        return self.url(format="csv", **extra)

    def get(self, path: str) -> Any:
        found: Any = self.data
        for part in path.split("."):
            found = found[int(part)] if isinstance(found, list) else found[part]
        return found

    def cell(self, path: str, kind: str) -> Cell:
        return Cell(self.get(path), kind, path)

    def row_index(self, comparison: str, group: str, rows: str = "rows") -> int | None:
        for i, row in enumerate(self.data[comparison][rows]):
            if row["group"] == group:
                return i
        return None

    @property
    def periods(self) -> dict[str, str]:
        return self.data["periods"]


# --- what a dashboard is made of -----------------------------------------------------------------


@dataclass
class Column:
    label: str
    sub: str = ""  # a second line: the period, the unit
    numeric: bool = True


@dataclass
class Row:
    header: str
    cells: list[Cell]
    sub: str = ""  # a second line under the header (a campaign's source, a rep's username)
    level: str = ""  # "total", "source", "campaign": how the row is set off


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]
    caption: str


@dataclass
class Dataset:
    label: str
    cells: list[Cell]
    role: str = "current"  # current, previous, last_year, or a series name: picks the colour
    type: str | None = None  # "line" on a bar chart
    axis: str = "y"  # "y2": the right-hand axis

    def spec(self) -> dict:
        found = {"label": self.label, "data": [c.value for c in self.cells], "role": self.role}
        if self.type:
            found["type"] = self.type
        if self.axis != "y":
            found["axis"] = self.axis
        return found


@dataclass
class Chart:
    type: str  # bar or line
    labels: list[str]
    datasets: list[Dataset]
    category_title: str  # the axis of the labels
    value_title: str  # the axis of the values
    kind: str  # how the values read: count, percent, money, hours
    horizontal: bool = False  # bars along the value axis, labels down the side
    value2_title: str = ""  # a right-hand axis, for datasets with axis="y2"
    value2_kind: str = ""

    def spec(self) -> dict:
        return {
            "type": self.type,
            "labels": self.labels,
            "datasets": [d.spec() for d in self.datasets],
            "category": {"title": self.category_title},
            "value": {"title": self.value_title, "format": self.kind},
            "value2": (
                {"title": self.value2_title, "format": self.value2_kind}
                if self.value2_title
                else None
            ),
            "horizontal": self.horizontal,
        }


@dataclass
class Panel:
    id: str
    title: str
    description: str
    report: Report
    chart: Chart | None
    table: Table | None
    csv_url: str
    empty: str = ""  # the empty state's sentence, when there is nothing to chart
    note: str = ""
    wide: bool = False  # the table goes below the chart (many columns), not beside it

    @property
    def spec_id(self) -> str:
        return f"chart-{self.id}-data"

    @property
    def chart_spec(self) -> dict | None:
        return self.chart.spec() if self.chart else None


@dataclass
class Tile:
    id: str
    label: str
    report: Report
    current: Cell
    previous: Cell
    last_year: Cell
    help: str = ""


@dataclass
class Dashboard:
    audience: str
    title: str
    lead: str  # a sentence under the title: what this page is for
    span: Span
    tiles: list[Tile]
    panels: list[Panel]

    @property
    def empty(self) -> bool:
        return all(p.empty for p in self.panels)


# --- filters -------------------------------------------------------------------------------------


def default_span(today: date) -> Span:
    """The last complete quarter: recent, and a whole period to compare with whole periods."""
    return Span(QUARTER, date(today.year, today.month - (today.month - 1) % 3, 1)).previous()


def period_choices(today: date) -> list:
    """Quarters and months up to the current one, and runs of the last complete months."""
    this_quarter = Span(QUARTER, date(today.year, today.month - (today.month - 1) % 3, 1))
    this_month = Span(MONTH, date(today.year, today.month, 1))
    quarters = [this_quarter.shifted(-3 * i) for i in range(8)]
    months = [this_month.shifted(-i) for i in range(13)]
    last_month = this_month.previous()
    ranges = [
        (Span(MONTH, last_month.shifted(1 - n).first, n), f"Last {n} complete months")
        for n in (3, 6, 12)
    ]

    def so_far(span: Span, current: Span) -> str:
        return f"{span.label} (so far)" if span == current else span.label

    return [
        ("Quarters", [(q.label, so_far(q, this_quarter)) for q in quarters]),
        ("Months", [(m.label, so_far(m, this_month)) for m in months]),
        ("Ranges", [(s.label, f"{label}: {s.label}") for s, label in ranges]),
    ]


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label="Period", required=False)
    source = forms.ModelChoiceField(
        label="Source",
        required=False,
        queryset=Source.objects.order_by("name"),
        empty_label="Any source",
    )
    team = forms.ModelChoiceField(
        label="Team",
        required=False,
        queryset=Team.objects.filter(side__in=(Side.INSIDE_SALES, Side.FIELD_SALES)).order_by(
            "name"
        ),
        empty_label="Any team",
        help_text="The sales team a lead was handed to, an offer was made to, or that owns "
        "the opportunity.",
    )

    def __init__(self, data=None, *, today: date | None = None):
        today = today or timezone.localtime(timezone.now(), company_zone()).date()
        if not (data or {}).get("period"):
            # No period asked for: the default, shown as chosen in the form.
            data = data.copy() if data is not None else {}
            data["period"] = default_span(today).label
        super().__init__(data, auto_id="filter_%s")
        self.today = today
        choices = period_choices(self.today)
        known = {value for _, options in choices for value, _ in options}
        asked = (data or {}).get("period", "")
        if asked and asked not in known:
            try:
                custom = Span.parse(asked).label
            except PeriodError:
                custom = None
            if custom is not None:
                # A range typed into the address: offered as it is, so the form keeps it.
                choices.append(("Custom", [(asked, f"Custom: {custom}")]))
        self.fields["period"].choices = choices
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-select form-select-sm"

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in ("source", "team"))

    def span(self) -> Span:
        self.is_valid()
        period = self.cleaned_data.get("period")
        return Span.parse(period) if period else default_span(self.today)

    def filters(self) -> Filters:
        self.is_valid()
        source, team = self.cleaned_data.get("source"), self.cleaned_data.get("team")
        return Filters(source=source.pk if source else None, team=team.pk if team else None)

    def params(self) -> dict[str, str]:
        """The filters as they are in the address, to keep them when switching tabs."""
        return {name: self.data[name] for name in self.fields if self.data.get(name)}

    def described(self) -> str:
        """'Organic Web · Inside sales', or '' for no filter."""
        self.is_valid()
        parts = [str(self.cleaned_data[n]) for n in ("source", "team") if self.cleaned_data.get(n)]
        return " · ".join(parts)


# --- the reports, once each ----------------------------------------------------------------------


class Reports:
    """Each report a dashboard needs, computed once, by the function the API calls."""

    def __init__(self, span: Span, filters: Filters):
        self.span = span
        self.filters = filters
        self.as_of = timezone.now()
        self._cache: dict[tuple, Report] = {}

    def _params(self, span: Span, *, team: bool = True, **extra) -> dict[str, str]:
        params = {"period": span.label}
        if self.filters.source is not None:
            params["source"] = str(self.filters.source)
        if team and self.filters.team is not None:
            params["team"] = str(self.filters.team)
        params.update({k: v for k, v in extra.items() if v})
        return params

    def _once(self, key: tuple, build: Callable[[], Report]) -> Report:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def waterfall(self, by: str | None = None, span: Span | None = None) -> Report:
        span = span or self.span
        return self._once(
            ("waterfall", by, span),
            lambda: Report(
                "report-waterfall",
                self._params(span, by=by),
                jsonable(funnel.waterfall(span, funnel.COHORT, by, self.filters, self.as_of)),
            ),
        )

    def trend_span(self) -> Span:
        """The twelve months that end with the period: the trend charts' window."""
        end = Span(MONTH, self.span.last_day).previous()
        return Span(MONTH, end.shifted(1 - TREND_MONTHS).first, TREND_MONTHS)

    def trend(self) -> Report:
        return self.waterfall("month", self.trend_span())

    def sources(self) -> Report:
        # Spend is booked per source and campaign, never per team: the table ignores `team`.
        no_team = Filters(source=self.filters.source, campaign=self.filters.campaign)
        return self._once(
            ("sources",),
            lambda: Report(
                "report-sources",
                self._params(self.span, team=False),
                jsonable(sources.report(self.span, no_team)),
            ),
        )

    def handoffs(self, by: str | None = None) -> Report:
        return self._once(
            ("handoffs", by),
            lambda: Report(
                "report-handoffs",
                self._params(self.span, by=by),
                jsonable(handoffs.report(self.span, by, self.filters, as_of=self.as_of)),
            ),
        )

    def forecast(self) -> Report:
        """The next quarter's revenue forecast with its back-test, as the API answers by
        default: made now from the opportunities open now, so it does not follow the period."""

        def build() -> Report:
            data = jsonable(pipeline.forecast(None, self.filters, self.as_of))
            params = {"quarter": data["quarter"]}
            if self.filters.source is not None:
                params["source"] = str(self.filters.source)
            if self.filters.team is not None:
                params["team"] = str(self.filters.team)
            return Report("report-forecast", params, data)

        return self._once(("forecast",), build)

    def pipeline(self) -> Report:
        return self._once(
            ("pipeline",),
            lambda: Report(
                "report-pipeline",
                self._params(self.span),
                jsonable(pipeline.report(self.span, self.filters, self.as_of)),
            ),
        )


# --- building blocks -----------------------------------------------------------------------------


def _period_columns(report: Report) -> list[Column]:
    """The period, the previous period and the same period last year, as column headers."""
    return [
        Column(report.periods[c], sub)
        for c, sub in zip(COMPARISONS, ("this period", "previous", "last year"), strict=True)
    ]


def _period_datasets(report: Report, paths: list[str], kind: str) -> list[Dataset]:
    """One dataset per comparison period, the same paths under each."""
    prefix = {"current": "", "previous": "Previous: ", "last_year": "Last year: "}
    return [
        Dataset(
            f"{prefix[c]}{report.periods[c]}",
            [report.cell(f"{c}.{p}", kind) for p in paths],
            role=c,
        )
        for c in COMPARISONS
    ]


def tile(id: str, label: str, report: Report, path: str, kind: str, help: str = "") -> Tile:
    """A headline figure (`path` under each comparison) with its previous and last year."""
    return Tile(
        id,
        label,
        report,
        *(report.cell(f"{c}.{path}", kind) for c in COMPARISONS),
        help=help,
    )


def _nothing(cells: list[Cell]) -> bool:
    return all(c.value in (None, 0, 0.0) for c in cells)


def _scope(span: Span, filters_text: str) -> str:
    return f"{span.label}{' · ' + filters_text if filters_text else ''}"


# --- the panels ----------------------------------------------------------------------------------


def funnel_panel(reports: Reports, scope: str) -> Panel:
    report = reports.waterfall()
    stages = list(funnel.STAGES)
    labels = [STAGE_LABELS[s] for s in stages]
    datasets = _period_datasets(report, [f"rows.0.reached.{s}" for s in stages], "count")
    current = datasets[0].cells
    rows = []
    for i, s in enumerate(stages):
        conversion = (
            report.cell(f"current.rows.0.conversion.{s}", "percent") if i else Cell(None, "percent")
        )
        from_raw = (
            report.cell(f"current.rows.0.from_raw.{s}", "percent") if i else Cell(None, "percent")
        )
        rows.append(
            Row(
                labels[i],
                [
                    datasets[0].cells[i],
                    datasets[1].cells[i],
                    datasets[2].cells[i],
                    conversion,
                    from_raw,
                ],
            )
        )
    age = report.get("current.cohort_age_days")
    return Panel(
        id="funnel",
        title="Funnel: the cohort waterfall",
        description=(
            "Leads created in the period and how many of them ever reached each stage (each "
            "lead once per stage, whatever its path), beside the previous period and the same "
            "period last year."
        ),
        report=report,
        chart=Chart("bar", labels, datasets, "Stage", "Leads of the cohort", "count"),
        table=Table(
            [
                Column("Stage", numeric=False),
                *_period_columns(report),
                Column("Step", "conversion"),
                Column("Of raw", "conversion"),
            ],
            rows,
            f"Cohort waterfall, {scope}",
        ),
        csv_url=report.csv_url(),
        empty="" if current[0].value else f"No leads were created in {scope}.",
        note=(
            f"Cohort age: {age['youngest']}–{age['oldest']} days. A young cohort is not finished:"
            " its later stages still fill up."
        ),
    )


def trend_panel(reports: Reports, scope: str, stages: tuple[str, ...]) -> Panel:
    """Leads reaching `stages` by month of creation, the twelve months to the period's end,
    against the same months a year earlier."""
    report = reports.trend()
    months = [r["group"] for r in report.data["current"]["rows"][1:]]
    datasets = []
    for s in stages:
        name = STAGE_LABELS[s]
        paths = [f"rows.{i + 1}.reached.{s}" for i in range(len(months))]
        datasets.append(
            Dataset(name, [report.cell(f"current.{p}", "count") for p in paths], role=s)
        )
        datasets.append(
            Dataset(
                f"{name}, a year earlier",
                [report.cell(f"last_year.{p}", "count") for p in paths],
                role=f"{s}-last-year",
            )
        )
    rows = [Row(month, [d.cells[i] for d in datasets]) for i, month in enumerate(months)]
    span = reports.trend_span()
    everything = [c for d in datasets for c in d.cells]
    return Panel(
        id="trend",
        title="Trend: twelve months against the year before",
        description=(
            f"Leads created each month from {span.label.replace('..', ' to ')}, and how many of "
            "each month's leads reached the later stages; dashed: the same months a year "
            "earlier."
        ),
        report=report,
        chart=Chart("line", months, datasets, "Month the leads were created", "Leads", "count"),
        table=Table(
            [
                Column("Month", "created", numeric=False),
                *[
                    Column(d.label, "" if d.role in stages else "12 months before")
                    for d in datasets
                ],
            ],
            rows,
            f"Leads by month of creation, {span.label}, and a year earlier",
        ),
        csv_url=report.csv_url(),
        empty="" if not _nothing(everything) else f"No leads were created in {span.label}.",
        wide=True,
    )


def source_panel(reports: Reports, scope: str, *, campaigns: bool) -> Panel:
    """The lead-source table of the seeds: cost per raw lead, per stage, revenue and ROI."""
    report = reports.sources()
    rows_data = report.data["current"]["rows"]
    # A campaign of the comparison periods only (no leads, no spend now) is left out here; the
    # CSV has every row.
    picked = [
        (i, r)
        for i, r in enumerate(rows_data)
        if r["level"] == "source"
        or (campaigns and r["level"] == "campaign" and (r["raw_leads"] or r["spend"]))
    ]
    total = [(0, rows_data[0])] if rows_data else []
    # (heading, second line, path under a row, format, in the short table of the executive)
    measures = [
        ("Raw leads", "", "raw_leads", "count", True),
        ("Spend", "", "spend", "money", True),
        ("Cost per raw lead", "", "cost_per_raw_lead", "money", True),
        ("Reached MQL", "of raw", "reach_rate.mql", "percent", False),
        ("Cost per MQL", "", "cost_per.mql", "money", False),
        ("Cost per SAL", "", "cost_per.sal", "money", False),
        ("Reached SQL", "of raw", "reach_rate.sql", "percent", True),
        ("Cost per SQL", "qualified lead", "cost_per.sql", "money", True),
        ("Cost per won deal", "", "cost_per.won", "money", True),
        ("Revenue", "", "revenue", "money", True),
        ("ROI", "", "roi", "percent", True),
        ("Rejection rate", "", "rejection_rate", "percent", False),
        ("Return rate", "", "return_rate", "percent", False),
    ]
    measures = [m for m in measures if campaigns or m[4]]
    columns = [Column(label, sub) for label, sub, *_ in measures]

    def cells(i: int) -> list[Cell]:
        return [report.cell(f"current.rows.{i}.{path}", kind) for _, _, path, kind, _ in measures]

    rows = []
    for i, r in [*picked, *total]:
        if r["level"] == "campaign":
            rows.append(Row(r["campaign"], cells(i), sub=r["source"], level="campaign"))
        else:
            rows.append(Row(r["group"], cells(i), level=r["level"]))
    by_source = [(i, r) for i, r in picked if r["level"] == "source"]
    chart = Chart(
        "bar",
        [r["group"] for _, r in by_source],
        [
            Dataset(
                f"Cost per raw lead, {report.periods['current']}",
                [report.cell(f"current.rows.{i}.cost_per_raw_lead", "money") for i, _ in by_source],
                role="previous",
            ),
            Dataset(
                f"Cost per SQL (qualified lead), {report.periods['current']}",
                [report.cell(f"current.rows.{i}.cost_per.sql", "money") for i, _ in by_source],
                role="current",
            ),
        ],
        "Source",
        "Cost (USD)",
        "money",
        horizontal=True,
    )
    raw = rows_data[0]["raw_leads"] if rows_data else 0
    return Panel(
        id="sources",
        title="Lead sources: what a qualified lead costs",
        description=(
            "Per source"
            + (" and campaign" if campaigns else "")
            + ", for the leads created in the period: spend, cost per raw lead and per stage "
            "reached, revenue won from them and ROI = (revenue − spend) / spend. A cheap raw "
            "lead that rarely qualifies is an expensive qualified lead."
        ),
        report=report,
        chart=chart,
        table=Table(
            [Column("Source" + (" / campaign" if campaigns else ""), numeric=False), *columns],
            rows,
            f"Lead-source economics, {report.periods['current']}",
        ),
        csv_url=report.csv_url(),
        empty="" if raw or any(r["spend"] for r in rows_data) else f"No leads or spend in {scope}.",
        note=(
            "Not narrowed to a team: spend is booked per source and campaign, not per team."
            if reports.filters.team is not None
            else ""
        ),
        wide=True,
    )


# (field, table row, formula, chart label)
HEALTH_MEASURES = (
    ("sla_compliance", "SLA compliance", "decided by the accept-by deadline / due", "SLA"),
    (
        "first_touch_compliance",
        "First touch in time",
        "touched by the deadline / due",
        "First touch",
    ),
    ("acceptance_rate", "Acceptance rate", "accepted / decided", "Accepted"),
    ("rejection_rate", "Rejection rate", "rejected / decided", "Rejected"),
    ("ignore_rate", "Ignore rate", "ignored / offered", "Ignored"),
    ("return_rate", "Return rate", "returned / accepted", "Returned"),
)


def health_panel(reports: Reports, scope: str, *, kind: str | None = None) -> Panel:
    """SLA compliance and the hand-off rates, against the previous period and last year; with
    `kind`, only that hand-off's row (by=kind)."""
    report = reports.handoffs("kind" if kind else None)
    index = 0
    if kind:
        index = report.row_index("current", HandoffKind(kind).label)
    base = f"rows.{index}" if index is not None else None
    labels = [short for *_, short in HEALTH_MEASURES]
    if base is None:
        datasets = []
        rows = []
    else:
        datasets = _period_datasets(report, [f"{base}.{m}" for m, *_ in HEALTH_MEASURES], "percent")
        rows = [
            Row(label, [d.cells[i] for d in datasets], sub=formula)
            for i, (_, label, formula, _) in enumerate(HEALTH_MEASURES)
        ]
        counts = (
            ("due", "Hand-offs due"),
            ("decided_in_time", "Decided in time"),
            ("offered", "Offered"),
        )
        for name, label in counts:
            rows.append(
                Row(label, [report.cell(f"{c}.{base}.{name}", "count") for c in COMPARISONS])
            )
    offered = report.get(f"current.{base}.offered") if base else 0
    due = report.get(f"current.{base}.due") if base else 0
    who = HandoffKind(kind).label.lower() if kind else "every hand-off"
    return Panel(
        id=f"health-{kind}" if kind else "health",
        title="SLA compliance and hand-off health"
        + (f": {HandoffKind(kind).label}" if kind else ""),
        description=(
            f"For {who}: hand-offs decided by their deadline, out of those due in the period; "
            "and what the receiving side did with the offers made in the period."
        ),
        report=report,
        chart=Chart("bar", labels, datasets, "Measure", "Share", "percent") if datasets else None,
        table=Table(
            [Column("Measure", numeric=False), *_period_columns(report)],
            rows,
            f"Hand-off health, {scope}",
        ),
        csv_url=report.csv_url(),
        empty="" if offered or due else f"No hand-offs were offered or due in {scope}.",
    )


def reps_panel(reports: Reports, scope: str) -> Panel:
    """SLA compliance and speed-to-lead by rep, for the sales dashboard."""
    report = reports.handoffs("rep")
    rows_data = report.data["current"]["rows"]
    names = {
        u.username: str(u)
        for u in User.objects.filter(username__in=[r["group"] for r in rows_data[1:]])
    }
    people = [(i, r) for i, r in enumerate(rows_data) if i and r["offered"]]
    columns = [
        Column("Offered"),
        Column("Accepted"),
        Column("Rejected"),
        Column("Ignored"),
        Column("Returned"),
        Column("Acceptance rate"),
        Column("SLA compliance"),
        Column("First touch in time"),
        Column("Offer → decision", "median, business h"),
        Column("Offer → decision", "p90, business h"),
        Column("Acceptance → first touch", "median, business h"),
    ]

    def cells(i: int) -> list[Cell]:
        p = f"current.rows.{i}"
        return [
            report.cell(f"{p}.offered", "count"),
            report.cell(f"{p}.accepted", "count"),
            report.cell(f"{p}.rejected", "count"),
            report.cell(f"{p}.ignored", "count"),
            report.cell(f"{p}.returned", "count"),
            report.cell(f"{p}.acceptance_rate", "percent"),
            report.cell(f"{p}.sla_compliance", "percent"),
            report.cell(f"{p}.first_touch_compliance", "percent"),
            report.cell(f"{p}.offer_to_decision.business.median", "hours"),
            report.cell(f"{p}.offer_to_decision.business.p90", "hours"),
            report.cell(f"{p}.acceptance_to_first_touch.business.median", "hours"),
        ]

    rows = []
    for i, r in people:
        name = names.get(r["group"], r["group"])
        # The username under the name, where it says more than the name.
        rows.append(Row(name, cells(i), sub=r["group"] if name.lower() != r["group"] else ""))
    if rows_data:
        rows.append(Row(ALL, cells(0), level="total"))
    labels = [names.get(r["group"], r["group"]) for _, r in people]
    chart = Chart(
        "bar",
        labels,
        [
            Dataset(
                "SLA compliance",
                [report.cell(f"current.rows.{i}.sla_compliance", "percent") for i, _ in people],
                role="current",
            ),
            Dataset(
                "Acceptance rate",
                [report.cell(f"current.rows.{i}.acceptance_rate", "percent") for i, _ in people],
                role="previous",
            ),
        ],
        "Rep",
        "Share",
        "percent",
        horizontal=True,
    )
    return Panel(
        id="reps",
        title="Speed-to-lead and SLA compliance by rep",
        description=(
            "Each rep's offers in the period: how many they accepted, rejected, let pass or "
            "returned, whether they decided in time, and how fast (business hours of the "
            "receiving team's calendar). An ignored offer to a team's queue counts for the queue."
        ),
        report=report,
        chart=chart if people else None,
        table=Table([Column("Rep", numeric=False), *columns], rows, f"Hand-offs by rep, {scope}"),
        csv_url=report.csv_url(),
        empty="" if people else f"No hand-offs were offered in {scope}.",
        wide=True,
    )


def pareto_panel(reports: Reports, scope: str, *, which: str) -> Panel:
    """Rejection or return reasons, largest first, with the cumulative share."""
    report = reports.handoffs()
    key = {"rejection": "rejection_reasons", "return": "return_reasons"}[which]
    reasons = report.data["current"][key]
    labels = [r["label"] for r in reasons]
    count = Dataset(
        "Hand-offs",
        [report.cell(f"current.{key}.{i}.count", "count") for i in range(len(reasons))],
        role="current",
    )
    cumulative = Dataset(
        "Cumulative share",
        [
            report.cell(f"current.{key}.{i}.cumulative_share", "percent")
            for i in range(len(reasons))
        ],
        role="line",
        type="line",
        axis="y2",
    )
    rows = [
        Row(
            r["label"],
            [
                count.cells[i],
                report.cell(f"current.{key}.{i}.share", "percent"),
                cumulative.cells[i],
            ],
            sub=r["reason_class"].capitalize() if r["reason_class"] else "",
        )
        for i, r in enumerate(reasons)
    ]
    what = "rejected before contact" if which == "rejection" else "returned after acceptance"
    return Panel(
        id=f"{which}-reasons",
        title=f"Why leads were {what}",
        description=(
            f"The reasons given for the hand-offs offered in the period that sales {what}, "
            "largest first: fixing the first few removes most of the waste."
        ),
        report=report,
        chart=Chart(
            "bar",
            labels,
            [count, cumulative],
            "Reason",
            "Hand-offs",
            "count",
            value2_title="Cumulative share",
            value2_kind="percent",
        )
        if reasons
        else None,
        table=Table(
            [
                Column("Reason", numeric=False),
                Column("Hand-offs", report.periods["current"]),
                Column("Share"),
                Column("Cumulative"),
            ],
            rows,
            f"{which.capitalize()} reasons, {scope}",
        ),
        csv_url=report.csv_url(table=key),
        empty="" if reasons else f"No hand-off was {what} in {scope}.",
    )


def pipeline_panel(reports: Reports, scope: str) -> Panel:
    report = reports.pipeline()
    stages = list(pipeline.OPEN_STAGES)
    labels = [OPEN_STAGE_LABELS[s] for s in stages]
    datasets = _period_datasets(report, [f"open_value.{s}" for s in stages], "money")
    rows = [
        Row(f"Open value: {label}", [d.cells[i] for d in datasets])
        for i, label in enumerate(labels)
    ]
    lines = (
        ("open_total_value", "Open pipeline value", "money"),
        ("open_total_count", "Open opportunities", "count"),
        ("new_opportunities", "New opportunities", "count"),
        ("new_value", "New opportunity value", "money"),
        ("won", "Won", "count"),
        ("lost", "Lost", "count"),
        ("win_rate", "Win rate", "percent"),
        ("bid_to_win", "Bid-to-win", "percent"),
        ("revenue", "Revenue won", "money"),
        *(
            (
                f"velocity_days.{s}.median",
                f"Days in {OPEN_STAGE_LABELS[s].lower()} (median)",
                "days",
            )
            for s in stages
        ),
    )
    for path, label, kind in lines:
        rows.append(Row(label, [report.cell(f"{c}.{path}", kind) for c in COMPARISONS]))
    everything = [c for row in rows for c in row.cells]
    return Panel(
        id="pipeline",
        title="Pipeline and outcomes",
        description=(
            "Open opportunity value by stage at the end of each period (or now, for a period "
            "still running), new opportunities, win rate = won / (won + lost), bid-to-win "
            "and revenue won in the period."
        ),
        report=report,
        chart=Chart("bar", labels, datasets, "Opportunity stage", "Open value (USD)", "money"),
        table=Table(
            [Column("Measure", numeric=False), *_period_columns(report)],
            rows,
            f"Pipeline, {scope}",
        ),
        csv_url=report.csv_url(),
        empty="" if not _nothing(everything) else f"No opportunities were open in {scope}.",
    )


def forecast_panel(reports: Reports, scope: str) -> Panel:
    """Revenue expected next quarter: today's open value per stage × the share of such
    opportunities won within a quarter in the last quarters."""
    report = reports.forecast()
    quarter = report.get("quarter")
    stages = report.get("stages")
    labels = [OPEN_STAGE_LABELS[s["stage"]] for s in stages]
    paths = [f"stages.{i}" for i in range(len(stages))]
    open_value = Dataset(
        "Open value today", [report.cell(f"{p}.open_value", "money") for p in paths],
        role="previous",
    )
    expected = Dataset(
        f"Expected revenue, {quarter}",
        [report.cell(f"{p}.expected_value", "money") for p in paths],
        role="current",
    )
    rows = [
        Row(
            label,
            [
                report.cell(f"{p}.open", "count"),
                open_value.cells[i],
                report.cell(f"{p}.conversion", "percent"),
                expected.cells[i],
            ],
        )
        for i, (label, p) in enumerate(zip(labels, paths, strict=True))
    ]
    blank = Cell(None, "money")
    rows.append(
        Row("Forecast", [Cell(None, "count"), blank, Cell(None, "percent"),
                         report.cell("value", "money")], level="total")
    )
    history = report.get("history")
    made = str(report.get("base_at"))[:10]
    return Panel(
        id="forecast",
        title=f"Forecast: revenue expected in {quarter}",
        description=(
            "The opportunities open today, by stage, times the share of the opportunities in "
            "that stage at a quarter's start that were won within that quarter (stage "
            "conversion and velocity in one rate), over the last complete quarters. New "
            "opportunities opened and won within the quarter are not in it."
        ),
        report=report,
        chart=Chart(
            "bar", labels, [open_value, expected], "Opportunity stage today", "Value (USD)",
            "money",
        ),
        table=Table(
            [
                Column("Stage", "today", numeric=False),
                Column("Open opportunities"),
                Column("Open value"),
                Column("Won within a quarter", "historically"),
                Column("Expected revenue", quarter),
            ],
            rows,
            f"Revenue forecast for {quarter}",
        ),
        csv_url=report.csv_url(table="stages"),
        empty=(
            ""
            if any(s["open"] for s in stages)
            else f"No opportunities are open today to forecast {quarter} from."
        ),
        note=(
            f"Made {made}, with conversion measured over {' '.join(history[:1])}–"
            f"{' '.join(history[-1:])}. It looks ahead from today, so the period chosen above "
            "does not change it; source and team do."
        ),
    )


def backtest_panel(reports: Reports, scope: str) -> Panel:
    """The same forecast made at the start of past quarters, against what was won."""
    report = reports.forecast()
    tests = report.get("backtest")
    paths = [f"backtest.{i}" for i in range(len(tests))]
    labels = [t["quarter"] for t in tests]
    predicted = Dataset(
        "Forecast at the quarter's start", [report.cell(f"{p}.forecast", "money") for p in paths],
        role="current",
    )
    actual = Dataset(
        "Actually won", [report.cell(f"{p}.actual", "money") for p in paths], role="previous"
    )
    rows = [
        Row(
            label,
            [
                predicted.cells[i],
                actual.cells[i],
                report.cell(f"{p}.error", "money"),
                report.cell(f"{p}.relative_error", "percent"),
            ],
        )
        for i, (label, p) in enumerate(zip(labels, paths, strict=True))
    ]
    rows.append(
        Row(
            "Mean absolute relative error",
            [Cell(None, "money"), Cell(None, "money"), Cell(None, "money"),
             report.cell("mean_absolute_relative_error", "percent")],
            level="total",
        )
    )
    return Panel(
        id="forecast-backtest",
        title="Forecast back-test: how far off it was on past quarters",
        description=(
            "The same forecast, made at the start of each of the last complete quarters from "
            "the quarters before it, against what the opportunities open at that start won "
            "in the quarter. Error = forecast − actual; relative error = error / actual."
        ),
        report=report,
        chart=Chart("bar", labels, [predicted, actual], "Quarter", "Revenue (USD)", "money")
        if tests
        else None,
        table=Table(
            [
                Column("Quarter", numeric=False),
                Column("Forecast"),
                Column("Actual"),
                Column("Error"),
                Column("Relative error"),
            ],
            rows,
            f"Forecast back-test, {', '.join(labels)}",
        ),
        csv_url=report.csv_url(table="backtest"),
        empty=(
            ""
            if any(t["forecast"] is not None or t["actual"] for t in tests)
            else "No past quarter had open opportunities to test the forecast on."
        ),
    )


# --- the three dashboards ------------------------------------------------------------------------


def build(audience: str, span: Span, filters: Filters, filters_text: str = "") -> Dashboard:
    reports = Reports(span, filters)
    scope = _scope(span, filters_text)
    w, s, h, p = reports.waterfall, reports.sources, reports.handoffs, reports.pipeline
    if audience == MARKETING:
        mql_row = _kind_row(h("kind"), HandoffKind.MQL)
        mql_acceptance = (
            tile(
                "mql-acceptance",
                "MQLs accepted by sales",
                h("kind"),
                f"rows.{mql_row}.acceptance_rate",
                "percent",
            )
            if mql_row is not None
            else tile(
                "mql-acceptance", "MQLs accepted by sales", h(), "rows.0.acceptance_rate", "percent"
            )
        )
        return Dashboard(
            MARKETING,
            "Marketing",
            "What marketing's leads cost, how many qualify, and what sales did with them.",
            span,
            [
                tile("raw", "Raw leads", w(), "rows.0.reached.inquiry", "count"),
                tile("mql", "MQLs", w(), "rows.0.reached.mql", "count"),
                tile("cost-raw", "Cost per raw lead", s(), "rows.0.cost_per_raw_lead", "money"),
                tile("cost-mql", "Cost per MQL", s(), "rows.0.cost_per.mql", "money"),
                tile("cost-sql", "Cost per qualified lead", s(), "rows.0.cost_per.sql", "money"),
                mql_acceptance,
            ],
            [
                funnel_panel(reports, scope),
                trend_panel(reports, scope, (funnel.INQUIRY, funnel.MQL)),
                source_panel(reports, scope, campaigns=True),
                pareto_panel(reports, scope, which="rejection"),
                health_panel(reports, scope, kind=HandoffKind.MQL),
            ],
        )
    if audience == SALES:
        return Dashboard(
            SALES,
            "Sales",
            "Offers decided in time, speed-to-lead by rep, and the pipeline they feed.",
            span,
            [
                tile("offered", "Hand-offs offered", h(), "rows.0.offered", "count"),
                tile("sla", "SLA compliance", h(), "rows.0.sla_compliance", "percent"),
                tile(
                    "speed",
                    "Offer → decision (median)",
                    h(),
                    "rows.0.offer_to_decision.business.median",
                    "hours",
                    help="business hours",
                ),
                tile(
                    "first-touch",
                    "First touch in time",
                    h(),
                    "rows.0.first_touch_compliance",
                    "percent",
                ),
                tile("win-rate", "Win rate", p(), "win_rate", "percent"),
                tile("pipeline", "Open pipeline", p(), "open_total_value", "money"),
            ],
            [
                health_panel(reports, scope),
                reps_panel(reports, scope),
                funnel_panel(reports, scope),
                pipeline_panel(reports, scope),
                forecast_panel(reports, scope),
                backtest_panel(reports, scope),
                pareto_panel(reports, scope, which="return"),
            ],
        )
    return Dashboard(
        EXECUTIVE,
        "Executive",
        "The whole lead flow on one page: volume, conversion, cost per qualified lead, "
        "SLA compliance and pipeline.",
        span,
        [
            tile("raw", "Raw leads", w(), "rows.0.reached.inquiry", "count"),
            tile("sql", "Qualified leads (SQL)", w(), "rows.0.reached.sql", "count"),
            tile("cost-sql", "Cost per qualified lead", s(), "rows.0.cost_per.sql", "money"),
            tile("sla", "SLA compliance", h(), "rows.0.sla_compliance", "percent"),
            tile("revenue", "Revenue won", p(), "revenue", "money"),
            tile("roi", "Marketing ROI", s(), "rows.0.roi", "percent"),
        ],
        [
            funnel_panel(reports, scope),
            trend_panel(reports, scope, (funnel.INQUIRY, funnel.SQL, funnel.WON)),
            source_panel(reports, scope, campaigns=False),
            health_panel(reports, scope),
            pipeline_panel(reports, scope),
            forecast_panel(reports, scope),
            backtest_panel(reports, scope),
        ],
    )


def _kind_row(report: Report, kind: str) -> int | None:
    return report.row_index("current", HandoffKind(kind).label)
