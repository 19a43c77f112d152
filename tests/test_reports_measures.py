"""The arithmetic shared by every report: undefined rates, cents, and percentiles that are the
same whether the database or Python computes them."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from random import Random

from django.db.models import F, Value

from leadflow.leads.models import StageChange
from leadflow.reports.measures import (
    MEDIAN,
    P90,
    Seconds,
    Spread,
    UnixTime,
    cost_per,
    grouped_percentiles,
    percentile,
    ratio,
    roi,
)
from leadflow.reports.testing import Journeys, utc


def test_rates_and_costs_with_nothing_to_divide_by_are_undefined_not_zero():
    assert ratio(0, 0) is None
    assert ratio(0, 5) == 0.0
    assert cost_per(Decimal("100"), 0) is None
    assert roi(Decimal("100"), Decimal("0")) is None


def test_costs_are_rounded_half_up_to_cents():
    assert cost_per(Decimal("14468.75"), 8) == Decimal("1808.59")  # 1,808.59375
    assert cost_per(Decimal("14468.75"), 10) == Decimal("1446.88")  # 1,446.875
    assert roi(Decimal("150"), Decimal("100")) == 0.5


def test_percentiles_interpolate_between_neighbours():
    assert percentile([], MEDIAN) is None
    assert percentile([7], P90) == 7
    assert percentile([1, 2, 4, 10], MEDIAN) == 3.0
    assert percentile([1, 2, 18, 73], P90) == 18 + 0.7 * 55
    assert percentile(list(range(11)), Fraction(1, 4)) == 2.5


def test_the_database_ranks_to_the_same_percentiles_as_python(world):
    """Random durations in two groups: the window-function query and `percentile` agree."""
    j = Journeys(world)
    rng = Random(7)
    start = utc(2026, 1, 5)
    expected = {"a": [], "b": []}
    for n in range(40):
        group = "ab"[n % 2]
        lead = j.lead(start, email=f"{group}{n}@example.com", industry=group)
        seconds = rng.randrange(1, 500_000)
        expected[group].append(float(seconds))
        StageChange.objects.create(
            lead=lead, transition="test", from_stage="inquiry", to_stage="mql",
            at=start + timedelta(seconds=seconds),
        )
    rows = (
        StageChange.objects.filter(transition="test")
        .annotate(g=F("lead__industry"), d=Seconds(F("at"), Value(start)))
        .values("g", "d")
        .order_by()
    )
    spreads = grouped_percentiles(rows, ["d"], ["g"], unit=1.0)
    everything = sorted(expected["a"] + expected["b"])
    assert spreads[("d", None)] == Spread(
        40, round(percentile(everything, MEDIAN), 4), round(percentile(everything, P90), 4)
    )
    for group, values in expected.items():
        values.sort()
        assert spreads[("d", (group,))] == Spread(
            20, round(percentile(values, MEDIAN), 4), round(percentile(values, P90), 4)
        )


def test_unix_time_in_the_database_is_python_s_timestamp_to_the_microsecond(world):
    """Moments with and without microseconds, before and after 1970-01-01 and across a leap
    day: the database's `UnixTime` equals `datetime.timestamp()`."""
    j = Journeys(world)
    lead = j.lead(utc(2026, 1, 5))
    moments = [
        utc(2026, 1, 5, 9, 30),
        utc(2024, 2, 29, 23, 59) + timedelta(seconds=59, microseconds=999_999),
        utc(1969, 12, 31, 23, 59) + timedelta(microseconds=1),
        utc(2038, 1, 19, 3, 14) + timedelta(seconds=8, microseconds=500_000),
    ]
    for n, at in enumerate(moments):
        StageChange.objects.create(
            lead=lead, transition=f"t{n}", from_stage="inquiry", to_stage="mql", at=at
        )
    found = dict(
        StageChange.objects.filter(transition__startswith="t")
        .annotate(unix=UnixTime(F("at")))
        .values_list("transition", "unix")
    )
    assert found == {f"t{n}": at.timestamp() for n, at in enumerate(moments)}
