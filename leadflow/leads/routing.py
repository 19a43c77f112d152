"""Where a lead goes: the team that owns it at each stage, who an offer is made to, and by
when it must be decided (DOMAIN.md "Hand-offs", "Business time").

Routing: the first active rule (by position) whose conditions match the lead names the team;
within it, round-robin among available reps — active, not out of office, under their cap of
open offers — the least recently offered first. No rule or no available rep: the team's queue.

`DatabaseServices` is the `lifecycle.Services` that actions use. The pure functions below are
shared with the demo generator's in-memory services, so both route identically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q

from leadflow.accounts.models import DayOff, Role, Side, Team, User
from leadflow.leads.business_time import BusinessCalendar, calendar_for
from leadflow.leads.models import (
    Decision,
    Lead,
    LeadDefinition,
    Priority,
    RoutingRule,
    SlaPolicy,
)

REP_ROLE = {Side.INSIDE_SALES: Role.INSIDE_SALES, Side.FIELD_SALES: Role.FIELD_SALES}

# DOMAIN.md defaults, in business hours: accept within one working day (8 h), hot leads
# within two hours; first touch within one hour of acceptance.
DEFAULT_ACCEPT_HOURS = {
    ("mql", Priority.NORMAL): Decimal(8),
    ("mql", Priority.HOT): Decimal(2),
    ("sql", Priority.NORMAL): Decimal(8),
    ("sql", Priority.HOT): Decimal(4),
}
DEFAULT_FIRST_TOUCH_HOURS = Decimal(1)


class NoTeam(Exception):
    pass


# --- pure routing rules -------------------------------------------------------------------


def lead_value(lead: Lead, name: str):
    """The value a routing condition looks at: a lead field, `source`, or `custom.<key>`."""
    if name.startswith("custom."):
        return (lead.custom or {}).get(name.removeprefix("custom."))
    if name == "source":
        return lead.source.name if lead.source_id else None
    if name == "campaign":
        return lead.campaign.name if lead.campaign_id else None
    return getattr(lead, name, None)


def condition_matches(expected, actual) -> bool:
    """A list: any of its values (case-insensitive for text); {"min", "max"}: a range;
    {"pattern": regex}: a match; anything else: equality."""
    if isinstance(expected, list):
        return any(condition_matches(e, actual) for e in expected)
    if isinstance(expected, dict):
        if "pattern" in expected:
            return actual is not None and re.search(expected["pattern"], str(actual), re.I)
        if actual is None:
            return False
        lo, hi = expected.get("min"), expected.get("max")
        return (lo is None or actual >= lo) and (hi is None or actual <= hi)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.casefold() == actual.casefold()
    return expected == actual


def rule_matches(rule: RoutingRule, lead: Lead) -> bool:
    return all(condition_matches(v, lead_value(lead, k)) for k, v in rule.conditions.items())


def first_matching_team_id(rules, side: str, lead: Lead) -> int | None:
    for rule in rules:
        if rule.active and rule.side == side and rule_matches(rule, lead):
            return rule.team_id
    return None


@dataclass
class Candidate:
    user: User
    open_offers: int


def pick_rep(candidates: list[Candidate]) -> User | None:
    """Round-robin: among available reps under their cap, the least recently offered."""
    available = [
        c
        for c in candidates
        if c.user.is_active
        and not c.user.out_of_office
        and c.open_offers < c.user.max_open_offers
    ]
    if not available:
        return None
    never = datetime.min.replace(tzinfo=None)

    def turn(c: Candidate):
        last = c.user.last_offered_at
        return (last is not None, last.replace(tzinfo=None) if last else never, c.user.pk)

    return min(available, key=turn).user


def sla_hours(policies, team_id: int, kind: str, priority: str) -> tuple[Decimal, Decimal]:
    """(accept within, first touch within) business hours for a team, kind and priority."""
    for p in policies:
        if p.team_id == team_id and p.kind == kind and p.priority == priority:
            return p.accept_within_hours, p.first_touch_within_hours
    return DEFAULT_ACCEPT_HOURS[(kind, priority)], DEFAULT_FIRST_TOUCH_HOURS


def hours(value: Decimal) -> timedelta:
    return timedelta(seconds=float(value) * 3600)


# --- the database-backed services ---------------------------------------------------------


class DatabaseServices:
    """Answers the lifecycle's questions from the database; one instance per action."""

    def __init__(self) -> None:
        self._default_team: dict[str, Team] = {}
        self._definition: tuple[LeadDefinition | None] | None = None
        self._calendars: dict[int, BusinessCalendar] = {}

    def team_for(self, side: str, lead: Lead) -> Team:
        if lead.owner_team_id and lead.owner_team.side == side:
            return lead.owner_team
        if side not in self._default_team:
            team = Team.objects.filter(side=side).order_by("id").first()
            if team is None:
                raise NoTeam(f"there is no {Side(side).label} team: create one in the admin")
            self._default_team[side] = team
        return self._default_team[side]

    def offer_target(self, side: str, lead: Lead) -> tuple[Team, User | None]:
        rules = RoutingRule.objects.filter(side=side, active=True).order_by("position", "id")
        team_id = first_matching_team_id(rules, side, lead)
        team = Team.objects.get(pk=team_id) if team_id else self._default_for_offer(side, lead)
        # Lock the team's reps so two offers made at once do not both take the same turn.
        reps = list(
            User.objects.select_for_update()
            .filter(team=team, role=REP_ROLE[side], is_active=True)
            .order_by("id")
        )
        counts = dict(
            User.objects.filter(pk__in=[r.pk for r in reps])
            .annotate(
                n=Count("handoffs_offered", filter=Q(handoffs_offered__decision=Decision.PENDING))
            )
            .values_list("pk", "n")
        )
        rep = pick_rep([Candidate(r, counts.get(r.pk, 0)) for r in reps])
        return team, rep

    def _default_for_offer(self, side: str, lead: Lead) -> Team:
        # An overruled or re-offered lead stays with the team that had it, if it is that side.
        return self.team_for(side, lead)

    def took_turn(self, rep: User, at: datetime) -> None:
        User.objects.filter(pk=rep.pk).update(last_offered_at=at)
        rep.last_offered_at = at

    def calendar(self, team: Team) -> BusinessCalendar:
        if team.pk not in self._calendars:
            days_off = frozenset(
                DayOff.objects.filter(Q(team=team) | Q(team__isnull=True)).values_list(
                    "day", flat=True
                )
            )
            self._calendars[team.pk] = calendar_for(team, days_off)
        return self._calendars[team.pk]

    def _hours(self, team: Team, kind: str, priority: str) -> tuple[Decimal, Decimal]:
        return sla_hours(SlaPolicy.objects.filter(team=team), team.pk, kind, priority)

    def accept_by(self, team: Team, offered_at: datetime, kind: str, priority: str) -> datetime:
        accept, _ = self._hours(team, kind, priority)
        return self.calendar(team).add(offered_at, hours(accept))

    def first_touch_by(self, team: Team, accepted_at: datetime, kind: str, priority: str):
        _, touch = self._hours(team, kind, priority)
        return self.calendar(team).add(accepted_at, hours(touch))

    def active_definition(self) -> LeadDefinition | None:
        if self._definition is None:
            self._definition = (LeadDefinition.active(),)
        return self._definition[0]
