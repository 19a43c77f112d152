"""Who the demo's leads are and what they do before anyone in sales sees them.

`People.newcomer(i)` draws lead number i: when it arrives, from which source and campaign, the
person and company, the response and the activities that follow, and marketing's first call
on it (qualify, nurture, disqualify, or nothing). None of this depends on what other leads do,
so it runs ahead of the time-ordered simulation, in its own process when there are many leads,
and hands each lead over as a plain record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import count
from random import Random
from typing import NamedTuple

from leadflow.accounts.models import Side
from leadflow.demo import catalog
from leadflow.demo.company import (
    BUYER_LEVEL,
    ENGAGEMENT,
    MQL_ENGAGEMENT,
    MQL_FIT,
    Arrivals,
    Companies,
    Picker,
    ascii_slug,
    days,
    fit_score,
    lognormal_minutes,
    score_at,
    score_key,
    undecayed,
    weighted,
)
from leadflow.demo.world import DemoWorld, demo_external_id
from leadflow.leads.business_time import calendar_for
from leadflow.leads.models import ActivityKind, Priority, ReasonKind

SCORING_MINUTES = 15  # the scoring job runs every quarter hour
SITE = "https://leadflow.example.com"


class Traits(NamedTuple):
    """What the rest of the lead's story depends on."""

    level: str
    junk: str | None  # student, free_mail, competitor, fake
    intent: str  # none, low, active
    fit: int
    country: str
    employees: int
    name: str
    company: str
    title: str
    has_phone: bool


class Newcomer(NamedTuple):
    """Lead number i, up to marketing's first decision. Plain data: cheap to pickle."""

    i: int
    created: datetime
    month: int
    source_index: int
    campaign_id: int
    creator_id: int | None  # the marketer who entered it; None: an integration
    fields: dict  # for actions.create_lead, with campaign_id and account_id
    priority: str
    accounts: list[tuple[int, str, str]]  # account rows this lead is the first to use
    traits: Traits
    activities: list[tuple]  # rows without id and lead: (kind, at, url, campaign, system...)
    events: list[tuple[str, float]]  # (engagement rule, POSIX time) for the score
    # marketing's first step: (transition, at, actor id or None, disqualify reason code, comment)
    first: tuple | None
    resumes: int  # random stream steps used, so the simulation continues the stream


def reseed(rng: Random, seed: int, i: int, step: int) -> None:
    """Lead i's random stream at `step`: the same numbers whichever process draws them."""
    rng.seed((seed * 1_000_003 + i) * 1_000_033 + step)


