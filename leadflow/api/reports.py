"""Reports: the measurements of DOMAIN.md as JSON, or as CSV with `?format=csv`.

Thin edges: parse the filters, call one function of `leadflow.reports`, render. The figures
are the ones the dashboard pages show, computed by the same functions. Any signed-in user or
token may read reports: they are aggregates, not leads.

Every report but the forecast answers for a period (`2026-03`, `2026-Q1`, or a range such as
`2026-01..2026-03`) beside the previous period of the same length and the same period last
year: `{"report", "periods", "current", "previous", "last_year"}`.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from leadflow.accounts.models import Team
from leadflow.api.problems import invalid
from leadflow.api.schemas import ProblemOut
from leadflow.leads.models import Campaign, HandoffKind, Source
from leadflow.reports import funnel, handoffs, pipeline, sources
from leadflow.reports.grouping import DIMENSIONS, Filters
from leadflow.reports.output import compared_table, jsonable, table, to_csv
from leadflow.reports.periods import PeriodError, Span

router = Router(tags=["reports"])

RESPONSES = {200: dict, 422: ProblemOut}
Format = Literal["json", "csv"]
LeadDimension = Literal[DIMENSIONS]  # type: ignore[valid-type]
PERIOD_HELP = "A month (2026-03), a quarter (2026-Q1) or a range (2026-01..2026-03)."


class ReportFilters(Schema):
    period: str = Field(..., description=PERIOD_HELP)
    source: str | None = Field(None, description="Source id or name.")
    campaign: str | None = Field(None, description="Campaign id, or name if unambiguous.")
    team: str | None = Field(None, description="Team id or name.")
    format: Format = Field("json", description="`csv` for the table as CSV.")


class WaterfallFilters(ReportFilters):
    view: Literal["cohort", "flow"] = "cohort"
    by: LeadDimension | None = Field(None, description="Group rows by this dimension.")


class HandoffFilters(ReportFilters):
    by: Literal["kind", "team", "rep"] | None = None
    kind: HandoffKind | None = Field(None, description="Only MQL or only SQL hand-offs.")
    table: Literal["rows", "rejection_reasons", "rejection_classes", "return_reasons"] = Field(
        "rows", description="Which table `format=csv` gives."
    )


class ForecastFilters(Schema):
    quarter: str | None = Field(None, description="The quarter to forecast; default: the next.")
    source: str | None = None
    campaign: str | None = None
    team: str | None = None
    history: int = Field(pipeline.HISTORY_QUARTERS, ge=1, le=12)
    backtest: int = Field(pipeline.BACKTEST_QUARTERS, ge=0, le=12)
    format: Format = "json"
    table: Literal["stages", "backtest"] = "stages"


# --- parsing ---------------------------------------------------------------------------------


def _span(text: str, field: str = "period") -> Span:
    try:
        return Span.parse(text)
    except PeriodError as exc:
        raise invalid(field, str(exc)) from None


def _one(model, value: str, name_field: str, field: str, what: str, **scope) -> int:
    """The id of a record named `value` (or with id `value`)."""
    found = list(model.objects.filter(**{name_field: value}, **scope).values_list("pk", flat=True))
    if len(found) > 1:
        raise invalid(field, f"{len(found)} {what}s are named {value!r}: use the id")
    if not found and value.isdigit() and model.objects.filter(pk=int(value), **scope).exists():
        found = [int(value)]
    if not found:
        raise invalid(field, f"there is no {what} {value!r}")
    return found[0]


def _filters(params) -> Filters:
    source = params.source and _one(Source, params.source, "name", "source", "source")
    campaign = None
    if params.campaign:
        scope = {"source_id": source} if source else {}
        campaign = _one(Campaign, params.campaign, "name", "campaign", "campaign", **scope)
    team = params.team and _one(Team, params.team, "name", "team", "team")
    return Filters(source=source or None, campaign=campaign, team=team or None)


def _csv(rows: list[dict], name: str) -> HttpResponse:
    response = HttpResponse(to_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# --- endpoints -------------------------------------------------------------------------------


@router.get("/reports/waterfall", response=RESPONSES, url_name="report-waterfall")
def waterfall(request: HttpRequest, filters: Query[WaterfallFilters]):
    """The funnel: the **cohort** waterfall (leads created in the period; reached, conversion
    between stages and from raw, median and p90 hours between stages, cohort age) or the
    **flow** view (leads entering each stage in the period; ratios approximate)."""
    span = _span(filters.period)
    report = funnel.waterfall(span, filters.view, filters.by, _filters(filters))
    if filters.format == "csv":
        rows = compared_table(report, lambda r: r.rows)
        return _csv(rows, f"waterfall-{filters.view}-{span.label}")
    return {**jsonable(report), "as_of": timezone.now().isoformat()}


@router.get("/reports/sources", response=RESPONSES, url_name="report-sources")
def source_table(request: HttpRequest, filters: Query[ReportFilters]):
    """Lead-source economics per source and campaign, for the leads created in the period:
    raw leads, spend, cost per raw lead and per MQL/SAL/SQL/opportunity/won deal, % reaching
    each stage, revenue, ROI, rejection and return rates with their top reasons."""
    span = _span(filters.period)
    parsed = _filters(filters)
    if parsed.team is not None:
        raise invalid("team", "the source table cannot be narrowed to a team: spend is not")
    report = sources.report(span, parsed)
    if filters.format == "csv":
        return _csv(compared_table(report, lambda r: r.rows), f"sources-{span.label}")
    return jsonable(report)


@router.get("/reports/handoffs", response=RESPONSES, url_name="report-handoffs")
def handoff_health(request: HttpRequest, filters: Query[HandoffFilters]):
    """Hand-off health: acceptance, rejection, ignore and return rates, reasons as Paretos,
    speed-to-lead (median, p90; wall-clock and business hours), SLA compliance and the
    arbiter's reviews; by hand-off kind, team or rep. `team` is the team offered to."""
    span = _span(filters.period)
    report = handoffs.report(span, filters.by, _filters(filters), filters.kind)
    if filters.format == "csv":
        name = filters.table

        def rows_of(result):
            return result.rows if name == "rows" else getattr(result, name)

        return _csv(compared_table(report, rows_of), f"handoffs-{name}-{span.label}")
    return jsonable(report)


