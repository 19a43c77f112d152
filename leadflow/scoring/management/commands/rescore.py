"""`leadflow rescore`: score every lead against the active lead definition, with a progress
bar; also does any rescore asked for when a version became active, and marks it done."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from leadflow.leads.models import LeadDefinition
from leadflow.scoring import rescore
from leadflow.scoring.document import DocumentInvalid
from leadflow.scoring.models import ScoringRun

BAR = 30


class ProgressBar:
    """One line per phase, redrawn in place on a terminal, printed at the end otherwise."""

    def __init__(self, stream, live: bool):
        self.stream, self.live = stream, live
        self.phase: str | None = None
        self.started = time.monotonic()
        self.drawn = 0.0

    def __call__(self, what: str, done: int, total: int) -> None:
        if what != self.phase:
            if self.phase is not None:
                self.finish()
            self.phase, self.started = what, time.monotonic()
        now = time.monotonic()
        if self.live and (now - self.drawn > 0.1 or done >= total):
            self.drawn = now
            self.stream.write("\r" + self.line(done, total))
            self.stream.flush()
        self.last = (done, total)

    def line(self, done: int, total: int) -> str:
        share = done / total if total else 1.0
        filled = int(BAR * share)
        return (
            f"{self.phase:<11} [{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%} "
            f"{done:>12,}/{total:,}  {time.monotonic() - self.started:6.1f} s"
        )

    def finish(self) -> None:
        if self.phase is None:
            return
        done, total = self.last
        self.stream.write(("\r" if self.live else "") + self.line(done, total) + "\n")
        self.stream.flush()
        self.phase = None


class Command(BaseCommand):
    help = "Score every lead against the active lead definition (fit, engagement, MQL rule)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-qualify",
            action="store_true",
            help="Only compute scores; do not move leads that meet the MQL rule to mql.",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Re-read every activity into the packed activity columns first (after "
            "activities were edited in place, which only the admin can do).",
        )

    def handle(self, *args, no_qualify: bool, quiet: bool, rebuild: bool, **options):
        active = LeadDefinition.active()
        if active is None:
            raise CommandError("there is no active lead definition to score against")
        err = self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr
        bar = (lambda *a: None) if quiet else ProgressBar(err, live=err.isatty())
        waiting = [r for r in rescore.pending() if r.definition_id == active.pk]
        try:
            started = time.monotonic()
            if waiting and not no_qualify and not rebuild:
                run = rescore.perform(waiting[0], progress=bar)
                if run.status != ScoringRun.Status.DONE:
                    raise CommandError(f"the rescore failed: {run.error}")
                done = run
                seconds = None
            else:
                done = rescore.rescore(
                    active, progress=bar, qualify=not no_qualify, rebuild=rebuild
                )
                seconds = done.seconds
            if not quiet:
                bar.finish()
        except DocumentInvalid as invalid:
            raise CommandError(
                f"the active lead definition v{active.version} cannot be read: {invalid}"
            ) from None
        # Later requests for the same version are answered by this run too.
        for run in waiting[1:]:
            ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.PENDING).update(
                status=ScoringRun.Status.DONE, error="done by an earlier run"
            )
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Rescored {done.leads:,} leads ({done.activities:,} scored activities) against "
            f"lead definition v{active.version} in {elapsed:.1f} s: {done.changed:,} scores "
            f"changed, {done.qualified:,} leads moved to MQL."
        )
        if seconds and options["verbosity"] > 1:
            self.stdout.write(
                "Time by phase: " + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
            )
