"""The funnel: cohort waterfall and flow view, on six hand-built journeys with exact counts.

Q1 2026 (company time zone UTC), all times 2026 UTC unless said:

    A  Organic Web  created Jan 5 09:00 → mql 10:00 → sal 12:00 → sql Jan 6 10:00
                    → opportunity (AE accepts) Jan 6 12:00 → won Jan 20 12:00
    B  Organic Web  created Jan 10 09:00 → mql Jan 12 09:00 → rejected 10:00 (in_review)
                    → overruled 11:00 (mql again) → sal 13:00
    C  Webinars     created Feb 2 09:00 → mql 10:00 → sal 11:00 → returned Feb 3 (in_review)
                    → upheld Feb 4 (nurture) → recycled Feb 5 (mql again)
    D  Webinars     created Mar 1 09:00, still a raw lead
    F  Webinars     created Mar 3 09:00; its history (imported) goes inquiry → sql Mar 4,
                    skipping mql and sal
    E  Organic Web  created 2025-12-15 (the previous quarter's cohort) → mql Jan 8

Cohort Q1 (A B C D F): reached inquiry 5, mql 3 (A B C, once each although B and C entered
mql twice), sal 3, sql 2 (A F), opportunity 1, won 1.
"""

from datetime import timedelta

import pytest

from leadflow.leads.models import Source, StageChange
from leadflow.reports import funnel
from leadflow.reports.grouping import Filters
from leadflow.reports.measures import Spread
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

Q1 = Span.parse("2026-Q1")
AS_OF = utc(2026, 4, 10, 0)


@pytest.fixture
def journeys(world):
    j = Journeys(world)
    webinars = Source.objects.create(name="Webinars")
    j.a = j.walk(
        j.lead(utc(2026, 1, 5, 9)),
        ("qualify", utc(2026, 1, 5, 10)),
        ("accept", utc(2026, 1, 5, 12)),
        ("convert", utc(2026, 1, 6, 10)),
        ("accept", utc(2026, 1, 6, 12), {"amount": 10_000}),
        ("win", utc(2026, 1, 20, 12)),
    )
    j.b = j.walk(
        j.lead(utc(2026, 1, 10, 9)),
        ("qualify", utc(2026, 1, 12, 9)),
        ("reject", utc(2026, 1, 12, 10), {"reason": "below-fit"}),
        ("overrule", utc(2026, 1, 12, 11)),
        ("accept", utc(2026, 1, 12, 13)),
    )
    j.c = j.walk(
        j.lead(utc(2026, 2, 2, 9), source=webinars),
        ("qualify", utc(2026, 2, 2, 10)),
        ("accept", utc(2026, 2, 2, 11)),
        ("return", utc(2026, 2, 3, 9), {"reason": "went-cold"}),
        ("uphold", utc(2026, 2, 4, 9)),
        ("recycle", utc(2026, 2, 5, 9)),
    )
    j.d = j.lead(utc(2026, 3, 1, 9), source=webinars)
    j.f = j.lead(utc(2026, 3, 3, 9), source=webinars)
    # An imported history may skip stages; history is append-only, so add, never edit.
    StageChange.objects.create(
        lead=j.f, transition="import", from_stage="inquiry", to_stage="sql", at=utc(2026, 3, 4)
    )
    j.e = j.walk(j.lead(utc(2025, 12, 15, 9)), ("qualify", utc(2026, 1, 8, 9)))
    return j


def reached(row):
    return [row.reached[s] for s in funnel.STAGES]


def test_the_cohort_counts_each_lead_once_per_stage_reached(journeys):
    report = funnel.waterfall(Q1, as_of=AS_OF)
    (total,) = report.current.rows
    assert total.group == "All"
    # inquiry mql sal sql opportunity won
    assert reached(total) == [5, 3, 3, 2, 1, 1]


def test_conversion_is_between_consecutive_stages_and_from_raw(journeys):
    (total,) = funnel.waterfall(Q1, as_of=AS_OF).current.rows
    assert total.conversion == {
        "mql": 3 / 5, "sal": 1.0, "sql": 2 / 3, "opportunity": 1 / 2, "won": 1.0,
    }
    assert total.from_raw == {
        "mql": 3 / 5, "sal": 3 / 5, "sql": 2 / 5, "opportunity": 1 / 5, "won": 1 / 5,
    }


def test_a_lead_that_skipped_stages_counts_only_in_the_stages_it_reached(journeys):
    """F went inquiry → sql: it is in sql, not in mql or sal."""
    cohort = Filters(source=journeys.f.source_id)
    (webinars,) = funnel.waterfall(Q1, filters=cohort, as_of=AS_OF).current.rows
    # C D F; C reached mql and sal, F only sql
    assert reached(webinars) == [3, 1, 1, 1, 0, 0]
    assert webinars.conversion["sql"] == 1.0  # reached(sql) / reached(sal), whatever the path


