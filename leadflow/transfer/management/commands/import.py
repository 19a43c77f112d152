"""`leadflow import FILE`: import leads (and their history) from a CSV file, with a progress
bar. Running it again on a file whose import was interrupted continues that import."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import User
from leadflow.scoring.management.commands.rescore import ProgressBar
from leadflow.transfer import importer, presets
from leadflow.transfer.models import ImportJob


def _pair(text: str) -> tuple[str, str]:
    column, sep, target = text.rpartition("=")
    if not sep or not column:
        raise CommandError(f"--map {text!r}: write COLUMN=TARGET, e.g. \"E-mail=email\"")
    return column, target


class Command(BaseCommand):
    help = "Import leads from a CSV file (streamed; bad rows to an error file; resumable)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="The CSV file (UTF-8, header line first).")
        parser.add_argument(
            "--preset",
            default="",
            help=f"A column mapping: {', '.join(presets.BUILT_IN)} or a saved preset's name.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=TARGET",
            help="Map a column (repeatable): a lead field, a history column (mql_date, "
            "sal_date, sql_date, opportunity_date, won_date, lost_date, amount, "
            "outcome_reason), custom.<key>, or - to skip.",
        )
        parser.add_argument("--source", default="", help="Source of rows that name none.")
        parser.add_argument(
            "--create-sources",
            action="store_true",
            help="Create sources and campaigns the file names that do not exist yet "
            "(otherwise such rows are bad rows).",
        )
        parser.add_argument("--resume", type=int, metavar="JOB", help="Continue import JOB.")
        parser.add_argument("--errors", help="Where to write the error file (CSV).")
        parser.add_argument("--user", help="Import as this user (default: leadflow itself).")
        parser.add_argument("--chunk-size", type=int, default=importer.CHUNK_SIZE)
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args, **o):
        user = None
        if o["user"]:
            user = User.objects.filter(username=o["user"]).first()
            if user is None:
                raise CommandError(f"there is no user {o['user']!r}")
        if o["resume"]:
            job = ImportJob.objects.filter(pk=o["resume"]).first()
            if job is None:
                raise CommandError(f"there is no import job {o['resume']}")
            if job.status == ImportJob.Status.DONE:
                raise CommandError(f"import job {job.pk} is done already")
        elif not o["file"]:
            raise CommandError("give the CSV file to import (or --resume JOB)")
        else:
            try:
                job = importer.prepare(
                    o["file"],
                    user=user,
                    preset=o["preset"],
                    mapping=dict(_pair(m) for m in o["map"]),
                    source=o["source"],
                    create_sources=o["create_sources"],
                    errors=o["errors"],
                )
            except (importer.ImportError_, presets.MappingError) as exc:
                raise CommandError(str(exc)) from None
            if job.offset:
                self.stderr.write(
                    f"Continuing import #{job.pk} of this file at line {job.line + 1:,}."
                )
        err = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        # In bytes of the file read: the number of rows is unknown until the end.
        bar = ProgressBar(err, live=err.isatty()) if not o["quiet"] else None
        run = importer.Importer(
            job, chunk_size=o["chunk_size"], progress=bar)
        job = run.run()
        if bar:
            bar.finish()
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"import #{job.pk} failed: {job.message}")
        self.stdout.write(
            f"Import #{job.pk}: {job.rows_done:,} rows, {job.created:,} leads created, "
            f"{job.merged:,} merged into known leads, {job.failed:,} bad rows"
            + (f" (see {job.error_path})" if job.failed else "")
            + f", in {run.seconds:.1f} s."
        )
