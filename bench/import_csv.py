"""Benchmark: `leadflow import` of a CSV file of leads with their history, rows/s and memory.

    python bench/import_csv.py --rows 1000000 --database sqlite
    python bench/import_csv.py --rows 1000000 --database postgres

The file is generated first (deterministic from --seed, written as a stream, reused when it
exists): people with a source, a creation date over two years and, for a share of them, the
dates they reached MQL, SAL, SQL, an opportunity and won or lost, with the amount and loss
reason. The import then runs in this process into a fresh database (SQLite file under --dir,
or a PostgreSQL database dropped and created again), after migrations and the reps it needs.
Peak RSS is sampled as the import goes: flat memory means the peak at 10% of the rows is the
peak at 100%.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).parent))
from generate_demo import _server_cpu, _server_version, use_fresh_database  # noqa: E402

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/lf_bench_import"
SOURCES = ["Organic Web", "Paid Search", "Webinars", "Content Syndication", "Events", "Referral"]
HEADER = [
    "Email", "First Name", "Last Name", "Title", "Company", "Country", "Employees",
    "Lead Source", "Created Date", "mql_date", "sal_date", "sql_date", "opportunity_date",
    "won_date", "lost_date", "amount", "outcome_reason", "Lead Status",
]
TITLES = ["CEO", "VP Sales", "Head of Marketing", "Operations Manager", "Engineer", "Analyst"]
COUNTRIES = ["US", "DE", "GB", "FR", "NL", "CA", "AU", "ES"]
REASONS = ["price", "competitor", "no-decision", "product-fit", "timing"]


def generate_file(path: Path, rows: int, seed: int, end: datetime) -> None:
    """`rows` people; the file is written row by row, never held in memory."""
    rng = Random(seed)
    start = end - timedelta(days=730)
    span = (end - start).total_seconds() - 120 * 86400  # room for the later stages
    fmt = "%Y-%m-%d %H:%M:%S"
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            created = start + timedelta(seconds=rng.random() * span)
            dates = [""] * 6
            amount = reason = ""
            at = created
            if rng.random() < 0.4:
                steps = 1
                for p in (0.7, 0.5, 0.8):
                    if rng.random() < p:
                        steps += 1
                    else:
                        break
                for s in range(steps):
                    at += timedelta(hours=1 + rng.random() * 24 * (1 + 6 * s))
                    dates[s] = at.strftime(fmt)
                if steps == 4:
                    amount = f"{rng.randrange(5, 200) * 500}.00"
                    close = rng.random()
                    at += timedelta(days=5 + rng.random() * 60)
                    if close < 0.3:
                        dates[4] = at.strftime(fmt)
                    elif close < 0.8:
                        dates[5] = at.strftime(fmt)
                        reason = rng.choice(REASONS)
            out.writerow([
                f"person{i}@company{i % 50_000}.example.com",
                f"First{i}",
                f"Last{i % 9973}",
                rng.choice(TITLES),
                f"Company {i % 50_000}",
                rng.choice(COUNTRIES),
                rng.choice(["", "12", "80", "250", "1200", "9000"]),
                SOURCES[int(rng.random() ** 2 * len(SOURCES))],
                created.strftime(fmt),
                *dates,
                amount,
                reason,
                rng.choice(["Open", "Working", "Nurturing", ""]),
            ])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "leadflow-bench"))
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--json", help="Also write the results to this file.")
    args = parser.parse_args()

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    end = datetime(2026, 3, 31, tzinfo=UTC)
    path = work / f"import-{args.rows}-{args.seed}.csv"
    if not path.exists():
        t = time.perf_counter()
        generate_file(path, args.rows, args.seed, end)
        print(f"generated {path} ({path.stat().st_size / 2**20:,.0f} MB) in "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    use_fresh_database(work, "import-bench.sqlite3", args.database, args.pg_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from leadflow.accounts.models import Role, Side, Team, User
    from leadflow.leads.models import Handoff, Lead, Opportunity, Source, StageChange
    from leadflow.transfer import importer
    from leadflow.transfer.models import ImportJob

    call_command("migrate", verbosity=0)
    for name, role, side in [
        ("importer", Role.MARKETING, Side.MARKETING),
        ("sdr1", Role.INSIDE_SALES, Side.INSIDE_SALES),
        ("sdr2", Role.INSIDE_SALES, Side.INSIDE_SALES),
        ("ae1", Role.FIELD_SALES, Side.FIELD_SALES),
        ("ae2", Role.FIELD_SALES, Side.FIELD_SALES),
    ]:
        User.objects.create_user(username=name, role=role, team=Team.objects.get(side=side))
    for name in SOURCES:
        Source.objects.get_or_create(name=name)
    user = User.objects.get(username="importer")

    samples: list[tuple[int, float, float]] = []  # (rows, seconds, RSS MB)
    started = time.perf_counter()

    def progress(what, done, total):
        rows = ImportJob.objects.values_list("rows_done", flat=True).get(pk=job.pk)
        seconds = time.perf_counter() - started
        samples.append((rows, seconds, rss_mb()))
        sys.stderr.write(f"\r{rows:>10,} rows  {seconds:7.1f} s  {rows / seconds:8,.0f} rows/s "
                         f" RSS {samples[-1][2]:5.0f} MB")
        sys.stderr.flush()

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    server_before = _server_cpu(connection)
    t = time.perf_counter()
    job = importer.prepare(path, user=user, preset="", mapping={"Employees": "employee_count"})
    prepare_s = time.perf_counter() - t
    started = time.perf_counter()
    run = importer.Importer(job, chunk_size=args.chunk_size, progress=progress)
    job = run.run()
    seconds = time.perf_counter() - started
    sys.stderr.write("\n")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server_after = _server_cpu(connection)
    tenth = next((s for s in samples if s[0] >= args.rows // 10), samples[-1])
    peak_at_tenth = max(s[2] for s in samples if s[0] <= tenth[0])
    results = {
        "database": f"{connection.vendor} {_server_version(connection)}",
        "rows": args.rows,
        "file_mb": round(path.stat().st_size / 2**20),
        "chunk_size": args.chunk_size,
        "status": job.status,
        "created": job.created,
        "bad_rows": job.failed,
        "prepare_s (sha256 + header)": round(prepare_s, 1),
        "import_s": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds),
        "written": {
            "leads": Lead.objects.count(),
            "history": StageChange.objects.count(),
            "handoffs": Handoff.objects.count(),
            "opportunities": Opportunity.objects.count(),
        },
        "rss_mb": {
            f"peak by {tenth[0]:,} rows": round(peak_at_tenth),
            f"peak by {samples[-1][0]:,} rows": round(max(s[2] for s in samples)),
        },
        "cpu_s": {
            "importer": round(usage.ru_utime + usage.ru_stime - cpu.ru_utime - cpu.ru_stime, 1),
            "database server": round(server_after - server_before, 1)
            if server_after and server_before else None,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_before_and_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
