"""Pipeline, outcomes and the forecast, on opportunities with hand-written histories.

Each opportunity is a lead walked to SQL and accepted by the AE (which opens it at
`discovery`) at 10:00 UTC on its first day, then moved and closed at 10:00 on the days given.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from leadflow.reports import pipeline
from leadflow.reports.grouping import Filters
from leadflow.reports.measures import Spread
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

Q1 = Span.parse("2026-Q1")
AS_OF = utc(2026, 4, 10, 10)


def day(y, m, d):
    return utc(y, m, d, 10)


def opportunity(j: Journeys, opened, amount, *moves, source=None):
    """A lead to SQL on the morning of `opened`, the AE's acceptance at 10:00, then `moves`:
    ("proposal" | "forecast" | "discovery", at), ("win", at) or ("lose", at)."""
    start = opened - timedelta(hours=1)
    lead = j.walk(
        j.lead(start - timedelta(minutes=40), source=source),
        ("qualify", start - timedelta(minutes=30)),
        ("accept", start - timedelta(minutes=20)),
        ("convert", start - timedelta(minutes=10)),
        ("accept", opened, {"amount": amount}),
    )
    for name, at in moves:
        if name in ("win", "lose"):
            kw = {"reason": "price"} if name == "lose" else {}
            lead = j.step(lead, name, at, **kw)
        else:
            j.move_opportunity(lead, name, at)
    return lead


@pytest.fixture
def quarter(world):
    """O1 Jan 6, 10,000: proposal Jan 20, forecast Feb 10, won Mar 2.
    O2 Jan 15, 5,000: proposal Feb 1, lost Mar 15.
    O3 Feb 1, 2,000: lost Feb 20 from discovery.
    O4 Feb 15, 8,000: proposal Mar 1, still open.
    O5 Mar 10, 3,000: still in discovery.
    O6 2025-12-01, 7,000: proposal Dec 15, won Jan 10."""
    j = Journeys(world)
    opportunity(j, day(2026, 1, 6), 10_000, ("proposal", day(2026, 1, 20)),
                ("forecast", day(2026, 2, 10)), ("win", day(2026, 3, 2)))
    opportunity(j, day(2026, 1, 15), 5_000, ("proposal", day(2026, 2, 1)),
                ("lose", day(2026, 3, 15)))
    opportunity(j, day(2026, 2, 1), 2_000, ("lose", day(2026, 2, 20)))
    opportunity(j, day(2026, 2, 15), 8_000, ("proposal", day(2026, 3, 1)))
    opportunity(j, day(2026, 3, 10), 3_000)
    opportunity(j, day(2025, 12, 1), 7_000, ("proposal", day(2025, 12, 15)),
                ("win", day(2026, 1, 10)))
    return j


def test_thickness_is_the_open_value_by_stage_at_the_end_of_the_period(quarter):
    """Open on Apr 1: O4 in proposal, O5 in discovery."""
    q1 = pipeline.report(Q1, as_of=AS_OF).current
    assert q1.snapshot_at == Q1.end
    assert q1.open_count == {"discovery": 1, "proposal": 1, "forecast": 0}
    assert q1.open_value == {
        "discovery": Decimal("3000.00"), "proposal": Decimal("8000.00"), "forecast": Decimal(0),
    }
    assert (q1.open_total_count, q1.open_total_value) == (2, Decimal("11000.00"))


def test_a_past_snapshot_uses_the_stage_the_opportunity_had_then(quarter):
    """At the end of February (Mar 1 00:00): O1 in forecast (won only on Mar 2), O2 in
    proposal, O4 still in discovery (proposal on Mar 1 at 10:00); O3 and O6 closed, O5 not
    opened yet."""
    feb = pipeline.report(Span.parse("2026-02"), as_of=AS_OF).current
    assert feb.open_count == {"discovery": 1, "proposal": 1, "forecast": 1}
    assert feb.open_value["forecast"] == Decimal("10000.00")


def test_new_opportunities_win_rate_bid_to_win_and_revenue(quarter):
    """New in Q1: O1–O5 (28,000). Closed in Q1: O1 and O6 won, O2 and O3 lost: win rate 2/4,
    revenue 17,000. Closed after reaching proposal: O1 O2 O6, won O1 O6: bid-to-win 2/3."""
    q1 = pipeline.report(Q1, as_of=AS_OF).current
    assert (q1.new_opportunities, q1.new_value) == (5, Decimal("28000.00"))
    assert (q1.won, q1.lost, q1.win_rate) == (2, 2, 0.5)
    assert q1.revenue == Decimal("17000.00")
    assert (q1.closed_after_proposal, q1.won_after_proposal, q1.bid_to_win) == (3, 2, 2 / 3)


def test_velocity_is_the_median_days_of_the_stays_that_ended_in_the_period(quarter):
    """Discovery stays ended in Q1: O1 14 d, O2 17 d, O3 19 d (lost), O4 14 d (O5 still
    there): [14, 14, 17, 19] → median 15.5, p90 17 + 0.7·2 = 18.4.
    Proposal: O1 21 d, O2 42 d, O6 26 d (Dec 15 → Jan 10): median 26, p90 26 + 0.8·16 = 38.8.
    Forecast: O1 20 d (Feb 10 → Mar 2)."""
    q1 = pipeline.report(Q1, as_of=AS_OF).current
    assert q1.velocity_days == {
        "discovery": Spread(4, 15.5, 18.4),
        "proposal": Spread(3, 26.0, 38.8),
        "forecast": Spread(1, 20.0, 20.0),
    }


def test_comparisons_previous_quarter_and_last_year(quarter):
    """2025-Q4: O6 opened (7,000), nothing closed (win rate undefined), O6 open in proposal on
    Jan 1, its discovery stay (14 d) ended. 2025-Q1: nothing at all."""
    report = pipeline.report(Q1, as_of=AS_OF)
    q4, last_year = report.previous, report.last_year
    assert (q4.new_opportunities, q4.won, q4.win_rate, q4.bid_to_win) == (1, 0, None, None)
    assert q4.open_count == {"discovery": 0, "proposal": 1, "forecast": 0}
    assert q4.velocity_days["discovery"] == Spread(1, 14.0, 14.0)
    assert q4.velocity_days["proposal"] == Spread()
    assert (last_year.new_opportunities, last_year.revenue, last_year.open_total_value) == (
        0, Decimal("0.00"), Decimal("0.00"),
    )


def test_the_current_period_is_measured_now(quarter):
    """A span that has not ended yet takes its snapshot at as_of."""
    current = pipeline.report(Span.parse("2026-04"), as_of=AS_OF).current
    assert current.snapshot_at == AS_OF
    assert current.open_total_count == 2


def test_a_team_filter(quarter, world):
    assert pipeline.report(Q1, Filters(team=world.field_team.pk), AS_OF).current.won == 2
    assert pipeline.report(Q1, Filters(team=world.inside_team.pk), AS_OF).current.won == 0


def test_the_report_takes_three_queries_per_period(quarter, django_assert_max_num_queries):
    with django_assert_max_num_queries(3 * 3):
        pipeline.report(Q1, as_of=AS_OF)


# --- forecast ------------------------------------------------------------------------------


@pytest.fixture
def history(world):
    """P0 2025-06-01 1,000 won Aug 1.     P1 Sep 1 10,000 proposal Sep 20, won Oct 20.
    P2 Sep 5 6,000 lost Nov 5.           P3 Sep 10 4,000 won Dec 1.
    P4 Dec 1 5,000 proposal Dec 10, won 2026-02-01.
    P5 Dec 5 2,000 still in discovery.   P6 2026-02-01 9,000 proposal Mar 1, open."""
    j = Journeys(world)
    opportunity(j, day(2025, 6, 1), 1_000, ("win", day(2025, 8, 1)))
    opportunity(j, day(2025, 9, 1), 10_000, ("proposal", day(2025, 9, 20)),
                ("win", day(2025, 10, 20)))
    opportunity(j, day(2025, 9, 5), 6_000, ("lose", day(2025, 11, 5)))
    opportunity(j, day(2025, 9, 10), 4_000, ("win", day(2025, 12, 1)))
    opportunity(j, day(2025, 12, 1), 5_000, ("proposal", day(2025, 12, 10)),
                ("win", day(2026, 2, 1)))
    opportunity(j, day(2025, 12, 5), 2_000)
    opportunity(j, day(2026, 2, 1), 9_000, ("proposal", day(2026, 3, 1)))
    return j


def test_the_forecast_is_open_value_times_historical_conversion_within_a_quarter(history):
    """The next quarter (2026-Q3, from Apr 10), learning from 2025-Q4 and 2026-Q1 (history=2):
    at Oct 1: discovery P2 P3 (P3 won in Q4), proposal P1 (won in Q4);
    at Jan 1: discovery P5 (not won), proposal P4 (won in Q1).
    discovery 1/3, proposal 2/2, forecast no history.
    Open now: P5 discovery 2,000, P6 proposal 9,000:
    2,000 × 1/3 = 666.67, 9,000 × 1 = 9,000 → 9,666.67."""
    result = pipeline.forecast(as_of=AS_OF, history=2, backtest=1)
    assert (result.quarter, result.base_at) == ("2026-Q3", AS_OF)
    assert result.history == ["2025-Q4", "2026-Q1"]
    assert [(s.stage, s.open, s.open_value, s.conversion, s.expected_value)
            for s in result.stages] == [
        ("discovery", 1, Decimal("2000.00"), 1 / 3, Decimal("666.67")),
        ("proposal", 1, Decimal("9000.00"), 1.0, Decimal("9000.00")),
        ("forecast", 0, Decimal("0.00"), None, Decimal("0.00")),
    ]
    assert result.value == Decimal("9666.67")


def test_a_quarter_under_way_is_forecast_from_its_start(history):
    """Q2 started on Apr 1: its forecast uses the funnel open then (the same P5 and P6)."""
    result = pipeline.forecast(Span.parse("2026-Q2"), as_of=AS_OF, history=2, backtest=1)
    assert (result.quarter, result.base_at) == ("2026-Q2", Span.parse("2026-Q2").start)
    assert result.history == ["2025-Q4", "2026-Q1"]
    assert result.value == Decimal("9666.67")


def test_the_backtest_shows_the_error_on_past_quarters(history):
    """2026-Q1 forecast from Jan 1, learning from 2025-Q3 (P0: discovery 1, won 1) and
    2025-Q4 (discovery 2 won 1; proposal 1 won 1): discovery 2/3, proposal 1/1.
    Open on Jan 1: P4 proposal 5,000, P5 discovery 2,000 → 5,000 + 1,333.33 = 6,333.33.
    Actually won in Q1 by those: P4, 5,000. Error +1,333.33, relative 0.266666."""
    result = pipeline.forecast(as_of=AS_OF, history=2, backtest=1)
    (test,) = result.backtest
    assert (test.quarter, test.forecast, test.actual, test.error) == (
        "2026-Q1", Decimal("6333.33"), Decimal("5000.00"), Decimal("1333.33"),
    )
    assert test.relative_error == pytest.approx(0.266666)
    assert result.mean_absolute_relative_error == test.relative_error


def test_without_history_there_is_no_forecast_rather_than_a_zero(world):
    j = Journeys(world)
    opportunity(j, day(2026, 4, 1), 9_000)
    result = pipeline.forecast(as_of=AS_OF, history=2, backtest=2)
    assert result.value is None
    assert [(t.quarter, t.forecast, t.actual, t.relative_error) for t in result.backtest] == [
        ("2025-Q4", None, Decimal("0.00"), None), ("2026-Q1", None, Decimal("0.00"), None),
    ]
    assert result.mean_absolute_relative_error is None


def test_the_forecast_takes_one_query_per_quarter_start(history, django_assert_max_num_queries):
    """history 4, back-test 4: quarter starts 2024-Q2 … 2026-Q1 (8) and now."""
    with django_assert_max_num_queries(9):
        pipeline.forecast(as_of=AS_OF)
