"""The bulk path: each demo lead walks the funnel in memory through the lifecycle table.

`LeadRun` is one lead and every row that hangs off it, kept in memory. Its `transition` does
what `actions.transition` does - load the state, `lifecycle.resolve`, `check`, `plan` - and
applies the plan to the in-memory rows instead of the database, with `MemoryServices` standing
in for `routing.DatabaseServices`. The rows are then written in bulk by `leadflow.demo.writer`.
tests/test_demo.py replays the recorded steps through `actions` and compares the rows.

`Journey` decides what happens to a lead: who responds, when, and how each side decides. Every
decision comes from the lead's own random stream (seed, lead number), so a lead's story does not
depend on how the run is chunked.
"""

from __future__ import annotations

import bisect
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import count
from random import Random

from django.db.models.base import ModelState

from leadflow.accounts.models import Side, Team
from leadflow.demo import catalog
from leadflow.demo.world import DemoWorld, demo_external_id
from leadflow.leads import lifecycle
from leadflow.leads.business_time import calendar_for
from leadflow.leads.lifecycle import Inputs, LeadState
from leadflow.leads.models import (
    Account,
    ActivityKind,
    Decision,
    Handoff,
    Lead,
    LeadDefinition,
    Opportunity,
    OpportunityStage,
    ReasonKind,
    Stage,
    StageChange,
)
from leadflow.leads.routing import NoTeam

UTC = UTC
SWEEP_SECONDS = 300  # the SLA sweep runs every five minutes
SCORING_MINUTES = 15  # the scoring job runs every quarter hour


class Cutoff(Exception):
    """The next step would happen after the demo's "now": the lead's story stops here."""


class MemoryServices:
    """`routing.DatabaseServices`, answered from teams and a definition loaded once."""

    def __init__(self, teams: list[Team], definition: LeadDefinition | None) -> None:
        self._by_id = {t.pk: t for t in teams}
        self._first: dict[str, Team] = {}
        for team in sorted(teams, key=lambda t: t.pk):
            self._first.setdefault(team.side, team)
        self._definition = definition

    def team_for(self, side: str, lead: Lead) -> Team:
        if lead.owner_team_id and self._by_id[lead.owner_team_id].side == side:
            return lead.owner_team
        try:
            return self._first[side]
        except KeyError:
            raise NoTeam(f"there is no {Side(side).label} team: create one in the admin") from None

    def offer_target(self, side: str, lead: Lead):
        return self.team_for(side, lead), None

    def accept_by(self, team: Team, offered_at: datetime, kind: str) -> datetime:
        return calendar_for(team).accept_by(offered_at, kind)

    def first_touch_by(self, team: Team, accepted_at: datetime) -> datetime:
        return calendar_for(team).first_touch_by(accepted_at)

    def active_definition(self) -> LeadDefinition | None:
        return self._definition


class Ids:
    """Primary keys handed out in memory, continuing after the rows already in the database."""

    def __init__(self, start: dict[str, int]) -> None:
        self.lead = count(start["lead"])
        self.handoff = count(start["handoff"])
        self.opportunity = count(start["opportunity"])
        self.history = count(start["history"])
        self.activity = count(start["activity"])
        self.account = count(start["account"])


