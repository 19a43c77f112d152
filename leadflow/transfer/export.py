"""CSV exports: leads, their history and activities (streamed, a few thousand rows in memory at
a time), and every report as the table the API and dashboards give (`?format=csv`), computed by
the same report functions.

Lead columns carry the import's target names (`email`, `source`, `created_at`…), so an export
can be imported elsewhere as it is.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.db.models import QuerySet

from leadflow.leads.models import Activity, Lead, StageChange
from leadflow.reports import funnel, handoffs, pipeline, sources
from leadflow.reports.grouping import Filters
from leadflow.reports.output import compared_table, table, to_csv
from leadflow.reports.periods import Span

BATCH = 5_000

# (column, lookup) for each kind of record.
COLUMNS = {
    "leads": [
        ("id", "id"), ("external_id", "external_id"), ("email", "email"),
        ("first_name", "first_name"), ("last_name", "last_name"), ("title", "title"),
        ("phone", "phone"), ("company", "company"), ("domain", "domain"),
        ("country", "country"), ("industry", "industry"), ("employee_count", "employee_count"),
        ("source", "source__name"), ("campaign", "campaign__name"),
        ("created_at", "created_at"), ("stage", "stage"), ("stage_changed_at", "stage_changed_at"),
        ("owner", "owner__username"), ("owner_team", "owner_team__name"),
        ("priority", "priority"), ("fit_score", "fit_score"),
        ("engagement_score", "engagement_score"), ("custom", "custom"),
    ],
    "history": [
        ("id", "id"), ("lead_id", "lead_id"), ("opportunity_id", "opportunity_id"),
        ("entity", "entity"), ("transition", "transition"), ("from_stage", "from_stage"),
        ("to_stage", "to_stage"), ("at", "at"), ("actor", "actor__username"),
        ("reason", "reason__code"), ("comment", "comment"),
        ("definition_version", "definition__version"), ("owner", "owner__username"),
        ("owner_team", "owner_team__name"),
    ],
    "activities": [
        ("id", "id"), ("lead_id", "lead_id"), ("kind", "kind"), ("occurred_at", "occurred_at"),
        ("url", "url"), ("campaign", "campaign__name"), ("source_system", "source_system"),
        ("actor", "actor__username"), ("detail", "detail"),
    ],
}
RECORDS = tuple(COLUMNS)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value) if value else ""
    return value


def records(kind: str, leads: QuerySet[Lead] | None = None) -> Iterator[list]:
    """The header, then each row of `kind`, for `leads` (default: all), in id order.

    Read by keyset pages rather than one server-side cursor: a page is one short query on
    either database, and memory holds one page."""
    if kind not in COLUMNS:
        raise ValueError(f"export one of {', '.join(RECORDS)}, not {kind!r}")
    names, lookups = zip(*COLUMNS[kind], strict=True)
    yield list(names)
    base = {"leads": Lead.objects, "history": StageChange.objects, "activities": Activity.objects}
    queryset = base[kind].all()
    if leads is not None:
        queryset = (
            queryset.filter(pk__in=leads.values("pk"))
            if kind == "leads"
            else queryset.filter(lead__in=leads.values("pk"))
        )
    after = 0
    while True:
        page = list(
            queryset.filter(pk__gt=after).order_by("pk").values_list(*lookups)[:BATCH]
        )
        if not page:
            return
        for row in page:
            yield [_cell(v) for v in row]
        after = page[-1][0]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


# --- reports --------------------------------------------------------------------------------

REPORTS = ("waterfall", "sources", "handoffs", "pipeline", "forecast")


def report_csv(
    name: str,
    *,
    period: str | None = None,
    view: str = "cohort",
    by: str | None = None,
    table_name: str = "rows",
    filters: Filters | None = None,
) -> str:
    """A report's table as CSV: what `/api/reports/<name>?format=csv` gives."""
    filters = filters or Filters()
    if name == "forecast":
        quarter = Span.parse(period) if period else None
        result = pipeline.forecast(quarter, filters)
        rows = result.stages if table_name in ("rows", "stages") else result.backtest
        return to_csv(table(rows, {"quarter": result.quarter}))
    if not period:
        raise ValueError(f"the {name} report needs a period (2026-03, 2026-Q1, 2026-01..2026-03)")
    span = Span.parse(period)
    if name == "waterfall":
        report = funnel.waterfall(span, view, by, filters)
        return to_csv(compared_table(report, lambda r: r.rows))
    if name == "sources":
        return to_csv(compared_table(sources.report(span, filters), lambda r: r.rows))
    if name == "handoffs":
        report = handoffs.report(span, by, filters, None)

        def rows_of(result):
            return result.rows if table_name == "rows" else getattr(result, table_name)

        return to_csv(compared_table(report, rows_of))
    if name == "pipeline":
        return to_csv(compared_table(pipeline.report(span, filters), lambda r: [r]))
    raise ValueError(f"export a report among {', '.join(REPORTS)}, not {name!r}")
