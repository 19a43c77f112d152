"""`leadflow backup FILE`: the whole installation in one file (see leadflow.transfer.backup)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from leadflow.transfer import backup


class Command(BaseCommand):
    help = "Write every table of this installation to FILE (a zip of JSON Lines + manifest)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        started = time.monotonic()
        manifest = backup.backup(file)
        rows = sum(t["rows"] for t in manifest["tables"])
        self.stdout.write(
            f"Backed up {len(manifest['tables'])} tables, {rows:,} rows, to {file} in "
            f"{time.monotonic() - started:.1f} s."
        )
