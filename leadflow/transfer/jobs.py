"""The worker's import step: run queued imports, and take up those a dead worker left.

A pass imports for at most `SLICE` and then leaves the job queued: the SLA sweep and the
e-mails of the same worker must not wait for a million rows. The next pass continues it at its
committed offset, as a resumed import does."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from leadflow.transfer import importer
from leadflow.transfer.models import ImportJob

SLICE = 20.0  # seconds of importing per worker pass
STALE = timedelta(minutes=5)  # a running job without a chunk committed for this long is orphaned


@dataclass
class Result:
    imported: int = 0
    rows: int = 0


def run(
    should_stop=lambda: False,
    slice_seconds: float = SLICE,
    chunk_size: int = importer.CHUNK_SIZE,
) -> Result:
    """Import queued jobs for about `slice_seconds` (at least one chunk when one is queued)."""
    result = Result()
    deadline = time.monotonic() + slice_seconds

    def stop() -> bool:
        return should_stop() or time.monotonic() > deadline

    while not should_stop():
        stale = timezone.now() - STALE
        job = (
            ImportJob.objects.filter(
                Q(status=ImportJob.Status.QUEUED)
                | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
            )
            .order_by("id")
            .first()
        )
        if job is None:
            return result
        # Claim it: a conditional update, so two workers never run one job.
        claimed = ImportJob.objects.filter(
            pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at
        ).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now(),
                 started_at=job.started_at or timezone.now())
        if not claimed:
            continue
        job.refresh_from_db()
        before = job.rows_done
        job = importer.Importer(job, chunk_size=chunk_size, should_stop=stop).run()
        result.imported += job.status == ImportJob.Status.DONE
        result.rows += job.rows_done - before
        if stop():
            break
    return result
