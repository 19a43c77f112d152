"""What-if: the last 12 months of real history replayed under a proposed version and under
the active one, so both sides agree on the definition from data about past performance.

For each version, a lead would have become an MQL at the first moment it met the version's
MQL rule: its fit (from its attributes as they are now) and not disqualified, and its
engagement just after one of its recorded activities (or at its creation, if the engagement
threshold is 0). The comparison counts those moments per month of the window (calendar months
in the company's time zone, the current month to date), and for the leads each version
qualifies in the window, how sales actually treated them:

- acceptance rate = leads whose MQL hand-off was accepted / leads with a decided one;
- SQL rate = leads that reached `sql` / leads qualified;
- win rate = won / (won + lost).

The leads one version qualifies in the window and the other does not are listed.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.utils import timezone

from leadflow.leads.models import (
    Decision,
    Handoff,
    HandoffKind,
    Lead,
    LeadDefinition,
    Stage,
    StageChange,
)
from leadflow.reports.periods import MONTH, Span
from leadflow.scoring import active as active_definition
from leadflow.scoring import columns, engine
from leadflow.scoring.columns import Events, Leads
from leadflow.scoring.definitions import DefinitionRefused
from leadflow.scoring.document import Definition, DocumentInvalid

MONTHS = 12
LISTED = 100  # leads listed per difference; the counts are complete


# --- the result ------------------------------------------------------------------------------


@dataclass
class Outcomes:
    qualified: int = 0
    decided: int = 0  # with a decided MQL hand-off
    accepted: int = 0
    reached_sql: int = 0
    won: int = 0
    lost: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def sql_rate(self) -> float | None:
        return self.reached_sql / self.qualified if self.qualified else None

    @property
    def win_rate(self) -> float | None:
        return self.won / (self.won + self.lost) if self.won + self.lost else None


@dataclass
class Side:
    version: int
    status: str
    per_month: list[int]
    outcomes: Outcomes


@dataclass
class ListedLead:
    id: int
    name: str
    company: str
    stage: str
    mql_at: datetime  # when this version would have qualified it


@dataclass
class WhatIf:
    months: list[str]  # "2026-03", …
    proposed: Side
    active: Side | None
    newly_qualified: int = 0
    dropped: int = 0
    newly_listed: list[ListedLead] = field(default_factory=list)
    dropped_listed: list[ListedLead] = field(default_factory=list)
    newly_outcomes: Outcomes = field(default_factory=Outcomes)
    dropped_outcomes: Outcomes = field(default_factory=Outcomes)
    note: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


# --- computing -------------------------------------------------------------------------------


def window(now: datetime) -> Span:
    """The 12 calendar months ending with the current one (to date)."""
    first = Span.containing(now, MONTH).shifted(-(MONTHS - 1)).first
    return Span(MONTH, first, MONTHS)


def compare(proposed: LeadDefinition, *, now: datetime | None = None) -> WhatIf:
    """The what-if of `proposed` beside the active version (if it is another one)."""
    now = now or timezone.now()
    clock = [("start", time.perf_counter())]
    try:
        proposed_rules = active_definition.parsed(proposed)
    except DocumentInvalid as invalid:
        raise DefinitionRefused(
            f"version {proposed.version} has problems to fix before a what-if: "
            f"{invalid.problems[0] if invalid.problems else 'it is empty'}",
            code="definition-invalid", status=422, problems=invalid.problems,
        ) from None
    current = LeadDefinition.active()
    note = ""
    active_rules = None
    if current is not None and current.pk != proposed.pk:
        try:
            active_rules = active_definition.parsed(current)
        except DocumentInvalid:
            note = (
                f"The active version v{current.version} cannot be read, so only this "
                "version is shown."
            )
            current = None
    elif current is None:
        note = "There is no active version to compare with."
    else:
        current = None  # this version is the active one: nothing to compare it with
    definitions = [proposed_rules] + ([active_rules] if active_rules else [])

    span = window(now)
    start, now_ts = span.start.timestamp(), now.timestamp()
    edges = [p.start.timestamp() for p in span.periods()] + [span.end.timestamp()]
    leads, events = columns.load_both(definitions, until=now_ts, scores=False)
    clock.append(("leads and activities", time.perf_counter()))
    positions = leads.index(events.lead)
    # The replays are numpy work that releases the GIL: one per core.
    with ThreadPoolExecutor(max_workers=len(definitions)) as pool:
        crossings = list(
            pool.map(
                lambda i: first_crossing(
                    definitions[i], leads, events, events.rules[i], leads.fit[i],
                    leads.disqualified[i], now_ts, positions=positions,
                ),
                range(len(definitions)),
            )
        )
    clock.append(("replay", time.perf_counter()))
    history = _history(leads)
    clock.append(("outcomes", time.perf_counter()))

    in_window = [(c >= start) & (c < now_ts) for c in crossings]
    sides = [
        Side(
            version=row.version,
            status=row.status,
            per_month=np.histogram(c[w], bins=edges)[0].astype(int).tolist(),
            outcomes=_outcomes(history, w),
        )
        for row, c, w in zip([proposed, current], crossings, in_window, strict=False)
    ]
    result = WhatIf(
        months=[p.label for p in span.periods()],
        proposed=sides[0],
        active=sides[1] if len(sides) > 1 else None,
        note=note,
    )
    if len(sides) > 1:
        newly = in_window[0] & ~in_window[1]
        dropped = in_window[1] & ~in_window[0]
        result.newly_qualified, result.dropped = int(newly.sum()), int(dropped.sum())
        result.newly_outcomes = _outcomes(history, newly)
        result.dropped_outcomes = _outcomes(history, dropped)
        result.newly_listed = _listed(leads, newly, crossings[0])
        result.dropped_listed = _listed(leads, dropped, crossings[1])
    clock.append(("lists", time.perf_counter()))
    result.seconds = {
        name: round(at - clock[i][1], 3) for i, (name, at) in enumerate(clock[1:])
    }
    return result


def first_crossing(
    definition: Definition,
    leads: Leads,
    events: Events,
    rules: np.ndarray,
    fit: np.ndarray,
    disqualified: np.ndarray,
    now: float,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """Per lead, the first moment it met the MQL rule (Unix seconds; inf: never).
    `positions`: leads.index(events.lead), when already known."""
    crossing = np.full(len(leads), np.inf)
    eligible = (fit >= definition.mql_fit) & ~disqualified
    if definition.mql_engagement <= 0:
        crossing[eligible] = leads.created[eligible]
        return crossing
    if not definition.rules or not len(events):
        return crossing
    scored = rules != engine.NO_RULE
    where = (leads.index(events.lead) if positions is None else positions)[scored]
    rule = rules[scored].astype(np.int64)
    at = events.at[scored]
    keep = eligible[where]
    where, rule, at = where[keep], rule[keep], at[keep]
    n_rules = len(definition.rules)
    points = np.array([r.points for r in definition.rules])
    caps = np.array([r.cap_value for r in definition.rules])
    # Leads that could not reach the threshold even with no decay at all are skipped.
    most = np.bincount(where * n_rules + rule, weights=points[rule],
                       minlength=len(leads) * n_rules).reshape(len(leads), n_rules)
    reachable = np.round(np.minimum(most, caps).sum(axis=1), 6) >= definition.mql_engagement
    keep = reachable[where]
    where, rule, at = where[keep], rule[keep], at[keep]
    if not len(where):
        return crossing
    order = _by_lead_then_time(where, at)
    where, rule, at = where[order], rule[order], at[order]
    starts = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
    counts = np.diff(np.r_[starts, len(where)])
    # Step k takes the k-th activity of every lead that has one, all leads at once, as
    # EngagementState.add does for one: decay each rule's sum to the activity's time, add its
    # points, cap, compare. Leads ordered by activity count (most first), so the leads still
    # active at step k are a prefix.
    by_count = np.argsort(-counts, kind="stable")
    first, many = starts[by_count], counts[by_count]
    lead, fewer = where[first], -many
    sums = np.zeros((len(first), n_rules))
    last = at[first]
    met_at = np.full(len(first), np.inf)
    half_life = definition.half_life_seconds
    for k in range(int(many[0])):
        n = int(np.searchsorted(fewer, -k, side="left"))  # leads with more than k activities
        cell = first[:n] + k
        t = at[cell]
        if k:
            sums[:n] *= np.exp2(-(t - last[:n]) / half_life)[:, None]
            last[:n] = t
        r = rule[cell]
        sums[np.arange(n), r] += points[r]
        engagement = np.minimum(sums[:n], caps).sum(axis=1)
        hit = (np.round(engagement, 6) >= definition.mql_engagement) & np.isinf(met_at[:n])
        met_at[:n][hit] = t[hit]
    crossing[lead] = met_at
    # A lead cannot be qualified before it existed (activities imported from earlier).
    touched = np.isfinite(crossing)
    crossing[touched] = np.maximum(crossing[touched], leads.created[touched])
    return crossing


def _by_lead_then_time(where: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The order sorting activities by lead, then time. One sort on a 64-bit key (lead, whole
    second) is several times faster than np.lexsort; leads with two activities in the same
    second out of order are then sorted exactly."""
    seconds = np.floor(at - at.min()).astype(np.int64)  # < 2**32: 136 years
    order = np.argsort((where.astype(np.int64) << 32) | seconds)
    w, t = where[order], at[order]
    wrong = (w[1:] == w[:-1]) & (t[1:] < t[:-1])
    if wrong.any():
        cells = np.flatnonzero(np.isin(w, np.unique(w[1:][wrong])))
        order[cells] = order[cells][np.lexsort((t[cells], w[cells]))]
    return order


