"""The arithmetic every report shares: rates, cost per, percentiles, durations, business time.

Rates and costs with a zero denominator are None (shown as "—"), never an error or a zero.
Percentiles are interpolated linearly between the two nearest ranks (PostgreSQL's
`percentile_cont`, numpy's default), the same whether computed in SQL or in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
from django.db import connection
from django.db.models import Func, Q
from django.db.models.fields import FloatField

from leadflow.accounts.models import DayOff, Team
from leadflow.leads.business_time import BusinessCalendar, calendar_for

CENT = Decimal("0.01")
MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)
HOUR = 3600.0
DAY = 86400.0


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator; None when the denominator is zero."""
    if not denominator:
        return None
    return numerator / denominator


def money(value: Decimal | int | float | None) -> Decimal:
    """An amount rounded to cents (half up), zero for nothing."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def cost_per(spend: Decimal, count: int) -> Decimal | None:
    """spend / count, rounded to cents; None when count is zero."""
    if not count:
        return None
    return money(Decimal(spend) / count)


def roi(revenue: Decimal, spend: Decimal) -> float | None:
    """(revenue − spend) / spend; None without spend."""
    if not spend:
        return None
    return float((Decimal(revenue) - Decimal(spend)) / Decimal(spend))


# --- percentiles -----------------------------------------------------------------------------


def percentile(ordered: Sequence[float], p: Fraction) -> float | None:
    """The p-th percentile of ascending `ordered` values, linearly interpolated; None if empty.

    Position h = (n − 1)·p (0-based); value = v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋]).
    """
    n = len(ordered)
    if not n:
        return None
    h = (n - 1) * p
    lo = int(h)
    frac = h - lo
    if not frac:
        return float(ordered[lo])
    return float(ordered[lo]) + float(frac) * (float(ordered[lo + 1]) - float(ordered[lo]))


@dataclass
class Spread:
    """Median and 90th percentile of a set of durations, in hours, and how many there were."""

    n: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of_seconds(cls, seconds: Sequence[float] | np.ndarray) -> Spread:
        ordered = np.sort(np.asarray(seconds, dtype=float))
        return cls.from_ranked(len(ordered), lambda p: percentile(ordered, p), HOUR)

    @classmethod
    def from_ranked(cls, n: int, at, unit: float) -> Spread:
        def scaled(p):
            value = at(p)
            return None if value is None else round(value / unit, 4)

        return cls(n, scaled(MEDIAN), scaled(P90))


class Seconds(Func):
    """Seconds from `start` to `end` (two datetime expressions), as a float, on both databases.

    SQLite stores datetimes as UTC text, 'YYYY-MM-DD HH:MM:SS' with '.ffffff' when there are
    microseconds. The whole seconds come from julianday() (exact to the millisecond, so exact
    for whole seconds once rounded) and the microseconds from the text: the same exact value
    as Django's `django_timestamp_diff`, without calling Python for every row.
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sqlite(self, compiler, conn, **extra):
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        whole = (
            f"CAST(ROUND((julianday(substr({end}, 1, 19)) - julianday(substr({start}, 1, 19)))"
            " * 86400) AS INTEGER)"
        )
        micro = f"CAST(substr({end}, 21) AS INTEGER) - CAST(substr({start}, 21) AS INTEGER)"
        # CASE first: most rows of a funnel have no end yet, and parsing costs more than NULL.
        sql = (
            f"(CASE WHEN {end} IS NOT NULL AND {start} IS NOT NULL "
            f"THEN ({whole} * 1000000 + {micro}) / 1000000.0 END)"
        )
        return sql, (*end_params, *start_params) * 3

    def as_postgresql(self, compiler, conn, **extra):
        # date_part is already double precision; EXTRACT computes in numeric (PostgreSQL 14+)
        # and costs about twice as much per row before the same cast.
        return self.as_sql(
            compiler, conn, arg_joiner=" - ",
            template="date_part('epoch', %(expressions)s)", **extra,
        )


class UnixTime(Func):
    """A moment as Unix time (seconds since 1970-01-01 UTC, float), on both databases, by the
    same arithmetic as `Seconds` (whole seconds from julianday() on SQLite, rounded, plus the
    text's microseconds) without a second moment to parse for every row."""

    output_field = FloatField()
    arity = 1

    def as_sqlite(self, compiler, conn, **extra):
        moment, params = compiler.compile(self.source_expressions[0])
        # 2440587.5: the Julian day of 1970-01-01 00:00 UTC.
        whole = f"CAST(ROUND((julianday(substr({moment}, 1, 19)) - 2440587.5) * 86400) AS INTEGER)"
        micro = f"CAST(substr({moment}, 21) AS INTEGER)"
        sql = f"(CASE WHEN {moment} IS NOT NULL THEN ({whole} * 1000000 + {micro}) / 1000000.0 END)"
        return sql, (*params,) * 3

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="date_part('epoch', %(expressions)s)", **extra)


@dataclass
class Measured:
    """What `grouped_measures` found: spreads by (column, group) and counts by group; the
    group is a tuple of group values, or None for all groups together."""

    spreads: dict[tuple[str, tuple | None], Spread]
    counts: dict[tuple | None, dict[str, int]]


