"""`leadflow export leads|history|activities|report NAME`: CSV to standard output (or --output),
streamed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from leadflow.reports.periods import PeriodError
from leadflow.transfer import export


class Command(BaseCommand):
    help = "Export leads, history, activities or a report as CSV."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=[*export.RECORDS, "report"])
        parser.add_argument("name", nargs="?", help=f"The report: {', '.join(export.REPORTS)}.")
        parser.add_argument("--period", help="2026-03, 2026-Q1 or 2026-01..2026-03.")
        parser.add_argument("--view", default="cohort", choices=["cohort", "flow"])
        parser.add_argument("--by", help="Group the waterfall or hand-offs by this dimension.")
        parser.add_argument("--table", default="rows", help="Hand-offs/forecast: which table.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, what, name, output, **o):
        out = open(output, "w", newline="", encoding="utf-8") if output else self.stdout._out
        try:
            if what == "report":
                if not name:
                    raise CommandError(f"name the report: {', '.join(export.REPORTS)}")
                try:
                    text = export.report_csv(
                        name, period=o["period"], view=o["view"], by=o["by"],
                        table_name=o["table"],
                    )
                except (ValueError, PeriodError) as exc:
                    raise CommandError(str(exc)) from None
                out.write(text)
            else:
                for line in export.csv_lines(export.records(what)):
                    out.write(line)
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            pass
        finally:
            if output:
                out.close()
