"""A backup taken on one kind of database and restored into the other gives the same reports
and the same rows: SQLite -> PostgreSQL when the tests run on SQLite, PostgreSQL -> SQLite when
they run on PostgreSQL (skipped when PostgreSQL is not reachable from a SQLite run).

The restore runs as a real `leadflow` process on a freshly migrated database of the other kind.
"""

import os
import subprocess
import sys
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from leadflow.leads.models import Activity, Lead, StageChange
from leadflow.reports.testing import Journeys, utc
from leadflow.transfer import export
from leadflow.transfer.backup import RestoreRefused, read_manifest, restore
from leadflow.transfer.testing import write_csv

PG_ADMIN = os.environ.get("LEADFLOW_TEST_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PERIOD = "2025-01..2025-03"


def build_history(world, tmp_path):
    """Leads walked through the actions (rejected, returned, won) and imported with history."""
    journeys = Journeys(world)
    won = journeys.lead(utc(2025, 1, 6), email="won@acme.com", company="Acme")
    journeys.walk(
        won, ("qualify", utc(2025, 1, 7)), ("accept", utc(2025, 1, 7, 11)),
        ("convert", utc(2025, 1, 9)), ("accept", utc(2025, 1, 10), {"amount": 12000}),
        ("win", utc(2025, 2, 20)),
    )
    rejected = journeys.lead(utc(2025, 2, 3), email="no@beta.com")
    journeys.walk(rejected, ("qualify", utc(2025, 2, 3, 10)),
                  ("reject", utc(2025, 2, 3, 15), {"reason": "below-fit"}))
    Activity.objects.create(lead=won, kind="web_visit", occurred_at=utc(2025, 1, 6, 8),
                            url="https://example.com/pricing")
    path = write_csv(
        tmp_path / "history.csv",
        ["email", "source", "created_at", "mql_date", "sal_date", "sql_date", "won_date",
         "lost_date", "amount", "outcome_reason"],
        [
            [f"p{i}@example.com", "Organic Web", f"2025-0{1 + i % 3}-0{1 + i % 9}",
             f"2025-0{1 + i % 3}-1{i % 9}" if i % 2 else "",
             f"2025-0{1 + i % 3}-2{i % 9}" if i % 4 == 1 else "",
             "", "", "2025-03-30" if i % 8 == 1 else "", "5000" if i % 8 == 1 else "",
             "price" if i % 8 == 1 else ""]
            for i in range(40)
        ],
    )
    call_command("import", str(path), quiet=True, errors=str(tmp_path / "e.csv"))
    assert Lead.objects.count() == 42


def other_database(tmp_path):
    """A DATABASE_URL of the other kind than the tests run on, created empty; and its drop."""
    if connection.vendor == "postgresql":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}", lambda: None
    psycopg = pytest.importorskip("psycopg")
    name = f"h2_restore_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable")
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def leadflow(url, *args):
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "leadflow", *args], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()  # as written: CSV lines end in \r\n


def test_a_backup_restored_into_the_other_database_gives_the_same_reports(world, tmp_path):
    build_history(world, tmp_path)
    file = tmp_path / "backup.zip"
    call_command("backup", str(file))
    manifest = read_manifest(file)
    assert manifest["vendor"] == connection.vendor
    counts = {t["model"]: t["rows"] for t in manifest["tables"]}
    assert counts["leads.lead"] == 42 and counts["accounts.user"] == 9
    assert counts["leads.stagechange"] == StageChange.objects.count()

    url, drop = other_database(tmp_path)
    try:
        leadflow(url, "migrate", "-v0")
        assert "Restored" in leadflow(url, "restore", str(file))
        for name, extra in [("waterfall", []), ("waterfall", ["--view", "flow"]),
                            ("sources", []), ("handoffs", []), ("pipeline", [])]:
            here = export.report_csv(name, period=PERIOD, view=(extra or ["", "cohort"])[1])
            there = leadflow(url, "export", "report", name, "--period", PERIOD, *extra)
            assert there == here, name
        for kind in export.RECORDS:
            here = "".join(export.csv_lines(export.records(kind)))
            assert leadflow(url, "export", kind) == here, kind
        # The restored database takes new rows after the restored ones.
        out = leadflow(url, "shell", "-c", (
            "from leadflow.leads.models import Lead, Source;"
            "from leadflow.leads import actions;"
            "print(actions.create_lead(actor=None, source=Source.objects.first(), "
            "email='new@x.com').pk)"))
        assert int(out.split()[-1]) > max(Lead.objects.values_list("pk", flat=True))
    finally:
        drop()


def test_a_restore_refuses_a_database_in_use_and_other_migrations(world, tmp_path):
    file = tmp_path / "backup.zip"
    call_command("backup", str(file))
    with pytest.raises(RestoreRefused, match="already has users or leads"):
        restore(file)
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).record_applied("transfer", "9999_later")
    with pytest.raises(RestoreRefused, match="applied here only: transfer.9999_later"):
        restore(file, force=True)
    assert Lead.objects.count() == 0  # nothing was touched
