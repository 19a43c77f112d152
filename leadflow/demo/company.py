"""The demo company's world in numbers: when leads arrive, who they are, how they score.

Pure functions and small tables, no database: `leadflow.demo.simulate` draws from them.
"""

from __future__ import annotations

import bisect
import math
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from random import Random

from leadflow.demo import catalog

# --- the calendar of lead arrivals ----------------------------------------------------------

SEASON = {
    1: 1.05,
    2: 1.0,
    3: 1.1,
    4: 1.0,
    5: 1.0,
    6: 0.95,
    7: 0.85,
    8: 0.8,
    9: 1.05,
    10: 1.1,
    11: 1.05,
    12: 0.75,
}
MONTHLY_GROWTH = 1.025


def _hour_weight(local: datetime) -> float:
    weekday, hour = local.weekday() < 5, local.hour
    if weekday:
        if 8 <= hour < 18:
            return 10.0
        return 3.0 if 6 <= hour < 22 else 0.6
    return 1.6 if 9 <= hour < 20 else 0.4


class Arrivals:
    """When lead number i arrives: months get a growing, seasonal share; hours a daily rhythm.

    Lead numbers follow time: lead i+1 never arrives before lead i, so ids follow creation.
    """

    def __init__(self, total: int, months: list[date], zone, cutoff: datetime) -> None:
        self.slot_starts: list[list[datetime]] = []
        self.cumulative: list[list[float]] = []
        weights = []
        for mi, month in enumerate(months):
            start = datetime.combine(month, datetime.min.time(), zone).astimezone(UTC)
            nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            end = datetime.combine(nxt, datetime.min.time(), zone).astimezone(UTC)
            starts, cum, full, acc = [], [], 0.0, 0.0
            t = start
            while t < end:
                w = _hour_weight(t.astimezone(zone))
                full += w
                if t < cutoff:
                    acc += w
                    starts.append(t)
                    cum.append(acc)
                t += timedelta(hours=1)
            self.slot_starts.append(starts)
            self.cumulative.append(cum)
            weights.append(MONTHLY_GROWTH**mi * SEASON[month.month] * (acc / full))
        total_w = sum(weights)
        self.first_index = [0]
        running = 0.0
        for w in weights:
            running += w
            self.first_index.append(round(total * running / total_w))
        self.cutoff = cutoff

    def at(self, i: int, u: float) -> tuple[datetime, int]:
        month = bisect.bisect_right(self.first_index, i) - 1
        lo, hi = self.first_index[month], self.first_index[month + 1]
        cum = self.cumulative[month]
        x = (i - lo + u) / (hi - lo) * cum[-1]
        slot = min(bisect.bisect_right(cum, x), len(cum) - 1)
        before = cum[slot - 1] if slot else 0.0
        frac = (x - before) / (cum[slot] - before)
        at = self.slot_starts[month][slot] + timedelta(seconds=int(frac * 3600))
        return min(at, self.cutoff), month


# --- companies --------------------------------------------------------------------------------


class Picker:
    """Pick from (item, weight) pairs in O(log n), with one random number."""

    def __init__(self, pairs) -> None:
        pairs = list(pairs)
        self.items = [item for item, _ in pairs]
        self.cumulative, total = [], 0.0
        for _, weight in pairs:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def __call__(self, rng: Random):
        i = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.items[min(i, len(self.items) - 1)]


def weighted(rng: Random, pairs):
    """Pick from (item, weight) pairs given inline (for rare, small choices)."""
    return Picker(pairs)(rng)


COUNTRY = Picker((row, row[1]) for row in catalog.COUNTRIES)
INDUSTRY = Picker(catalog.INDUSTRIES)
COMPANY_SIZE = Picker((row, row[2]) for row in catalog.COMPANY_SIZES)
BUYER_LEVEL = Picker({"c_level": 15, "vp": 35, "director": 35, "manager": 15}.items())
# What an engaged lead does next, by intent.
ENGAGEMENT = {
    "none": Picker({"web_visit": 5, "email_open": 4, "email_click": 1}.items()),
    "low": Picker(
        {
            "web_visit": 35,
            "email_open": 20,
            "email_click": 20,
            "pricing_page_visit": 7,
            "content_download": 15,
            "form_fill": 3,
        }.items()
    ),
    "active": Picker(
        {
            "web_visit": 25,
            "email_open": 5,
            "email_click": 15,
            "pricing_page_visit": 25,
            "content_download": 15,
            "form_fill": 15,
        }.items()
    ),
}
_ASCII = str.maketrans("äöüáéíóúàèçñåø", "aouaeiouaecnao")


@lru_cache(maxsize=4096)
def ascii_slug(name: str) -> str:
    return "".join(c for c in name.lower().translate(_ASCII) if c.isalnum())