@router.get("/reports/pipeline", response=RESPONSES, url_name="report-pipeline")
def pipeline_report(request: HttpRequest, filters: Query[ReportFilters]):
    """Pipeline thickness (open value by stage at the period's end, or now), new
    opportunities, win rate, bid-to-win, velocity (median days per stage) and revenue.
    `team` is the team of the opportunity's owner."""
    span = _span(filters.period)
    report = pipeline.report(span, _filters(filters))
    if filters.format == "csv":
        return _csv(compared_table(report, lambda r: [r]), f"pipeline-{span.label}")
    return jsonable(report)


@router.get("/reports/forecast", response=RESPONSES, url_name="report-forecast")
def forecast(request: HttpRequest, filters: Query[ForecastFilters]):
    """Revenue expected next quarter from the open pipeline × historical stage conversion
    within a quarter, with its back-test error on past quarters."""
    quarter = _span(filters.quarter, "quarter") if filters.quarter else None
    if quarter is not None and (quarter.kind != "quarter" or quarter.count != 1):
        raise invalid("quarter", f"a forecast is for one quarter (2026-Q3), not {quarter}")
    result = pipeline.forecast(
        quarter, _filters(filters), history=filters.history, backtest=filters.backtest
    )
    if filters.format == "csv":
        rows = result.stages if filters.table == "stages" else result.backtest
        return _csv(table(rows, {"quarter": result.quarter}), f"forecast-{result.quarter}")
    return jsonable(result)
