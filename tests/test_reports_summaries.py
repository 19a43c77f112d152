"""Monthly cohort summaries behind the lead-source table: kept, read without counting, and
counted again after any change to a cohort, whatever wrote it (database triggers note it).

Each change below is made after the table was read (so January's summary is kept), and the
table read again must equal the table counted from the rows with no summary kept.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from leadflow.leads.models import Lead, Opportunity, OpportunityStage, Source
from leadflow.reports import sources, summaries
from leadflow.reports.models import CohortChange, CohortSummary
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

JANUARY = Span.parse("2026-01")


@pytest.fixture
def cohort(world):
    """January 2026: six leads of one source; three qualified, one accepted, one converted
    and accepted by field sales (an open opportunity), one rejected."""
    j = Journeys(world)
    j.source = Source.objects.create(name="Events")
    j.leads = [j.lead(utc(2026, 1, 5 + n), j.source) for n in range(6)]
    for n in range(3):
        j.leads[n] = j.step(j.leads[n], "qualify", utc(2026, 1, 12, 9 + n))
    j.leads[0] = j.step(j.leads[0], "accept", utc(2026, 1, 12, 14))
    j.leads[0] = j.step(j.leads[0], "convert", utc(2026, 1, 13))
    j.leads[0] = j.step(j.leads[0], "accept", utc(2026, 1, 14), amount=12_000)
    j.leads[1] = j.step(j.leads[1], "reject", utc(2026, 1, 12, 15), reason="below-fit")
    return j


def figures(span=JANUARY):
    """Every count of every row of the table (what a stale summary would get wrong)."""
    return {
        r.group: (
            r.raw_leads, r.reached, r.revenue, r.decided, r.rejected, r.accepted, r.returned,
            [(x.code, x.count) for x in r.top_rejection_reasons],
            [(x.code, x.count) for x in r.top_return_reasons],
        )
        for r in sources.source_table(span).rows
    }


def counted_from_the_rows(span=JANUARY):
    CohortSummary.objects.all().delete()
    return figures(span)


def add_lead(j):
    j.lead(utc(2026, 1, 20), j.source)


def qualify(j):
    j.step(j.leads[3], "qualify", utc(2026, 1, 21))


def accept(j):
    j.step(j.leads[2], "accept", utc(2026, 1, 21))


def return_to_marketing(j):
    j.step(j.leads[0], "return", utc(2026, 1, 15), reason="went-cold")


def win(j):
    j.step(j.leads[0], "win", utc(2026, 2, 2))


def win_in_bulk(j):
    """As an importer or a script might: no action, no history row, one UPDATE."""
    Opportunity.objects.filter(lead=j.leads[0]).update(
        stage=OpportunityStage.WON, amount=F("amount") + 1000
    )


def move_to_another_source_in_bulk(j):
    other = Source.objects.create(name="Partners")
    Lead.objects.filter(pk__in=[j.leads[4].pk, j.leads[5].pk]).update(source=other)


def move_creation_to_february(j):
    Lead.objects.filter(pk=j.leads[5].pk).update(created_at=utc(2026, 2, 3))


CHANGES = [
    add_lead, qualify, accept, return_to_marketing, win, win_in_bulk,
    move_to_another_source_in_bulk, move_creation_to_february,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__)
def test_a_change_after_the_summary_was_kept_is_counted(cohort, change):
    before = figures()
    assert CohortSummary.objects.filter(month=JANUARY.first).exists()
    change(cohort)
    assert CohortChange.objects.filter(month="2026-01").exists()
    after = figures()
    assert after != before, "the change should move a figure of January"
    assert after == counted_from_the_rows()


def test_a_kept_summary_is_read_without_counting(cohort, django_assert_max_num_queries):
    first = figures()
    assert not CohortChange.objects.filter(month="2026-01").exists()
    # summaries and notes; spend, source and campaign names, reasons: no count of leads.
    with django_assert_max_num_queries(6):
        assert figures() == first


def test_january_is_what_the_source_table_said_before_summaries(cohort):
    """The hand-computed figures of the fixture, read from the kept summary."""
    figures()
    row = {r.group: r for r in sources.source_table(JANUARY).rows}["Events"]
    assert row.raw_leads == 6
    assert row.reached == {"mql": 3, "sal": 1, "sql": 1, "opportunity": 1, "won": 0}
    assert (row.decided, row.rejected, row.accepted, row.returned) == (3, 1, 2, 0)
    assert row.revenue == Decimal("0.00")


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "UTC"])
def test_the_note_names_the_company_month_at_its_first_and_last_minute(world, settings, zone):
    settings.TIME_ZONE = zone
    j = Journeys(world)
    for moment in (JANUARY.start, JANUARY.end - timedelta(minutes=1)):
        CohortChange.objects.all().delete()
        j.lead(moment)
        assert "2026-01" in set(CohortChange.objects.values_list("month", flat=True))


def test_a_summary_is_kept_per_time_zone(cohort, settings):
    figures()
    settings.TIME_ZONE = "Pacific/Auckland"
    assert figures() == counted_from_the_rows()
    assert CohortSummary.objects.filter(time_zone="Pacific/Auckland").exists()


def test_the_worker_counts_noted_months_again(cohort):
    figures()
    qualify(cohort)
    result = summaries.refresh_noted()
    assert result.months >= 1
    assert not CohortChange.objects.exists()
    kept = CohortSummary.objects.get(month=JANUARY.first)
    (events,) = [r for r in kept.rows if r["source"] == cohort.source.pk]
    assert events["reached"]["mql"] == 4


def test_a_bulk_insert_is_noted(cohort):
    figures()
    Lead.objects.bulk_create(
        [Lead(email=f"bulk{n}@example.com", source=cohort.source, created_at=utc(2026, 1, 9),
              updated_at=utc(2026, 1, 9)) for n in range(3)]
    )
    assert figures()["Events"][0] == 9


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions: SQLite serialises a refresh with every writer",
)


@postgres_only
def test_a_change_committed_while_a_month_is_counted_is_not_lost(transactional_db):
    """A refresh counts January in its snapshot while another connection commits a new January
    lead: the refresh keeps its (older) summary, but the new lead's note survives it, so the
    next read counts January again and shows the lead."""
    from .conftest import World

    world = World()
    j = Journeys(world)
    source = Source.objects.create(name="Events")
    j.lead(utc(2026, 1, 5), source, email="first@example.com")
    counting, committed = threading.Event(), threading.Event()
    count_month = summaries.count_month

    def slow_count(month):
        found = count_month(month)  # the snapshot is taken: the other lead is not in it
        counting.set()
        assert committed.wait(10)
        return found

    def add_a_lead():
        try:
            assert counting.wait(10)
            j.lead(utc(2026, 1, 6), source, email="second@example.com")
            committed.set()
        finally:
            connection.close()

    other = threading.Thread(target=add_a_lead)
    other.start()
    summaries.count_month = slow_count
    try:
        stale = summaries.refresh([JANUARY.first])
    finally:
        summaries.count_month = count_month
    other.join()
    assert stale[JANUARY.first][(source.pk, None)].leads == 1
    assert CohortChange.objects.filter(month="2026-01").exists()
    assert figures()["Events"][0] == 2