class Companies:
    """Company number k, always the same for a seed; unique names and domains."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.size = seed, size
        self._cache: dict[int, tuple] = {}
        p, c, w = catalog.COMPANY_PREFIXES, catalog.COMPANY_CORES, catalog.COMPANY_WORDS
        self._base = len(p) * len(c) * len(w)
        # A stride coprime with the base scatters neighbouring numbers over the name space.
        self._stride = 7919
        if math.gcd(self._stride, self._base) != 1:
            raise ValueError("company name lists changed: pick a stride coprime with them")

    def get(self, k: int) -> tuple:
        found = self._cache.get(k)
        if found is None:
            found = self._cache[k] = self._make(k)
        return found

    def _make(self, k: int) -> tuple:
        rng = Random(self.seed * 1_000_003 + 17 * k + 5)
        p, c, w = catalog.COMPANY_PREFIXES, catalog.COMPANY_CORES, catalog.COMPANY_WORDS
        n = (k * self._stride) % self._base
        prefix, core, word = p[n % len(p)], c[(n // len(p)) % len(c)], w[n // (len(p) * len(c))]
        extra = ""
        if k >= self._base:
            extra = catalog.COMPANY_EXTRAS[(k // self._base - 1) % len(catalog.COMPANY_EXTRAS)]
            if k >= self._base * (len(catalog.COMPANY_EXTRAS) + 1):
                extra += f" {k // (self._base * (len(catalog.COMPANY_EXTRAS) + 1)) + 1}"
        country, _, tld, phone, suffix = COUNTRY(rng)
        industry = INDUSTRY(rng)
        low, high, _ = COMPANY_SIZE(rng)
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        name = f"{prefix}{core} {word}" + (f" {extra}" if extra else "") + f" {suffix}"
        slug = f"{prefix}{core}{word}".lower() + ("-" + ascii_slug(extra) if extra else "")
        return (name, f"{slug}.{tld}", country, industry, employees, phone)


# --- scoring, as the definition's rules say ----------------------------------------------------

RULES = catalog.DEFINITION_RULES
_FIT = RULES["fit"]
_EVENTS = RULES["engagement"]["events"]
_HALF_LIFE = timedelta(days=RULES["engagement"]["half_life_days"]).total_seconds()
MQL_FIT = RULES["mql"]["fit_at_least"]
MQL_ENGAGEMENT = RULES["mql"]["engagement_at_least"]


def fit_score(level: str, employees: int, industry: str, country: str, free_mail: bool) -> int:
    size = (
        "1000+"
        if employees >= 1000
        else "200-999"
        if employees >= 200
        else "50-199"
        if employees >= 50
        else "1-49"
    )
    score = _FIT["title_level"][level] + _FIT["employee_count"][size]
    score += _FIT["industry"].get(industry, 0)
    score += _FIT["country_covered"] if country in catalog.COVERED_COUNTRIES else 0
    return score + (_FIT["free_mail"] if free_mail else 0)


def score_key(kind: str, url: str = "") -> str | None:
    """The definition's engagement rule an activity scores under (as the scoring engine
    matches them: the first rule whose activity kind and URL fit), or None."""
    if kind == "web_visit":
        return "pricing_page_visit" if "/pricing" in url else "web_visit"
    return kind if kind in _EVENTS else None


def engagement_score(events: list[tuple[str, datetime]], at: datetime) -> float:
    """Decayed points per rule, each rule capped (definition v1 "engagement"), at `at`.

    `events` are (rule key, when) pairs.
    """
    return round(score_at([(key, when.timestamp()) for key, when in events], at.timestamp()), 2)


def score_at(events, now: float) -> float:
    """`engagement_score` on (rule key, POSIX time, ...) tuples: the simulation's fast path."""
    per_kind: dict[str, float] = {}
    for key, when, *_ in events:
        if when > now:
            continue
        points = _EVENTS[key][0] * 0.5 ** ((now - when) / _HALF_LIFE)
        per_kind[key] = per_kind.get(key, 0.0) + points
    return sum(min(v, _EVENTS[k][1]) for k, v in per_kind.items())


def undecayed(events) -> float:
    """An upper bound of the engagement score: every event counted at full points."""
    per_kind: dict[str, float] = {}
    for key, *_ in events:
        per_kind[key] = per_kind.get(key, 0.0) + _EVENTS[key][0]
    return sum(min(v, _EVENTS[k][1]) for k, v in per_kind.items())


# --- drawing durations -----------------------------------------------------------------------


def lognormal_minutes(rng: Random, median: float, sigma: float) -> timedelta:
    return timedelta(seconds=int(60 * median * math.exp(rng.gauss(0, sigma))))


def days(rng: Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high) * 86400))
