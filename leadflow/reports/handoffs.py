"""Hand-off health (DOMAIN.md "Hand-offs" and "Measurements"): acceptance, rejection, ignore and
return rates, their reasons as Paretos, speed-to-lead, SLA compliance and the arbiter's reviews,
overall and by hand-off kind, team or rep.

Which hand-offs each figure counts, for a span:
- rates, reasons and speed-to-lead: hand-offs **offered** in the span (whatever happened later);
- SLA compliance: hand-offs **due** in the span (accept-by, or first-touch-by, in the span and
  already past at `as_of`: a deadline still ahead is not yet kept or missed);
- arbiter: reviews **opened** (rejection, ignore or return) and **decided** in the span.

A hand-off's team is the team it was offered to; its rep is who decided it (accepted or
rejected), else the person it was offered to; an ignored offer to a queue belongs to the queue.

Business hours count on the calendar of the team the hand-off was offered to (the arbiter
team's calendar for reviews), as `BusinessCalendar.between` would, through `BusinessClock`.
Durations are fetched for the span's hand-offs only (timestamps and team, no other columns),
since business time cannot be computed in SQL without a calendar table.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Case, CharField, Count, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.accounts.models import Side, Team
from leadflow.leads.models import (
    Decision,
    Handoff,
    HandoffKind,
    ReasonClass,
    ReasonCode,
    ReviewOutcome,
    StageChange,
)
from leadflow.reports.grouping import ALL, NO_FILTERS, TEAM_QUEUE, Filters, Grouping
from leadflow.reports.measures import (
    Spread,
    UnixTime,
    business_durations,
    ratio,
    team_calendars,
)
from leadflow.reports.output import Compared, compare
from leadflow.reports.periods import Span, comparisons

KIND, TEAM, REP = "kind", "team", "rep"
DIMENSIONS = (KIND, TEAM, REP)
DECIDED = (Decision.ACCEPTED, Decision.REJECTED)
UNCLASSIFIED = "(unclassified)"


# --- the counts, defined once (also used by the source table) ----------------------------


def outcome_counts(within: Q | None = None) -> dict[str, Count]:
    """Conditional counts over hand-offs (those matching `within`, if given):
    offered = all; accepted, rejected, ignored, pending = by decision;
    decided = accepted + rejected (a person decided; an ignored offer is not a decision);
    returned = accepted hand-offs later returned."""

    def count(condition: Q | None = None) -> Count:
        if within is not None:
            condition = within if condition is None else within & condition
        return Count("id", filter=condition)

    return {
        "offered": count(),
        "accepted": count(Q(decision=Decision.ACCEPTED)),
        "rejected": count(Q(decision=Decision.REJECTED)),
        "ignored": count(Q(decision=Decision.IGNORED)),
        "pending": count(Q(decision=Decision.PENDING)),
        "decided": count(Q(decision__in=DECIDED)),
        "returned": count(Q(decision=Decision.ACCEPTED, returned_at__isnull=False)),
    }


def acceptance_rate(accepted: int, decided: int) -> float | None:
    """accepted / decided."""
    return ratio(accepted, decided)


def rejection_rate(rejected: int, decided: int) -> float | None:
    """rejected / decided."""
    return ratio(rejected, decided)


def ignore_rate(ignored: int, offered: int) -> float | None:
    """ignored / offered."""
    return ratio(ignored, offered)


def return_rate(returned: int, accepted: int) -> float | None:
    """returned / accepted."""
    return ratio(returned, accepted)


def sla_compliance(decided_in_time: int, due: int) -> float | None:
    """Hand-offs decided (accepted or rejected) by their accept-by deadline / hand-offs due."""
    return ratio(decided_in_time, due)


def first_touch_compliance(touched_in_time: int, due: int) -> float | None:
    """Accepted hand-offs touched by their first-touch-by deadline / those due."""
    return ratio(touched_in_time, due)


def review_opened_at() -> Case:
    """When a hand-off went to the arbiter: its return, or its rejection or ignore."""
    return Case(
        When(returned_at__isnull=False, then=F("returned_at")),
        When(decision__in=(Decision.REJECTED, Decision.IGNORED), then=F("decided_at")),
        default=None,
    )


def review_opened_in(start: datetime, end: datetime) -> Q:
    """Hand-offs whose `review_opened_at` is in [start, end), as a filter of plain columns
    (cheaper per row than comparing the CASE twice)."""
    return Q(returned_at__gte=start, returned_at__lt=end) | Q(
        returned_at__isnull=True,
        decision__in=(Decision.REJECTED, Decision.IGNORED),
        decided_at__gte=start,
        decided_at__lt=end,
    )


def return_reason_id() -> Subquery:
    """The reason of a returned hand-off's return: on the history row of the return."""
    return return_reason("reason")