def test_a_recycled_lead_counts_once_in_mql(journeys):
    """C entered mql on Feb 2 and again on Feb 5 (recycled): one lead, one mql."""
    february = Span.parse("2026-02")
    (total,) = funnel.waterfall(february, as_of=AS_OF).current.rows
    assert reached(total) == [1, 1, 1, 0, 0, 0]
    mql_rows = StageChange.objects.filter(lead=journeys.c, to_stage="mql").count()
    assert mql_rows == 2


def test_median_and_p90_hours_between_stages(journeys):
    """inquiry→mql: A 1 h, B 48 h, C 1 h → median 1, p90 = 1 + 0.8·(48 − 1) = 38.6.
    mql→sal from the first mql: A 2 h, B 4 h (09:00 → 13:00), C 1 h → median 2, p90 3.6.
    sal→sql: A only (F has no sal) 22 h. sql→opportunity: A 2 h. opportunity→won: A 336 h."""
    (total,) = funnel.waterfall(Q1, as_of=AS_OF).current.rows
    assert total.hours_from_previous == {
        "mql": Spread(3, 1.0, 38.6),
        "sal": Spread(3, 2.0, 3.6),
        "sql": Spread(1, 22.0, 22.0),
        "opportunity": Spread(1, 2.0, 2.0),
        "won": Spread(1, 336.0, 336.0),
    }


def test_grouped_by_source(journeys):
    report = funnel.waterfall(Q1, by="source", as_of=AS_OF)
    rows = {r.group: r for r in report.current.rows}
    assert list(rows) == ["All", "Organic Web", "Webinars"]
    assert reached(rows["Organic Web"]) == [2, 2, 2, 1, 1, 1]
    assert reached(rows["Webinars"]) == [3, 1, 1, 1, 0, 0]
    assert rows["Organic Web"].hours_from_previous["mql"] == Spread(2, 24.5, 43.3)
    assert rows["Webinars"].hours_from_previous["sal"] == Spread(1, 1.0, 1.0)


def test_grouped_by_team_and_owner_of_the_first_handoff(journeys, world):
    """A B C were first handed to inside sales; D F and never. Owners: the reps offered."""
    by_team = {r.group: reached(r) for r in funnel.waterfall(Q1, by="team").current.rows}
    assert by_team == {
        "All": [5, 3, 3, 2, 1, 1],
        "Inside sales": [3, 3, 3, 1, 1, 1],
        "(not handed over)": [2, 0, 0, 1, 0, 0],
    }
    # Round robin: A to sdr, B to sdr2, C to sdr (who was offered one longest ago).
    by_owner = {r.group: reached(r) for r in funnel.waterfall(Q1, by="owner").current.rows}
    assert by_owner == {
        "All": [5, 3, 3, 2, 1, 1],
        "sdr": [2, 2, 2, 1, 1, 1],
        "sdr2": [1, 1, 1, 0, 0, 0],
        "(not handed over)": [2, 0, 0, 1, 0, 0],
    }


def test_previous_period_and_last_year_sit_beside_with_the_same_groups(journeys):
    """2025-Q4's cohort is E (reached mql in January: a cohort counts whenever it converts);
    2025-Q1 is empty: zeros, and rates of nothing are None, not errors."""
    report = funnel.waterfall(Q1, by="source", as_of=AS_OF)
    assert report.periods == {"current": "2026-Q1", "previous": "2025-Q4", "last_year": "2025-Q1"}
    previous = {r.group: r for r in report.previous.rows}
    last_year = {r.group: r for r in report.last_year.rows}
    assert list(previous) == list(last_year) == ["All", "Organic Web", "Webinars"]
    assert reached(previous["Organic Web"]) == [1, 1, 0, 0, 0, 0]
    assert reached(previous["Webinars"]) == [0] * 6
    assert previous["Webinars"].conversion["mql"] is None
    assert reached(last_year["All"]) == [0] * 6
    assert last_year["All"].from_raw["won"] is None
    assert last_year["All"].hours_from_previous["mql"] == Spread(0, None, None)


def test_cohort_age_says_how_long_the_cohort_has_had(journeys):
    """Q1 ends Apr 1; on Apr 10 its youngest lead is 9 days old, its oldest 99."""
    report = funnel.waterfall(Q1, as_of=AS_OF)
    assert report.current.cohort_age_days == {"youngest": 9, "oldest": 99}
    assert report.previous.cohort_age_days == {"youngest": 99, "oldest": 191}


