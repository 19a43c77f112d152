"""`leadflow worker`: keeps every hand-off's clock and tells people.

Each pass: the SLA sweep (escalate overdue offers, reminders, missed first touches), the
outbox fan-out (notifications, queued e-mails and webhook deliveries), e-mail delivery, webhook
delivery (`leadflow.webhooks.delivery`), then scoring (leads queued to qualify, rescores asked
for when a definition is activated, engagement decay), imports, the monthly cohort
summaries of months that changed (`leadflow.reports.summaries`), and housekeeping (old outbox
events, webhook deliveries and rejected form posts, `leadflow.notify.housekeeping`). Then it sleeps
`--interval` seconds (LEADFLOW_SWEEP_SECONDS, 30 by default). Several copies may run against
PostgreSQL: every step claims its rows with SKIP LOCKED. On SQLite run one: copies would only
take turns at the database lock.

SIGTERM or SIGINT: the worker finishes the batch it is in (each is its own transaction) and
exits 0; a second signal exits at once, which is safe too — an unfinished batch rolls back.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from leadflow.leads import sla
from leadflow.notify import delivery, fanout, housekeeping
from leadflow.reports import summaries
from leadflow.scoring import rescore as scoring
from leadflow.transfer import jobs as imports
from leadflow.webhooks import delivery as webhooks

logger = logging.getLogger("leadflow.worker")


class Command(BaseCommand):
    help = "Run the SLA sweep, turn events into notifications and send e-mails, every N seconds."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between passes (default: LEADFLOW_SWEEP_SECONDS, "
            f"{settings.LEADFLOW_SWEEP_SECONDS} here).",
        )

    def handle(self, *args, once: bool, interval: float | None, **options):
        interval = interval if interval is not None else settings.LEADFLOW_SWEEP_SECONDS
        self.stopping = threading.Event()
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        logger.info("worker started: %s", "one pass" if once else f"every {interval:g} s")
        try:
            while not self.stopping.is_set():
                ok = self.run_pass()
                if once:
                    if not ok:
                        raise CommandError("the pass failed; see the log above")
                    break
                self.stopping.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("worker stopped")

    def _stop(self, signum, frame) -> None:
        if self.stopping.is_set():
            raise SystemExit(128 + signum)  # asked twice: go now; open transactions roll back
        logger.info("%s received: stopping after the current batch", signal.Signals(signum).name)
        self.stopping.set()

    def run_pass(self) -> bool:
        """One sweep, fan-out and delivery. A failing step is logged and the next runs: the
        sweep failing must not stop e-mails that are already queued. True if all went well."""
        ok = True
        steps: list[tuple[str, Callable]] = [
            ("sweep", sla.sweep),
            ("fan-out", fanout.process_outbox),
            ("delivery", delivery.deliver_emails),
            ("webhooks", webhooks.deliver),
            ("scoring", scoring.run),
            ("import", imports.run),
            ("summaries", summaries.refresh_noted),
            ("housekeeping", housekeeping.prune_hourly),
        ]
        for name, step in steps:
            if self.stopping.is_set():
                break
            _recycle_connection()
            started = time.monotonic()
            try:
                result = step(should_stop=self.stopping.is_set)
            except Exception:
                logger.exception("%s failed", name)
                _recycle_connection(broken=True)
                ok = False
                continue
            elapsed = time.monotonic() - started
            level = logging.INFO if _did_something(result) else logging.DEBUG
            logger.log(level, "%s: %s (%.2f s)", name, result, elapsed)
        return ok


def _recycle_connection(broken: bool = False) -> None:
    """A long-running process has no request cycle to drop a stale or broken connection: do
    it between steps. (Not inside a caller's transaction, as in tests: that one is theirs.)"""
    if connection.in_atomic_block:
        return
    if broken:
        connection.close()
    close_old_connections()


def _did_something(result) -> bool:
    return any(bool(value) for value in vars(result).values())
