"""Report periods: months and quarters in the company's time zone, ranges, and the periods
every figure is compared with."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from leadflow.reports.periods import PeriodError, Span, comparisons


@pytest.mark.parametrize(
    ("text", "kind", "first", "count", "label"),
    [
        ("2026-03", "month", date(2026, 3, 1), 1, "2026-03"),
        ("2026-Q1", "quarter", date(2026, 1, 1), 1, "2026-Q1"),
        ("2026-q4", "quarter", date(2026, 10, 1), 1, "2026-Q4"),
        ("2025-11..2026-02", "month", date(2025, 11, 1), 4, "2025-11..2026-02"),
        ("2025-Q3..2026-Q1", "quarter", date(2025, 7, 1), 3, "2025-Q3..2026-Q1"),
        (" 2026-03..2026-03 ", "month", date(2026, 3, 1), 1, "2026-03"),
    ],
)
def test_it_parses_months_quarters_and_ranges(text, kind, first, count, label):
    span = Span.parse(text)
    assert (span.kind, span.first, span.count, span.label) == (kind, first, count, label)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "is not a period"),
        ("2026-Q5", "is not a period"),
        ("March", "is not a period"),
        ("", "is not a period"),
        ("2026-Q1..2026-03", "mixes a quarter and a month"),
        ("2026-03..2026-01", "ends before it starts"),
        ("2010-01..2026-01", "a range spans 1 to 120 months"),
    ],
)
def test_it_refuses_what_is_not_a_period_and_says_why(text, message):
    with pytest.raises(PeriodError, match=message):
        Span.parse(text)


def test_boundaries_are_midnights_in_the_company_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    march = Span.parse("2026-03")
    assert march.start == datetime(2026, 3, 1, tzinfo=ZoneInfo("America/New_York"))
    assert march.start.astimezone(UTC) == datetime(2026, 3, 1, 5, tzinfo=UTC)  # EST
    assert march.end.astimezone(UTC) == datetime(2026, 4, 1, 4, tzinfo=UTC)  # EDT by then


def test_the_period_containing_a_moment_is_cut_in_the_company_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    moment = datetime(2026, 3, 31, 16, tzinfo=UTC)  # April 1, 01:00 in Tokyo
    assert Span.containing(moment).label == "2026-04"
    assert Span.containing(moment, "quarter").label == "2026-Q2"


def test_previous_is_the_same_length_just_before_and_last_year_the_same_months():
    assert comparisons(Span.parse("2026-01")) == {
        "current": Span.parse("2026-01"),
        "previous": Span.parse("2025-12"),
        "last_year": Span.parse("2025-01"),
    }
    assert Span.parse("2026-Q1").previous().label == "2025-Q4"
    assert Span.parse("2026-Q1..2026-Q2").previous().label == "2025-Q3..2025-Q4"
    assert Span.parse("2026-02..2026-04").last_year().label == "2025-02..2025-04"
    assert Span.parse("2025-Q4").next().label == "2026-Q1"


def test_a_span_lists_its_months_and_periods():
    span = Span.parse("2025-Q4..2026-Q1")
    assert span.month_starts() == [
        date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1),
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1),
    ]
    assert [p.label for p in span.periods()] == ["2025-Q4", "2026-Q1"]
    assert span.last_day == date(2026, 4, 1)
