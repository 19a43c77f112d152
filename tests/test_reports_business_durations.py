"""Business durations for many hand-offs at once (Unix times, arrays) equal the business clock
one at a time: across weekends, a public holiday, the DST changes, and teams in other zones."""

from datetime import UTC, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

import numpy as np

from leadflow.leads.business_time import BusinessCalendar
from leadflow.reports.measures import BusinessClock, business_durations


def test_many_durations_at_once_equal_the_clock_one_by_one():
    calendars = {
        1: BusinessCalendar(time_zone="Europe/Berlin", holiday_country="DE"),
        2: BusinessCalendar(time_zone="America/New_York", holiday_country="US"),
    }
    rng = Random(3)
    start = datetime(2026, 2, 20, tzinfo=UTC)
    teams, starts, ends = [], [], []
    for _ in range(400):
        a = start + timedelta(
            seconds=rng.randrange(0, 250 * 86400), microseconds=rng.randrange(10**6)
        )
        b = a + timedelta(seconds=rng.randrange(0, 12 * 86400))
        teams.append(rng.choice((1, 2, None)))  # None: a team without a calendar
        starts.append(a)
        ends.append(b)
    found = business_durations(
        calendars, teams, np.array([a.timestamp() for a in starts]),
        np.array([b.timestamp() for b in ends]),
    )
    for team, a, b, seconds in zip(teams, starts, ends, found, strict=True):
        if team is None:
            assert np.isnan(seconds)
            continue
        calendar = calendars[team]
        zone = calendar.zone
        clock = BusinessClock(calendar, a.astimezone(zone).date(), b.astimezone(zone).date())
        assert abs(seconds - clock.between(a, b)) < 1e-5, (team, a, b)
        assert abs(seconds - calendar.between(a, b).total_seconds()) < 1e-5, (team, a, b)


def test_a_day_off_in_the_middle_counts_nothing():
    calendar = BusinessCalendar(time_zone="Europe/Berlin", holiday_country="DE")
    berlin = ZoneInfo("Europe/Berlin")
    # Thu 2 Apr 2026 16:00 → Tue 7 Apr 10:00: Good Friday and Easter Monday are holidays.
    a, b = datetime(2026, 4, 2, 16, tzinfo=berlin), datetime(2026, 4, 7, 10, tzinfo=berlin)
    (seconds,) = business_durations({5: calendar}, [5], np.array([a.timestamp()]),
                                    np.array([b.timestamp()]))
    assert seconds == calendar.between(a, b).total_seconds()
