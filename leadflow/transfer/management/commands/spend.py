"""`leadflow spend FILE`: import marketing spend per source, campaign and month from a CSV
file (the format is in `leadflow.transfer.spend`); bad rows are listed by line and column."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leadflow.transfer import spend


class Command(BaseCommand):
    help = "Import spend per source (and campaign) per month from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV with month, source, amount[, campaign, currency].")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = spend.import_spend(*spend.read_csv(path.read_text(encoding="utf-8-sig")))
        except spend.SpendFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for bad in result.bad:
            column = f", column {bad.column}" if bad.column else ""
            self.stderr.write(f"line {bad.line}{column}: {bad.reason}")
        self.stdout.write(
            f"Spend from {path.name}: {result.added} added, {result.replaced} replaced, "
            f"{len(result.bad)} bad row{'s' if len(result.bad) != 1 else ''} not stored."
        )
        if result.bad:
            raise CommandError("some rows were not stored (listed above)", returncode=2)