class People:
    def __init__(
        self,
        world: DemoWorld,
        *,
        seed: int,
        total: int,
        first_account_id: int,
        when: Callable[[datetime], str],
    ) -> None:
        """`when` formats an activity's time for the database (RowShape.datetime)."""
        self.world, self.seed, self.total, self.when = world, seed, total, when
        self.arrivals = Arrivals(total, world.months, world.zone, world.cutoff)
        self.companies = Companies(seed, max(60, total // 8))
        self.account_ids: dict[int, int] = {}  # company number -> account id, in first use
        self.next_account = count(first_account_id)
        users = world.users
        self.marketers = (
            [users["marketing"].pk] * 7
            + [users["marketing2"].pk] * 4
            + [users["marketing-manager"].pk]
        )
        self.marketing_calendar = calendar_for(
            world.teams[Side.MARKETING],
            frozenset(
                world.days_off.get(None, set())
                | world.days_off.get(world.teams[Side.MARKETING].pk, set())
            ),
        )
        self.source_pick = Picker((i, p.share) for i, p in enumerate(catalog.SOURCES))
        self.slot_pick = [
            [Picker((s, s.weight) for s in month) for month in per_source]
            for per_source in world.slots
        ]
        self.level_pick = [Picker(p.levels.items()) for p in catalog.SOURCES]
        self.intent_pick = [
            Picker(zip(("none", "low", "active"), p.intent, strict=True)) for p in catalog.SOURCES
        ]
        self.rng = Random()
        self.cutoff = world.cutoff

    def stream(self, batch: int = 1) -> Iterator[list[Newcomer]]:
        """Every newcomer, in lead order, `batch` at a time."""
        done: list[Newcomer] = []
        for i in range(self.total):
            done.append(self.newcomer(i))
            if len(done) >= batch:
                yield done
                done = []
        if done:
            yield done

    def newcomer(self, i: int) -> Newcomer:
        return _Draft(self, i).newcomer()


class _Draft:
    """Lead i being drawn."""

    def __init__(self, people: People, i: int) -> None:
        self.people, self.i = people, i
        self.rng = people.rng
        reseed(self.rng, people.seed, i, 0)
        self.activities: list[tuple] = []
        self.events: list[tuple[str, float, datetime]] = []
        self.accounts: list[tuple[int, str, str]] = []

    def bt(self, start: datetime, delta: timedelta) -> datetime:
        """`delta` of marketing's business time after `start`."""
        return self.people.marketing_calendar.add(start, delta)

    def act(self, kind, at, *, url="", detail="", system=None, campaign=True) -> None:
        if at > self.people.cutoff:
            return
        self.activities.append(
            (
                kind if type(kind) is str else kind.value,
                self.people.when(at),
                url,
                self.campaign_id if campaign else None,
                system or self.profile.source_system,
                None,
                detail,
            )
        )
        key = score_key(kind, url)
        if key is not None:
            self.events.append((key, at.timestamp(), at))

    def newcomer(self) -> Newcomer:
        people, rng = self.people, self.rng
        created, month = people.arrivals.at(self.i, rng.random())
        source_index = people.source_pick(rng)
        self.profile = catalog.SOURCES[source_index]
        slot = people.slot_pick[source_index][month](rng)
        self.campaign_id, self.event_at = slot.campaign_id, slot.event_at
        creator, fields, priority = self.person(source_index)
        self.first_response(created)
        first = self.marketing(created)
        return Newcomer(
            self.i,
            created,
            month,
            source_index,
            self.campaign_id,
            creator,
            fields,
            priority,
            self.accounts,
            self.traits,
            self.activities,
            [(key, ts) for key, ts, _ in self.events],
            first,
            1,
        )

    def account_id(self, k: int) -> int:
        people = self.people
        found = people.account_ids.get(k)
        if found is None:
            name, domain, *_ = people.companies.get(k)
            found = people.account_ids[k] = next(people.next_account)
            self.accounts.append((found, name, domain))
        return found

    def person(self, source_index: int):
        rng, p, people = self.rng, self.profile, self.people
        companies = people.companies
        intent = people.intent_pick[source_index](rng)
        k = int(companies.size * rng.random() ** 1.7)
        if intent == "active" and companies.get(k)[4] < 50:
            k = int(companies.size * rng.random() ** 1.7)  # buyers skew to bigger firms
        company, domain, country, industry, employees, phone_prefix = companies.get(k)
        company_no: int | None = k
        level = people.level_pick[source_index](rng)
        if intent == "active" and rng.random() < 0.6:
            level = BUYER_LEVEL(rng)  # people with a project are more often its owners
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        junk = None
        if level == "student":
            junk = "student"
        elif rng.random() < p.junk:
            junk = weighted(rng, [("free_mail", 5), ("competitor", 1), ("fake", 2), ("student", 1)])
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
            domain, company_no = email_domain, None
        elif junk == "fake":
            first, last = rng.choice((("Test", "Test"), ("Asdf", "Qwerty"), ("Mickey", "Mouse")))
        pattern = rng.random()
        fa, la = ascii_slug(first), ascii_slug(last)
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
        self.email_domain = email_domain
        title = rng.choice(catalog.TITLES[level])
        fit = fit_score(level, employees, industry, country, junk == "free_mail")
        self.traits = Traits(
            level,
            junk,
            intent,
            fit,
            country,
            employees,
            f"{first} {last}",
            company,
            title,
            bool(phone),
        )
        creator = rng.choice(people.marketers) if rng.random() < p.created_by_marketing else None
        fields = {
            "first_name": first,
            "last_name": last,
            "title": title,
            "email": f"{local}@{email_domain}",
            "phone": phone,
            "company": company,
            "domain": domain,
            "country": country,
            "industry": industry,
            "employee_count": employees,
            "external_id": demo_external_id(self.i),
            "campaign_id": self.campaign_id,
            "account_id": None if company_no is None else self.account_id(company_no),
        }
        # Asked for a demo: call within hours.
        hot = p.first_touch == "form_fill" and intent == "active"
        return creator, fields, Priority.HOT.value if hot else Priority.NORMAL.value

    def first_response(self, t0: datetime) -> None:
        """The response that made the raw lead, and what the lead does next."""
        rng, p, intent = self.rng, self.profile, self.traits.intent
        kind = p.first_touch
        if kind == "content_download":
            asset = rng.choice(catalog.ASSETS)
            self.act(
                ActivityKind.CONTENT_DOWNLOAD,
                t0,
                detail=asset,
                url="https://syndication.example.net/asset/" + ascii_slug(asset)[:40],
            )
        elif kind == "webinar_registered":
            self.act(ActivityKind.WEBINAR_REGISTERED, t0)
            attend = {"none": 0.35, "low": 0.55, "active": 0.8}[intent]
            if rng.random() < attend:
                live = self.event_at if self.event_at and self.event_at > t0 else None
                at = live or t0 + days(rng, 0.05, 3)
                self.act(ActivityKind.WEBINAR_ATTENDED, at, detail="live" if live else "on demand")
        elif kind == "form_fill":
            for n in range(rng.randint(1, 3)):
                self.act(
                    ActivityKind.WEB_VISIT,
                    t0 - timedelta(minutes=5 * (n + 1)),
                    url=SITE + rng.choice(catalog.WEB_PAGES),
                )
            self.act(ActivityKind.FORM_FILL, t0, url=SITE + "/contact")
        elif kind == "email_click":
            self.act(ActivityKind.EMAIL_CLICK, t0, detail="Outbound sequence, step 2")
            call = self.bt(t0, lognormal_minutes(rng, 600, 0.6))
            # The agency's call: no rep's first touch (no actor), and calls do not score.
            self.act(ActivityKind.CALL, call, detail="Agency qualification call")
            self.agency_call = call
            if intent == "active":
                meeting = self.bt(call, lognormal_minutes(rng, 900, 0.5))
                self.act(ActivityKind.MEETING, meeting, detail="Intro meeting set by the agency")
        self.engage(t0, intent)

    def engage(self, t0: datetime, intent: str) -> None:
        """What the lead does after responding: more, and more telling, the closer to buying."""
        rng = self.rng
        n, span = {
            "none": (rng.choice((0, 0, 1, 1, 2)), 60),
            "low": (rng.randint(2, 5), 90),
            "active": (rng.randint(4, 10), 25),
        }[intent]
        times = [t0 + days(rng, 0.02, span) for _ in range(n)]
        kinds = [ENGAGEMENT[intent](rng) for _ in range(n)]
        if intent == "low" and rng.random() < 0.25:
            # Some lukewarm leads heat up: a few telling visits in a couple of days.
            base = t0 + days(rng, 3, 60)
            for kind in ("pricing_page_visit", "content_download", "form_fill"):
                times.append(base)
                kinds.append(kind)
                base += days(rng, 0.02, 1.5)
        for at, key in sorted(zip(times, kinds, strict=True)):
            if key == "web_visit":
                self.act(ActivityKind.WEB_VISIT, at, url=SITE + rng.choice(catalog.WEB_PAGES))
            elif key == "pricing_page_visit":
                self.act(ActivityKind.WEB_VISIT, at, url=SITE + "/pricing")
            elif key == "content_download":
                asset = rng.choice(catalog.ASSETS)
                self.act(
                    ActivityKind.CONTENT_DOWNLOAD,
                    at,
                    detail=asset,
                    url=f"{SITE}/resources/{ascii_slug(asset)[:40]}",
                )
            elif key == "form_fill":
                self.act(ActivityKind.FORM_FILL, at, url=SITE + "/demo")
            else:  # e-mail opens and clicks
                self.act(key, at)

    def qualifies_at(self, after: datetime) -> datetime | None:
        """When the scoring job first sees both MQL thresholds met, after `after`."""
        if self.traits.fit < MQL_FIT or undecayed(self.events) < MQL_ENGAGEMENT:
            return None  # most raw leads: no need to score each event
        for _, ts, at in sorted(self.events, key=lambda e: e[1]):
            if at >= after and score_at(self.events, ts) >= MQL_ENGAGEMENT:
                # The scoring job's next run, which takes a moment per lead.
                minutes = SCORING_MINUTES - at.minute % SCORING_MINUTES
                seconds = self.rng.randint(5, 240)
                return at.replace(second=0) + timedelta(minutes=minutes, seconds=seconds)
        return None

    def marketing(self, t0: datetime) -> tuple | None:
        """Marketing's first call on the raw lead: (transition, at, actor, reason, comment)."""
        rng, p, traits, people = self.rng, self.profile, self.traits, self.people
        if (
            p.manual_qualify
            and traits.intent != "none"
            and traits.fit >= 30
            and (rng.random() < p.manual_qualify)
        ):
            at = self.bt(self.agency_call, lognormal_minutes(rng, 240, 0.5))
            return ("qualify", at, rng.choice(people.marketers), None, "")
        at = self.qualifies_at(t0)
        if at is not None:
            return ("qualify", at, None, None, "")
        if traits.junk and rng.random() < 0.7:
            code = {
                "student": "student",
                "competitor": "competitor",
                "fake": "spam",
                "free_mail": rng.choice(("spam", "duplicate")),
            }[traits.junk]
            at = self.bt(t0, days(rng, 0.1, 6))
            comment = catalog.DISQUALIFY_COMMENTS[code].format(domain=self.email_domain)
            return (
                "disqualify",
                at,
                rng.choice(people.marketers),
                (ReasonKind.DISQUALIFY.value, code),
                comment,
            )
        if rng.random() < 0.5:
            last = max((at for _, _, at in self.events), default=t0)
            at = self.bt(last + days(rng, 20, 45), lognormal_minutes(rng, 30, 0.8))
            return ("nurture", at, rng.choice(people.marketers), None, "")
        return None  # left at inquiry: the raw leads nobody works
