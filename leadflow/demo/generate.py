"""Generate the demo company: leads simulated in memory, written in bulk as their stories end.

For more than one chunk, a forked process simulates and builds the rows while this process
writes the previous chunk: on two cores the slower of the two sets the pace, not their sum.
The child never touches the database and runs the same code as the in-process path, so both
write the same rows; chunking only decides when rows are written, never what they hold.

Memory stays bounded by the leads in the middle of their story (about the leads of the last few
months, see Report.in_flight_peak) plus a few chunks in flight. Across chunks live only the id
counters, the accounts already handed out and the lead counts per campaign and month (for the
spend rows).
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import resource
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from random import Random
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from leadflow.accounts.models import User
from leadflow.demo import catalog
from leadflow.demo.memory import Ids, LeadRun
from leadflow.demo.people import People
from leadflow.demo.simulate import Simulation
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
    """The rows of leads whose stories have ended, with every row they refer to."""

    rows: dict[type, list]
    volume: dict[tuple[int, int, int], int]
    seconds: float  # producing it, in the simulating process
    turns: dict[int, datetime] | None = None  # the last chunk: reps' round-robin turns
    in_flight_peak: int = 0


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
    fresh: bool = False  # loaded into empty tables, indexes built at the end
    in_flight_peak: int = 0  # most leads in the middle of their story at once
    finish_seconds: float = 0.0  # after the last chunk: indexes, foreign keys, spend, commit
    stage_cpu: dict = field(default_factory=dict)  # forked: CPU seconds of people, simulation
    trace: list | None = None  # every step, when recorded (tests replay them)
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
    record: bool = False,
    parallel: bool | None = None,
) -> Report:
    """Generate `leads` demo leads over `months` months ending at `cutoff`.

    `record` keeps every step in `Report.trace` (tests replay them through `actions`); it keeps
    the simulation in this process. `parallel`: None decides by size.
    """
    with _few_collections():
        return _generate(seed, leads, months, cutoff, zone, chunk_size, progress, record, parallel)


@contextmanager
def _few_collections():
    """No cyclic garbage collection while generating.

    The simulation makes millions of short-lived objects and no reference cycles (a test
    checks), so reference counting frees everything; the collector would only rescan the tens
    of thousands of leads in the middle of their story, again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(seed, leads, months, cutoff, zone, chunk_size, progress, record, parallel):
    started = time.perf_counter()
    cutoff = cutoff.replace(microsecond=0)
    world = build_world(months=months, cutoff=cutoff, zone=zone)
    shape = RowShape(connection.vendor)
    start_ids = next_ids()
    people = People(
        world, seed=seed, total=leads, first_account_id=start_ids["account"], when=shape.datetime
    )
    sim = Simulation(
        world,
        seed=seed,
        ids=Ids(start_ids),
        history_row=partial(shape.row, StageChange),
        when=shape.datetime,
        record=record,
    )
    writer = BulkWriter(connection, shape)
    if parallel is None:
        parallel = leads > chunk_size and not record
    if parallel and "fork" not in multiprocessing.get_all_start_methods():
        parallel = False
    # Into an empty database, the whole load is one transaction without secondary indexes;
    # otherwise each chunk commits on its own and the indexes grow as rows arrive.
    fresh = not Lead.objects.exists()
    report = Report(world=world, parallel=parallel, fresh=fresh, trace=sim.trace)
    if parallel:
        chunks = _forked(people, sim, shape, chunk_size, report.stage_cpu)
    else:
        chunks = produce(sim, shape, chunk_size, people.stream())
    volume: dict[tuple[int, int, int], int] = {}
    with transaction.atomic() if fresh else nullcontext():
        with writer.bulk_load() if fresh else nullcontext():
            for chunk in chunks:
                t = time.perf_counter()
                with transaction.atomic():
                    _write_chunk(writer, report, chunk)
                    if chunk.turns is not None:
                        for user_id, at in chunk.turns.items():
                            User.objects.filter(pk=user_id).update(last_offered_at=at)
                report.write_seconds += time.perf_counter() - t
                report.simulate_seconds += chunk.seconds
                report.in_flight_peak = max(report.in_flight_peak, chunk.in_flight_peak)
                for key, n in chunk.volume.items():
                    volume[key] = volume.get(key, 0) + n
                report.total_seconds = time.perf_counter() - started
                if progress and chunk.rows[Lead]:
                    progress(report)
            t = time.perf_counter()
        # Rebuilding the indexes and checking the foreign keys count as writing.
        with transaction.atomic():
            report.spend_rows = _write_spend(world, volume, seed)
            writer.finish()
    # Includes the commit of a fresh load, which writes out its last pages.
    report.finish_seconds = time.perf_counter() - t
    report.write_seconds += report.finish_seconds
    report.total_seconds = time.perf_counter() - started
    return report


