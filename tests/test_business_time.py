"""Business time (DOMAIN.md "Business time"): deadlines count only the working hours of a team's
calendar — its time zone, working weekdays and hours, public holidays and company days off —
and stay right across weekends, holidays and daylight-saving changes.

The properties run over random calendars and random instants. Starts are drawn near the real
DST changes of each zone (found with zoneinfo, not hard-coded) and near public holidays, where
a uniform draw over three years would almost never land. The oracle for "is this a working
day" is the `holidays` package and the calendar's own settings, checked here independently.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflow.leads.business_time import BusinessCalendar

PROPERTIES = settings(max_examples=200, deadline=None)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC"]
COUNTRIES = ["", "US", "DE", "GB", "FR"]
YEARS = range(2025, 2028)
MON_FRI = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone))


def dst_changes(zone: str, year: int) -> list[date]:
    """The local days on which the zone's UTC offset changes (empty if it has no DST)."""
    tz = ZoneInfo(zone)
    found = []
    day = date(year, 1, 1)
    while day.year == year:
        today = datetime.combine(day, time(0), tz).utcoffset()
        tomorrow = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
        if today != tomorrow:
            found.append(day)
        day += timedelta(days=1)
    return found


DST_DAYS = {zone: [d for y in YEARS for d in dst_changes(zone, y)] for zone in ZONES}
HOLIDAYS = sorted(
    {d for c in COUNTRIES if c for d in holidays.country_holidays(c, years=list(YEARS))}
)


def is_working_day(cal: BusinessCalendar, day: date) -> bool:
    """Independent of BusinessCalendar.is_working_day: settings plus the holidays package."""
    if day.weekday() not in cal.work_days or day in cal.days_off:
        return False
    return not cal.holiday_country or day not in holidays.country_holidays(
        cal.holiday_country, years=day.year
    )


