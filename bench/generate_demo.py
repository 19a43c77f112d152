"""Benchmark: generate the demo company into a fresh database and report rows/s and memory.

    python bench/generate_demo.py --leads 1000000 --database sqlite
    python bench/generate_demo.py --leads 1000000 --database postgres

SQLite goes to a new file under --dir; PostgreSQL to a database that is dropped and created
again (--pg-url, default postgres://postgres@127.0.0.1:5432/lf_bench_demo). Migrations and the
demo users are set up first and timed apart from the generation itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/lf_bench_demo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--today", default="2026-03-31")
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "leadflow-bench"))
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--json", help="Also write the results to this file.")
    args = parser.parse_args()

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    use_fresh_database(work, "demo-bench.sqlite3", args.database, args.pg_url)

    import django

    django.setup()
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from leadflow.demo.generate import generate
    from leadflow.demo.world import ensure_users

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t
    t = time.perf_counter()
    ensure_users("bench-password")
    users_s = time.perf_counter() - t

    zone = ZoneInfo(settings.TIME_ZONE)
    cutoff = datetime.combine(
        datetime.strptime(args.today, "%Y-%m-%d").date(), datetime.max.time(), zone
    )

    def progress(report):
        sys.stderr.write(
            f"\r{report.leads:>10,} leads  {report.total_seconds:7.1f} s  "
            f"{report.leads / report.total_seconds:8,.0f} leads/s"
        )
        sys.stderr.flush()

    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    server_before = _server_cpu(connection)
    report = generate(
        seed=args.seed,
        leads=args.leads,
        months=args.months,
        cutoff=cutoff,
        zone=zone,
        chunk_size=args.chunk_size,
        progress=progress,
    )
    sys.stderr.write("\n")
    server_after = _server_cpu(connection)
    server_cpu = round(server_after - server_before, 1) if server_after and server_before else None
    seconds = report.total_seconds
    own_usage = resource.getrusage(resource.RUSAGE_SELF)
    child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    own, child = own_usage.ru_maxrss / 1024, child_usage.ru_maxrss / 1024
    results = {
        "database": f"{connection.vendor} {_server_version(connection)}",
        "leads": args.leads,
        "seed": args.seed,
        "chunk_size": args.chunk_size,
        "migrate_s": round(migrate_s, 1),
        "users_s": round(users_s, 1),
        "generate_s": round(seconds, 1),
        "simulate_s": round(report.simulate_seconds, 1),
        "write_s": round(report.write_seconds, 1),
        "parallel": report.parallel,
        "in_flight_peak": report.in_flight_peak,
        "rows": {
            "leads": report.leads,
            "history": report.history,
            "handoffs": report.handoffs,
            "opportunities": report.opportunities,
            "activities": report.activities,
            "accounts": report.accounts,
            "spend": report.spend_rows,
        },
        "peak_rss_mb": {"writer": round(own), "largest child": round(child)},
        # CPU seconds: what the work costs, whatever else shares the machine.
        "cpu_s": {
            "people": round(report.stage_cpu.get("people", 0), 1),
            "simulation": round(report.stage_cpu.get("simulation", 0), 1),
            "writer": round(own_usage.ru_utime + own_usage.ru_stime - cpu_before, 1),
            "database server": server_cpu,
        },
        "finish_s": round(report.finish_seconds, 1),
        "database_mb": round(_database_bytes(connection) / 2**20),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_at_end": os.getloadavg()[0],
    }
    _print(results, seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def use_fresh_database(work: Path, sqlite_name: str, database: str, pg_url: str) -> None:
    """Point leadflow (before django.setup) at an empty database: a new SQLite file in
    `work`, or the PostgreSQL database of `pg_url` dropped and created again."""
    os.environ.setdefault("LEADFLOW_DATA_DIR", str(work))
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadflow.settings"
    if database == "sqlite":
        path = work / sqlite_name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        _fresh_postgres(pg_url)
        os.environ["DATABASE_URL"] = pg_url


def _fresh_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    if name in ("test", "test_test", "postgres"):
        raise SystemExit(f"refusing to drop the database {name!r}")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _server_cpu(connection) -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, when the server runs here."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("show server_version")
        return cursor.fetchone()[0].split(" ")[0]


def _database_bytes(connection) -> int:
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        return sum(
            Path(f"{name}{s}").stat().st_size for s in ("", "-wal") if Path(f"{name}{s}").exists()
        )
    with connection.cursor() as cursor:
        cursor.execute("select pg_database_size(current_database())")
        return cursor.fetchone()[0]


def _print(results: dict, seconds: float) -> None:
    print(
        f"\n{results['database']}: {results['leads']:,} leads in {seconds:.1f} s "
        f"(simulate {results['simulate_s']} s in the simulation process, "
        f"write {results['write_s']} s in the writer; migrate {results['migrate_s']} s, "
        f"users {results['users_s']} s before)"
    )
    print("| rows | count | rows/s |")
    print("|---|---:|---:|")
    total = 0
    for name, n in results["rows"].items():
        total += n
        print(f"| {name} | {n:,} | {n / seconds:,.0f} |")
    print(f"| **all** | {total:,} | {total / seconds:,.0f} |")
    rss, cpu = results["peak_rss_mb"], results["cpu_s"]
    print(
        "CPU seconds: "
        + ", ".join(f"{name} {value}" for name, value in cpu.items() if value is not None)
        + f"; finishing (indexes, foreign keys, commit) {results['finish_s']} s wall"
    )
    print(
        f"peak RSS: writer {rss['writer']} MB, largest child {rss['largest child']} MB "
        f"({results['in_flight_peak']:,} leads in the middle of their story at most); "
        f"database {results['database_mb']:,} MB; {results['machine']}; "
        f"load average at the end {results['load_at_end']:.2f}"
    )


if __name__ == "__main__":
    main()
