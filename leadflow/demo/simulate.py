"""Walk every demo lead through the funnel, the steps of all leads in one time order.

A `Journey` is one lead's story from its arrival (a `people.Newcomer`), written as a generator:
it decides what happens next, yields the moment it happens, and takes the step when
`Simulation.runs` resumes it at that moment. The loop resumes journeys in time order (ties in
the order they were scheduled), so routing sees the reps' turns and open offers exactly as they
would stand at each step, and ids follow time.

Every decision comes from the lead's own random stream (seed, lead number, step). A lead's rows
are handed out once its story ends - no later step can touch them - with every row they refer
to.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from random import Random

from leadflow.accounts.models import Role, Side
from leadflow.demo import catalog
from leadflow.demo.company import (
    MQL_FIT,
    days,
    lognormal_minutes,
    score_at,
    score_key,
    weighted,
)
from leadflow.demo.memory import Cutoff, Ids, LeadRun, MemoryServices
from leadflow.demo.people import Newcomer, reseed
from leadflow.demo.world import DemoWorld
from leadflow.leads.models import (
    Account,
    ActivityKind,
    OpportunityStage,
    ReasonKind,
    Stage,
    StageChange,
)
from leadflow.leads.routing import REP_ROLE

SWEEP_SECONDS = 300  # the SLA sweep runs every five minutes
SCORING_MINUTES = 15  # the scoring job runs every quarter hour
SITE = "https://leadflow.example.com"


class Simulation:
    """Everything the journeys share: the world, the services, the id counters."""

    def __init__(
        self,
        world: DemoWorld,
        *,
        seed: int,
        ids: Ids,
        history_row: Callable[[StageChange], list],
        when: Callable[[datetime], str],
        record: bool = False,
    ) -> None:
        """`history_row` and `when` turn history rows and activity times into column values."""
        self.world, self.seed, self.ids = world, seed, ids
        self.history_row, self.when = history_row, when
        self.trace: list | None = [] if record else None
        self.services = MemoryServices(
            teams=world.all_teams,
            users=world.all_users,
            rules=world.rules,
            policies=world.policies,
            days_off=world.days_off,
            definition=world.definition,
            pending=dict(world.pending),
        )
        self.users = {u.pk: u for u in world.all_users}
        self.new_accounts: list[tuple[int, str, str]] = []  # rows not handed out yet
        # Counts of leads per (source, campaign, month), for the spend rows.
        self.volume: dict[tuple[int, int, int], int] = {}
        users = world.users
        self.marketers = (
            [users["marketing"]] * 7 + [users["marketing2"]] * 4 + [users["marketing-manager"]]
        )
        self.arbiter = users["arbiter"]
        self.cal = {side: self.services.calendars[team.pk] for side, team in world.teams.items()}
        # Routing rules may look at the source or campaign: then leads carry those objects.
        self.lead_objects = bool(self.services.rules)
        self.rng = Random()  # shared by the journeys, see Journey.reseed
        self.in_flight_peak = 0

    def runs(self, arrivals: Iterable[list[Newcomer]]) -> Iterator[LeadRun]:
        """Every lead's finished story, in the order the stories end.

        `arrivals`: the newcomers in lead order (hence in order of arrival), in batches.
        """
        heap: list = []
        order = count()
        batches = iter(arrivals)
        waiting: Iterator[Newcomer] = iter(())

        def arrive() -> None:
            nonlocal waiting
            newcomer = next(waiting, None)
            while newcomer is None:
                batch = next(batches, None)
                if batch is None:
                    return
                waiting = iter(batch)
                newcomer = next(waiting, None)
            heapq.heappush(heap, (newcomer.created, next(order), newcomer, None))

        arrive()
        while heap:
            _, _, journey, story = heapq.heappop(heap)
            if story is None:  # a lead arrives; the next one is due no earlier
                arrive()
                journey = Journey(self, journey)
                story = journey.story()
            try:
                when = next(story)
            except StopIteration:
                yield journey.run
                continue
            heapq.heappush(heap, (when, next(order), journey, story))
            self.in_flight_peak = max(self.in_flight_peak, len(heap))

    def reason(self, kind: str, code: str):
        return self.world.reasons[(kind, code)]

    def reps(self, team_id: int, side: str) -> list:
        """The active reps of a team: who can decide its offers."""
        return self.services.reps.get((team_id, REP_ROLE[side]), [])

    def manager(self, team_id: int):
        found = self.services.reps.get((team_id, Role.MANAGER))
        return found[0] if found else None


class Journey:
    """What happens to a lead after it arrives, decided step by step from its random stream."""

    # Tens of thousands of journeys wait at once: keep each small.
    __slots__ = (
        "sim",
        "i",
        "rng",
        "resumes",
        "run",
        "cutoff",
        "events",
        "overrules",
        "offers_made",
        "owner",
        "profile",
        "campaign_id",
        "account_id",
        "level",
        "junk",
        "intent",
        "fit",
        "country",
        "employees",
        "name",
        "company",
        "title",
        "has_phone",
        "nurtured_at",
        "newcomer",
    )

    def __init__(self, sim: Simulation, newcomer: Newcomer) -> None:
        self.sim, self.i, self.newcomer = sim, newcomer.i, newcomer
        # One generator for all journeys, reseeded from (seed, lead, step) whenever a journey
        # runs: only one runs at a time, and a waiting journey holds no 2.5 kB of state.
        self.rng = sim.rng
        self.resumes = newcomer.resumes  # the steps `people` drew already
        self.run = LeadRun(newcomer.i, sim.services, sim.ids, sim.history_row, sim.when, sim.trace)
        self.cutoff = sim.world.cutoff
        self.profile = catalog.SOURCES[newcomer.source_index]
        self.campaign_id = newcomer.campaign_id
        traits = newcomer.traits
        self.level, self.junk, self.intent, self.fit = (
            traits.level,
            traits.junk,
            traits.intent,
            traits.fit,
        )
        self.country, self.employees, self.name = traits.country, traits.employees, traits.name
        self.company, self.title, self.has_phone = traits.company, traits.title, traits.has_phone
        self.events: list[tuple[str, float]] = newcomer.events  # (rule, POSIX time): scored
        self.overrules = 0
        self.offers_made = 0
        self.owner = None

    def reseed(self) -> None:
        reseed(self.rng, self.sim.seed, self.i, self.resumes)
        self.resumes += 1

    # -- stepping in time ------------------------------------------------------------------
    def do(self, name: str, now: datetime, **inputs):
        """Wait until `now`, then take transition `name`."""
        if now > self.cutoff:
            raise Cutoff
        yield now
        self.reseed()
        return self.run.transition(name, now=now, **inputs)

    def advance(self, to: str, now: datetime, actor):
        if now > self.cutoff:
            raise Cutoff
        yield now
        self.reseed()
        self.run.advance(to, actor=actor, now=now)

    def bt(self, side: str, start: datetime, delta: timedelta) -> datetime:
        """`delta` of the side's business time after `start`."""
        return self.sim.cal[side].add(start, delta)

    def act(self, kind, at, *, url="", actor=None, detail="", system="leadflow") -> None:
        """An activity after arrival (nurture e-mails, a recycled lead's visits, sales)."""
        if at > self.cutoff:
            return
        self.run.activity(kind, at, url=url, system=system, actor=actor, detail=detail)
        key = score_key(kind, url)
        if key is not None:
            self.events.append((key, at.timestamp()))

    def sales_act(self, kind, at, actor, detail) -> None:
        self.act(kind, at, actor=actor, detail=detail)

    # -- the story -------------------------------------------------------------------------
    def story(self):
        sim, newcomer = self.sim, self.newcomer
        self.newcomer = None  # what the journey needs is copied out; let the rest go
        sim.new_accounts.extend(newcomer.accounts)
        key = (newcomer.source_index, newcomer.campaign_id, newcomer.month)
        sim.volume[key] = sim.volume.get(key, 0) + 1
        fields = dict(newcomer.fields)
        self.account_id = fields["account_id"]
        lead = self.run.create(
            actor=sim.users.get(newcomer.creator_id),
            source_id=sim.world.sources[newcomer.source_index].pk,
            now=newcomer.created,
            **fields,
        )
        if sim.lead_objects:
            lead.source = sim.world.sources[newcomer.source_index]
            lead.campaign = sim.world.campaigns[newcomer.campaign_id]
        if newcomer.priority != lead.priority:
            self.run.set_fields(priority=newcomer.priority)
        self.run.activities.extend(newcomer.activities)
        try:
            where = yield from self.marketing(newcomer.first)
            while where is not None:
                where = yield from where()
        except Cutoff:
            pass
        self.run.set_fields(
            fit_score=float(self.fit),
            engagement_score=score_at(self.events, self.cutoff.timestamp()),
        )

    # -- marketing owns the top of the funnel ------------------------------------------------
    def marketing(self, first: tuple | None):
        """Marketing's first call on the raw lead, drawn by `people`."""
        if first is None:
            return None  # left at inquiry: the raw leads nobody works
        name, at, actor_id, reason, comment = first
        yield from self.do(
            name,
            at,
            actor=self.sim.users.get(actor_id),
            reason=self.sim.reason(*reason) if reason else None,
            comment=comment,
        )
        if name == "qualify":
            return self.mql
        if name == "nurture":
            self.nurtured_at = at
            return self.nurture
        return None

    def nurture(self):
        rng, sim = self.rng, self.sim
        start = self.nurtured_at
        for n in range(rng.randint(1, 4)):
            at = start + timedelta(days=21 * (n + 1)) + days(rng, 0, 3)
            self.act(
                ActivityKind.EMAIL_SENT,
                at,
                detail=f"Nurture track, e-mail {n + 1}",
                system="marketing automation",
            )
            if rng.random() < 0.4:
                self.act(
                    ActivityKind.EMAIL_OPEN,
                    at + days(rng, 0.01, 2),
                    system="marketing automation",
                )
        recycle = {"none": 0.02, "low": 0.12, "active": 0.35}[self.intent]
        if self.offers_made < 4 and rng.random() < recycle:
            at = start + days(rng, 30, 200)
            self.act(
                ActivityKind.WEB_VISIT,
                at - timedelta(hours=30),
                url=SITE + "/pricing",
                system="website",
            )
            self.act(
                ActivityKind.FORM_FILL,
                at - timedelta(hours=2),
                url=SITE + "/demo",
                system="website",
            )
            self.act(
                ActivityKind.WEBINAR_ATTENDED,
                at - timedelta(hours=1),
                system="webinar platform",
            )
            self.intent = "active" if rng.random() < 0.5 else "low"
            if self.fit >= MQL_FIT:
                yield from self.do("recycle", at, actor=None)
            else:
                at = self.bt(Side.MARKETING, at, lognormal_minutes(rng, 40, 0.8))
                yield from self.do("recycle", at, actor=rng.choice(sim.marketers))
            return self.mql
        if self.junk and rng.random() < 0.3:
            at = self.bt(Side.MARKETING, start + days(rng, 30, 90), lognormal_minutes(rng, 10, 0.8))
            code = "spam" if self.junk == "fake" else "no-need"
            yield from self.do(
                "disqualify",
                at,
                actor=rng.choice(sim.marketers),
                reason=sim.reason(ReasonKind.DISQUALIFY, code),
                comment=catalog.DISQUALIFY_COMMENTS[code],
            )
        return None

    # -- inside sales: accept or reject, then work the lead ----------------------------------
    def mql(self):
        rng, run, sim, p = self.rng, self.run, self.sim, self.profile
        self.offers_made += 1
        offer = run.offers[-1]
        reps = sim.reps(offer.offered_to_team_id, Side.INSIDE_SALES)
        decider = offer.offered_to
        t = offer.offered_at
        manager = sim.manager(offer.offered_to_team_id)
        if rng.random() < 0.03 and reps and manager:
            # The manager routes it to a named rep (a strategic account, a language).
            chosen = rng.choice(reps)
            t = self.bt(Side.INSIDE_SALES, t, lognormal_minutes(rng, 20, 0.5))
            if t < offer.accept_by and chosen is not decider:
                decider = chosen
                yield from self.do("reassign", t, actor=manager, assignee=decider)
        if decider is None and reps:
            decider = rng.choice(reps)  # someone takes it from the queue
        decide_at = self.bt(Side.INSIDE_SALES, t, lognormal_minutes(rng, 70, 1.1))
        neglect = p.neglect if self.overrules == 0 else 0.1
        if decider is None or rng.random() < neglect or decide_at >= offer.accept_by:
            at = offer.accept_by + timedelta(seconds=rng.randint(1, SWEEP_SECONDS))
            yield from self.do("ignore", at, actor=None)
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
            yield from self.do(
                "reject",
                decide_at,
                actor=decider,
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
        yield from self.do("accept", decide_at, actor=decider)
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
        return weighted(
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
        t = self.bt(Side.INSIDE_SALES, accepted, lognormal_minutes(rng, 45, 1.0))
        self.sales_act(ActivityKind.CALL, t, self.owner, "First call")
        team_id = run.lead.owner_team_id
        others = [r for r in sim.reps(team_id, Side.INSIDE_SALES) if r.pk != self.owner.pk]
        manager = sim.manager(team_id)
        if rng.random() < 0.02 and others and manager:  # the rep is away: the manager moves it
            other = rng.choice(others)
            t = self.bt(Side.INSIDE_SALES, t + days(rng, 1, 5), lognormal_minutes(rng, 15, 0.8))
            yield from self.do("reassign", t, actor=manager, assignee=other)
            self.owner = other
        for _ in range(rng.randint(1, 4)):
            t = self.bt(Side.INSIDE_SALES, t + days(rng, 0.5, 5), lognormal_minutes(rng, 30, 0.8))
            meeting = rng.random() < 0.25
            self.sales_act(
                ActivityKind.MEETING if meeting else ActivityKind.CALL,
                t,
                self.owner,
                "Qualification meeting" if meeting else "Discovery call",
            )
        t = self.bt(Side.INSIDE_SALES, t + days(rng, 0.5, 4), lognormal_minutes(rng, 20, 0.8))
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
            return (yield from self.convert(t))
        x -= odds[0]
        if x < odds[1]:
            code = rng.choice(("not-ready", "no-budget-yet"))
            yield from self.do(
                "nurture",
                t,
                actor=self.owner,
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
            yield from self.do(
                "return",
                t,
                actor=self.owner,
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
            }[self.junk] or weighted(rng, [("no-need", 5), ("no-authority", 4), ("duplicate", 1)])
            yield from self.do(
                "disqualify",
                t,
                actor=self.owner,
                reason=sim.reason(ReasonKind.DISQUALIFY, code),
                comment=catalog.DISQUALIFY_COMMENTS[code].format(domain=run.lead.domain),
            )
        return None  # still being worked, or disqualified

    def convert(self, t: datetime):
        rng, lead = self.rng, self.run.lead
        day = (t + days(rng, 20, 120)).date().isoformat()
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
        yield from self.do("convert", t, actor=self.owner, evidence=evidence)
        return self.sql

    # -- field sales: accept the SQL, then run the opportunity --------------------------------
    def sql(self):
        rng, run, sim = self.rng, self.run, self.sim
        self.offers_made += 1
        offer = run.offers[-1]
        reps = sim.reps(offer.offered_to_team_id, Side.FIELD_SALES)
        decider = offer.offered_to
        t = offer.offered_at
        manager = sim.manager(offer.offered_to_team_id)
        if rng.random() < 0.04 and reps and manager:
            chosen = rng.choice(reps)
            t = self.bt(Side.FIELD_SALES, t, lognormal_minutes(rng, 30, 0.5))
            if t < offer.accept_by and chosen is not decider:
                decider = chosen
                yield from self.do("reassign", t, actor=manager, assignee=decider)
        if decider is None and reps:
            decider = rng.choice(reps)
        decide_at = self.bt(Side.FIELD_SALES, t, lognormal_minutes(rng, 120, 0.9))
        if decider is None or rng.random() < 0.02 or decide_at >= offer.accept_by:
            at = offer.accept_by + timedelta(seconds=rng.randint(1, SWEEP_SECONDS))
            yield from self.do("ignore", at, actor=None)
            return self.review
        reject = 0.05 if self.intent == "active" else 0.15
        if self.overrules:
            reject = 0.03
        if rng.random() < reject:
            code = weighted(
                rng,
                [
                    ("already-in-deal", 3),
                    ("below-fit", 2),
                    ("no-intent", 3),
                    ("wrong-territory", 1),
                ],
            )
            yield from self.do(
                "reject",
                decide_at,
                actor=decider,
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
        if self.account_id is not None:
            # The opportunity takes the lead's account: load it, as the ORM would lazily.
            lead = run.lead
            lead.account = Account(id=self.account_id, name=lead.company, domain=lead.domain)
        yield from self.do("accept", decide_at, actor=decider, amount=amount)
        self.owner = decider
        return self.opportunity

    def opportunity(self):
        rng, run, sim = self.rng, self.run, self.sim
        ae = self.owner
        accepted = run.offers[-1].decided_at
        run.set_expected_close((accepted + days(rng, 45, 150)).date())
        t = self.bt(Side.FIELD_SALES, accepted, lognormal_minutes(rng, 90, 1.0))
        self.sales_act(ActivityKind.MEETING, t, ae, "Discovery meeting")
        win = {"active": 0.62, "low": 0.45, "none": 0.2}[self.intent]
        t = self.bt(Side.FIELD_SALES, t + days(rng, 5, 25), lognormal_minutes(rng, 30, 0.8))
        x = rng.random()
        back_early = 0.04 if self.intent == "active" else 0.15
        if x < back_early:
            code = rng.choice(("went-cold", "not-ready", "not-real"))
            yield from self.do(
                "return",
                t,
                actor=ae,
                reason=sim.reason(ReasonKind.RETURN, code),
                comment=catalog.RETURN_COMMENTS[code],
            )
            return self.review
        if x < back_early + 0.18:
            return (yield from self.lose(t, ("no-decision", "product-fit", "timing")))
        yield from self.advance(OpportunityStage.PROPOSAL, t, ae)
        self.sales_act(ActivityKind.MEETING, t, ae, "Proposal walk-through")
        t = self.bt(Side.FIELD_SALES, t + days(rng, 7, 30), lognormal_minutes(rng, 30, 0.8))
        if rng.random() >= 0.62:
            return (yield from self.lose(t, ("price", "competitor", "no-decision")))
        yield from self.advance(OpportunityStage.FORECAST, t, ae)
        if rng.random() < 0.1:  # the deal slips back, then firms up again
            t = self.bt(Side.FIELD_SALES, t + days(rng, 5, 15), lognormal_minutes(rng, 30, 0.8))
            yield from self.advance(OpportunityStage.PROPOSAL, t, ae)
            t = self.bt(Side.FIELD_SALES, t + days(rng, 7, 20), lognormal_minutes(rng, 30, 0.8))
            yield from self.advance(OpportunityStage.FORECAST, t, ae)
        t = self.bt(Side.FIELD_SALES, t + days(rng, 7, 25), lognormal_minutes(rng, 30, 0.8))
        if rng.random() < win:
            self.sales_act(ActivityKind.NOTE, t, ae, "Contract signed")
            yield from self.do("win", t, actor=ae)
            return None
        return (yield from self.lose(t, ("competitor", "price", "timing")))

    def lose(self, t: datetime, codes):
        code = self.rng.choice(codes)
        comment = catalog.LOSS_COMMENTS[code].format(
            competitor=self.rng.choice(catalog.COMPETITORS)
        )
        yield from self.do(
            "lose",
            t,
            actor=self.owner,
            reason=self.sim.reason(ReasonKind.LOSS, code),
            comment=comment,
        )
        return None

    # -- the arbiter decides every review ------------------------------------------------------
    def review(self):
        rng, run, sim = self.rng, self.run, self.sim
        state = run.state()
        origin, reason = state.review_from, state.review_reason
        at = self.bt(Side.ARBITER, run.lead.stage_changed_at, lognormal_minutes(rng, 240, 0.8))
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
            side = Side.FIELD_SALES if field else Side.INSIDE_SALES
            reviewed = state.reviewed_offer
            team_id = reviewed.offered_to_team_id if reviewed else sim.world.teams[side].pk
            reps = sim.reps(team_id, side)
            # Back to the rep who decided, unless the arbiter names someone else.
            assignee = rng.choice(reps) if reps and rng.random() < 0.3 else None
            why = (
                "Ignored past its deadline" if reason is None else f"'{reason.label}' does not hold"
            )
            who = f"{assignee} to follow up" if assignee else "Back to the rep"
            yield from self.do(
                "overrule",
                at,
                actor=sim.arbiter,
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
        plan = yield from self.do("uphold", at, actor=sim.arbiter, comment=comment)
        if plan.history.to_stage == Stage.NURTURE:
            self.nurtured_at = at
            return self.nurture
        return None