def return_reason(field: str) -> Subquery:
    """A field of the history row of a returned hand-off's return (`reason`, `reason__code`)."""
    return Subquery(
        StageChange.objects.filter(
            lead=OuterRef("lead"), transition="return", at=OuterRef("returned_at")
        ).values(field)[:1]
    )


# --- results -------------------------------------------------------------------------------


@dataclass
class Speed:
    """Durations as median and p90 hours, wall-clock and in the team's business hours."""

    wall_clock: Spread = field(default_factory=Spread)
    business: Spread = field(default_factory=Spread)


@dataclass
class HandoffRow:
    group: str
    offered: int = 0
    decided: int = 0
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    pending: int = 0
    returned: int = 0
    acceptance_rate: float | None = None
    rejection_rate: float | None = None
    ignore_rate: float | None = None
    return_rate: float | None = None
    due: int = 0
    decided_in_time: int = 0
    sla_compliance: float | None = None
    first_touch_due: int = 0
    touched_in_time: int = 0
    first_touch_compliance: float | None = None
    offer_to_decision: Speed = field(default_factory=Speed)
    acceptance_to_first_touch: Speed = field(default_factory=Speed)
    reviews_opened: int = 0
    reviews_decided: int = 0
    upheld: int = 0
    overruled: int = 0
    uphold_rate: float | None = None
    overrule_rate: float | None = None
    time_to_review_decision: Speed = field(default_factory=Speed)
    total: bool = False

    def add_counts(self, counts: dict) -> None:
        for name, value in counts.items():
            if hasattr(self, name) and isinstance(getattr(self, name), int):
                setattr(self, name, getattr(self, name) + (value or 0))

    def finish(self) -> None:
        self.acceptance_rate = acceptance_rate(self.accepted, self.decided)
        self.rejection_rate = rejection_rate(self.rejected, self.decided)
        self.ignore_rate = ignore_rate(self.ignored, self.offered)
        self.return_rate = return_rate(self.returned, self.accepted)
        self.sla_compliance = sla_compliance(self.decided_in_time, self.due)
        self.first_touch_compliance = first_touch_compliance(
            self.touched_in_time, self.first_touch_due
        )
        self.uphold_rate = ratio(self.upheld, self.reviews_decided)
        self.overrule_rate = ratio(self.overruled, self.reviews_decided)


@dataclass
class ReasonShare:
    """One bar of a Pareto: count, share of all, and cumulative share down to this bar."""

    code: str
    label: str
    reason_class: str
    count: int
    share: float | None
    cumulative_share: float | None

    def __str__(self) -> str:
        return f"{self.label} ({self.count})"


@dataclass
class HandoffHealth:
    period: str
    by: str | None
    kind: str | None
    rows: list[HandoffRow]  # the total ("All") first
    rejection_reasons: list[ReasonShare]
    rejection_classes: list[ReasonShare]
    return_reasons: list[ReasonShare]


def pareto(counts: list[tuple[str, str, str, int]]) -> list[ReasonShare]:
    """(code, label, class, count) as a Pareto: largest first, with cumulative shares."""
    total = sum(c[3] for c in counts)
    out, running = [], 0
    for code, label, reason_class, n in sorted(counts, key=lambda c: (-c[3], c[1])):
        running += n
        share, cumulative = ratio(n, total), ratio(running, total)
        out.append(ReasonShare(code, label, reason_class, n, share, cumulative))
    return out


# --- the queries ---------------------------------------------------------------------------


def handoff_grouping(by: str | None) -> Grouping:
    if by is None:
        return Grouping(None)
    if by == KIND:
        return Grouping(by, {"g_kind": F("kind")}, lambda v: HandoffKind(v[0]).label)
    if by == TEAM:
        return Grouping(by, {"g_team": F("offered_to_team__name")}, lambda v: v[0])
    if by == REP:
        rep = Coalesce(
            "decided_by__username", "offered_to__username", Value(TEAM_QUEUE),
            output_field=CharField(),
        )
        return Grouping(by, {"g_rep": rep}, lambda v: v[0])
    raise ValueError(f"cannot group hand-offs by {by!r}; one of: {', '.join(DIMENSIONS)}")