def utc_window(cal: BusinessCalendar, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(cal.time_zone)
    return (
        datetime.combine(day, cal.work_start, zone).astimezone(UTC),
        datetime.combine(day, cal.work_end, zone).astimezone(UTC),
    )


def reference_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time between two instants, counted day by day in real (UTC) time."""
    zone = ZoneInfo(cal.time_zone)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        if is_working_day(cal, day):
            lo, hi = utc_window(cal, day)
            total += max(timedelta(0), min(end, hi) - max(start, lo))
        day += timedelta(days=1)
    return total


@st.composite
def scenarios(draw):
    """(calendar, start, a whole working day's length) with the start near an edge case."""
    zone = draw(st.sampled_from(ZONES))
    # Minutes after midnight, up to 20:00; often at night, so the window spans a DST change.
    opens = draw(st.one_of(st.integers(0, 12), st.integers(0, 80))) * 15
    closes = draw(st.integers(opens // 15 + 1, 95)) * 15  # up to 23:45; may span a DST change
    anchor = draw(
        st.one_of(
            st.sampled_from(DST_DAYS[zone] or [date(2026, 3, 8)]),
            st.sampled_from(HOLIDAYS),
            st.dates(date(2025, 1, 1), date(2027, 12, 31)),
        )
    )
    offsets = draw(st.sets(st.integers(-3, 20), max_size=6))
    cal = BusinessCalendar(
        time_zone=zone,
        work_days=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        work_start=time(opens // 60, opens % 60),
        work_end=time(closes // 60, closes % 60),
        holiday_country=draw(st.sampled_from(COUNTRIES)),
        days_off=frozenset(anchor + timedelta(days=k) for k in offsets),
    )
    midnight = datetime.combine(anchor, time(0), ZoneInfo(zone)).astimezone(UTC)
    start = midnight + timedelta(
        minutes=draw(st.integers(-3 * 1440, 3 * 1440)),
        microseconds=draw(st.one_of(st.just(0), st.integers(0, 59_999_999))),
    )
    # Callers pass UTC instants (timezone.now(), the database) or local ones (forms).
    start = start.astimezone(draw(st.sampled_from([UTC, ZoneInfo(zone)])))
    return cal, start, timedelta(minutes=closes - opens)


def durations(day: timedelta):
    """From one minute to five working days of this calendar."""
    return st.integers(1, int(5 * day / timedelta(minutes=1))).map(lambda m: timedelta(minutes=m))


# --- properties ---------------------------------------------------------------------------


@PROPERTIES
@given(st.data(), scenarios())
def test_a_deadline_lies_inside_a_working_window_of_a_working_day(data, scenario):
    cal, start, day = scenario
    work = data.draw(durations(day))
    due = cal.add(start, work).astimezone(UTC)
    due_day = due.astimezone(ZoneInfo(cal.time_zone)).date()
    assert is_working_day(cal, due_day), f"{due_day} is not a working day"
    lo, hi = utc_window(cal, due_day)
    assert lo < due <= hi
    # Business time cannot pass faster than real time.
    assert due - start >= work


@PROPERTIES
@given(st.data(), scenarios())
def test_the_business_time_between_start_and_deadline_is_what_was_asked(data, scenario):
    cal, start, day = scenario
    work = data.draw(durations(day))
    due = cal.add(start, work)
    assert cal.between(start, due) == work
    assert reference_between(cal, start, due) == work
    # The deadline is the first such moment: a second earlier, less time has passed.
    lo, _ = utc_window(cal, due.astimezone(ZoneInfo(cal.time_zone)).date())
    step = min(timedelta(seconds=1), due.astimezone(UTC) - lo)
    # Step back in UTC: wall-clock arithmetic in the zone would jump a repeated DST hour.
    assert cal.between(start, due.astimezone(UTC) - step) == work - step


@PROPERTIES
@given(st.data(), scenarios())
def test_between_agrees_with_a_day_by_day_count_for_any_two_instants(data, scenario):
    cal, start, day = scenario
    end = start + timedelta(minutes=data.draw(st.integers(-1440, 20 * 1440)))
    assert cal.between(start, end) == reference_between(cal, start, end)


@PROPERTIES
@given(st.data(), scenarios())
def test_longer_durations_never_give_earlier_deadlines_and_add_is_additive(data, scenario):
    cal, start, day = scenario
    a = data.draw(durations(day))
    b = data.draw(durations(day))
    assert cal.add(start, a) <= cal.add(start, a + b)
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@PROPERTIES
@given(scenarios())
def test_zero_business_time_is_the_start_itself(scenario):
    cal, start, _ = scenario
    assert cal.add(start, timedelta(0)) == start
    assert cal.between(start, start) == timedelta(0)


# --- calendars by hand ---------------------------------------------------------------------

NY = "America/New_York"
BERLIN = "Europe/Berlin"


def test_friday_afternoon_plus_one_business_day_is_monday_afternoon():
    cal = BusinessCalendar(BERLIN)
    due = cal.add(local(BERLIN, date(2026, 6, 12), 16), timedelta(hours=8))
    assert due == local(BERLIN, date(2026, 6, 15), 16)


def test_thanksgiving_is_skipped_in_a_us_calendar():
    """Wednesday 16:00–17:00 is one hour; Thursday is Thanksgiving; the other seven hours run
    Friday 09:00–16:00."""
    cal = BusinessCalendar(NY, holiday_country="US")
    start = local(NY, date(2026, 11, 25), 16)
    assert cal.add(start, timedelta(hours=8)) == local(NY, date(2026, 11, 27), 16)
    assert not cal.is_working_day(date(2026, 11, 26))
    # Without holidays the same start is due on Thanksgiving itself.
    plain = BusinessCalendar(NY)
    assert plain.add(start, timedelta(hours=8)) == local(NY, date(2026, 11, 26), 16)


@pytest.mark.parametrize(
    "country, zone, due_day",
    [
        ("US", NY, date(2026, 12, 28)),  # Christmas Friday, then the weekend
        ("DE", BERLIN, date(2026, 12, 28)),
        ("FR", "Europe/Paris", date(2026, 12, 28)),
        ("GB", "Europe/London", date(2026, 12, 29)),  # Boxing Day observed on Monday 28th
        ("", BERLIN, date(2026, 12, 25)),  # no holidays: Christmas is a working Friday
    ],
)
def test_christmas_and_its_weekend_are_skipped(country, zone, due_day):
    cal = BusinessCalendar(zone, holiday_country=country)
    due = cal.add(local(zone, date(2026, 12, 24), 16), timedelta(hours=8))
    assert due == local(zone, due_day, 16)


def test_company_days_off_are_skipped():
    cal = BusinessCalendar(BERLIN, days_off=frozenset({date(2026, 6, 15)}))
    due = cal.add(local(BERLIN, date(2026, 6, 12), 16), timedelta(hours=8))
    assert due == local(BERLIN, date(2026, 6, 16), 16)
    assert cal.between(
        local(BERLIN, date(2026, 6, 15), 0), local(BERLIN, date(2026, 6, 16), 0)
    ) == timedelta(0)


def test_a_start_before_opening_counts_from_opening():
    cal = BusinessCalendar(NY)
    monday = date(2026, 6, 15)
    assert cal.add(local(NY, monday, 7, 30), timedelta(hours=2)) == local(NY, monday, 11)
    assert cal.between(local(NY, monday, 7, 30), local(NY, monday, 11)) == timedelta(hours=2)


def test_a_start_after_closing_or_at_the_weekend_counts_from_the_next_opening():
    cal = BusinessCalendar(NY)
    assert cal.add(local(NY, date(2026, 6, 15), 18), timedelta(hours=1)) == local(
        NY, date(2026, 6, 16), 10
    )
    assert cal.add(local(NY, date(2026, 6, 13), 12), timedelta(hours=1)) == local(
        NY, date(2026, 6, 15), 10
    )


def test_a_deadline_that_fills_a_day_exactly_is_its_closing_time():
    cal = BusinessCalendar(NY)
    monday = date(2026, 6, 15)
    assert cal.add(local(NY, monday, 9), timedelta(hours=8)) == local(NY, monday, 17)


def test_between_counts_only_working_hours_over_a_weekend():
    cal = BusinessCalendar(NY)
    friday_4pm = local(NY, date(2026, 6, 12), 16)
    monday_10am = local(NY, date(2026, 6, 15), 10)
    assert cal.between(friday_4pm, monday_10am) == timedelta(hours=2)
    assert cal.between(monday_10am, friday_4pm) == timedelta(0)


# --- daylight saving ------------------------------------------------------------------------

DST_ZONES = [NY, BERLIN, "Australia/Sydney"]
CHANGES_2026 = [(zone, day) for zone in DST_ZONES for day in dst_changes(zone, 2026)]


def test_the_dst_changes_are_found_where_expected():
    """Sanity check of the helper: the 2026 changes are Sundays, two per zone."""
    assert dst_changes(NY, 2026) == [date(2026, 3, 8), date(2026, 11, 1)]
    assert dst_changes(BERLIN, 2026) == [date(2026, 3, 29), date(2026, 10, 25)]
    assert dst_changes("Asia/Kolkata", 2026) == []
    assert all(day.weekday() == 6 for _, day in CHANGES_2026) and len(CHANGES_2026) == 6


@pytest.mark.parametrize("zone, change", CHANGES_2026)
def test_an_eight_hour_day_on_the_day_of_a_dst_change_ends_at_local_closing_time(zone, change):
    cal = BusinessCalendar(zone, work_days=EVERY_DAY)
    opening = local(zone, change, 9)
    due = cal.add(opening, timedelta(hours=8))
    assert due == local(zone, change, 17)
    assert due.astimezone(ZoneInfo(zone)).hour == 17
    # Same answer when the start comes as a UTC instant.
    assert cal.add(opening.astimezone(UTC), timedelta(hours=8)) == local(zone, change, 17)


@pytest.mark.parametrize("zone, change", CHANGES_2026)
def test_a_deadline_across_a_dst_weekend_lands_on_the_same_local_hour(zone, change):
    """Friday 16:00 + 8 h is Monday 16:00 local, although the weekend was an hour shorter
    or longer: Monday 16:00 is a different UTC hour than Friday 16:00."""
    cal = BusinessCalendar(zone)
    friday, monday = change - timedelta(days=2), change + timedelta(days=1)
    start = local(zone, friday, 16).astimezone(UTC)
    due = cal.add(start, timedelta(hours=8))
    assert due == local(zone, monday, 16)
    assert due.astimezone(ZoneInfo(zone)).hour == 16
    assert due.utcoffset() == timedelta(0)  # returned in the start's zone
    assert (due - start) != timedelta(days=3)  # the weekend really changed length
    assert cal.between(start, due) == timedelta(hours=8)


@pytest.mark.parametrize("as_utc", [False, True], ids=["local start", "utc start"])
@pytest.mark.parametrize(
    "change, real_length",
    [(date(2026, 3, 8), timedelta(hours=7)), (date(2026, 11, 1), timedelta(hours=9))],
    ids=["spring forward", "fall back"],
)
def test_a_working_window_spanning_the_change_counts_real_hours(change, real_length, as_utc):
    """A night shift 00:00–08:00 in New York works 7 real hours on the spring-forward night and
    9 on the fall-back night; the count must not depend on the zone the start is given in."""
    cal = BusinessCalendar(NY, work_days=EVERY_DAY, work_start=time(0), work_end=time(8))
    opening, closing = local(NY, change, 0), local(NY, change, 8)
    if as_utc:
        opening, closing = opening.astimezone(UTC), closing.astimezone(UTC)
    assert cal.between(opening, closing) == real_length
    assert cal.add(opening, real_length) == closing
    assert cal.add(opening, timedelta(hours=1)) == opening + timedelta(hours=1)
    three_hours_later = opening.astimezone(UTC) + timedelta(hours=3)
    assert cal.add(opening, timedelta(hours=3)) == three_hours_later


@example(hour=1, minute=30)
@settings(max_examples=50, deadline=None)
@given(st.integers(0, 7), st.integers(0, 59))
def test_a_start_in_the_repeated_fall_back_hour_is_counted_from_that_instant(hour, minute):
    """01:30 happens twice on 2026-11-01 in New York; the second one is an hour later."""
    cal = BusinessCalendar(NY, work_days=EVERY_DAY, work_start=time(0), work_end=time(8))
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo(NY))
    work = timedelta(hours=hour, minutes=minute)
    closing = local(NY, date(2026, 11, 1), 8)
    due = cal.add(second, work)
    left = closing.astimezone(UTC) - second.astimezone(UTC)  # 6.5 real hours
    if work <= left:
        assert due.astimezone(UTC) == second.astimezone(UTC) + work
    assert cal.between(second, closing) == left


def test_the_second_before_a_deadline_in_a_repeated_hour_is_counted_in_real_time():
    """Found by Hypothesis: Sydney's clocks go back at 03:00 on 2025-04-06."""
    cal = BusinessCalendar("Australia/Sydney", frozenset({6}), time(0, 0), time(3, 0))
    start = datetime(2025, 4, 6, 0, 0, tzinfo=ZoneInfo("Australia/Sydney"))
    due = cal.add(start, timedelta(hours=3))
    assert cal.between(start, due.astimezone(UTC) - timedelta(seconds=1)) == timedelta(
        hours=3, seconds=-1
    )