def test_monthly_trend_fills_empty_months_with_zeros(journeys):
    report = funnel.waterfall(Span.parse("2025-12..2026-03"), by="month", as_of=AS_OF)
    rows = {r.group: reached(r) for r in report.current.rows}
    assert rows == {
        "All": [6, 4, 3, 2, 1, 1],  # E too: created in December
        "2025-12": [1, 1, 0, 0, 0, 0],
        "2026-01": [2, 2, 2, 1, 1, 1],
        "2026-02": [1, 1, 1, 0, 0, 0],
        "2026-03": [2, 0, 0, 1, 0, 0],
    }
    assert [r.group for r in report.last_year.rows] == [
        "All", "2024-12", "2025-01", "2025-02", "2025-03",
    ]


def test_the_flow_view_counts_leads_entering_each_stage_in_the_period(journeys):
    """Entering in Q1: inquiry A B C D F; mql A B C E (E was created in December); sal A B C;
    sql A F; opportunity A; won A. B and C entered mql twice: once each."""
    report = funnel.waterfall(Q1, view="flow")
    (total,) = report.current.rows
    assert reached(total) == [5, 4, 3, 2, 1, 1]
    assert report.current.approximate is True
    assert total.conversion["mql"] == 4 / 5


def test_the_flow_view_by_month_counts_each_month_on_its_own(journeys):
    rows = funnel.waterfall(Q1, view="flow", by="month").current.rows
    assert {r.group: reached(r) for r in rows} == {
        "All": [5, 4, 3, 2, 1, 1],
        "2026-01": [2, 3, 2, 1, 1, 1],  # mql: A, B (twice), E
        "2026-02": [1, 1, 1, 0, 0, 0],  # C entered mql twice in February
        "2026-03": [2, 0, 0, 1, 0, 0],
    }


def test_periods_are_cut_in_the_company_time_zone(world, settings):
    """At 23:30 UTC on Jan 31 it is already February 1 in Berlin."""
    settings.TIME_ZONE = "Europe/Berlin"
    j = Journeys(world)
    j.lead(utc(2026, 1, 31, 23, 30))
    j.lead(utc(2026, 1, 31, 22, 30))  # 23:30 in Berlin: still January
    january = funnel.waterfall(Span.parse("2026-01")).current.rows[0]
    february = funnel.waterfall(Span.parse("2026-02")).current.rows[0]
    assert (january.reached["inquiry"], february.reached["inquiry"]) == (1, 1)
    by_month = funnel.waterfall(Span.parse("2026-01..2026-02"), by="month").current.rows
    assert {r.group: r.reached["inquiry"] for r in by_month} == {
        "All": 2, "2026-01": 1, "2026-02": 1,
    }


def test_filters_narrow_the_cohort(journeys, world):
    only = Filters(team=world.inside_team.pk)
    (total,) = funnel.waterfall(Q1, filters=only).current.rows
    assert reached(total) == [3, 3, 3, 1, 1, 1]


def test_the_waterfall_takes_a_fixed_number_of_queries(journeys, django_assert_max_num_queries):
    """Three spans. Cohort view: one query each (counts and medians together). Flow view: the
    groups and the total (a lead may enter a stage in several groups' rows)."""
    with django_assert_max_num_queries(3):
        funnel.waterfall(Q1, by="source", as_of=AS_OF)
    with django_assert_max_num_queries(6):
        funnel.waterfall(Q1, view="flow", by="campaign")


def test_more_leads_do_not_mean_more_queries(journeys, django_assert_max_num_queries):
    for hours in range(5):
        journeys.lead(utc(2026, 3, 10) + timedelta(hours=hours))
    with django_assert_max_num_queries(3):
        funnel.waterfall(Q1, by="owner", as_of=AS_OF)


def test_grouped_by_segment_fields(world):
    """Three leads of March 2026: a 250-person German bank, a 40-person US retailer that
    becomes an MQL, and one with no segment data."""
    j = Journeys(world)
    j.lead(utc(2026, 3, 2), country="DE", industry="Banking", employee_count=250)
    j.walk(
        j.lead(utc(2026, 3, 3), country="US", industry="Retail", employee_count=40),
        ("qualify", utc(2026, 3, 4)),
    )
    j.lead(utc(2026, 3, 5))
    march = Span.parse("2026-03")

    def mqls(by):
        rows = funnel.waterfall(march, by=by).current.rows
        return {r.group: (r.reached["inquiry"], r.reached["mql"]) for r in rows}

    assert mqls("country") == {"All": (3, 1), "DE": (1, 0), "US": (1, 1), "(not set)": (1, 0)}
    assert mqls("industry") == {
        "All": (3, 1), "Banking": (1, 0), "Retail": (1, 1), "(not set)": (1, 0),
    }
    assert mqls("employee_band") == {
        "All": (3, 1), "200–999": (1, 0), "1–49": (1, 1), "(not set)": (1, 0),
    }
    assert mqls("campaign") == {"All": (3, 1), "Organic Web › (no campaign)": (3, 1)}