def handoffs(filters: Filters = NO_FILTERS, kind: str | None = None):
    """Hand-offs of one kind (mql, sql; None: both), offered to `filters.team`, of leads from
    `filters.source` / `filters.campaign`."""
    rows = Handoff.objects.all()
    if kind is not None:
        rows = rows.filter(kind=kind)
    if filters.team is not None:
        rows = rows.filter(offered_to_team_id=filters.team)
    if filters.source is not None:
        rows = rows.filter(lead__source_id=filters.source)
    if filters.campaign is not None:
        rows = rows.filter(lead__campaign_id=filters.campaign)
    return rows


def _grouped(queryset, group: Grouping, counts: dict) -> list[tuple[tuple, dict]]:
    if not group.columns:
        return [((), queryset.aggregate(**counts))]
    rows = queryset.annotate(**group.columns).values(*group.names).annotate(**counts).order_by()
    return [(tuple(r[n] for n in group.names), r) for r in rows]


def _period_counts(span: Span, as_of: datetime) -> tuple[dict[str, Count], Q]:
    """The counts of one span (see `span_counts`) and the rows they may count."""
    offered = Q(offered_at__gte=span.start, offered_at__lt=span.end)
    until = min(span.end, as_of)
    due = Q(accept_by__gte=span.start, accept_by__lt=until)
    touch_due = Q(
        decision=Decision.ACCEPTED, first_touch_by__gte=span.start, first_touch_by__lt=until
    )
    opened = review_opened_in(span.start, span.end)
    reviewed = Q(reviewed_at__gte=span.start, reviewed_at__lt=span.end)
    counts = {
        **outcome_counts(within=offered),
        "due": Count("id", filter=due),
        "decided_in_time": Count(
            "id", filter=due & Q(decision__in=DECIDED, decided_at__lte=F("accept_by"))
        ),
        "first_touch_due": Count("id", filter=touch_due),
        "touched_in_time": Count(
            "id", filter=touch_due & Q(first_touch_at__lte=F("first_touch_by"))
        ),
        "reviews_opened": Count("id", filter=opened),
        "reviews_decided": Count("id", filter=reviewed),
        "upheld": Count("id", filter=reviewed & Q(review_outcome=ReviewOutcome.UPHELD)),
        "overruled": Count("id", filter=reviewed & Q(review_outcome=ReviewOutcome.OVERRULED)),
    }
    # A review opens at a return or at a decision, so those two ranges hold every review
    # opened in the span. (No index per range: the three periods' ranges cover a good part
    # of all hand-offs, which one pass over the table reads faster.)
    in_a_range = (
        offered
        | Q(accept_by__gte=span.start, accept_by__lt=until)
        | Q(first_touch_by__gte=span.start, first_touch_by__lt=until)
        | Q(returned_at__gte=span.start, returned_at__lt=span.end)
        | Q(decided_at__gte=span.start, decided_at__lt=span.end)
        | reviewed
    )
    return counts, in_a_range


def span_counts(
    spans: Sequence[Span], group: Grouping, base, as_of: datetime
) -> dict[Span, list[tuple[tuple, dict]]]:
    """Per span and group: the outcomes of the hand-offs offered in the span
    (`outcome_counts`), SLA (due, decided in time), first touch (due, touched in time) and the
    arbiter's reviews (opened, decided, upheld, overruled) in the span. One query for all the
    spans (a report's period and its comparisons): one pass over the hand-offs, not three."""
    counts: dict[str, Count] = {}
    in_any: Q | None = None
    for i, span in enumerate(spans):
        period, in_a_range = _period_counts(span, as_of)
        counts.update({f"p{i}_{name}": count for name, count in period.items()})
        in_any = in_a_range if in_any is None else in_any | in_a_range
    rows = base.filter(in_any)
    found: dict[Span, list[tuple[tuple, dict]]] = {span: [] for span in spans}
    for values, got in _grouped(rows, group, counts):
        for i, span in enumerate(spans):
            prefix = f"p{i}_"
            mine = {n.removeprefix(prefix): v for n, v in got.items() if n.startswith(prefix)}
            if any(mine.values()) or not group.columns:
                found[span].append((values, mine))
    return found


def _unix(field: str) -> UnixTime:
    return UnixTime(F(field))


