"""The lead-source table on the seeds' example and two small sources, January 2026.

Content Syndication (the seeds' example): 625 raw leads and $14,468.75 of spend booked on the
source: $23.15 per raw lead. 10 become MQLs; 9 are accepted (1 rejected "below-fit"); 8 of
those become SQLs (1 returned "went-cold"): 8 / 625 = 1.28% qualify, so a qualified lead costs
14,468.75 / 8 = $1,808.59 (= 23.15 / 0.0128). Field sales accepts 2 SQLs (two opportunities),
one is won for $20,000.

Webinars: campaign "Pricing webinar" ($1,000) brings 4 leads, 2 MQLs; campaign "Demo day"
($500) brings none; $250 is booked on the source without a campaign. Organic Web: 1 lead, no
spend. In December 2025 one more Pricing-webinar lead; January 2025 is empty.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from leadflow.leads.models import Campaign, Source, Spend
from leadflow.reports import sources
from leadflow.reports.grouping import Filters
from leadflow.reports.measures import cost_per
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

JANUARY = Span.parse("2026-01")


def spend(source, amount, campaign=None, month=JANUARY):
    Spend.objects.create(
        source=source, campaign=campaign, month=month.first, amount=Decimal(amount)
    )


@pytest.fixture
def small(world):
    """Webinars and Organic Web only: cheap to build."""
    j = Journeys(world)
    webinars = Source.objects.create(name="Webinars")
    pricing = Campaign.objects.create(source=webinars, name="Pricing webinar")
    demo_day = Campaign.objects.create(source=webinars, name="Demo day")
    spend(webinars, "1000.00", pricing)
    spend(webinars, "500.00", demo_day)
    spend(webinars, "250.00")
    for n in range(4):
        lead = j.lead(utc(2026, 1, 12, 9 + n), webinars, campaign=pricing)
        if n < 2:
            j.step(lead, "qualify", utc(2026, 1, 13, 9 + n))
    j.lead(utc(2026, 1, 14))  # Organic Web
    j.lead(utc(2025, 12, 10), webinars, campaign=pricing)
    j.webinars = webinars
    return j


@pytest.fixture
def journeys(small):
    """The small sources and the seeds' Content Syndication (625 leads)."""
    j = small
    syndication = Source.objects.create(name="Content Syndication")
    spend(syndication, "14468.75")
    leads = [j.lead(utc(2026, 1, 5) + timedelta(minutes=i), syndication) for i in range(625)]
    day = utc(2026, 1, 7)
    for n, lead in enumerate(leads[:10]):
        at = day + timedelta(minutes=10 * n)
        lead = j.step(lead, "qualify", at)
        if n == 9:
            j.step(lead, "reject", at + timedelta(minutes=1), reason="below-fit")
            continue
        lead = j.step(lead, "accept", at + timedelta(minutes=2))
        if n == 8:
            j.step(lead, "return", at + timedelta(minutes=3), reason="went-cold")
            continue
        lead = j.step(lead, "convert", at + timedelta(minutes=3))
        if n < 2:
            lead = j.step(lead, "accept", at + timedelta(minutes=4), amount=20_000)
        if n == 0:
            j.step(lead, "win", utc(2026, 1, 20))
    j.syndication = syndication
    return j


def rows(result):
    return {r.group: r for r in result.rows}


def test_the_seeds_example_costs_1808_59_per_qualified_lead(journeys):
    table = sources.report(JANUARY).current
    row = rows(table)["Content Syndication"]
    assert row.raw_leads == 625
    assert row.spend == Decimal("14468.75")
    assert row.cost_per_raw_lead == Decimal("23.15")
    assert row.reach_rate["sql"] == 0.0128
    assert row.cost_per["sql"] == Decimal("1808.59")
    # Same figure as the seeds' way of putting it: 23.15 / 0.0128.
    assert cost_per(Decimal("23.15") / Decimal("0.0128"), 1) == Decimal("1808.59")


def test_every_stage_has_its_reach_and_its_cost(journeys):
    """mql 10, sal 9, sql 8, opportunity 2, won 1 of 625 raw leads, for $14,468.75:
    per mql 1,446.875 → 1,446.88; per sal 1,607.638… → 1,607.64; per opportunity
    7,234.375 → 7,234.38; per won deal 14,468.75."""
    row = rows(sources.report(JANUARY).current)["Content Syndication"]
    assert row.reached == {"mql": 10, "sal": 9, "sql": 8, "opportunity": 2, "won": 1}
    assert row.reach_rate == {
        "mql": 0.016, "sal": 0.0144, "sql": 0.0128, "opportunity": 0.0032, "won": 0.0016,
    }
    assert row.cost_per == {
        "mql": Decimal("1446.88"),
        "sal": Decimal("1607.64"),
        "sql": Decimal("1808.59"),
        "opportunity": Decimal("7234.38"),
        "won": Decimal("14468.75"),
    }


def test_revenue_and_roi(journeys):
    """ROI = (20,000 − 14,468.75) / 14,468.75."""
    row = rows(sources.report(JANUARY).current)["Content Syndication"]
    assert row.revenue == Decimal("20000.00")
    assert row.roi == float(Decimal("5531.25") / Decimal("14468.75"))