def produce(sim: Simulation, shape: RowShape, chunk_size: int, arrivals) -> Iterator[Chunk]:
    """The simulation's finished leads, `chunk_size` at a time, as rows ready to write.

    `arrivals`: batches of `people.Newcomer`, in lead order.
    """
    turns_before = {u.pk: u.last_offered_at for u in sim.world.all_users}
    done: list[LeadRun] = []
    t = time.perf_counter()
    for run in sim.runs(arrivals):
        done.append(run)
        if len(done) >= chunk_size:
            chunk = _rows(sim, shape, done, time.perf_counter() - t)
            yield chunk
            done, t = [], time.perf_counter()
    chunk = _rows(sim, shape, done, time.perf_counter() - t)
    chunk.turns = {
        u.pk: u.last_offered_at
        for u in sim.world.all_users
        if u.last_offered_at != turns_before[u.pk]
    }
    yield chunk


def _rows(sim: Simulation, shape: RowShape, runs: list[LeadRun], seconds: float) -> Chunk:
    t = time.perf_counter()
    accounts, sim.new_accounts = sim.new_accounts, []
    volume, sim.volume = sim.volume, {}
    rows = {
        Account: accounts,
        Lead: shape.rows(Lead, (r.lead for r in runs)),
        Opportunity: shape.rows(Opportunity, (o for r in runs for o in r.opps)),
        Handoff: shape.rows(Handoff, (h for r in runs for h in r.offers)),
        StageChange: [h for r in runs for h in r.history],
        Activity: shape.activity_rows(runs, sim.ids.activity),
    }
    seconds += time.perf_counter() - t
    return Chunk(rows, volume, seconds, in_flight_peak=sim.in_flight_peak)


class _Failed:
    def __init__(self, text: str) -> None:
        self.text = text


class _Done:
    """A stage's last message: the CPU seconds each stage so far used."""

    def __init__(self, cpu: dict[str, float]) -> None:
        self.cpu = cpu


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _people_process(people: People, out) -> None:
    try:
        for batch in people.stream(batch=500):
            out.put(batch)
        out.put(_Done({"people": _cpu()}))
    except BaseException:
        out.put(_Failed(traceback.format_exc()))


def _received(inbox, cpu: dict[str, float]) -> Iterator[list]:
    while True:
        item = inbox.get()
        if isinstance(item, _Done):
            cpu.update(item.cpu)
            return
        if isinstance(item, _Failed):
            raise RuntimeError("drawing the demo's people failed:\n" + item.text)
        yield item


def _simulation_process(sim, shape, chunk_size, inbox, out) -> None:
    try:
        cpu: dict[str, float] = {}
        for chunk in produce(sim, shape, chunk_size, _received(inbox, cpu)):
            out.put(chunk)
        out.put(_Done({**cpu, "simulation": _cpu()}))
    except BaseException:
        out.put(_Failed(traceback.format_exc()))


def _forked(
    people: People, sim: Simulation, shape: RowShape, chunk_size: int, cpu: dict[str, float]
) -> Iterator[Chunk]:
    """Three processes in a row: people are drawn ahead of the time-ordered simulation, whose
    chunks this process writes. Neither child touches the database. `cpu` receives the
    children's CPU seconds."""
    context = multiprocessing.get_context("fork")
    # Bounded queues: a stage that runs ahead waits rather than filling memory.
    newcomers, chunks = context.Queue(maxsize=8), context.Queue(maxsize=2)
    children = [
        context.Process(target=_people_process, args=(people, newcomers), daemon=True),
        context.Process(
            target=_simulation_process,
            args=(sim, shape, chunk_size, newcomers, chunks),
            daemon=True,
        ),
    ]
    for child in children:
        child.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=5)
            except queue.Empty:
                for child in children:
                    if not child.is_alive() and child.exitcode != 0:
                        raise RuntimeError(
                            f"a demo process died (exit code {child.exitcode})"
                        ) from None
                continue
            if isinstance(item, _Done):
                cpu.update(item.cpu)
                break
            if isinstance(item, _Failed):
                raise RuntimeError("the demo's simulation failed:\n" + item.text)
            yield item
        for child in children:
            child.join()
    finally:
        for child in children:
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
