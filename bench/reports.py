"""Benchmark: the measurement reports on a large company, warm, median of 5.

    python bench/reports.py --database-url sqlite:////tmp/lfdata-h4-bench/leadflow.sqlite3
    python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/h4bench

Run it on the 1,000,000-lead demo company (`leadflow demo --leads 1000000 --months 24
--today 2026-03-31`). It migrates first (timed: on a database from before migration 0007 that
fills the leads' first-entry columns from the history), then runs each report as the API and
the dashboards call it — the report for the period beside the previous period and the same
period last year, turned into JSON — once to warm up (the "first" column) and --runs times
measured:

- waterfall: the cohort waterfall by source for a quarter (issue 5's target: < 1 s on
  PostgreSQL, < 2 s on SQLite);
- sources: the lead-source table for 12 months (same target), read from the monthly cohort
  summaries; sources-counted: the same with no summary kept (all 24 months counted from the
  rows), sources-1-changed: with the span's last month changed since its summary;
- handoffs: hand-off health for the quarter (the health panel), and by rep and by kind (the
  sales dashboard's other panels) (same target for the first);
and, for reference, whole dashboard pages (`dashboards.build`). With --explain it prints the
plan of the cohort query (the one statement behind the waterfall and the source table's counts).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--quarter", default="2026-Q1")
    parser.add_argument("--year", default="2025-04..2026-03", help="the 12-month span")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", action="store_true", help="also time whole dashboards")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", help="comma-separated report names to run")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (or DATABASE_URL)")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadflow.leads.models import Lead
    from leadflow.reports import funnel, handoffs, sources
    from leadflow.reports.models import CohortChange, CohortSummary
    from leadflow.reports.output import jsonable
    from leadflow.reports.periods import Span
    from leadflow.web import dashboards

    started = time.perf_counter()
    call_command("migrate", verbosity=0, skip_checks=True)
    print(f"migrate: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    quarter, year = Span.parse(args.quarter), Span.parse(args.year)
    print(
        f"{connection.vendor}: {Lead.objects.count():,} leads; quarter {quarter}, "
        f"12 months {year}",
        file=sys.stderr,
    )

    reports = {
        "waterfall": lambda: jsonable(funnel.waterfall(quarter, funnel.COHORT, "source")),
        "sources": lambda: jsonable(sources.report(year)),
        # The same with no summary kept (every month counted from the rows: the first read
        # after an upgrade or a restore), and with the span's last month changed (the usual
        # read on a live system whose worker has not refreshed it yet).
        "sources-counted": lambda: (
            CohortSummary.objects.all().delete(), jsonable(sources.report(year))
        ),
        "sources-1-changed": lambda: (
            CohortChange.objects.create(month=f"{year.month_starts()[-1]:%Y-%m}"),
            jsonable(sources.report(year)),
        ),
        "handoffs": lambda: jsonable(handoffs.report(quarter)),
        "handoffs-by-rep": lambda: jsonable(handoffs.report(quarter, "rep")),
        "handoffs-by-kind": lambda: jsonable(handoffs.report(quarter, "kind")),
    }
    if args.pages:
        no_filters = dashboards.Filters()
        for audience in dashboards.AUDIENCES:
            reports[f"page-{audience}"] = (
                lambda a=audience: dashboards.build(a, quarter, no_filters)
            )
    if args.only:
        wanted = args.only.split(",")
        reports = {k: v for k, v in reports.items() if k in wanted}

    print(f"{'report':<20} {'median':>9} {'min':>9} {'max':>9} {'queries':>8} {'first':>9}")
    for name, run in reports.items():
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            run()  # warm: caches, plans, pages, kept summaries
        first = (time.perf_counter() - t) * 1000
        statements = len(queries.captured_queries)
        samples = []
        for _ in range(args.runs):
            t = time.perf_counter()
            run()
            samples.append((time.perf_counter() - t) * 1000)
        print(
            f"{name:<20} {statistics.median(samples):>7.0f}ms {min(samples):>7.0f}ms "
            f"{max(samples):>7.0f}ms {statements:>8} {first:>7.0f}ms",
            flush=True,
        )

    if args.explain:
        group = funnel.dims.grouping("source")
        query = funnel.first_entries(quarter, group)
        sql, params = query.query.sql_with_params()
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            print("\ncohort query plan:")
            for row in cursor.fetchall():
                print("  ", row[-1])


if __name__ == "__main__":
    main()