def test_rejection_and_return_rates_with_their_top_reasons(journeys):
    """Hand-offs of the cohort: 10 MQL offers (9 accepted, 1 rejected) and 8 SQL offers
    (2 accepted, 6 pending): decided 12, rejected 1; accepted 11, returned 1."""
    row = rows(sources.report(JANUARY).current)["Content Syndication"]
    assert (row.decided, row.rejected, row.rejection_rate) == (12, 1, 1 / 12)
    assert (row.accepted, row.returned, row.return_rate) == (11, 1, 1 / 11)
    assert [(r.code, r.count) for r in row.top_rejection_reasons] == [("below-fit", 1)]
    assert [(r.code, r.count) for r in row.top_return_reasons] == [("went-cold", 1)]


def test_campaign_rows_and_spend_without_campaign(small):
    """Webinars: Pricing webinar 4 leads for $1,000 ($250 each, 2 MQLs: $500 each); Demo day
    $500 and no lead (no cost per lead; ROI −1); $250 on the source itself. The source row
    adds them up: $1,750 for 4 leads = $437.50 each, 2 MQLs = $875.00 each."""
    table = rows(sources.report(JANUARY).current)
    pricing = table["Webinars › Pricing webinar"]
    assert (pricing.raw_leads, pricing.spend, pricing.cost_per_raw_lead) == (
        4, Decimal("1000.00"), Decimal("250.00"),
    )
    assert pricing.cost_per["mql"] == Decimal("500.00")
    demo_day = table["Webinars › Demo day"]
    assert (demo_day.raw_leads, demo_day.cost_per_raw_lead, demo_day.reach_rate["mql"]) == (
        0, None, None,
    )
    assert demo_day.roi == -1.0
    assert table["Webinars › (no campaign)"].spend == Decimal("250.00")
    webinars = table["Webinars"]
    assert (webinars.level, webinars.raw_leads, webinars.spend) == ("source", 4, Decimal("1750"))
    assert webinars.cost_per_raw_lead == Decimal("437.50")
    assert webinars.cost_per["mql"] == Decimal("875.00")
    assert webinars.cost_per["sql"] is None
    organic = table["Organic Web"]
    assert (organic.raw_leads, organic.cost_per_raw_lead, organic.roi) == (
        1, Decimal("0.00"), None,
    )


def test_rows_are_sources_then_their_campaigns_with_the_total_first(journeys):
    table = sources.report(JANUARY).current
    assert [r.group for r in table.rows] == [
        "All",
        "Content Syndication",
        "Content Syndication › (no campaign)",
        "Organic Web",
        "Organic Web › (no campaign)",
        "Webinars",
        "Webinars › Demo day",
        "Webinars › Pricing webinar",
        "Webinars › (no campaign)",
    ]
    total = table.rows[0]
    assert (total.raw_leads, total.spend) == (630, Decimal("16218.75"))
    assert total.reached["mql"] == 12


def test_comparison_periods_have_the_same_rows_with_zeros(small):
    report = sources.report(JANUARY)
    assert report.periods == {"current": "2026-01", "previous": "2025-12", "last_year": "2025-01"}
    assert [r.group for r in report.previous.rows] == [r.group for r in report.current.rows]
    previous = rows(report.previous)
    assert previous["Webinars › Pricing webinar"].raw_leads == 1
    assert previous["Webinars › Pricing webinar"].cost_per_raw_lead == Decimal("0.00")
    assert previous["Organic Web"].raw_leads == 0
    assert previous["Organic Web"].cost_per_raw_lead is None
    assert all(r.raw_leads == 0 and r.roi is None for r in report.last_year.rows)


def test_a_source_filter(small):
    only = Filters(source=small.webinars.pk)
    table = sources.report(JANUARY, only).current
    assert [r.group for r in table.rows] == [
        "All", "Webinars", "Webinars › Demo day", "Webinars › Pricing webinar",
        "Webinars › (no campaign)",
    ]
    assert table.rows[0].spend == Decimal("1750.00")


def test_the_table_counts_once_then_reads_summaries(small, django_assert_max_num_queries):
    """Counting a period: the monthly summaries (read, counted, kept), spend, names, reasons.
    Once kept, three periods take six queries each."""
    with django_assert_max_num_queries(3 * 16):
        first = sources.report(JANUARY)
    with django_assert_max_num_queries(3 * 6):
        assert sources.report(JANUARY) == first


def test_a_quarter_adds_up_its_months_of_spend(small):
    quarter = rows(sources.report(Span.parse("2026-Q1")).current)
    assert quarter["Webinars"].spend == Decimal("1750.00")
    spend(small.webinars, "1000.00", month=Span.parse("2026-03"))
    spend(small.webinars, "1000.00", month=Span.parse("2026-04"))  # the next quarter
    quarter = rows(sources.report(Span.parse("2026-Q1")).current)
    assert quarter["Webinars"].spend == Decimal("2750.00")
    assert quarter["Webinars › (no campaign)"].spend == Decimal("1250.00")


def test_a_twelve_month_span_computes_previous_and_last_year_once(
    small, django_assert_max_num_queries
):
    """For 2025-02..2026-01 the previous twelve months are last year's: two periods' queries
    (three periods would take 18 once the monthly summaries are kept)."""
    sources.report(Span.parse("2025-02..2026-01"))
    with django_assert_max_num_queries(2 * 6):
        report = sources.report(Span.parse("2025-02..2026-01"))
    assert report.periods["previous"] == report.periods["last_year"] == "2024-02..2025-01"
    assert report.previous == report.last_year and report.previous is not report.last_year
    assert rows(report.current)["Webinars"].raw_leads == 5  # December's lead too
