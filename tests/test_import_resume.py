"""An import killed with SIGKILL half-way and run again ends with every row of the file
imported once: no duplicate, no missing row, and each bad row reported once.

The import is a real `leadflow import` process on the test database, killed as soon as the
database shows it part-way through."""

import time
from collections import Counter

import pytest

from leadflow.leads.models import Lead, StageChange
from leadflow.transfer.models import ImportJob
from leadflow.transfer.testing import error_rows, start_command, write_csv

from .conftest import World

ROWS = 6_000
BAD_EVERY = 500  # a row with an unknown source every so often


@pytest.fixture
def shared_world(transactional_db):
    return World()


def people_file(path):
    rows = []
    for i in range(ROWS):
        source = "Nowhere" if i % BAD_EVERY == 7 else "Organic Web"
        day = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
        mql = f"2025-{1 + i % 12:02d}-28" if i % 3 == 0 else ""
        rows.append([f"person{i}@example.com", f"P{i}", "Lee", f"Co {i}", source, day, mql])
    header = ["email", "first_name", "last_name", "company", "source", "created_at", "mql_date"]
    return write_csv(path, header, rows)


def test_an_import_killed_half_way_resumes_with_no_duplicate_and_no_gap(shared_world, tmp_path):
    path = people_file(tmp_path / "people.csv")
    errors = tmp_path / "errors.csv"
    args = ("import", str(path), "--errors", str(errors), "--chunk-size", "100", "--quiet")
    first = start_command(*args)
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and first.poll() is None:
        job = ImportJob.objects.first()
        if job is not None and 0 < job.rows_done < ROWS // 2:
            first.kill()  # SIGKILL: no cleanup, an open transaction is lost
            first.wait(timeout=10)
            seen = job.rows_done
            break
        time.sleep(0.005)
    assert seen, f"the import never showed progress: {first.stdout.read()}"
    killed = ImportJob.objects.get()
    assert killed.status == "running" and killed.offset < killed.size
    assert Lead.objects.count() < ROWS

    again = start_command(*args)  # the same command again: it continues the same job
    log, _ = again.communicate(timeout=300)
    assert again.returncode == 0, log
    assert "Continuing import" in log

    job = ImportJob.objects.get()
    bad = ROWS // BAD_EVERY
    assert (job.status, job.rows_done, job.created, job.failed) == ("done", ROWS, ROWS - bad, bad)
    emails = Counter(Lead.objects.values_list("email", flat=True))
    assert len(emails) == ROWS - bad and max(emails.values()) == 1
    expected = {f"person{i}@example.com" for i in range(ROWS) if i % BAD_EVERY != 7}
    assert set(emails) == expected
    # Each lead has its history once: one create, and one qualify for every third person.
    creates = Counter(
        StageChange.objects.filter(transition="create").values_list("lead_id", flat=True)
    )
    assert len(creates) == ROWS - bad and max(creates.values()) == 1
    qualified = sum(1 for i in range(ROWS) if i % 3 == 0 and i % BAD_EVERY != 7)
    assert StageChange.objects.filter(transition="qualify").count() == qualified
    # Each bad row is in the error file once, at its line (the header is line 1).
    lines = [int(r["line"]) for r in error_rows(errors)]
    assert lines == [i + 2 for i in range(ROWS) if i % BAD_EVERY == 7]
