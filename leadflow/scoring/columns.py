"""Every lead and every activity as numpy columns, for rescoring and the what-if.

Leads: the attributes the definitions look at are read in one pass and numbered by distinct
value (a million leads share a few thousand titles, sizes and domains); each fit criterion and
disqualifier is evaluated once per distinct value, with the engine's own functions, and spread
to the leads by array indexing. Activities come from `snapshot` (packed columns) and are
classified under each definition the same way: each rule tested once per distinct URL and
campaign, then applied with numpy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice

import numpy as np
from django.db import connection

from leadflow.leads.models import Campaign, Lead, Source
from leadflow.scoring import engine, snapshot
from leadflow.scoring.document import CUSTOM_PREFIX, Definition, Disqualifiers, FitCriterion

Progress = Callable[[str, int, int], None]  # (what, done, total)
LEAD_CHUNK = 100_000


def _quiet(what: str, done: int, total: int) -> None:
    pass


def _epoch(column: str) -> str:
    """SQL for a datetime column as Unix seconds (a float, fractions kept)."""
    if connection.vendor == "postgresql":
        return f"date_part('epoch', {column})"
    # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; unixepoch() drops the fraction.
    return (
        f"(unixepoch({column}) + CASE WHEN substr({column}, 20, 1) = '.' "
        f"THEN CAST(substr({column}, 20, 7) AS REAL) ELSE 0 END)"
    )


# --- leads -----------------------------------------------------------------------------------


@dataclass
class Leads:
    ids: np.ndarray  # int64, ascending
    created: np.ndarray  # float64 Unix seconds
    stages: np.ndarray  # object (stage names)
    fit_score: np.ndarray | None  # as stored (None: not read)
    engagement_score: np.ndarray | None
    fit: list[np.ndarray]  # per definition
    disqualified: list[np.ndarray]  # per definition, bool

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, lead_ids: np.ndarray) -> np.ndarray:
        """Positions of `lead_ids` in `ids` (every id must be present)."""
        return np.searchsorted(self.ids, lead_ids)


class _Numbered:
    """A column as codes into its distinct values: values[codes] is the column. Built chunk
    by chunk (`add`)."""

    def __init__(self) -> None:
        self.index: dict = {}
        self.values: list = []
        self.parts: list[np.ndarray] = []
        self.unhashable = False  # a custom value was a list: numbered one by one from then on

    def add(self, column: Sequence) -> None:
        index, values = self.index, self.values
        if not self.unhashable:
            setdefault = index.setdefault
            try:
                # A new value gets the next code: len(index) is read before setdefault adds it.
                codes = [setdefault(v, len(index)) for v in column]
            except TypeError:
                self.unhashable = True
            values.extend(islice(index, len(values), None))  # the values added just now
            if not self.unhashable:
                self.parts.append(np.array(codes, dtype=np.int64))
                return
        self.parts.append(np.array([_code(index, values, v) for v in column], dtype=np.int64))

    @property
    def codes(self) -> np.ndarray:
        if len(self.parts) != 1:
            self.parts = [np.concatenate(self.parts) if self.parts else np.zeros(0, np.int64)]
        return self.parts[0]

    def spread(self, compute: Callable, dtype) -> np.ndarray:
        """compute(value) for each distinct value, as a column."""
        table = np.array([compute(v) for v in self.values] + [compute(None)], dtype=dtype)
        return table[self.codes]


def _new(index: dict, values: list, value) -> int:
    index[value] = len(values)
    values.append(value)
    return index[value]


def _code(index: dict, values: list, value) -> int:
    try:
        return index[value] if value in index else _new(index, values, value)
    except TypeError:
        values.append(value)
        return len(values) - 1


# The SQL that reads each attribute; the email's domain part is normalised in Python.
_COLUMNS = {
    "title": "title",
    "email": "email",
    "email_domain": "CASE WHEN instr(email, '@') > 0 "
    "THEN substr(email, instr(email, '@') + 1) ELSE '' END",
    "domain": "domain",
    "company": "company",
    "country": "country",
    "industry": "industry",
    "employee_count": "employee_count",
    "source": "source_id",
    "campaign": "campaign_id",
    "custom": "custom",
}
_PG_COLUMNS = {"email_domain": "split_part(email, '@', 2)", "custom": "custom::text"}


def load_leads(
    definitions: Sequence[Definition], progress: Progress = _quiet, *, scores: bool = True
) -> Leads:
    """Every lead with its fit and disqualification under each definition; with `scores`,
    also the scores stored now (a rescore compares; a what-if does not need them)."""
    attributes = set().union(*(d.attributes for d in definitions))
    wanted = {a for a in attributes if not a.startswith(CUSTOM_PREFIX)}
    if any(a.startswith(CUSTOM_PREFIX) for a in attributes):
        wanted.add("custom")
    dq_rules = [d.disqualifiers for d in definitions]
    if any(r.competitor_domains or r.free_mail_domains for r in dq_rules):
        wanted |= {"domain", "email_domain"}
    if any(r.student_patterns for r in dq_rules):
        wanted |= {"title", "email"}
    names = sorted(wanted)
    sql_of = {**_COLUMNS, **(_PG_COLUMNS if connection.vendor == "postgresql" else {})}
    basic_columns = ["id", _epoch("created_at"), "stage"]
    if scores:
        basic_columns += ["fit_score", "engagement_score"]
    select = ", ".join(basic_columns + [sql_of[n] for n in names])
    table = Lead._meta.db_table
    total = Lead.objects.count()
    numbered = {name: _Numbered() for name in names if name != "email"}
    basics: list[list] = [[] for _ in basic_columns]
    emails: list = []  # for student patterns: all distinct, so kept as they are
    last, read = 0, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {select} FROM {table} WHERE id > %s ORDER BY id LIMIT {LEAD_CHUNK}",
                [last],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            last, read = rows[-1][0], read + len(rows)
            cols = list(zip(*rows, strict=True))
            for target, values in zip(basics, cols, strict=False):
                target.extend(values)
            for name, values in zip(names, cols[len(basics) :], strict=True):
                if name == "email":
                    emails.extend(values)
                else:
                    numbered[name].add(values)
            progress("leads", read, total)
    progress("leads", read, read)
    _name_references(numbered)
    # Versions compared in a what-if share most criteria: each distinct one is spread once.
    points_of: dict[FitCriterion, np.ndarray] = {}
    dq_of: dict[Disqualifiers, np.ndarray] = {}
    fits, dqs = [], []
    for definition in definitions:
        fit = np.zeros(read)
        for criterion in definition.fit:
            if criterion not in points_of:
                points_of[criterion] = _attribute(numbered, criterion.attribute, emails).spread(
                    lambda value, c=criterion: next(
                        (o.points for o in c.options if o.match(value)), 0.0
                    ),
                    float,
                )
            fit += points_of[criterion]
        fits.append(fit)
        rules = definition.disqualifiers
        if rules not in dq_of:
            dq_of[rules] = _disqualified(definition, numbered, emails, read)
        dqs.append(dq_of[rules])
    return Leads(
        ids=np.asarray(basics[0], dtype=np.int64),
        created=np.asarray(basics[1], dtype=float),
        stages=np.asarray(basics[2], dtype=object),
        fit_score=np.asarray(basics[3], dtype=float) if scores else None,
        engagement_score=np.asarray(basics[4], dtype=float) if scores else None,
        fit=fits,
        disqualified=dqs,
    )


def _name_references(numbered: dict[str, _Numbered]) -> None:
    """Source and campaign ids to names, the e-mail domain normalised, as the engine reads
    them (`engine.lead_values`)."""
    if "source" in numbered:
        names = dict(Source.objects.values_list("pk", "name"))
        numbered["source"].values = [names.get(v, "") for v in numbered["source"].values]
    if "campaign" in numbered:
        names = dict(Campaign.objects.values_list("pk", "name"))
        numbered["campaign"].values = [names.get(v, "") for v in numbered["campaign"].values]
    if "email_domain" in numbered:
        numbered["email_domain"].values = [
            (v or "").strip().lower() for v in numbered["email_domain"].values
        ]
    if "domain" in numbered:
        numbered["domain"].values = [(v or "").strip().lower() for v in numbered["domain"].values]


def _attribute(numbered: dict[str, _Numbered], attribute: str, emails: list) -> _Numbered:
    if attribute == "email":  # a criterion on the whole address (rare): number it now
        if "email" not in numbered:
            numbered["email"] = _Numbered()
            numbered["email"].add(emails)
        return numbered["email"]
    if not attribute.startswith(CUSTOM_PREFIX):
        return numbered[attribute]
    key = f"custom:{attribute}"
    if key not in numbered:
        raw = numbered["custom"]
        name = attribute.removeprefix(CUSTOM_PREFIX)

        def pick(text):
            data = json.loads(text) if isinstance(text, str) else text
            return data.get(name) if isinstance(data, dict) else None

        values = [pick(v) for v in raw.values]
        numbered[key] = _Numbered()
        numbered[key].add([values[c] for c in raw.codes.tolist()])
    return numbered[key]


def _disqualified(
    definition: Definition, numbered: dict[str, _Numbered], emails: list, n: int
) -> np.ndarray:
    rules = definition.disqualifiers
    out = np.zeros(n, dtype=bool)
    if rules.competitor_domains or rules.free_mail_domains:
        for name in ("domain", "email_domain"):
            out |= numbered[name].spread(
                lambda value, name=name: bool(
                    value and engine.disqualified(definition, {name: value})
                ),
                bool,
            )
    if rules.student_patterns:
        # Any pattern, in the title or the address: one combined search per value.
        either = re.compile("|".join(f"(?:{p.pattern})" for p in rules.student_patterns), re.I)
        out |= numbered["title"].spread(lambda v: bool(v and either.search(v)), bool)
        found = np.fromiter(map(bool, map(either.search, emails)), bool, n)
        out |= found & np.fromiter(map(bool, emails), bool, n)  # a blank address matches nothing
    return out


# --- activities ------------------------------------------------------------------------------


@dataclass
class Events:
    """Scored activities: lead id, time, and the rule each falls under in each definition
    (engine.NO_RULE when none)."""

    lead: np.ndarray  # int64
    at: np.ndarray  # float64 Unix seconds
    rules: list[np.ndarray]  # int16 per definition

    def __len__(self) -> int:
        return len(self.lead)


def classify(definition: Definition, columns: snapshot.Columns, campaigns) -> np.ndarray:
    """The rule each activity falls under (its first matching one), or NO_RULE: each rule's
    URL and campaign tests run once per distinct URL and campaign, with the engine's match."""
    # A kind whose first rule has no URL or campaign test is decided by its kind alone.
    by_kind = np.full(len(snapshot.KINDS) + 1, engine.NO_RULE, dtype=np.int16)  # [-1]: unknown
    tested = np.zeros(len(snapshot.KINDS) + 1, dtype=bool)
    for code, kind in enumerate(snapshot.KINDS):
        for i, rule in enumerate(definition.rules):
            if kind in rule.kinds:
                if rule.url is None and rule.campaign is None:
                    by_kind[code] = i
                else:
                    tested[code] = True
                break
    out = by_kind[columns.kind]
    hard = np.flatnonzero(tested[columns.kind])
    if not len(hard):
        return out
    kind, url, campaign = columns.kind[hard], columns.url[hard], columns.campaign[hard]
    found = np.full(len(hard), engine.NO_RULE, dtype=np.int16)
    open_ = np.ones(len(hard), dtype=bool)
    for i, rule in enumerate(definition.rules):
        kinds = np.array([k in rule.kinds for k in snapshot.KINDS] + [False])
        hit = open_ & kinds[kind]  # kind -1 (unknown) reads the trailing False
        if rule.url is not None:
            ok = np.array([bool(u) and rule.url(u) for u in columns.urls] + [False])
            hit &= ok[url]  # NO_URL (-1) reads the trailing False
        if rule.campaign is not None:
            ok = np.zeros(int(columns.campaign.max(initial=0)) + 1, dtype=bool)
            for pk, c in campaigns.items():
                if pk < len(ok):
                    ok[pk] = bool(rule.campaign(c.name) or rule.campaign(c.external_id))
            hit &= ok[campaign]
        found[hit] = i
        open_ &= ~hit
    out[hard] = found
    return out


