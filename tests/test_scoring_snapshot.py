"""The packed activity columns stay equal to the activity table: new activities, deleted
ones, late commits with lower ids, and (on request) edits in place."""

from datetime import UTC, datetime, timedelta

import pytest

from leadflow.leads.models import Activity
from leadflow.scoring import snapshot
from leadflow.scoring.models import ActivityChunk

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(snapshot, "IDS_PER_CHUNK", 4)


def table() -> list[tuple]:
    return sorted(
        (a.lead_id, a.occurred_at.timestamp(), a.kind, a.campaign_id or 0, a.url)
        for a in Activity.objects.all()
    )


def packed() -> list[tuple]:
    cols = snapshot.load()
    return sorted(
        (int(lead), float(at), snapshot.KINDS[kind], int(campaign),
         cols.urls[url] if url != snapshot.NO_URL else "")
        for lead, at, kind, campaign, url in zip(
            cols.lead, cols.at, cols.kind, cols.campaign, cols.url, strict=True
        )
    )


def add(lead, n, start=0):
    for i in range(n):
        Activity.objects.create(
            lead=lead, kind="web_visit" if i % 2 else "email_open",
            occurred_at=T0 + timedelta(seconds=start + i, microseconds=123456 * (i % 3)),
            url=f"https://x.io/p{i % 3}" if i % 2 else "",
        )


def test_the_columns_equal_the_table_and_follow_new_activities(world):
    lead = world.lead()
    add(lead, 10)
    assert packed() == table()
    # One chunk per block of 4 ids the activities fall in (3 when ids start at 1; PostgreSQL's
    # sequences are not reset between tests, so count the blocks rather than assume).
    ids = Activity.objects.values_list("pk", flat=True)
    assert ActivityChunk.objects.count() == len({(pk - 1) // 4 for pk in ids})
    add(lead, 3, start=100)
    assert packed() == table()
    assert snapshot.sync() == 0  # nothing new: nothing rebuilt


def test_activities_deleted_with_their_lead_leave_the_columns(world):
    keep, gone = world.lead(), world.lead(email="gone@example.com")
    add(keep, 5)
    add(gone, 5, start=50)
    add(keep, 2, start=200)
    packed()
    Activity.objects.filter(lead=gone).delete()  # as when the lead is deleted (cascade)
    assert packed() == table()


def test_a_late_commit_with_a_lower_id_is_found(world):
    """PostgreSQL hands out ids when rows are inserted, so a transaction may commit id 5 after
    ids 6 to 9 were read."""
    lead = world.lead()
    add(lead, 9)
    pending = Activity.objects.order_by("id")[4]
    Activity.objects.filter(pk=pending.pk).delete()  # not committed yet when read
    assert packed() == table()
    pending.save(force_insert=True)  # commits now, with its id 5
    assert packed() == table()
    assert len(table()) == 9


def test_an_edit_in_place_is_picked_up_by_a_rebuild(world):
    lead = world.lead()
    add(lead, 6)
    packed()
    Activity.objects.filter(kind="email_open").update(kind="form_fill")
    assert packed() != table()
    snapshot.sync(rebuild=True)
    assert packed() == table()