COUNT_ALL = "*"


def grouped_measures(
    queryset,
    values: Sequence[str] = (),
    groups: Sequence[str] = (),
    *,
    counts: Sequence[str] = (),
    total: bool = True,
    unit: float = HOUR,
) -> Measured:
    """Median and p90 of each `values` column, and the number of non-null values of each
    `counts` column (`COUNT_ALL`: rows), per group and in total — in one query.

    `queryset` is a `.values()` query whose annotations include the `values` columns (seconds),
    the `counts` columns and the `groups` columns. The one statement reads it twice: grouped,
    for the counts (the total is their sum: the groups partition the rows), and for the rows
    that have a value, whose values alone leave the database (a funnel's durations: the leads
    that reached a later stage). Percentiles are then `percentile` over the sorted values —
    cheaper than ranking them in SQL, which costs SQLite seconds for a quarter of a
    million-lead company.
    """
    qn = connection.ops.quote_name
    inner_sql, params = queryset.query.sql_with_params()
    group_cols = [qn(g) for g in groups]
    tallies = [f"COUNT({'*' if c == COUNT_ALL else qn(c)})" for c in counts]
    # Both parts have the same columns: kind, the groups, the tallies, the values.
    select_groups = "".join(f", {g}" for g in group_cols)
    no_tallies = "".join(f", NULL AS k{i}" for i in range(len(tallies)))
    no_values = "".join(f", NULL AS v{i}" for i in range(len(values)))
    parts = []
    if tallies:
        columns = "".join(f", {k} AS k{i}" for i, k in enumerate(tallies))
        group_by = f" GROUP BY {', '.join(group_cols)}" if group_cols else ""
        parts.append(f"SELECT 0 AS kind{select_groups}{columns}{no_values} FROM measured{group_by}")
    if values:
        columns = "".join(f", {qn(v)} AS v{i}" for i, v in enumerate(values))
        any_value = " OR ".join(f"{qn(v)} IS NOT NULL" for v in values)
        parts.append(
            f"SELECT 1 AS kind{select_groups}{no_tallies}{columns} FROM measured "
            f"WHERE {any_value}"
        )
    measured = Measured({}, {})
    if not parts:
        return measured
    found: dict[tuple | None, list] = {}
    with connection.cursor() as cursor:
        # NOT MATERIALIZED: each part reads the rows it needs through the index, rather than
        # all of them being copied once into a temporary result.
        cursor.execute(
            f"WITH measured AS NOT MATERIALIZED ({inner_sql}) {' UNION ALL '.join(parts)}",
            params,
        )
        for kind, *rest in cursor.fetchall():
            group = tuple(rest[: len(groups)]) if groups else None
            row = rest[len(groups):]
            if kind:
                found.setdefault(group, []).append(row[len(tallies):])
            else:
                measured.counts[group] = {
                    c: int(k or 0) for c, k in zip(counts, row[: len(tallies)], strict=True)
                }
    if tallies and groups and total:
        measured.counts[None] = {
            c: sum(got[c] for key, got in measured.counts.items() if key is not None)
            for c in counts
        }
    # One array per group: a row per lead, a column per value, NaN where it has none.
    arrays = {g: np.array(rows, dtype=float).reshape(-1, len(values)) for g, rows in found.items()}
    if groups and total and arrays:
        arrays[None] = np.concatenate(list(arrays.values()))
    for group, array in arrays.items():
        for i, column in enumerate(values):
            seconds = array[:, i]
            ordered = np.sort(seconds[~np.isnan(seconds)])
            if len(ordered):
                measured.spreads[(column, group)] = Spread.from_ranked(
                    len(ordered), lambda p, o=ordered: percentile(o, p), unit
                )
    return measured


def grouped_percentiles(
    queryset,
    values: Sequence[str],
    groups: Sequence[str] = (),
    *,
    total: bool = True,
    unit: float = HOUR,
) -> dict[tuple[str, tuple | None], Spread]:
    """Median and p90 of each `values` column per group (`grouped_measures` without counts)."""
    return grouped_measures(queryset, values, groups, total=total, unit=unit).spreads


# --- business time ---------------------------------------------------------------------------


def team_calendars(team_ids: Iterable[int | None] | None = None) -> dict[int, BusinessCalendar]:
    """The business calendar of each team (all teams by default), days off included, in two
    queries.

    The same calendar `routing.DatabaseServices().calendar(team)` builds (the team's days off
    and the company-wide ones), fetched for all teams at once instead of one query per team.
    """
    teams = Team.objects.all()
    days = DayOff.objects.all()
    if team_ids is not None:
        ids = {i for i in team_ids if i is not None}
        if not ids:
            return {}
        teams = teams.filter(pk__in=ids)
        days = days.filter(Q(team__in=ids) | Q(team__isnull=True))
    days_off: dict[int | None, set[date]] = {}
    for team_id, day in days.values_list("team_id", "day"):
        days_off.setdefault(team_id, set()).add(day)
    company = days_off.get(None, set())
    return {
        t.pk: calendar_for(t, frozenset(company | days_off.get(t.pk, set()))) for t in teams
    }