def load_events(
    definitions: Sequence[Definition],
    progress: Progress = _quiet,
    until: float | None = None,
    rebuild: bool = False,
) -> Events:
    """Every activity some definition scores (optionally only those before `until`)."""
    columns = snapshot.load(progress, rebuild=rebuild)
    progress("activities", len(columns), len(columns))
    by_campaign = any(r.campaign for d in definitions for r in d.rules)
    campaigns = {
        pk: engine.Campaign(name, external or "")
        for pk, name, external in Campaign.objects.values_list("pk", "name", "external_id")
    } if by_campaign else {}
    rules = [classify(d, columns, campaigns) for d in definitions]
    keep = np.zeros(len(columns), dtype=bool)
    for r in rules:
        keep |= r != engine.NO_RULE
    if until is not None:
        keep &= columns.at < until
    return Events(
        lead=columns.lead[keep].astype(np.int64),
        at=columns.at[keep],
        rules=[r[keep] for r in rules],
    )


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


def load_both(
    definitions: Sequence[Definition],
    progress: Progress = _quiet,
    until: float | None = None,
    rebuild: bool = False,
    scores: bool = True,
) -> tuple[Leads, Events]:
    """Leads and activities, the leads read on a second connection meanwhile when that is
    safe: outside a transaction (inside one, as in tests, a second connection would not see
    its rows). numpy and the drivers release the GIL for much of the work."""
    if connection.in_atomic_block:
        leads = load_leads(definitions, progress, scores=scores)
        return leads, load_events(definitions, progress, until, rebuild)

    def leads_on_own_connection() -> Leads:
        try:
            return load_leads(definitions, scores=scores)
        finally:
            connection.close()  # this thread's connection

    with ThreadPoolExecutor(max_workers=1) as pool:
        leads = pool.submit(leads_on_own_connection)
        events = load_events(definitions, progress, until, rebuild)
        progress("leads", 0, 1)
        found = leads.result()
        progress("leads", 1, 1)
    return found, events