def _columns(queryset, names: list[str]) -> list[list]:
    """Columns `names` of `queryset`: tens of thousands of numbers, fetched without a Django
    converter call for each.

    On PostgreSQL, as one row of arrays (`array_agg` of each column over the same rows, so in
    the same order), in binary, through psycopg's own cursor: half the time of fetching the
    rows, since the numbers are neither printed by the server nor parsed here, and no Python
    tuple is built per row. (Django's cursor binds parameters on the client, which rules
    binary results out.) The statement is logged as Django logs its own.
    """
    query = queryset.values(*names).query
    sql, params = query.sql_with_params()
    if connection.vendor != "postgresql":
        # Django (5.x) selects the columns of a .values() query in the order asked for.
        selected = list(query.selected or names)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        found = list(zip(*rows, strict=True)) if rows else [() for _ in selected]
        return [list(found[selected.index(name)]) for name in names]
    import psycopg  # the PostgreSQL driver: imported where it is the database

    quote = connection.ops.quote_name
    arrays = ", ".join(f"array_agg({quote(name)})" for name in names)
    sql = f"SELECT {arrays} FROM ({sql}) AS found"
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        found = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return [list(column or ()) for column in found]


class _Durations:
    """(group, team, start, end) rows, as wall-clock and business-hour spreads per group and
    for all groups together."""

    def __init__(self, keys: list[tuple], teams: list, starts, ends) -> None:
        self.keys, self.teams = keys, teams
        self.starts = np.array(starts, dtype=float)
        self.ends = np.array(ends, dtype=float)

    def speeds(self, calendars, clocks) -> tuple[dict[tuple, Speed], Speed]:
        wall = self.ends - self.starts
        business = business_durations(calendars, self.teams, self.starts, self.ends, clocks)

        def speed(index) -> Speed:
            b = business[index]
            return Speed(Spread.of_seconds(wall[index]), Spread.of_seconds(b[~np.isnan(b)]))

        everything = np.arange(len(self.keys))
        if len(set(self.keys)) <= 1:
            return {k: speed(everything) for k in set(self.keys)}, speed(everything)
        by_key: dict[tuple, list[int]] = {}
        for i, key in enumerate(self.keys):
            by_key.setdefault(key, []).append(i)
        return {k: speed(np.array(i)) for k, i in by_key.items()}, speed(everything)


def handoff_health(
    span: Span,
    by: str | None = None,
    filters: Filters = NO_FILTERS,
    kind: str | None = None,
    as_of: datetime | None = None,
    *,
    calendars=None,
    clocks: dict | None = None,
    counted: list[tuple[tuple, dict]] | None = None,
    arbiter_team_id: int | None = None,
    reasons: dict[int, ReasonCode] | None = None,
) -> HandoffHealth:
    """Hand-off health for one span (see the module docstring for who counts where)."""
    as_of = as_of or timezone.now()
    group = handoff_grouping(by)
    calendars = team_calendars() if calendars is None else calendars
    clocks = {} if clocks is None else clocks
    if reasons is None:
        reasons = ReasonCode.objects.in_bulk()
    base = handoffs(filters, kind)
    offered = base.filter(offered_at__gte=span.start, offered_at__lt=span.end)

    rows: dict[tuple, HandoffRow] = {}

    def row(values: tuple) -> HandoffRow:
        if values not in rows:
            rows[values] = HandoffRow(group.label(values) if group.columns else ALL)
        return rows[values]

    total = HandoffRow(ALL, total=True)
    if counted is None:
        counted = span_counts([span], group, base, as_of)[span]
    for values, counts in counted:
        row(values).add_counts(counts)
        total.add_counts(counts)

    # Speed-to-lead: offer → decision (accepted or rejected), acceptance → first touch; and
    # the arbiter's time to decide. Moments come as Unix times (no datetime per value). The
    # same rows (the decided offers) give the rejection and return reasons.
    names = group.names
    rejected, accepted, returned = 0, 1, 2  # each decided offer's outcome, as a small int
    *values, teams, offered_at, decided_at, outcome, touched_at, reason, returns = _columns(
        offered.filter(decision__in=DECIDED).annotate(
            **group.columns,
            t_offered=_unix("offered_at"),
            t_decided=_unix("decided_at"),
            t_touched=_unix("first_touch_at"),
            outcome=Case(
                When(decision=Decision.REJECTED, then=Value(rejected)),
                When(returned_at__isnull=True, then=Value(accepted)),
                default=Value(returned),
            ),
            return_reason=Case(When(returned_at__isnull=False, then=return_reason_id())),
        ),
        [*names, "offered_to_team_id", "t_offered", "t_decided", "outcome", "t_touched",
         "reason_id", "return_reason"],
    )
    keys = list(zip(*values, strict=True)) if names else [()] * len(teams)
    decisions = _Durations(keys, teams, offered_at, decided_at)
    touched = np.array(touched_at, dtype=float)
    outcome = np.array(outcome, dtype=np.int8)
    picked = np.flatnonzero((outcome != rejected) & ~np.isnan(touched)) if len(touched) else []
    touches = _Durations(
        [keys[i] for i in picked], [teams[i] for i in picked],
        decisions.ends[picked], touched[picked],
    )
    *values, opened_at, reviewed_at = _columns(
        base.filter(reviewed_at__gte=span.start, reviewed_at__lt=span.end)
        .annotate(opened_at=review_opened_at(), **group.columns, t_reviewed=_unix("reviewed_at"))
        .annotate(t_opened=_unix("opened_at")),
        [*names, "t_opened", "t_reviewed"],
    )
    review_keys = list(zip(*values, strict=True)) if names else [()] * len(opened_at)
    reviews = _Durations(review_keys, [arbiter_team_id] * len(opened_at), opened_at, reviewed_at)
    for durations, name in (
        (decisions, "offer_to_decision"),
        (touches, "acceptance_to_first_touch"),
        (reviews, "time_to_review_decision"),
    ):
        by_group, everything = durations.speeds(calendars, clocks)
        for values, speed in by_group.items():
            setattr(row(values), name, speed)
        setattr(total, name, everything)

    for r in [total, *rows.values()]:
        r.finish()
    rejections = _reason_counts(reasons, reason, outcome == rejected)
    return_reasons = _reason_counts(reasons, returns, outcome == returned)
    return HandoffHealth(
        period=span.label,
        by=by,
        kind=kind,
        rows=[total] + (sorted(rows.values(), key=lambda r: r.group) if group.columns else []),
        rejection_reasons=pareto(rejections),
        rejection_classes=pareto(_class_counts(rejections)),
        return_reasons=pareto(return_reasons),
    )


