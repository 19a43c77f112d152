"""Every lead and every activity as numpy columns, for rescoring and the what-if.

Reading is the slow part (the arithmetic on 20M activities takes well under a second), so the
queries fetch only what the definitions look at: numbers rather than text where SQL can give
them (times as Unix seconds, activity kinds as small codes), URLs only for the kinds a rule
filters by URL, campaigns only when a rule filters by campaign. Activities are classified under
each definition in numpy, with each distinct URL and campaign matched once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import connection

from leadflow.leads.models import Activity, ActivityKind, Campaign, Lead, Source
from leadflow.scoring import engine
from leadflow.scoring.document import CUSTOM_PREFIX, Definition

Progress = Callable[[str, int, int], None]  # (what, done, total)
KINDS = tuple(ActivityKind.values)
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
LEAD_CHUNK = 50_000
ACTIVITY_CHUNK = 500_000  # ids per query: progress steps and bounded memory per fetch


def _quiet(what: str, done: int, total: int) -> None:
    pass


def _epoch(column: str) -> str:
    """SQL for a datetime column as Unix seconds (a float, fractions kept)."""
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})"
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; unixepoch() drops the fraction.
    return f"(unixepoch({column}) + CAST(substr({column}, 20) AS REAL))"


# --- leads -----------------------------------------------------------------------------------


@dataclass
class Leads:
    ids: np.ndarray  # int64, ascending
    created: np.ndarray  # float64 Unix seconds
    stages: np.ndarray  # object (stage names)
    fit_score: np.ndarray  # as stored
    engagement_score: np.ndarray  # as stored
    fit: list[np.ndarray]  # per definition
    disqualified: list[np.ndarray]  # per definition, bool

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, lead_ids: np.ndarray) -> np.ndarray:
        """Positions of `lead_ids` in `ids` (every id must be present)."""
        return np.searchsorted(self.ids, lead_ids)


class _Memo:
    """A criterion's or disqualifier's answer per distinct value: a million leads share a few
    thousand titles, industries and domains."""

    def __init__(self, compute: Callable):
        self.compute = compute
        self.seen: dict = {}

    def __call__(self, value):
        try:
            return self.seen[value]
        except KeyError:
            found = self.seen[value] = self.compute(value)
            return found
        except TypeError:  # an unhashable custom value (a list): not memoised
            return self.compute(value)


def _criterion_points(criterion) -> Callable:
    def points(value) -> float:
        for option in criterion.options:
            if option.match(value):
                return option.points
        return 0.0

    return _Memo(points)


def load_leads(definitions: Sequence[Definition], progress: Progress = _quiet) -> Leads:
    """Every lead with its fit and disqualification under each definition."""
    attributes = set().union(*(d.attributes for d in definitions))
    custom = any(a.startswith(CUSTOM_PREFIX) for a in attributes)
    needs_dq = any(
        d.disqualifiers.competitor_domains
        or d.disqualifiers.free_mail_domains
        or d.disqualifiers.student_patterns
        for d in definitions
    )
    wanted = {
        "title", "email", "domain", "company", "country", "industry", "employee_count",
        "source_id", "campaign_id",
    }
    read = [c for c in sorted(wanted) if _needed(c, attributes, needs_dq)]
    if custom:
        read.append("custom")
    sources = dict(Source.objects.values_list("pk", "name")) if "source" in attributes else {}
    campaigns = (
        dict(Campaign.objects.values_list("pk", "name")) if "campaign" in attributes else {}
    )
    scorers = [
        [(c.attribute, _criterion_points(c)) for c in d.fit] for d in definitions
    ]
    disqualifiers = [
        _disqualifier(d) if needs_dq else None for d in definitions
    ]
    total = Lead.objects.count()
    ids: list[int] = []
    created: list[float] = []
    stages: list[str] = []
    fit_stored: list[float] = []
    engagement_stored: list[float] = []
    fits: list[list[float]] = [[] for _ in definitions]
    dqs: list[list[bool]] = [[] for _ in definitions]
    table = Lead._meta.db_table
    select = ", ".join(
        ["id", _epoch("created_at"), "stage", "fit_score", "engagement_score", *read]
    )
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {select} FROM {table} WHERE id > %s ORDER BY id LIMIT {LEAD_CHUNK}",
                [last],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            cols = list(zip(*rows, strict=True))
            ids += cols[0]
            created += cols[1]
            stages += cols[2]
            fit_stored += cols[3]
            engagement_stored += cols[4]
            named = dict(zip(read, cols[5:], strict=True))
            values = _values(named, sources, campaigns)
            for i, _definition in enumerate(definitions):
                fit = [0.0] * len(rows)
                for attribute, points in scorers[i]:
                    column = values.get(attribute) or _custom(named, attribute, len(rows))
                    fit = [f + points(v) for f, v in zip(fit, column, strict=True)]
                fits[i] += fit
                if disqualifiers[i] is not None:
                    dqs[i] += disqualifiers[i](values)
                else:
                    dqs[i] += [False] * len(rows)
            progress("leads", len(ids), total)
    progress("leads", len(ids), len(ids))
    return Leads(
        ids=np.asarray(ids, dtype=np.int64),
        created=np.asarray(created, dtype=float),
        stages=np.asarray(stages, dtype=object),
        fit_score=np.asarray(fit_stored, dtype=float),
        engagement_score=np.asarray(engagement_stored, dtype=float),
        fit=[np.asarray(f, dtype=float) for f in fits],
        disqualified=[np.asarray(d, dtype=bool) for d in dqs],
    )


def _needed(column: str, attributes: set[str], needs_dq: bool) -> bool:
    if needs_dq and column in ("title", "email", "domain"):
        return True
    if column == "email":
        return bool({"email", "email_domain"} & attributes)
    if column == "source_id":
        return "source" in attributes
    if column == "campaign_id":
        return "campaign" in attributes
    return column in attributes


def _values(named: dict, sources: dict, campaigns: dict) -> dict[str, Sequence]:
    """The columns fit criteria and disqualifiers read, under their attribute names."""
    domain_of = _Memo(engine.email_domain)
    values: dict[str, Sequence] = {}
    for name in ("title", "email", "company", "country", "industry", "employee_count"):
        if name in named:
            values[name] = named[name]
    if "email" in named:
        values["email_domain"] = [domain_of(e) for e in named["email"]]
    if "domain" in named:
        values["domain"] = [(d or "").strip().lower() for d in named["domain"]]
    if "source_id" in named:
        values["source"] = [sources.get(s, "") for s in named["source_id"]]
    if "campaign_id" in named:
        values["campaign"] = [campaigns.get(c, "") for c in named["campaign_id"]]
    return values


def _custom(named: dict, attribute: str, n: int) -> list:
    if not attribute.startswith(CUSTOM_PREFIX) or "custom" not in named:
        return [None] * n
    key = attribute.removeprefix(CUSTOM_PREFIX)
    out = []
    for raw in named["custom"]:
        data = json.loads(raw) if isinstance(raw, str) else raw
        out.append(data.get(key) if isinstance(data, dict) else None)
    return out


def _disqualifier(definition: Definition) -> Callable[[dict], list[bool]]:
    by_domain = _Memo(lambda pair: bool(engine.disqualified(definition, {
        "domain": pair[0], "email_domain": pair[1]})))
    by_text = _Memo(lambda text: bool(engine.disqualified(definition, {"title": text})))
    has_patterns = bool(definition.disqualifiers.student_patterns)

    def check(values: dict) -> list[bool]:
        n = len(values["title"])
        domains = values.get("domain") or [""] * n
        mails = values.get("email_domain") or [""] * n
        titles = values["title"]
        emails = values.get("email") or [""] * n
        out = []
        for domain, mail, title, email in zip(domains, mails, titles, emails, strict=True):
            hit = by_domain((domain, mail))
            if not hit and has_patterns:
                hit = by_text(title or "") or bool(
                    email and any(p.search(email) for p in definition.disqualifiers
                                  .student_patterns)
                )
            out.append(hit)
        return out

    return check


# --- activities ------------------------------------------------------------------------------


@dataclass
class Events:
    """Scored activities, in table order: lead id, time, and the rule each falls under in each
    definition (engine.NO_RULE when none)."""

    lead: np.ndarray  # int64
    at: np.ndarray  # float64 Unix seconds
    rules: list[np.ndarray]  # int16 per definition

    def __len__(self) -> int:
        return len(self.lead)


class _Classifier:
    """The rule of each activity under one definition, computed per distinct (kind, URL,
    campaign) once and applied to a chunk of activities in numpy."""

    def __init__(self, definition: Definition, campaigns: dict[int, engine.Campaign]):
        self.definition = definition
        self.campaigns = campaigns
        self.url_kinds = {k for r in definition.rules if r.url for k in r.kinds}
        self.by_kind = np.full(len(KINDS), engine.NO_RULE, dtype=np.int16)
        # A kind whose first matching rule needs no URL or campaign is decided by its kind.
        self.simple = np.zeros(len(KINDS), dtype=bool)
        for code, kind in enumerate(KINDS):
            for i, rule in enumerate(definition.rules):
                if kind in rule.kinds:
                    if rule.url is None and rule.campaign is None:
                        self.by_kind[code] = i
                        self.simple[code] = True
                    break
            else:
                self.simple[code] = True  # no rule: NO_RULE
        self.memo: dict[tuple, int] = {}

    def classify(self, kinds: np.ndarray, urls: Sequence, campaign_ids: Sequence) -> np.ndarray:
        out = self.by_kind[kinds]
        hard = np.flatnonzero(~self.simple[kinds])
        for i in hard:
            code = int(kinds[i])
            key = (code, urls[i] if KINDS[code] in self.url_kinds else None, campaign_ids[i])
            rule = self.memo.get(key)
            if rule is None:
                rule = self.memo[key] = engine.rule_index(
                    self.definition,
                    KINDS[code],
                    key[1] or "",
                    self.campaigns.get(campaign_ids[i]),
                )
            out[i] = rule
        return out


def load_events(
    definitions: Sequence[Definition],
    progress: Progress = _quiet,
    until: float | None = None,
) -> Events:
    """Every activity some definition scores (optionally only those before `until`)."""
    kinds = set().union(*(d.scored_kinds for d in definitions))
    empty = Events(
        np.zeros(0, np.int64), np.zeros(0, float), [np.zeros(0, np.int16) for _ in definitions]
    )
    if not kinds:
        return empty
    url_kinds = sorted({k for d in definitions for r in d.rules if r.url for k in r.kinds})
    by_campaign = any(r.campaign for d in definitions for r in d.rules)
    campaigns = {
        pk: engine.Campaign(name, external or "")
        for pk, name, external in Campaign.objects.values_list("pk", "name", "external_id")
    } if by_campaign else {}
    classifiers = [_Classifier(d, campaigns) for d in definitions]
    table = Activity._meta.db_table
    code = "CASE kind " + " ".join(f"WHEN '{k}' THEN {KIND_CODE[k]}" for k in sorted(kinds))
    code += " END"
    in_kinds = ", ".join(f"'{k}'" for k in sorted(kinds))
    url = (
        f"CASE WHEN kind IN ({', '.join(repr(k) for k in url_kinds)}) THEN url END"
        if url_kinds
        else "NULL"
    )
    campaign = "campaign_id" if by_campaign else "NULL"
    where = f"kind IN ({in_kinds}) AND id > %s AND id <= %s"
    params_until: list = []
    if until is not None:
        where += " AND occurred_at < %s"
        params_until = [connection.ops.adapt_datetimefield_value(_as_datetime(until))]
    sql = f"SELECT lead_id, {_epoch('occurred_at')}, {code}, {url}, {campaign} FROM {table} "
    sql += f"WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        top = cursor.fetchone()[0]
        parts_lead, parts_at, parts_rules = [], [], [[] for _ in definitions]
        for start in range(0, top, ACTIVITY_CHUNK):
            cursor.execute(sql, [start, start + ACTIVITY_CHUNK, *params_until])
            rows = cursor.fetchall()
            progress("activities", min(start + ACTIVITY_CHUNK, top), top)
            if not rows:
                continue
            leads, ats, codes, urls, campaign_ids = zip(*rows, strict=True)
            codes = np.asarray(codes, dtype=np.int16)
            rules = [c.classify(codes, urls, campaign_ids) for c in classifiers]
            keep = np.zeros(len(codes), dtype=bool)
            for r in rules:
                keep |= r != engine.NO_RULE
            parts_lead.append(np.asarray(leads, dtype=np.int64)[keep])
            parts_at.append(np.asarray(ats, dtype=float)[keep])
            for i, r in enumerate(rules):
                parts_rules[i].append(r[keep])
    progress("activities", top, top)
    if not parts_lead:
        return empty
    return Events(
        lead=np.concatenate(parts_lead),
        at=np.concatenate(parts_at),
        rules=[np.concatenate(p) for p in parts_rules],
    )


def _as_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# --- engagement arithmetic -------------------------------------------------------------------


def engagement_now(
    definition: Definition, leads: Leads, events: Events, rules: np.ndarray, now: float
) -> tuple[np.ndarray, np.ndarray]:
    """(engagement score per lead at `now`, per-rule decayed sums per lead): each activity's
    points decayed to now, summed per lead and rule (bincount), capped, summed per lead."""
    n_rules = len(definition.rules)
    sums = np.zeros((len(leads), max(n_rules, 1)))
    scored = rules != engine.NO_RULE
    if n_rules and scored.any():
        points = np.array([r.points for r in definition.rules])
        where = leads.index(events.lead[scored])
        rule = rules[scored].astype(np.int64)
        weight = points[rule] * np.exp2(-(now - events.at[scored]) / definition.half_life_seconds)
        sums = np.bincount(
            where * n_rules + rule, weights=weight, minlength=len(leads) * n_rules
        ).reshape(len(leads), n_rules)
    caps = np.array([r.cap_value for r in definition.rules] or [np.inf])
    return np.minimum(sums, caps).sum(axis=1), sums