class _Bare:
    """Build a model instance straight from its column values, as unpickling does.

    Only for rows this module creates itself (a lead at creation, create and advance history
    rows), with foreign keys given as ids: `Model.__init__` and its descriptors cost more than
    the rest of a lead's story. Rows the lifecycle plans are built by `lifecycle.plan`.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.names = frozenset(f.attname for f in model._meta.concrete_fields)
        self.defaults, self.factories = {}, {}
        for f in model._meta.concrete_fields:
            default = f.default if f.has_default() else f.get_default()
            if callable(default):
                self.factories[f.attname] = default
            else:
                self.defaults[f.attname] = default

    def make(self, **values):
        if not values.keys() <= self.names:
            raise TypeError(f"{self.model.__name__} has no column(s) {values.keys() - self.names}")
        obj = self.model.__new__(self.model)
        row = obj.__dict__
        row.update(self.defaults)
        for name, factory in self.factories.items():
            if name not in values:
                row[name] = factory()
        row.update(values)
        row["_state"] = ModelState()
        return obj


_LEAD = _Bare(Lead)
_HISTORY = _Bare(StageChange)


class LeadRun:
    """One lead and its hand-offs, opportunities, history and activities, in memory."""

    __slots__ = (
        "lead",
        "offers",
        "opps",
        "history",
        "activities",
        "steps",
        "services",
        "ids",
        "cutoff",
    )

    def __init__(self, services: MemoryServices, ids: Ids, cutoff: datetime, record: bool):
        self.services, self.ids, self.cutoff = services, ids, cutoff
        self.lead: Lead | None = None
        self.offers: list[Handoff] = []
        self.opps: list[Opportunity] = []
        self.history: list[StageChange] = []
        # (kind, occurred_at, url, campaign_id, source_system, actor_id, detail)
        self.activities: list[tuple] = []
        self.steps: list[tuple] | None = [] if record else None

    # -- what actions.create_lead does ----------------------------------------------------
    def create(self, *, actor, source_id: int, now: datetime, **fields) -> Lead:
        lead = _LEAD.make(
            id=next(self.ids.lead),
            source_id=source_id,
            created_at=now,
            updated_at=now,
            stage_changed_at=now,
            **fields,
        )
        lead.owner_team = self.services.team_for(Side.MARKETING, lead)
        lead.owner = actor if actor is not None and actor.team_id == lead.owner_team_id else None
        self.lead = lead
        self.history.append(
            _HISTORY.make(
                id=next(self.ids.history),
                lead_id=lead.pk,
                transition="create",
                to_stage=Stage.INQUIRY,
                actor_id=actor.pk if actor else None,
                at=now,
                owner_id=lead.owner_id,
                owner_team_id=lead.owner_team_id,
            )
        )
        if self.steps is not None:
            self.steps.append(("create", actor, now, source_id, fields))
        return lead

    # -- what actions.load_state reads from the database -----------------------------------
    def state(self) -> LeadState:
        lead = self.lead
        state = LeadState(lead=lead)
        if self.offers:
            last = self.offers[-1]
            if last.decision == Decision.PENDING:
                state.pending_offer = last
            elif last.decision == Decision.ACCEPTED and last.returned_at is None:
                state.last_accepted_offer = last
        if lead.stage == Stage.SQL:
            open_opps = [o for o in self.opps if o.closed_at is None]
            state.opportunity = open_opps[-1] if open_opps else None
        if lead.stage == Stage.IN_REVIEW:
            entries = [
                h
                for h in self.history
                if h.entity == StageChange.Entity.LEAD and h.to_stage == Stage.IN_REVIEW
            ]
            if entries:
                entry = max(entries, key=lambda h: (h.at, h.id))
                state.review_from, state.review_reason = entry.from_stage, entry.reason
        return state

    # -- what actions.transition does -------------------------------------------------------
    def transition(
        self,
        name: str,
        *,
        actor,
        now: datetime,
        to=None,
        reason=None,
        comment="",
        evidence=None,
        assignee=None,
        amount=None,
    ) -> lifecycle.Plan:
        if now > self.cutoff:
            raise Cutoff
        state = self.state()
        t = lifecycle.resolve(name, state, to)
        inputs = Inputs(
            reason=reason,
            comment=comment or "",
            evidence=evidence or {},
            assignee=assignee,
            amount=amount,
        )
        lifecycle.check(t, state, actor, inputs, now)
        plan = lifecycle.plan(t, state, actor, inputs, now, self.services)
        self._apply(state, plan)
        if self.steps is not None:
            self.steps.append(
                (
                    "transition",
                    name,
                    actor,
                    now,
                    {
                        "to": to,
                        "reason": reason,
                        "comment": comment,
                        "evidence": evidence,
                        "assignee": assignee,
                        "amount": amount,
                    },
                )
            )
        return plan

    def _apply(self, state: LeadState, plan: lifecycle.Plan) -> None:
        """actions._apply, in memory: same objects, same fields, same order of new rows."""
        lead = self.lead
        for name, value in plan.lead_fields.items():
            setattr(lead, name, value)
        if plan.close_offer:
            for name, value in plan.close_offer.items():
                setattr(state.pending_offer, name, value)
        if plan.mark_returned:
            for name, value in plan.mark_returned.items():
                setattr(state.last_accepted_offer, name, value)
        if plan.new_offer:
            plan.new_offer.id = next(self.ids.handoff)
            self.offers.append(plan.new_offer)
        if plan.new_opportunity:
            plan.new_opportunity.id = next(self.ids.opportunity)
            self.opps.append(plan.new_opportunity)
        if plan.opportunity_fields:
            for name, value in plan.opportunity_fields.items():
                setattr(state.opportunity, name, value)
        plan.history.id = next(self.ids.history)
        self.history.append(plan.history)
        if plan.opportunity_history:
            row = plan.opportunity_history
            # Model.save() fills the foreign key from the opportunity saved just before.
            row.opportunity_id = row.opportunity.pk
            row.id = next(self.ids.history)
            self.history.append(row)

    # -- what actions.move_opportunity does -------------------------------------------------
    def advance(self, to: str, *, actor, now: datetime) -> None:
        if now > self.cutoff:
            raise Cutoff
        opp = self.opps[-1]
        roles = lifecycle.OPPORTUNITY_TRANSITIONS.get((opp.stage, to))
        if roles is None:
            raise lifecycle.NotAllowed(f"an opportunity cannot move from '{opp.stage}' to '{to}'")
        if not roles & lifecycle.actor_roles(actor) or actor.pk != opp.owner_id:
            raise lifecycle.Forbidden(f"{actor} does not own this opportunity")
        from_stage = opp.stage
        opp.stage, opp.version = to, opp.version + 1
        self.history.append(
            _HISTORY.make(
                id=next(self.ids.history),
                lead_id=self.lead.pk,
                opportunity_id=opp.pk,
                entity=StageChange.Entity.OPPORTUNITY,
                transition="advance",
                from_stage=from_stage,
                to_stage=to,
                actor_id=actor.pk,
                at=now,
                owner_id=opp.owner_id,
                owner_team_id=self.lead.owner_team_id,
            )
        )
        if self.steps is not None:
            self.steps.append(("advance", to, actor, now))

    # -- plain fields, outside the lifecycle ------------------------------------------------
    def activity(
        self, kind, at, *, url="", campaign_id=None, system="leadflow", actor=None, detail=""
    ) -> bool:
        if at > self.cutoff:
            return False
        self.activities.append(
            (kind, at, url, campaign_id, system, actor.pk if actor else None, detail)
        )
        return True

    def first_touch(self, at: datetime, kind: str, actor, detail: str) -> None:
        """A rep's first call or meeting after accepting: the hand-off's first touch."""
        if not self.activity(kind, at, actor=actor, detail=detail):
            raise Cutoff
        offer = self.offers[-1]
        if offer.first_touch_at is None:
            offer.first_touch_at = at
            if self.steps is not None:
                self.steps.append(("first_touch", at))

    def set_expected_close(self, day: date) -> None:
        self.opps[-1].expected_close = day
        if self.steps is not None:
            self.steps.append(("expected_close", day))

    def set_scores(self, fit: float, engagement: float) -> None:
        self.lead.fit_score, self.lead.engagement_score = fit, engagement
        if self.steps is not None:
            self.steps.append(("scores", fit, engagement))


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


def _weighted(rng: Random, pairs):
    """Pick from (item, weight) pairs given inline (for rare, small choices)."""
    return Picker(pairs)(rng)


_COUNTRY = Picker((row, row[1]) for row in catalog.COUNTRIES)
_INDUSTRY = Picker(catalog.INDUSTRIES)
_SIZE = Picker((row, row[2]) for row in catalog.COMPANY_SIZES)
_BUYER_LEVEL = Picker({"c_level": 15, "vp": 35, "director": 35, "manager": 15}.items())
# What an engaged lead does next, by intent.
_ENGAGEMENT = {
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
def _ascii(name: str) -> str:
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
        country, _, tld, phone, suffix = _COUNTRY(rng)
        industry = _INDUSTRY(rng)
        low, high, _ = _SIZE(rng)
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        name = f"{prefix}{core} {word}" + (f" {extra}" if extra else "") + f" {suffix}"
        slug = f"{prefix}{core}{word}".lower() + ("-" + _ascii(extra) if extra else "")
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


def engagement_score(events: list[tuple[str, datetime]], at: datetime) -> float:
    """Decayed points per event kind, each kind capped (definition v1 "engagement")."""
    per_kind: dict[str, float] = {}
    for key, when in events:
        if when > at:
            continue
        points, _cap = _EVENTS[key]
        age = (at - when).total_seconds()
        per_kind[key] = per_kind.get(key, 0.0) + points * 0.5 ** (age / _HALF_LIFE)
    return round(sum(min(v, _EVENTS[k][1]) for k, v in per_kind.items()), 2)


# --- the journey of one lead -------------------------------------------------------------------


def _lognormal_minutes(rng: Random, median: float, sigma: float) -> timedelta:
    return timedelta(seconds=int(60 * median * math.exp(rng.gauss(0, sigma))))


def _days(rng: Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high) * 86400))


class Simulation:
    """Everything a lead's journey needs: the world, the calendars, the random streams."""

    def __init__(
        self,
        world: DemoWorld,
        *,
        seed: int,
        total: int,
        ids: Ids,
        record: frozenset[int] = frozenset(),
    ) -> None:
        self.world, self.seed, self.total, self.ids, self.record = world, seed, total, ids, record
        self.services = MemoryServices(world.all_teams, world.definition)
        self.arrivals = Arrivals(total, world.months, world.zone, world.cutoff)
        self.companies = Companies(seed, max(60, total // 8))
        self.account_ids: dict[int, int] = {}  # company number -> account id (preassigned)
        self.new_accounts: list[tuple[int, str, str]] = []  # rows to write with this chunk
        users = world.users
        self.marketers = (
            [users["marketing"]] * 7 + [users["marketing2"]] * 4 + [users["marketing-manager"]]
        )
        self.sdrs = [users[n] for n in ("sdr", "sdr2", "sdr3", "sdr4", "sdr5")]
        self.aes = [users[n] for n in ("ae", "ae2", "ae3", "ae4")]
        self.sales_manager = users["sales-manager"]
        self.field_manager = users["field-manager"]
        self.arbiter = users["arbiter"]
        self.cal = {side: calendar_for(team) for side, team in world.teams.items()}
        self.source_pick = Picker((i, p.share) for i, p in enumerate(catalog.SOURCES))
        self.slot_pick = [
            [Picker((s, s.weight) for s in month) for month in per_source]
            for per_source in world.slots
        ]
        self.level_pick = [Picker(p.levels.items()) for p in catalog.SOURCES]
        self.intent_pick = [
            Picker(zip(("none", "low", "active"), p.intent, strict=True)) for p in catalog.SOURCES
        ]
        # Counts of leads per (campaign, month) for the spend rows.
        self.volume: dict[tuple[int, int, int], int] = {}

    def reason(self, kind: str, code: str):
        return self.world.reasons[(kind, code)]

    def account_id(self, k: int) -> int:
        found = self.account_ids.get(k)
        if found is None:
            name, domain, *_ = self.companies.get(k)
            found = self.account_ids[k] = next(self.ids.account)
            self.new_accounts.append((found, name, domain))
        return found

    def account(self, k: int) -> Account:
        name, domain, *_ = self.companies.get(k)
        return Account(id=self.account_ids[k], name=name, domain=domain)

    def run(self, i: int) -> LeadRun:
        run = LeadRun(self.services, self.ids, self.world.cutoff, i in self.record)
        Journey(self, run, i).live()
        return run


class Journey:
    """What happens to lead number i, decided step by step from its own random stream."""

    def __init__(self, sim: Simulation, run: LeadRun, i: int) -> None:
        self.sim, self.run, self.i = sim, run, i
        self.rng = Random(sim.seed * 1_000_003 + i)
        self.events: list[tuple[str, datetime]] = []  # engagement events, for the score
        self.overrules = 0
        self.offers_made = 0

    # -- helpers -------------------------------------------------------------------------------
    def bt(self, side: str, start: datetime, delta: timedelta) -> datetime:
        """`delta` of the side's business time after `start`."""
        return self.sim.cal[side].add(start, delta)

    def act(self, kind, at, *, key=None, url="", actor=None, detail="", system=None, campaign=True):
        if (
            self.run.activity(
                kind,
                at,
                url=url,
                campaign_id=self.campaign_id if campaign else None,
                system=system or self.profile.source_system,
                actor=actor,
                detail=detail,
            )
            and key
        ):
            self.events.append((key, at))

    def sales_act(self, kind, at, actor, detail):
        self.run.activity(kind, at, actor=actor, detail=detail)

    # -- the lead -----------------------------------------------------------------------------
    def live(self) -> None:
        rng, sim = self.rng, self.sim
        created, month = sim.arrivals.at(self.i, rng.random())
        source_index = sim.source_pick(rng)
        self.profile = catalog.SOURCES[source_index]
        slot = sim.slot_pick[source_index][month](rng)
        self.campaign_id, self.event_at = slot.campaign_id, slot.event_at
        key = (source_index, slot.campaign_id, month)
        sim.volume[key] = sim.volume.get(key, 0) + 1
        try:
            self.person(created, source_index)
            self.first_response(created)
            where = self.marketing(created)
            while where is not None:
                where = where()
        except Cutoff:
            pass
        cutoff = sim.world.cutoff
        self.run.set_scores(float(self.fit), engagement_score(self.events, cutoff))

    def person(self, created: datetime, source_index: int) -> None:
        rng, p, sim = self.rng, self.profile, self.sim
        intent = sim.intent_pick[source_index](rng)
        k = int(sim.companies.size * rng.random() ** 1.7)
        if intent == "active" and sim.companies.get(k)[4] < 50:
            k = int(sim.companies.size * rng.random() ** 1.7)  # buyers skew to bigger firms
        company, domain, country, industry, employees, phone_prefix = sim.companies.get(k)
        self.company_no = k
        level = sim.level_pick[source_index](rng)
        if intent == "active" and rng.random() < 0.6:
            level = _BUYER_LEVEL(rng)  # people with a project are more often its owners
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        junk = None
        if level == "student":
            junk = "student"
        elif rng.random() < p.junk:
            junk = _weighted(
                rng, [("free_mail", 5), ("competitor", 1), ("fake", 2), ("student", 1)]
            )
            if junk == "student":
                level = "student"
        email_domain = domain
        if junk == "student":
            email_domain = rng.choice(catalog.STUDENT_DOMAINS)
        elif junk == "free_mail":
            email_domain = rng.choice(catalog.FREE_MAIL)
        elif junk == "competitor":
            n = rng.randrange(len(catalog.COMPETITORS))
            company, email_domain = catalog.COMPETITORS[n], catalog.COMPETITOR_DOMAINS[n]
            domain, self.company_no = email_domain, None
        elif junk == "fake":
            first, last = rng.choice((("Test", "Test"), ("Asdf", "Qwerty"), ("Mickey", "Mouse")))
        pattern = rng.random()
        fa, la = _ascii(first), _ascii(last)
        local = f"{fa}.{la}" if pattern < 0.6 else f"{fa[0]}{la}" if pattern < 0.85 else fa
        if junk in ("free_mail", "fake"):
            local += str(rng.randint(1, 99))
        if junk in ("student", "competitor", "fake"):
            intent = "none"
        phone = ""
        if rng.random() >= p.missing_phone and junk != "fake":
            if phone_prefix == "+1":
                phone = f"+1 {rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}"
            else:
                phone = f"{phone_prefix} {rng.randint(10, 99)} {rng.randint(1000000, 9999999)}"
        self.level, self.junk, self.intent = level, junk, intent
        self.initial_intent = intent
        self.country, self.employees = country, employees
        self.fit = fit_score(level, employees, industry, country, junk == "free_mail")
        self.name = f"{first} {last}"
        self.company = company
        self.title = rng.choice(catalog.TITLES[level])
        self.has_phone = bool(phone)
        creator = rng.choice(sim.marketers) if rng.random() < p.created_by_marketing else None
        self.run.create(
            actor=creator,
            source_id=sim.world.sources[source_index].pk,
            now=created,
            first_name=first,
            last_name=last,
            title=self.title,
            email=f"{local}@{email_domain}",
            phone=phone,
            company=company,
            domain=domain,
            country=country,
            industry=industry,
            employee_count=employees,
            external_id=demo_external_id(self.i),
            campaign_id=self.campaign_id,
            account_id=None if self.company_no is None else sim.account_id(self.company_no),
        )

    def first_response(self, t0: datetime) -> None:
        """The response that made the raw lead, and what the lead does next."""
        rng, p = self.rng, self.profile
        kind = p.first_touch
        if kind == "content_download":
            asset = rng.choice(catalog.ASSETS)
            self.act(
                ActivityKind.CONTENT_DOWNLOAD,
                t0,
                key="content_download",
                url="https://syndication.example.net/asset/" + _ascii(asset)[:40],
                detail=asset,
            )
        elif kind == "webinar_registered":
            self.act(ActivityKind.WEBINAR_REGISTERED, t0, key="webinar_registered")
            attend = {"none": 0.35, "low": 0.55, "active": 0.8}[self.intent]
            if rng.random() < attend:
                live = self.event_at if self.event_at and self.event_at > t0 else None
                at = live or t0 + _days(rng, 0.05, 3)
                self.act(
                    ActivityKind.WEBINAR_ATTENDED,
                    at,
                    key="webinar_attended",
                    detail="live" if live else "on demand",
                )
        elif kind == "form_fill":
            for n in range(rng.randint(1, 3)):
                page = rng.choice(catalog.WEB_PAGES)
                self.act(
                    ActivityKind.WEB_VISIT,
                    t0 - timedelta(minutes=5 * (n + 1)),
                    key="web_visit",
                    url="https://leadflow.example.com" + page,
                )
            self.act(
                ActivityKind.FORM_FILL,
                t0,
                key="form_fill",
                url="https://leadflow.example.com/contact",
            )
        elif kind == "email_click":
            self.act(
                ActivityKind.EMAIL_CLICK, t0, key="email_click", detail="Outbound sequence, step 2"
            )
            call = self.bt(Side.MARKETING, t0, _lognormal_minutes(rng, 600, 0.6))
            self.act(
                ActivityKind.CALL,
                call,
                key="meeting" if self.intent == "active" else None,
                detail="Agency qualification call",
            )
            self.agency_call = call
        self.engage(t0, self.intent)

    def engage(self, t0: datetime, intent: str) -> None:
        """What the lead does after responding: more, and more telling, the closer to buying."""
        rng = self.rng
        n, span = {
            "none": (rng.choice((0, 0, 1, 1, 2)), 60),
            "low": (rng.randint(2, 5), 90),
            "active": (rng.randint(4, 10), 25),
        }[intent]
        times = [t0 + _days(rng, 0.02, span) for _ in range(n)]
        kinds = [_ENGAGEMENT[intent](rng) for _ in range(n)]
        if intent == "low" and rng.random() < 0.25:
            # Some lukewarm leads heat up: a few telling visits in a couple of days.
            base = t0 + _days(rng, 3, 60)
            for kind in ("pricing_page_visit", "content_download", "form_fill"):
                times.append(base)
                kinds.append(kind)
                base += _days(rng, 0.02, 1.5)
        for at, key in sorted(zip(times, kinds, strict=True)):
            self.engagement_event(key, at)

    def engagement_event(self, key: str, at: datetime) -> None:
        site = "https://leadflow.example.com"
        if key == "web_visit":
            self.act(
                ActivityKind.WEB_VISIT, at, key=key, url=site + self.rng.choice(catalog.WEB_PAGES)
            )
        elif key == "pricing_page_visit":
            self.act(ActivityKind.WEB_VISIT, at, key=key, url=site + "/pricing")
        elif key == "content_download":
            asset = self.rng.choice(catalog.ASSETS)
            self.act(
                ActivityKind.CONTENT_DOWNLOAD,
                at,
                key=key,
                url=f"{site}/resources/{_ascii(asset)[:40]}",
                detail=asset,
            )
        elif key == "form_fill":
            self.act(ActivityKind.FORM_FILL, at, key=key, url=site + "/demo")
        else:  # e-mail opens and clicks
            self.act(key, at, key=key)

    def qualifies_at(self, after: datetime) -> datetime | None:
        """When the scoring job first sees both MQL thresholds met, after `after`."""
        if self.fit < MQL_FIT:
            return None
        for _, at in sorted(self.events, key=lambda e: e[1]):
            if at >= after and engagement_score(self.events, at) >= MQL_ENGAGEMENT:
                minutes = SCORING_MINUTES - at.minute % SCORING_MINUTES
                return at.replace(second=0) + timedelta(minutes=minutes, seconds=20)
        return None

    # -- marketing owns the top of the funnel --------------------------------------------------
    def marketing(self, t0: datetime):
        rng, p, run = self.rng, self.profile, self.run
        if (
            p.manual_qualify
            and self.intent != "none"
            and self.fit >= 30
            and (rng.random() < p.manual_qualify)
        ):
            at = self.bt(Side.MARKETING, self.agency_call, _lognormal_minutes(rng, 240, 0.5))
            run.transition("qualify", actor=rng.choice(self.sim.marketers), now=at)
            return self.mql
        at = self.qualifies_at(t0)
        if at is not None:
            run.transition("qualify", actor=None, now=at)
            return self.mql
        if self.junk and rng.random() < 0.7:
            code = {
                "student": "student",
                "competitor": "competitor",
                "fake": "spam",
                "free_mail": rng.choice(("spam", "duplicate")),
            }[self.junk]
            at = self.bt(Side.MARKETING, t0, _days(rng, 0.1, 6))
            run.transition(
                "disqualify",
                actor=rng.choice(self.sim.marketers),
                now=at,
                reason=self.sim.reason(ReasonKind.DISQUALIFY, code),
                comment=catalog.DISQUALIFY_COMMENTS[code].format(domain=self.run.lead.email),
            )
            return None
        if rng.random() < 0.5:
            last = max((at for _, at in self.events), default=t0)
            at = self.bt(Side.MARKETING, last + _days(rng, 20, 45), timedelta(minutes=30))
            run.transition("nurture", actor=rng.choice(self.sim.marketers), now=at)
            self.nurtured_at = at
            return self.nurture
        return None  # left at inquiry: the raw leads nobody works

    def nurture(self):
        rng, run, sim = self.rng, self.run, self.sim
        start = self.nurtured_at
        for n in range(rng.randint(1, 4)):
            at = start + timedelta(days=21 * (n + 1)) + _days(rng, 0, 3)
            self.act(
                ActivityKind.EMAIL_SENT,
                at,
                detail=f"Nurture track, e-mail {n + 1}",
                system="marketing automation",
                campaign=False,
            )
            if rng.random() < 0.4:
                self.act(
                    ActivityKind.EMAIL_OPEN,
                    at + _days(rng, 0.01, 2),
                    key="email_open",
                    system="marketing automation",
                    campaign=False,
                )
        recycle = {"none": 0.02, "low": 0.12, "active": 0.35}[self.intent]
        if self.offers_made < 4 and rng.random() < recycle:
            at = start + _days(rng, 30, 200)
            self.act(
                ActivityKind.WEB_VISIT,
                at - timedelta(hours=30),
                key="pricing_page_visit",
                url="https://leadflow.example.com/pricing",
                system="website",
                campaign=False,
            )
            self.act(
                ActivityKind.FORM_FILL,
                at - timedelta(hours=2),
                key="form_fill",
                url="https://leadflow.example.com/demo",
                system="website",
                campaign=False,
            )
            self.act(
                ActivityKind.WEBINAR_ATTENDED,
                at - timedelta(hours=1),
                key="webinar_attended",
                system="webinar platform",
                campaign=False,
            )
            self.intent = "active" if rng.random() < 0.5 else "low"
            if self.fit >= MQL_FIT:
                run.transition("recycle", actor=None, now=at)
            else:
                at = self.bt(Side.MARKETING, at, timedelta(minutes=40))
                run.transition("recycle", actor=rng.choice(sim.marketers), now=at)
            return self.mql
        if self.junk and rng.random() < 0.3:
            at = self.bt(Side.MARKETING, start + _days(rng, 30, 90), timedelta(minutes=10))
            code = "spam" if self.junk == "fake" else "no-need"
            run.transition(
                "disqualify",
                actor=rng.choice(sim.marketers),
                now=at,
                reason=sim.reason(ReasonKind.DISQUALIFY, code),
                comment=catalog.DISQUALIFY_COMMENTS[code],
            )
        return None

    # -- inside sales: accept or reject, then work the lead ----------------------------------
    def mql(self):
        rng, run, sim, p = self.rng, self.run, self.sim, self.profile
        self.offers_made += 1
        offer = run.offers[-1]
        offered_at, accept_by = offer.offered_at, offer.accept_by
        decider = offer.offered_to
        t = offered_at
        if decider is None and rng.random() < 0.03:
            decider = rng.choice(sim.sdrs)
            t = self.bt(Side.INSIDE_SALES, offered_at, _lognormal_minutes(rng, 20, 0.5))
            if t < accept_by:
                run.transition("reassign", actor=sim.sales_manager, now=t, assignee=decider)
        decider = decider or rng.choice(sim.sdrs)
        decide_at = self.bt(Side.INSIDE_SALES, t, _lognormal_minutes(rng, 70, 1.1))
        neglect = p.neglect if self.overrules == 0 else 0.1
        if rng.random() < neglect or decide_at >= accept_by:
            at = accept_by + timedelta(seconds=rng.randint(1, SWEEP_SECONDS))
            run.transition("ignore", actor=None, now=at)
            return self.review
        reject = 0.03 + p.reject_bias + (0.35 if self.intent == "none" else 0.0)
        if self.junk:
            reject += 0.5
        if self.country not in catalog.COVERED_COUNTRIES:
            reject += 0.6
        if self.overrules:
            reject = 0.05
        if rng.random() < reject:
            code = self.reject_reason()
            run.transition(
                "reject",
                actor=decider,
                now=decide_at,
                reason=sim.reason(ReasonKind.REJECT, code),
                comment=catalog.REJECT_COMMENTS[code].format(
                    country=self.country,
                    company=self.company,
                    employees=self.employees,
                    title=self.title,
                    touch=p.first_touch.replace("_", " "),
                    source=p.name,
                ),
            )
            return self.review
        run.transition("accept", actor=decider, now=decide_at)
        self.owner = decider
        return self.sal

    def reject_reason(self) -> str:
        rng = self.rng
        if self.junk == "fake":
            return "spam"
        if self.junk or self.fit < MQL_FIT:
            return "below-fit"
        if self.country not in catalog.COVERED_COUNTRIES:
            return "wrong-territory"
        if not self.has_phone and rng.random() < 0.5:
            return "incomplete-record"
        if self.intent == "none":
            return "no-intent" if rng.random() < 0.7 else "below-fit"
        return _weighted(
            rng,
            [
                ("wrong-person", 3),
                ("already-in-deal", 3),
                ("wrong-contact-data", 2),
                ("no-intent", 2),
                ("below-fit", 1),
            ],
        )

    def sal(self):
        rng, run, sim = self.rng, self.run, self.sim
        accepted = run.offers[-1].decided_at
        touch = self.bt(Side.INSIDE_SALES, accepted, _lognormal_minutes(rng, 45, 1.0))
        run.first_touch(touch, ActivityKind.CALL, self.owner, "First call")
        t = touch
        if rng.random() < 0.02:
            other = rng.choice([s for s in sim.sdrs if s.pk != self.owner.pk])
            t = self.bt(Side.INSIDE_SALES, t + _days(rng, 1, 5), timedelta(minutes=15))
            run.transition("reassign", actor=sim.sales_manager, now=t, assignee=other)
            self.owner = other
        for _ in range(rng.randint(1, 4)):
            t = self.bt(Side.INSIDE_SALES, t + _days(rng, 0.5, 5), timedelta(minutes=30))
            kind = ActivityKind.MEETING if rng.random() < 0.25 else ActivityKind.CALL
            self.sales_act(
                kind, t, self.owner, "Discovery call" if kind == "call" else "Qualification meeting"
            )
        t = self.bt(Side.INSIDE_SALES, t + _days(rng, 0.5, 4), timedelta(minutes=20))
        if self.junk:
            odds = (0.0, 0.05, 0.35, 0.55)
        else:
            odds = {
                "active": (0.62, 0.14, 0.08, 0.10),
                "low": (0.14, 0.34, 0.20, 0.22),
                "none": (0.02, 0.16, 0.32, 0.44),
            }[self.intent]
        x = rng.random()
        if x < odds[0]:
            return self.convert(t)
        x -= odds[0]
        if x < odds[1]:
            code = rng.choice(("not-ready", "no-budget-yet"))
            run.transition(
                "nurture",
                actor=self.owner,
                now=t,
                reason=sim.reason(ReasonKind.NURTURE, code),
                comment=catalog.NURTURE_COMMENTS[code],
            )
            self.nurtured_at = t
            return self.nurture
        x -= odds[1]
        if x < odds[2]:
            code = (
                "not-real"
                if self.junk or self.intent == "none" and rng.random() < 0.4
                else "duplicate"
                if rng.random() < 0.05
                else rng.choice(("went-cold", "went-cold", "not-ready"))
            )
            run.transition(
                "return",
                actor=self.owner,
                now=t,
                reason=sim.reason(ReasonKind.RETURN, code),
                comment=catalog.RETURN_COMMENTS[code],
            )
            return self.review
        x -= odds[2]
        if x < odds[3]:
            code = {
                "student": "student",
                "competitor": "competitor",
                "fake": "spam",
                "free_mail": "no-authority",
                None: None,
            }[self.junk] or _weighted(rng, [("no-need", 5), ("no-authority", 4), ("duplicate", 1)])
            run.transition(
                "disqualify",
                actor=self.owner,
                now=t,
                reason=sim.reason(ReasonKind.DISQUALIFY, code),
                comment=catalog.DISQUALIFY_COMMENTS[code].format(domain=run.lead.domain),
            )
        return None  # still being worked, or disqualified

    def convert(self, t: datetime):
        rng, lead = self.rng, self.run.lead
        day = (t + _days(self.rng, 20, 120)).date().isoformat()
        evidence = {
            "decision_maker": (
                f"{self.name}, {self.title} (signs)"
                if self.level in ("c_level", "vp")
                else f"{rng.choice(catalog.FIRST_NAMES)} {lead.last_name}, "
                f"VP at {self.company} (signs; {self.name} champions)"
            ),
            "need": rng.choice(catalog.NEEDS),
            "compelling_event": rng.choice(catalog.COMPELLING_EVENTS).format(date=day),
        }
        if rng.random() < 0.3:
            evidence["budget"] = f"${rng.randint(2, 30) * 5},000 set aside"
        self.run.transition("convert", actor=self.owner, now=t, evidence=evidence)
        return self.sql

    # -- field sales: accept the SQL, then run the opportunity --------------------------------
    def sql(self):
        rng, run, sim = self.rng, self.run, self.sim
        self.offers_made += 1
        offer = run.offers[-1]
        decider = offer.offered_to
        t = offer.offered_at
        if decider is None and rng.random() < 0.04:
            decider = rng.choice(sim.aes)
            t = self.bt(Side.FIELD_SALES, t, _lognormal_minutes(rng, 30, 0.5))
            if t < offer.accept_by:
                run.transition("reassign", actor=sim.field_manager, now=t, assignee=decider)
        decider = decider or rng.choice(sim.aes)
        decide_at = self.bt(Side.FIELD_SALES, t, _lognormal_minutes(rng, 120, 0.9))
        if rng.random() < 0.02 or decide_at >= offer.accept_by:
            at = offer.accept_by + timedelta(seconds=rng.randint(1, SWEEP_SECONDS))
            run.transition("ignore", actor=None, now=at)
            return self.review
        reject = 0.05 if self.intent == "active" else 0.15
        if self.overrules:
            reject = 0.03
        if rng.random() < reject:
            code = _weighted(
                rng,
                [
                    ("already-in-deal", 3),
                    ("below-fit", 2),
                    ("no-intent", 3),
                    ("wrong-territory", 1),
                ],
            )
            run.transition(
                "reject",
                actor=decider,
                now=decide_at,
                reason=sim.reason(ReasonKind.REJECT, code),
                comment=catalog.REJECT_COMMENTS[code].format(
                    country=self.country,
                    company=self.company,
                    employees=self.employees,
                    title=self.title,
                    touch="hand-off",
                    source=self.profile.name,
                ),
            )
            return self.review
        band = (
            12_000
            if self.employees < 50
            else 30_000
            if self.employees < 200
            else 65_000
            if self.employees < 1000
            else 140_000
            if self.employees < 5000
            else 320_000
        )
        amount = Decimal(int(band * math.exp(rng.gauss(0, 0.35)) / 500) * 500)
        if self.company_no is not None:
            # The opportunity takes the lead's account: load it, as the ORM would lazily.
            run.lead.account = sim.account(self.company_no)
        run.transition("accept", actor=decider, now=decide_at, amount=amount)
        self.owner = decider
        return self.opportunity

    def opportunity(self):
        rng, run, sim = self.rng, self.run, self.sim
        ae = self.owner
        accepted = run.offers[-1].decided_at
        run.set_expected_close((accepted + _days(rng, 45, 150)).date())
        t = self.bt(Side.FIELD_SALES, accepted, _lognormal_minutes(rng, 90, 1.0))
        run.first_touch(t, ActivityKind.MEETING, ae, "Discovery meeting")
        win = {"active": 0.62, "low": 0.45, "none": 0.2}[self.intent]
        t = self.bt(Side.FIELD_SALES, t + _days(rng, 5, 25), timedelta(minutes=30))
        x = rng.random()
        back_early = 0.04 if self.intent == "active" else 0.15
        if x < back_early:
            code = rng.choice(("went-cold", "not-ready", "not-real"))
            run.transition(
                "return",
                actor=ae,
                now=t,
                reason=sim.reason(ReasonKind.RETURN, code),
                comment=catalog.RETURN_COMMENTS[code],
            )
            return self.review
        if x < back_early + 0.18:
            return self.lose(t, ("no-decision", "product-fit", "timing"))
        run.advance(OpportunityStage.PROPOSAL, actor=ae, now=t)
        self.sales_act(ActivityKind.MEETING, t, ae, "Proposal walk-through")
        t = self.bt(Side.FIELD_SALES, t + _days(rng, 7, 30), timedelta(minutes=30))
        if rng.random() >= 0.62:
            return self.lose(t, ("price", "competitor", "no-decision"))
        run.advance(OpportunityStage.FORECAST, actor=ae, now=t)
        if rng.random() < 0.1:
            t = self.bt(Side.FIELD_SALES, t + _days(rng, 5, 15), timedelta(minutes=30))
            run.advance(OpportunityStage.PROPOSAL, actor=ae, now=t)
            t = self.bt(Side.FIELD_SALES, t + _days(rng, 7, 20), timedelta(minutes=30))
            run.advance(OpportunityStage.FORECAST, actor=ae, now=t)
        t = self.bt(Side.FIELD_SALES, t + _days(rng, 7, 25), timedelta(minutes=30))
        if rng.random() < win:
            self.sales_act(ActivityKind.NOTE, t, ae, "Contract signed")
            run.transition("win", actor=ae, now=t)
            return None
        return self.lose(t, ("competitor", "price", "timing"))

    def lose(self, t: datetime, codes):
        code = self.rng.choice(codes)
        comment = catalog.LOSS_COMMENTS[code].format(
            competitor=self.rng.choice(catalog.COMPETITORS)
        )
        self.run.transition(
            "lose",
            actor=self.owner,
            now=t,
            reason=self.sim.reason(ReasonKind.LOSS, code),
            comment=comment,
        )
        return None

    # -- the arbiter decides every review ------------------------------------------------------
    def review(self):
        rng, run, sim = self.rng, self.run, self.sim
        state = run.state()
        origin, reason = state.review_from, state.review_reason
        entered = run.lead.stage_changed_at
        at = self.bt(Side.ARBITER, entered, _lognormal_minutes(rng, 240, 0.8))
        if reason is None:  # ignored: ignoring a lead is not an option
            overrule = 0.7
        elif reason.disqualifies:
            overrule = 0.1
        elif reason.code in ("below-fit", "no-intent") and self.intent == "active":
            overrule = 0.6
        elif reason.kind == ReasonKind.RETURN:
            overrule = 0.2 if reason.code == "went-cold" else 0.08
        else:
            overrule = 0.22
        if self.overrules >= 2:
            overrule = 0.0
        if rng.random() < overrule:
            self.overrules += 1
            field = origin == Stage.SQL
            reps = sim.aes if field else sim.sdrs
            assignee = rng.choice(reps) if rng.random() < 0.5 else None
            why = (
                "Ignored past its deadline" if reason is None else f"'{reason.label}' does not hold"
            )
            who = f"{assignee} to follow up" if assignee else "Back to the queue"
            run.transition(
                "overrule",
                actor=sim.arbiter,
                now=at,
                assignee=assignee,
                comment=f"{why}: {self.title} at {self.company} meets definition "
                f"v{sim.world.definition.version}. {who} within the SLA.",
            )
            return self.sql if field else self.mql
        label = reason.label if reason else "Ignored offer"
        if reason is not None and reason.disqualifies:
            comment = f"Upheld ({label}): not a lead; recorded against {self.profile.name}."
        else:
            comment = (
                f"Upheld ({label}): back to marketing for nurture; recorded against "
                f"{self.profile.name}."
            )
        plan = run.transition("uphold", actor=sim.arbiter, now=at, comment=comment)
        if plan.history.to_stage == Stage.NURTURE:
            self.nurtured_at = at
            return self.nurture
        return None
