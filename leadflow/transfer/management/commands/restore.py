"""`leadflow restore FILE`: load a backup into an empty, migrated database of either kind."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from leadflow.transfer import backup


class Command(BaseCommand):
    help = "Load a `leadflow backup` file into this (freshly migrated, empty) database."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace everything in a database that already has users or leads.",
        )

    def handle(self, *args, file: str, force: bool, **options):
        started = time.monotonic()
        try:
            manifest = backup.restore(file, force=force)
        except (backup.RestoreRefused, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"])
        self.stdout.write(
            f"Restored {len(manifest['tables'])} tables, {rows:,} rows, from {file} "
            f"(a {manifest['vendor']} backup of {manifest['created_at']}) in "
            f"{time.monotonic() - started:.1f} s."
        )
