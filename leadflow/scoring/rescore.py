"""Scoring every lead at once: the full rescore, and the periodic decay.

`rescore` reads every lead and every scored activity as columns (`columns`), computes fit and
engagement with numpy, writes the scores that changed and a fresh engagement state per lead,
then moves the leads that now meet the MQL rule to `mql`. It runs after a version becomes
active (here, for a small database; else by `leadflow rescore` or the worker) and whenever
someone runs `leadflow rescore`.

`decay` is the worker's periodic job: engagement fades with time, so the stored scores are
brought to the present from each lead's state, without reading any activity.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from leadflow.leads.models import Lead, LeadDefinition
from leadflow.scoring import active as active_definition
from leadflow.scoring import bulk, columns, engine, incremental
from leadflow.scoring.active import Scoring
from leadflow.scoring.columns import Progress
from leadflow.scoring.models import LeadEngagement, PendingMql, ScoringRun

logger = logging.getLogger(__name__)

# After an approval, a database this small is rescored at once, in the approving request
# (a second or two); a larger one by `leadflow rescore` or the worker.
INLINE_LEADS = 20_000
# The decay pass runs at most this often; scores move little in an hour.
DECAY_EVERY = timedelta(hours=1)
EPSILON = 1e-6  # a score that moved less than this is not written


class NoDefinition(Exception):
    pass


@dataclass
class Rescored:
    version: int
    leads: int = 0
    activities: int = 0
    changed: int = 0
    qualified: int = 0
    seconds: dict[str, float] | None = None


def _quiet(what: str, done: int, total: int) -> None:
    pass


def rescore(
    row: LeadDefinition | None = None,
    *,
    now: datetime | None = None,
    progress: Progress = _quiet,
    qualify: bool = True,
    rebuild: bool = False,
) -> Rescored:
    """Score every lead against `row` (default: the active version). DocumentInvalid if its
    document cannot be read."""
    row = row or LeadDefinition.active()
    if row is None:
        raise NoDefinition("there is no active lead definition to score against")
    scoring = Scoring(row, active_definition.parsed(row))
    rules = scoring.rules
    now_ts = (now or timezone.now()).timestamp()
    clock = {"start": time.perf_counter()}

    leads, events = columns.load_both([rules], progress, rebuild=rebuild)
    clock["read"] = time.perf_counter()
    engagement, sums = columns.engagement_now(rules, leads, events, events.rules[0], now_ts)
    fit = leads.fit[0]
    clock["compute"] = time.perf_counter()

    changed = (np.abs(fit - leads.fit_score) > EPSILON) | (
        np.abs(engagement - leads.engagement_score) > EPSILON
    )
    with_events = np.zeros(len(leads), dtype=bool)
    if len(events):
        with_events[leads.index(events.lead[events.rules[0] != engine.NO_RULE])] = True
    score_rows = list(
        zip(
            leads.ids[changed].tolist(),
            fit[changed].tolist(),
            engagement[changed].tolist(),
            strict=True,
        )
    )
    state_ids = leads.ids[with_events].tolist()
    state_sums = sums[with_events]
    state_rows = [
        (pk, row.pk, now_ts, state_sums[i].tobytes()) for i, pk in enumerate(state_ids)
    ]
    progress("writing", 0, len(score_rows) + len(state_rows))
    with transaction.atomic():
        bulk.update_lead_scores(score_rows)
        progress("writing", len(score_rows), len(score_rows) + len(state_rows))
        bulk.replace_all_engagement(state_rows)
    progress("writing", len(score_rows) + len(state_rows), len(score_rows) + len(state_rows))
    clock["write"] = time.perf_counter()

    result = Rescored(
        version=row.version,
        leads=len(leads),
        activities=int((events.rules[0] != engine.NO_RULE).sum()) if len(events) else 0,
        changed=len(score_rows),
    )
    if qualify and row.status == LeadDefinition.Status.ACTIVE:
        auto = np.isin(leads.stages, list(incremental.AUTO_QUALIFY))
        meets = (
            auto
            & (fit >= rules.mql_fit)
            & (np.round(engagement, 6) >= rules.mql_engagement)
            & ~leads.disqualified[0]
        )
        candidates = leads.ids[meets].tolist()
        for start in range(0, len(candidates), 100):
            chunk = candidates[start : start + 100]
            result.qualified += len(incremental.qualify(chunk))
            progress("qualifying", start + len(chunk), len(candidates))
    clock["qualify"] = time.perf_counter()
    names = list(clock)
    result.seconds = {
        name: round(clock[name] - clock[names[i - 1]], 3) for i, name in enumerate(names) if i
    }
    return result


# --- runs: asked for on activation, done here, by the command or the worker ---------------


def request(row: LeadDefinition) -> ScoringRun:
    return ScoringRun.objects.create(kind=ScoringRun.Kind.RESCORE, definition=row)


def after_activation(row: LeadDefinition) -> ScoringRun:
    """Ask for a rescore under the newly active `row`; do it now if the database is small."""
    run = request(row)
    if Lead.objects.count() <= INLINE_LEADS:
        perform(run)
    return run


def perform(run: ScoringRun, progress: Progress = _quiet) -> ScoringRun:
    """Do a requested rescore, claiming it first so two workers cannot both run it."""
    claimed = ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.PENDING).update(
        status=ScoringRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        run.refresh_from_db()
        return run
    try:
        current = LeadDefinition.active()
        if current is None or current.pk != run.definition_id:
            raise RuntimeError("another version became active before this rescore ran")
        done = rescore(current, progress=progress)
    except Exception as exc:
        logger.exception("rescore %s failed", run.pk)
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
    else:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRun.Status.DONE,
            finished_at=timezone.now(),
            leads=done.leads,
            activities=done.activities,
            changed=done.changed,
            qualified=done.qualified,
        )
    run.refresh_from_db()
    return run


def pending() -> list[ScoringRun]:
    return list(
        ScoringRun.objects.filter(
            kind=ScoringRun.Kind.RESCORE, status=ScoringRun.Status.PENDING
        ).order_by("requested_at", "id")
    )


# --- decay -----------------------------------------------------------------------------------


@dataclass
class Decayed:
    leads: int = 0
    changed: int = 0
    qualified: int = 0
    skipped: str = ""


def decay(*, now: datetime | None = None, force: bool = False, chunk: int = 100_000) -> Decayed:
    """Bring every stored engagement score to `now` from the leads' states (no activity is
    read), at most once per DECAY_EVERY unless forced. Leads whose state is under another
    version wait for the rescore. Decay only lowers scores, so it qualifies nobody by itself;
    it also moves leads that meet the rule but were not moved (a failed transition earlier)."""
    now = now or timezone.now()
    last = (
        ScoringRun.objects.filter(kind=ScoringRun.Kind.DECAY, status=ScoringRun.Status.DONE)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if not force and last is not None and now - last < DECAY_EVERY:
        return Decayed(skipped=f"last decay at {last:%H:%M:%S}")
    scoring = active_definition.active()
    if scoring is None:
        return Decayed(skipped="no active definition that can be read")
    rules = scoring.rules
    run = ScoringRun.objects.create(
        kind=ScoringRun.Kind.DECAY,
        definition=scoring.row,
        status=ScoringRun.Status.RUNNING,
        started_at=now,
    )
    caps = np.array([r.cap_value for r in rules.rules] or [np.inf])
    result = Decayed()
    last_id = 0
    now_ts = now.timestamp()
    state_table = LeadEngagement._meta.db_table
    lead_table = Lead._meta.db_table
    candidates: list[int] = []
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT e.lead_id, e.reference, e.sums, l.engagement_score, l.fit_score, "
                f"l.stage FROM {state_table} e JOIN {lead_table} l ON l.id = e.lead_id "
                f"WHERE e.lead_id > %s AND e.definition_id = %s ORDER BY e.lead_id LIMIT {chunk}",
                [last_id, scoring.row.pk],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            last_id = rows[-1][0]
            ids, references, blobs, stored, fits, stages = zip(*rows, strict=True)
            sums = np.frombuffer(b"".join(bytes(b) for b in blobs)).reshape(len(rows), -1)
            factor = np.exp2(-(now_ts - np.asarray(references)) / rules.half_life_seconds)
            engagement = np.minimum(sums * factor[:, None], caps[: sums.shape[1]]).sum(axis=1)
            moved = np.abs(engagement - np.asarray(stored)) > EPSILON
            updates = list(
                zip(np.asarray(ids)[moved].tolist(), engagement[moved].tolist(), strict=True)
            )
            bulk.update_engagement_scores(updates)
            result.leads += len(rows)
            result.changed += len(updates)
            meets = (
                np.isin(np.asarray(stages, dtype=object), list(incremental.AUTO_QUALIFY))
                & (np.asarray(fits) >= rules.mql_fit)
                & (np.round(engagement, 6) >= rules.mql_engagement)
            )
            candidates += np.asarray(ids)[meets].tolist()
    if candidates:
        result.qualified = len(incremental.qualify(incremental.meeting_mql(candidates, now)))
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRun.Status.DONE,
        finished_at=timezone.now(),
        leads=result.leads,
        changed=result.changed,
        qualified=result.qualified,
    )
    return result


# --- the worker's step -----------------------------------------------------------------------


@dataclass
class WorkerPass:
    rescored: int = 0
    decayed: int = 0
    qualified: int = 0


def drain_pending(limit: int = 2_000) -> int:
    """Move the queued leads (activity batches sent with qualify=false) that still meet the
    MQL rule to mql; the number moved."""
    ids = list(PendingMql.objects.order_by("noted_at").values_list("lead_id", flat=True)[:limit])
    if not ids:
        return 0
    moved = incremental.qualify(incremental.meeting_mql(ids))
    PendingMql.objects.filter(lead_id__in=ids).delete()
    return len(moved)


def run(should_stop=lambda: False) -> WorkerPass:
    """One worker pass: leads queued to qualify, rescores asked for, then the decay if due."""
    result = WorkerPass(qualified=drain_pending())
    for waiting in pending():
        if should_stop():
            return result
        done = perform(waiting)
        if done.status == ScoringRun.Status.DONE:
            result.rescored += done.leads
            result.qualified += done.qualified
    if not should_stop():
        decayed = decay()
        result.decayed, result.qualified = decayed.changed, result.qualified + decayed.qualified
    return result