class BusinessClock:
    """Business seconds elapsed on a calendar since its first day, so that
    `between(a, b) == at(b) − at(a)` — the same value as `BusinessCalendar.between(a, b)` —
    at the cost of one lookup per timestamp instead of a walk over the days between them.

    Valid for instants on the local days first_day … last_day.
    """

    def __init__(self, calendar: BusinessCalendar, first_day: date, last_day: date) -> None:
        self.calendar = calendar
        self.first_day = first_day
        self._cumulative = [0.0]  # business seconds before each day since first_day
        self._windows: list[tuple[datetime, datetime] | None] = []
        day = first_day
        while day <= last_day:
            window = None
            if calendar.is_working_day(day):
                # In UTC: Python subtracts datetimes sharing a zone on the wall clock, which
                # would miscount a window spanning a DST change (as BusinessCalendar does).
                window = tuple(w.astimezone(UTC) for w in calendar.window(day))
            self._windows.append(window)
            length = (window[1] - window[0]).total_seconds() if window else 0.0
            self._cumulative.append(self._cumulative[-1] + length)
            day += timedelta(days=1)

        # The same clock over Unix times, for many instants at once (`between_times`): each
        # local day's midnight, its working window (empty on a day off) and the business
        # seconds before it.
        zone = calendar.zone
        days = len(self._windows)
        midnights = [
            datetime.combine(first_day + timedelta(days=i), time(0), zone).timestamp()
            for i in range(days + 1)
        ]
        self._midnights = np.array(midnights)
        self._opens = np.array(
            [w[0].timestamp() if w else midnights[i] for i, w in enumerate(self._windows)]
        )
        self._closes = np.array(
            [w[1].timestamp() if w else midnights[i] for i, w in enumerate(self._windows)]
        )
        self._before = np.array(self._cumulative[:-1])

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=len(self._windows) - 1)

    def at(self, moment: datetime) -> float:
        index = (moment.astimezone(self.calendar.zone).date() - self.first_day).days
        seconds = self._cumulative[index]
        window = self._windows[index]
        if window is not None and moment > window[0]:
            seconds += (min(moment, window[1]) - window[0]).total_seconds()
        return seconds

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds from start to end (zero if end is before start)."""
        return max(0.0, self.at(end) - self.at(start))

    def at_times(self, times: np.ndarray) -> np.ndarray:
        """`at` for an array of Unix times."""
        day = np.searchsorted(self._midnights, times, side="right") - 1
        opens = self._opens[day]
        return self._before[day] + np.clip(times - opens, 0.0, self._closes[day] - opens)

    def between_times(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """`between` for arrays of Unix times."""
        return np.maximum(0.0, self.at_times(ends) - self.at_times(starts))


class BusinessClocks:
    """One `BusinessClock` per team, covering every instant the caller will ask about."""

    def __init__(
        self, calendars: dict[int, BusinessCalendar], moments_by_team: dict[int, list[datetime]]
    ) -> None:
        self._clocks: dict[int, BusinessClock] = {}
        for team_id, moments in moments_by_team.items():
            calendar = calendars.get(team_id)
            if calendar is None or not moments:
                continue
            days = [m.astimezone(calendar.zone).date() for m in moments]
            self._clocks[team_id] = BusinessClock(calendar, min(days), max(days))

    def between(self, team_id: int, start: datetime, end: datetime) -> float | None:
        """Business seconds on the team's calendar; None for a team without one."""
        clock = self._clocks.get(team_id)
        return None if clock is None else clock.between(start, end)


def business_durations(
    calendars: dict[int, BusinessCalendar],
    teams: Sequence[int | None],
    starts: np.ndarray,
    ends: np.ndarray,
    clocks: dict[int, BusinessClock] | None = None,
) -> np.ndarray:
    """Business seconds from each start to its end (Unix times) on its team's calendar, as
    `BusinessClock.between` counts them; NaN for a team without a calendar. One clock per team,
    covering its instants, and array arithmetic instead of a call per duration. `clocks`: the
    clocks of earlier calls, reused where they cover the instants (a report's periods)."""
    clocks = {} if clocks is None else clocks
    found = np.full(len(starts), np.nan)
    team_of = np.array(teams, dtype=float)  # None (no team) becomes NaN
    ids, team_index = np.unique(team_of, return_inverse=True)
    for i, team_id in enumerate(ids):
        calendar = None if np.isnan(team_id) else calendars.get(int(team_id))
        if calendar is None:
            continue
        team_id = int(team_id)
        index = np.flatnonzero(team_index == i)
        a, b = starts[index], ends[index]
        first = datetime.fromtimestamp(min(a.min(), b.min()), calendar.zone).date()
        last = datetime.fromtimestamp(max(a.max(), b.max()), calendar.zone).date()
        clock = clocks.get(team_id)
        if clock is None or clock.first_day > first or clock.last_day < last:
            if clock is not None:
                first, last = min(first, clock.first_day), max(last, clock.last_day)
            clock = clocks[team_id] = BusinessClock(calendar, first, last)
        found[index] = clock.between_times(a, b)
    return found
