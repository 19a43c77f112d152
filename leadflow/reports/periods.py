"""Report periods: calendar months and quarters in the company's time zone (settings.TIME_ZONE).

A `Span` is one period or a run of consecutive periods of the same kind: "2026-03", "2026-Q1",
"2026-01..2026-03", "2025-Q3..2026-Q1". Every report compares a span with the span of the same
length just before it (`previous`) and with the same span a year earlier (`last_year`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings

MONTH, QUARTER = "month", "quarter"
STEP = {MONTH: 1, QUARTER: 3}
MAX_MONTHS = 120  # a ten-year range is already more than any report needs

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER_RE = re.compile(r"^(\d{4})-[Qq]([1-4])$")


class PeriodError(ValueError):
    """A period the reports cannot use; the message says what is accepted."""


def company_zone() -> ZoneInfo:
    """The zone periods are cut in. Read at call time: settings may change under tests."""
    return ZoneInfo(settings.TIME_ZONE)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Span:
    """`count` consecutive calendar periods of one `kind`, the first starting on `first`."""

    kind: str
    first: date
    count: int = 1

    def __post_init__(self) -> None:
        if self.kind not in STEP:
            raise PeriodError(f"a period is a month or a quarter, not {self.kind!r}")
        if self.first.day != 1 or (self.first.month - 1) % STEP[self.kind]:
            raise PeriodError(f"{self.first} does not start a {self.kind}")
        if not 1 <= self.count * STEP[self.kind] <= MAX_MONTHS:
            raise PeriodError(f"a range spans 1 to {MAX_MONTHS} months")

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Span:
        """'2026-03', '2026-Q1', or a range 'A..B' of two periods of the same kind."""
        text = (text or "").strip()
        first_text, sep, last_text = text.partition("..")
        first = cls._parse_one(first_text)
        if not sep:
            return first
        last = cls._parse_one(last_text)
        if last.kind != first.kind:
            raise PeriodError(f"'{text}' mixes a {first.kind} and a {last.kind}")
        if last.first < first.first:
            raise PeriodError(f"'{text}' ends before it starts")
        months = (last.first.year - first.first.year) * 12 + last.first.month - first.first.month
        return cls(first.kind, first.first, months // STEP[first.kind] + 1)

    @classmethod
    def _parse_one(cls, text: str) -> Span:
        if m := _MONTH_RE.match(text):
            return cls(MONTH, date(int(m[1]), int(m[2]), 1))
        if m := _QUARTER_RE.match(text):
            return cls(QUARTER, date(int(m[1]), 3 * int(m[2]) - 2, 1))
        raise PeriodError(
            f"'{text}' is not a period: use a month (2026-03), a quarter (2026-Q1) "
            "or a range of either (2026-01..2026-03)"
        )

    @classmethod
    def containing(cls, moment: datetime, kind: str = MONTH) -> Span:
        """The month or quarter (in the company's zone) that `moment` falls in."""
        local = moment.astimezone(company_zone()).date()
        month = local.month - (local.month - 1) % STEP[kind]
        return cls(kind, date(local.year, month, 1))

    # --- what it covers -------------------------------------------------------------------

    @property
    def months(self) -> int:
        return self.count * STEP[self.kind]

    @property
    def last_day(self) -> date:
        """The first day of the month after the span (exclusive end, as a date)."""
        return _add_months(self.first, self.months)

    @property
    def start(self) -> datetime:
        """Inclusive start: midnight of the first day, company time."""
        return datetime.combine(self.first, time(0), company_zone())

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight after the last day, company time."""
        return datetime.combine(self.last_day, time(0), company_zone())

    def month_starts(self) -> list[date]:
        """First day of every month covered (Spend is recorded per month)."""
        return [_add_months(self.first, i) for i in range(self.months)]

    def periods(self) -> list[Span]:
        """The single periods of the span, in order."""
        step = STEP[self.kind]
        return [Span(self.kind, _add_months(self.first, i * step)) for i in range(self.count)]

    # --- neighbours -----------------------------------------------------------------------

    def shifted(self, months: int) -> Span:
        return Span(self.kind, _add_months(self.first, months), self.count)

    def previous(self) -> Span:
        """The span of the same length just before this one."""
        return self.shifted(-self.months)

    def next(self) -> Span:
        return self.shifted(self.months)

    def last_year(self) -> Span:
        """The same span one year earlier."""
        return self.shifted(-12)

    # --- names ----------------------------------------------------------------------------

    @staticmethod
    def period_label(kind: str, first: date) -> str:
        if kind == QUARTER:
            return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
        return f"{first.year}-{first.month:02d}"

    @property
    def label(self) -> str:
        head = self.period_label(self.kind, self.first)
        if self.count == 1:
            return head
        last = _add_months(self.first, (self.count - 1) * STEP[self.kind])
        return f"{head}..{self.period_label(self.kind, last)}"

    def __str__(self) -> str:
        return self.label


CURRENT, PREVIOUS, LAST_YEAR = "current", "previous", "last_year"
COMPARISONS = (CURRENT, PREVIOUS, LAST_YEAR)


def comparisons(span: Span) -> dict[str, Span]:
    """The span, the span before it and the same span last year, in that order."""
    return {CURRENT: span, PREVIOUS: span.previous(), LAST_YEAR: span.last_year()}