def _reason_counts(reasons: dict[int, ReasonCode], reason_ids, picked: np.ndarray):
    """(code, label, class, n) of the picked hand-offs, by reason id: the rejected offers by
    their reason, the returned ones by the reason of their return."""
    return reason_counts(reasons, Counter(reason_ids[i] for i in np.flatnonzero(picked)))


def reason_counts(reasons: dict[int, ReasonCode], counted: Mapping[int | None, int]):
    """{reason id: n} as (code, label, class, n) bars of a Pareto."""
    return [reason_count(reasons.get(r), n) for r, n in counted.items()]


def _class_counts(reason_counts) -> list[tuple[str, str, str, int]]:
    by_class: dict[str, int] = defaultdict(int)
    for _, _, reason_class, n in reason_counts:
        by_class[reason_class] += n
    labels = dict(ReasonClass.choices)
    return [(c, labels.get(c, UNCLASSIFIED), c, n) for c, n in by_class.items()]


def reason_count(reason: ReasonCode | None, n: int) -> tuple[str, str, str, int]:
    """(code, label, class, n): one bar of a reasons Pareto."""
    if reason is None:
        return ("", "(no reason)", "", n)
    return (reason.code, reason.label, reason.reason_class, n)


# --- the report ----------------------------------------------------------------------------


def report(
    span: Span,
    by: str | None = None,
    filters: Filters = NO_FILTERS,
    kind: str | None = None,
    as_of: datetime | None = None,
) -> Compared:
    """Hand-off health for the span, the previous span and the same span last year."""
    handoff_grouping(by)  # refuse an unknown dimension before any query
    if kind is not None and kind not in HandoffKind.values:
        raise ValueError(f"kind is one of {', '.join(HandoffKind.values)}, not {kind!r}")
    as_of = as_of or timezone.now()
    shared = {
        "calendars": team_calendars(),
        "clocks": {},  # business clocks, built once for the three periods
        "arbiter_team_id": Team.objects.filter(side=Side.ARBITER)
        .order_by("id")
        .values_list("id", flat=True)
        .first(),
        "reasons": ReasonCode.objects.in_bulk(),
    }

    spans = list(dict.fromkeys(comparisons(span).values()))
    counted = span_counts(spans, handoff_grouping(by), handoffs(filters, kind), as_of)

    def compute(s: Span) -> HandoffHealth:
        return handoff_health(s, by, filters, kind, as_of, counted=counted[s], **shared)

    return compare("handoffs", span, compute, _zero)


def _zero(label: str) -> HandoffRow:
    row = HandoffRow(label)
    row.finish()
    return row

