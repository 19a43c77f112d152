"""Generate the demo company: chunks of leads simulated in memory, then written in bulk.

For more than one chunk, a forked process simulates and builds the rows while this process
writes the previous chunk: on two cores the slower of the two sets the pace, not their sum.
The child never touches the database; a lead's rows depend only on (seed, lead number) and the
ids, which are handed out in lead order either way, so both paths write the same rows.

Memory stays bounded: at most a few chunks are in flight. What lives across chunks is small:
the accounts already written, the id counters and the lead counts per campaign and month (for
the spend rows).
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from leadflow.demo import catalog
from leadflow.demo.simulate import Ids, LeadRun, Simulation
from leadflow.demo.world import DemoWorld, build_world
from leadflow.demo.writer import BulkWriter, RowShape, next_ids
from leadflow.leads.models import (
    Account,
    Activity,
    Handoff,
    Lead,
    Opportunity,
    Spend,
    StageChange,
)

CENT = Decimal("0.01")


@dataclass
class Chunk:
    """The rows of leads [first, last), ready to write."""

    first: int
    last: int
    rows: dict[type, list]
    volume: dict[tuple[int, int, int], int]
    seconds: float
    runs: list[LeadRun] | None = None  # kept only when steps are recorded (tests)


@dataclass
class Report:
    leads: int = 0
    history: int = 0
    handoffs: int = 0
    opportunities: int = 0
    activities: int = 0
    accounts: int = 0
    spend_rows: int = 0
    simulate_seconds: float = 0.0  # in the simulating process
    write_seconds: float = 0.0  # in this process
    total_seconds: float = 0.0
    parallel: bool = False
    recorded: list[LeadRun] = field(default_factory=list)
    world: DemoWorld | None = None

    @property
    def rows(self) -> int:
        return (
            self.leads
            + self.history
            + self.handoffs
            + self.opportunities
            + self.activities
            + self.accounts
            + self.spend_rows
        )


def generate(
    *,
    seed: int,
    leads: int,
    months: int,
    cutoff: datetime,
    zone: ZoneInfo,
    chunk_size: int = 10_000,
    progress: Callable[[Report], None] | None = None,
    record: frozenset[int] = frozenset(),
    parallel: bool | None = None,
) -> Report:
    """Generate `leads` demo leads over `months` months ending at `cutoff`.

    `record`: lead numbers whose steps are kept (tests replay them through `actions`); it
    keeps the simulation in this process. `parallel`: None decides by size.
    """
    with _few_collections():
        return _generate(seed, leads, months, cutoff, zone, chunk_size, progress, record, parallel)


@contextmanager
def _few_collections():
    """Millions of short-lived objects, hardly any cycles: keep the cyclic GC from rescanning.

    Without this, full collections over a heap of leads-in-flight cost as much as the work.
    """
    threshold = gc.get_threshold()
    gc.freeze()  # what exists now (Django, the world) is never garbage
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _generate(seed, leads, months, cutoff, zone, chunk_size, progress, record, parallel):
    started = time.perf_counter()
    cutoff = cutoff.replace(microsecond=0)
    world = build_world(months=months, cutoff=cutoff, zone=zone)
    ids = Ids(next_ids())
    sim = Simulation(world, seed=seed, total=leads, ids=ids, record=record)
    shape = RowShape(connection.vendor)
    writer = BulkWriter(connection, shape)
    bounds = [(first, min(leads, first + chunk_size)) for first in range(0, leads, chunk_size)]
    if parallel is None:
        parallel = len(bounds) > 1 and not record
    if parallel and "fork" not in multiprocessing.get_all_start_methods():
        parallel = False
    report = Report(world=world, parallel=parallel)
    chunks = (
        _forked(sim, shape, bounds)
        if parallel
        else (simulate_chunk(sim, shape, first, last) for first, last in bounds)
    )
    volume: dict[tuple[int, int, int], int] = {}
    for chunk in chunks:
        t = time.perf_counter()
        with transaction.atomic():
            _write_chunk(writer, report, chunk)
        report.write_seconds += time.perf_counter() - t
        report.simulate_seconds += chunk.seconds
        for key, n in chunk.volume.items():
            volume[key] = volume.get(key, 0) + n
        if chunk.runs:
            report.recorded.extend(run for run in chunk.runs if run.steps is not None)
        report.total_seconds = time.perf_counter() - started
        if progress:
            progress(report)
    t = time.perf_counter()
    with transaction.atomic():
        report.spend_rows = _write_spend(world, volume, seed)
        writer.finish()
    report.write_seconds += time.perf_counter() - t
    report.total_seconds = time.perf_counter() - started
    return report


def simulate_chunk(sim: Simulation, shape: RowShape, first: int, last: int) -> Chunk:
    t = time.perf_counter()
    runs = [sim.run(i) for i in range(first, last)]
    accounts, sim.new_accounts = sim.new_accounts, []
    volume, sim.volume = sim.volume, {}
    rows = {
        Account: accounts,
        Lead: shape.rows(Lead, (r.lead for r in runs)),
        Opportunity: shape.rows(Opportunity, (o for r in runs for o in r.opps)),
        Handoff: shape.rows(Handoff, (h for r in runs for h in r.offers)),
        StageChange: shape.rows(StageChange, (h for r in runs for h in r.history)),
        Activity: shape.activity_rows(runs, sim.ids.activity),
    }
    recorded = [r for r in runs if r.steps is not None] or None
    return Chunk(first, last, rows, volume, time.perf_counter() - t, recorded)


class _Failed:
    def __init__(self, text: str) -> None:
        self.text = text


def _produce(sim, shape, bounds, out) -> None:
    try:
        for first, last in bounds:
            out.put(simulate_chunk(sim, shape, first, last))
        out.put(None)
    except BaseException:
        out.put(_Failed(traceback.format_exc()))


def _forked(sim: Simulation, shape: RowShape, bounds) -> Iterator[Chunk]:
    context = multiprocessing.get_context("fork")
    # Two chunks queued at most: the producer waits rather than filling memory.
    out = context.Queue(maxsize=2)
    child = context.Process(target=_produce, args=(sim, shape, bounds, out), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = out.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(
                        f"the demo's simulation process died (exit code {child.exitcode})"
                    ) from None
                continue
            if item is None:
                break
            if isinstance(item, _Failed):
                raise RuntimeError("the demo's simulation failed:\n" + item.text)
            yield item
        child.join()
    finally:
        if child.is_alive():
            child.kill()
            child.join()


def _write_chunk(writer: BulkWriter, report: Report, chunk: Chunk) -> None:
    rows = chunk.rows
    report.accounts += writer.insert(Account, rows[Account])
    report.leads += writer.insert(Lead, rows[Lead])
    report.opportunities += writer.insert(Opportunity, rows[Opportunity])
    report.handoffs += writer.insert(Handoff, rows[Handoff])
    report.history += writer.insert(StageChange, rows[StageChange])
    report.activities += writer.insert(Activity, rows[Activity])


def _write_spend(world: DemoWorld, volume: dict, seed: int) -> int:
    """Monthly spend per campaign: cost per raw lead x volume, with a little noise per month.

    Over the whole period each paid source costs exactly its cost per raw lead.
    """
    rows = []
    for index, profile in enumerate(catalog.SOURCES):
        if profile.cost_per_lead is None:
            continue  # organic: no spend
        keys = sorted(k for k in volume if k[0] == index)
        if not keys:
            continue
        leads = sum(volume[k] for k in keys)
        total = (profile.cost_per_lead * leads).quantize(CENT)
        weights = []
        for _, campaign_id, month in keys:
            slot = next(s for s in world.slots[index][month] if s.campaign_id == campaign_id)
            noise = Random(seed * 7_919 + campaign_id * 131 + month).uniform(0.94, 1.06)
            weights.append(volume[(index, campaign_id, month)] * slot.cost_factor * noise)
        scale = sum(weights)
        amounts = [
            (total * Decimal(w / scale)).quantize(CENT, rounding=ROUND_HALF_UP) for w in weights
        ]
        amounts[amounts.index(max(amounts))] += total - sum(amounts)
        source = world.sources[index]
        for (_, campaign_id, month), amount in zip(keys, amounts, strict=True):
            rows.append(
                Spend(
                    source=source, campaign_id=campaign_id, month=world.months[month], amount=amount
                )
            )
    # A re-run after --reset replaces the demo campaigns' spend rather than adding to it.
    Spend.objects.filter(campaign_id__in={row.campaign_id for row in rows}).delete()
    Spend.objects.bulk_create(rows, batch_size=500)
    return len(rows)