def _replay(definition: Definition, rules: np.ndarray, ats: np.ndarray) -> float:
    """One lead's activities one at a time: the first moment the rule is met, or inf (what
    `first_crossing` does for all leads at once; the tests hold one to the other)."""
    state = engine.EngagementState.empty(definition)
    for rule, at in zip(rules.tolist(), ats.tolist(), strict=True):
        state.add(definition, rule, at)
        if round(state.score(definition, at), 6) >= definition.mql_engagement:
            return at
    return math.inf


# --- what happened to the leads --------------------------------------------------------------


@dataclass
class _History:
    decided: np.ndarray  # bool per lead: an MQL hand-off was decided
    accepted: np.ndarray
    reached_sql: np.ndarray
    won: np.ndarray
    lost: np.ndarray


def _history(leads: Leads) -> _History:
    decided = np.zeros(len(leads), dtype=bool)
    accepted = np.zeros(len(leads), dtype=bool)
    offers = Handoff.objects.filter(kind=HandoffKind.MQL).exclude(decision=Decision.PENDING)
    rows = np.array(list(offers.values_list("lead_id", "decision")), dtype=object)
    if len(rows):
        where = leads.index(rows[:, 0].astype(np.int64))
        decided[where] = True
        accepted[where[rows[:, 1] == Decision.ACCEPTED]] = True
    reached_sql = np.zeros(len(leads), dtype=bool)
    sql_leads = np.fromiter(
        StageChange.objects.filter(entity=StageChange.Entity.LEAD, to_stage=Stage.SQL)
        .values_list("lead_id", flat=True)
        .distinct(),
        dtype=np.int64,
    )
    reached_sql[leads.index(sql_leads)] = True
    won = leads.stages == Stage.WON
    lost = leads.stages == Stage.LOST
    reached_sql |= won | lost  # an opportunity is closed only after sql
    return _History(decided, accepted, reached_sql, won, lost)


def _outcomes(history: _History, chosen: np.ndarray) -> Outcomes:
    return Outcomes(
        qualified=int(chosen.sum()),
        decided=int((history.decided & chosen).sum()),
        accepted=int((history.accepted & chosen).sum()),
        reached_sql=int((history.reached_sql & chosen).sum()),
        won=int((history.won & chosen).sum()),
        lost=int((history.lost & chosen).sum()),
    )


def _listed(leads: Leads, chosen: np.ndarray, crossing: np.ndarray) -> list[ListedLead]:
    picked = np.flatnonzero(chosen)
    picked = picked[np.argsort(-crossing[picked], kind="stable")][:LISTED]
    ids = leads.ids[picked].tolist()
    found = Lead.objects.in_bulk(ids)
    zone = timezone.get_current_timezone()
    return [
        ListedLead(
            id=pk,
            name=str(found[pk]),
            company=found[pk].company,
            stage=found[pk].stage,
            mql_at=datetime.fromtimestamp(float(crossing[i]), tz=zone),
        )
        for pk, i in zip(ids, picked.tolist(), strict=True)
        if pk in found
    ]
