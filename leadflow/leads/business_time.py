"""Business time: deadlines counted in a team's working hours (DOMAIN.md "Business time").

A team's calendar is its time zone, working weekdays and hours, and the public holidays of
its country. Working windows are built per local day and converted to UTC, so a deadline that
crosses a daylight-saving change lands on the right wall-clock hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str = "UTC"
    work_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    work_start: time = time(9, 0)
    work_end: time = time(17, 0)
    holiday_country: str = ""
    holiday_subdivision: str = ""
    days_off: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def day_length(self) -> timedelta:
        return _local_span(self.work_start, self.work_end)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.work_days or day in self.days_off:
            return False
        if self.holiday_country:
            return day not in _holidays(self.holiday_country, self.holiday_subdivision, day.year)
        return True

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The working window of a local day, as aware datetimes."""
        zone = self.zone
        start = datetime.combine(day, self.work_start, zone)
        end = datetime.combine(day, self.work_end, zone)
        return start, end

    def _utc_window(self, day: date) -> tuple[datetime, datetime]:
        # Python subtracts, adds and compares datetimes that share a tzinfo on the wall clock,
        # ignoring DST: a window spanning a change would count an hour too many or too few,
        # depending on whether the caller passed a local or a UTC instant. Count in UTC.
        start, end = self.window(day)
        return start.astimezone(UTC), end.astimezone(UTC)

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The moment `work` of business time has passed after `start`."""
        if work <= timedelta(0):
            return start
        moment = start.astimezone(UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of days: a calendar with no working day is an error
            if self.is_working_day(day):
                w_start, w_end = self._utc_window(day)
                begin = max(moment, w_start)
                if begin < w_end:
                    available = w_end - begin
                    if work <= available:
                        return (begin + work).astimezone(start.tzinfo)
                    work -= available
            day += timedelta(days=1)
        raise ValueError("this calendar has no working time in the next ten years")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from `start` to `end` (zero if end is before start)."""
        total = timedelta(0)
        if end <= start:
            return total
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        zone = self.zone
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            if self.is_working_day(day):
                w_start, w_end = self._utc_window(day)
                lo, hi = max(start, w_start), min(end, w_end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def _local_span(a: time, b: time) -> timedelta:
    return datetime.combine(date.min, b) - datetime.combine(date.min, a)


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str, year: int):
    return holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)


def calendar_for(team, days_off: frozenset[date] = frozenset()) -> BusinessCalendar:
    """The calendar of a team (leadflow.accounts.models.Team) with the company's days off."""
    days = frozenset(int(d) for d in team.work_days.split(",") if d.strip() != "")
    return BusinessCalendar(
        team.time_zone,
        days,
        team.work_start,
        team.work_end,
        team.holiday_country,
        team.holiday_subdivision,
        days_off,
    )
