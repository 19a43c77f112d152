"""What the scoring benchmarks share: choosing the database, and describing the machine.

SQLite: a file under --dir (default $TMPDIR/leadflow-scoring-bench). PostgreSQL: --pg-url
(default postgres://postgres@127.0.0.1:5432/lf_scoring_bench), dropped and created again by
bench/scoring_data.py only; never `test` or `test_test`.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/lf_scoring_bench"
REFUSED = ("test", "test_test", "postgres", "template0", "template1")
# Activity kinds and their shares: in the generated history and in the ingested batches alike.
KINDS = [
    ("web_visit", 0.40),
    ("email_sent", 0.14),
    ("email_open", 0.15),
    ("email_click", 0.06),
    ("webinar_registered", 0.02),
    ("webinar_attended", 0.01),
    ("content_download", 0.05),
    ("form_fill", 0.03),
    ("call", 0.05),
    ("meeting", 0.02),
    ("note", 0.07),
]


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--dir", default=os.path.join(tempfile.gettempdir(), "leadflow-scoring-bench")
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    return parser


def sqlite_path(args) -> Path:
    return Path(args.dir) / "scoring-bench.sqlite3"


def configure(args) -> None:
    """Point leadflow at the benchmark database and set Django up."""
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LEADFLOW_DATA_DIR", str(work))
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadflow.settings"
    if args.database == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{sqlite_path(args)}"
    else:
        name = args.pg_url.rsplit("/", 1)[1]
        if name in REFUSED:
            raise SystemExit(f"refusing to use the database {name!r} for a benchmark")
        os.environ["DATABASE_URL"] = args.pg_url
    import django

    django.setup()


def fresh(args) -> None:
    """An empty database: the SQLite file removed, or the PostgreSQL database recreated."""
    if args.database == "sqlite":
        path = sqlite_path(args)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    name = args.pg_url.rsplit("/", 1)[1]
    if name in REFUSED:
        raise SystemExit(f"refusing to drop the database {name!r}")
    admin = args.pg_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_label() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split(' ')[0]}"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f}"
    )


def peak_rss_mb() -> int:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
