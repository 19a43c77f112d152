"""The bulk path: what `leadflow.leads.actions` does, applied to rows held in memory.

`LeadRun` is one lead and every row that hangs off it. Its `transition` is
`actions.transition` without the database: load the state, `lifecycle.resolve`, `check`,
`plan`, then apply the plan to the in-memory rows. `MemoryServices` answers the lifecycle's
questions as `routing.DatabaseServices` does - same rules, same round-robin, same SLA policies
and calendars - from state loaded once and kept up to date as offers are made and decided.
The demo runs every lead's steps in time order, so that state is what the database would hold
at each step. tests/test_demo.py replays the steps through `actions` and compares the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from itertools import count

from django.db.models import Count
from django.db.models.base import ModelState

from leadflow.accounts.models import DayOff, Side, Team, User
from leadflow.leads import lifecycle
from leadflow.leads.business_time import BusinessCalendar, calendar_for
from leadflow.leads.identity import email_key
from leadflow.leads.lifecycle import Inputs, LeadState
from leadflow.leads.models import (
    SALES_ACTIVITY_KINDS,
    Decision,
    Handoff,
    Lead,
    LeadDefinition,
    Opportunity,
    RoutingRule,
    SlaPolicy,
    Stage,
    StageChange,
)
from leadflow.leads.routing import (
    REP_ROLE,
    Candidate,
    NoTeam,
    first_matching_team_id,
    hours,
    pick_rep,
    sla_hours,
)


class Cutoff(Exception):
    """The next step would happen after the demo's "now": the lead's story stops here."""


class MemoryServices:
    """`routing.DatabaseServices`, answered from memory.

    `pending` counts each rep's offers awaiting decision, as the database would at that moment;
    `LeadRun` moves the counts as offers are made, reassigned and decided, and `took_turn`
    moves the round-robin turn on the very User objects `pick_rep` looks at.
    """

    def __init__(
        self,
        *,
        teams: list[Team],
        users: list[User],
        rules: list[RoutingRule],
        policies: list[SlaPolicy],
        days_off: dict[int | None, set[date]],
        definition: LeadDefinition | None,
        pending: dict[int, int],
    ) -> None:
        self._by_id = {t.pk: t for t in teams}
        self._first: dict[str, Team] = {}
        for team in sorted(teams, key=lambda t: t.pk):
            self._first.setdefault(team.side, team)
        self.rules = sorted((r for r in rules if r.active), key=lambda r: (r.position, r.pk))
        self.reps: dict[tuple[int, str], list[User]] = {}
        for user in sorted(users, key=lambda u: u.pk):
            if user.is_active and user.team_id:
                self.reps.setdefault((user.team_id, user.role), []).append(user)
        self.policies = policies
        self.pending = pending
        company_days = days_off.get(None, set())
        self.calendars: dict[int, BusinessCalendar] = {
            t.pk: calendar_for(t, frozenset(company_days | days_off.get(t.pk, set())))
            for t in teams
        }
        self._definition = definition

    @classmethod
    def from_database(cls, definition: LeadDefinition | None = None) -> MemoryServices:
        """The services as the database stands now (the importer's start state)."""
        return cls(
            teams=list(Team.objects.all()),
            users=list(User.objects.select_related("team").order_by("id")),
            rules=list(RoutingRule.objects.filter(active=True).order_by("position", "id")),
            policies=list(SlaPolicy.objects.all()),
            days_off=days_off(),
            definition=definition if definition is not None else LeadDefinition.active(),
            pending=pending_offers(),
        )

    def team_for(self, side: str, lead: Lead) -> Team:
        if lead.owner_team_id and self._by_id[lead.owner_team_id].side == side:
            return lead.owner_team
        try:
            return self._first[side]
        except KeyError:
            raise NoTeam(f"there is no {Side(side).label} team: create one in the admin") from None

    def offer_target(self, side: str, lead: Lead) -> tuple[Team, User | None]:
        team_id = first_matching_team_id(self.rules, side, lead)
        team = self._by_id[team_id] if team_id else self.team_for(side, lead)
        reps = self.reps.get((team.pk, REP_ROLE[side]), [])
        rep = pick_rep([Candidate(r, self.pending.get(r.pk, 0)) for r in reps])
        return team, rep

    def took_turn(self, rep: User, at: datetime) -> None:
        rep.last_offered_at = at

    def accept_by(self, team: Team, offered_at: datetime, kind: str, priority: str) -> datetime:
        accept, _ = sla_hours(self.policies, team.pk, kind, priority)
        return self.calendars[team.pk].add(offered_at, hours(accept))

    def first_touch_by(self, team: Team, accepted_at: datetime, kind: str, priority: str):
        _, touch = sla_hours(self.policies, team.pk, kind, priority)
        return self.calendars[team.pk].add(accepted_at, hours(touch))

    def active_definition(self) -> LeadDefinition | None:
        return self._definition

    def offer_moved(self, before: int | None, after: int | None) -> None:
        if before is not None:
            self.pending[before] -= 1
        if after is not None:
            self.pending[after] = self.pending.get(after, 0) + 1


def days_off() -> dict[int | None, set[date]]:
    """Team id (None: everyone) -> its days off."""
    found: dict[int | None, set[date]] = {}
    for team_id, day in DayOff.objects.values_list("team_id", "day"):
        found.setdefault(team_id, set()).add(day)
    return found


def pending_offers() -> dict[int, int]:
    """Rep id -> offers awaiting their decision."""
    return dict(
        Handoff.objects.filter(decision=Decision.PENDING, offered_to__isnull=False)
        .values("offered_to")
        .annotate(n=Count("id"))
        .values_list("offered_to", "n")
    )


class Ids:
    """Primary keys handed out in memory, continuing after the rows already in the database."""

    def __init__(self, start: dict[str, int]) -> None:
        self.lead = count(start["lead"])
        self.handoff = count(start["handoff"])
        self.opportunity = count(start["opportunity"])
        self.history = count(start["history"])
        self.activity = count(start["activity"])


class Bare:
    """Build a model instance straight from its column values, as unpickling does.

    Only for rows this module creates itself (a lead at creation, the create and advance
    history rows), with foreign keys given as ids: `Model.__init__` and its descriptors would
    cost more than the rest of a lead's story. Rows the lifecycle plans are built by `plan`.
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


_LEAD = Bare(Lead)
_LEAD_RELATIONS = {f.name: f.attname for f in Lead._meta.concrete_fields if f.is_relation}
_HISTORY = Bare(StageChange)


class LeadRun:
    """One lead and its hand-offs, opportunities, history and activities, in memory.

    History rows are final the moment they are written (append-only), so they are kept as
    column tuples straight away; `trace`, when given, records every step for a replay.
    """

    __slots__ = (
        "when",
        "index",
        "lead",
        "offers",
        "opps",
        "history",
        "activities",
        "review_entry",
        "services",
        "ids",
        "history_row",
        "trace",
    )

    def __init__(
        self,
        index: int,
        services: MemoryServices,
        ids: Ids,
        history_row: Callable[[StageChange], list],
        when: Callable[[datetime], str],
        trace: list | None,
    ) -> None:
        """`history_row` and `when` give history rows' and activity times' column values."""
        self.index, self.services, self.ids = index, services, ids
        self.history_row, self.when, self.trace = history_row, when, trace
        self.lead: Lead | None = None
        self.offers: list[Handoff] = []
        self.opps: list[Opportunity] = []
        self.history: list[list] = []
        # Column values but the ids: (kind, occurred_at, url, campaign, system, actor, detail)
        self.activities: list[tuple] = []
        self.review_entry: StageChange | None = None  # the latest move to in_review

    def _record(self, *step) -> None:
        if self.trace is not None:
            self.trace.append((self.index, *step))

    # -- actions.create_lead -------------------------------------------------------------
    def create(
        self, *, actor, source_id: int, now: datetime, comment: str = "", **fields
    ) -> Lead:
        """`comment`: on the create history row (the importer notes file and line there)."""
        lead = _LEAD.make(
            id=next(self.ids.lead),
            source_id=source_id,
            created_at=now,
            updated_at=now,
            stage_changed_at=now,
            email_key=email_key(fields.get("email")),
            **fields,
        )
        team = self.services.team_for(Side.MARKETING, lead)
        owner = actor if actor is not None and actor.team_id == team.pk else None
        # lead.owner_team = team; lead.owner = owner - without the descriptors' checks.
        lead.__dict__["owner_team_id"], lead.__dict__["owner_id"] = team.pk, owner and owner.pk
        lead._state.fields_cache = {"owner_team": team, "owner": owner}
        self.lead = lead
        self.history.append(
            self.history_row(
                _HISTORY.make(
                    id=next(self.ids.history),
                    lead_id=lead.pk,
                    transition="create",
                    to_stage=Stage.INQUIRY,
                    actor_id=actor.pk if actor else None,
                    at=now,
                    comment=comment,
                    owner_id=lead.owner_id,
                    owner_team_id=lead.owner_team_id,
                )
            )
        )
        self._record("create", actor, now, source_id, fields)
        return lead

    def set_fields(self, **fields) -> None:
        """Plain lead fields outside the lifecycle (scores, priority)."""
        for name, value in fields.items():
            setattr(self.lead, name, value)
        self._record("fields", fields)

    # -- actions.load_state --------------------------------------------------------------
    def state(self) -> LeadState:
        lead = self.lead
        state = LeadState(lead=lead)
        last = self.offers[-1] if self.offers else None
        if last is not None:
            if last.decision == Decision.PENDING:
                state.pending_offer = last
            elif last.decision == Decision.ACCEPTED and last.returned_at is None:
                state.last_accepted_offer = last
        if lead.stage == Stage.SQL:
            open_opps = [o for o in self.opps if o.closed_at is None]
            state.opportunity = open_opps[-1] if open_opps else None
        if lead.stage == Stage.IN_REVIEW:
            state.reviewed_offer = last
            if self.review_entry is not None:
                state.review_from = self.review_entry.from_stage
                state.review_reason = self.review_entry.reason
        return state

    # -- actions.transition --------------------------------------------------------------
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
        if plan.new_offer and plan.new_offer.offered_to is not None:
            self.services.took_turn(plan.new_offer.offered_to, now)
        self._record(
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
        return plan

    def _apply(self, state: LeadState, plan: lifecycle.Plan) -> None:
        """actions._apply, in memory: the same objects, fields and order of new rows."""
        before = state.pending_offer
        before_rep = before.offered_to_id if before else None
        lead = self.lead
        row, cache = lead.__dict__, lead._state.fields_cache
        for name, value in plan.lead_fields.items():
            if name in _LEAD_RELATIONS:
                # setattr through the descriptor, minus its checks: the id and the cached object.
                row[_LEAD_RELATIONS[name]] = None if value is None else value.pk
                cache[name] = value
            else:
                row[name] = value
        if plan.close_offer:
            for name, value in plan.close_offer.items():
                setattr(state.pending_offer, name, value)
        if plan.mark_returned:
            for name, value in plan.mark_returned.items():
                setattr(state.last_accepted_offer, name, value)
        if plan.review_fields:
            for name, value in plan.review_fields.items():
                setattr(state.reviewed_offer, name, value)
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
        self.history.append(self.history_row(plan.history))
        if plan.history.to_stage == Stage.IN_REVIEW:
            self.review_entry = plan.history
        if plan.opportunity_history:
            row = plan.opportunity_history
            # Model.save() fills the foreign key from the opportunity saved just before.
            row.opportunity_id = row.opportunity.pk
            row.id = next(self.ids.history)
            self.history.append(self.history_row(row))
        # Keep the reps' counts of open offers what the database would now count.
        after = self.offers[-1] if self.offers else None
        if after is not None and after.decision != Decision.PENDING:
            after = None
        after_rep = after.offered_to_id if after else None
        if before is not after or before_rep != after_rep:
            self.services.offer_moved(before_rep, after_rep)

    # -- actions.move_opportunity --------------------------------------------------------
    def advance(self, to: str, *, actor, now: datetime) -> None:
        opp = self.opps[-1]
        roles = lifecycle.OPPORTUNITY_TRANSITIONS.get((opp.stage, to))
        if roles is None:
            raise lifecycle.NotAllowed(f"an opportunity cannot move from '{opp.stage}' to '{to}'")
        if not roles & lifecycle.actor_roles(actor) or actor.pk != opp.owner_id:
            raise lifecycle.Forbidden(f"{actor} does not own this opportunity")
        from_stage = opp.stage
        opp.stage, opp.version = to, opp.version + 1
        self.history.append(
            self.history_row(
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
        )
        self._record("advance", to, actor, now)

    def set_expected_close(self, day: date) -> None:
        self.opps[-1].expected_close = day
        self._record("expected_close", day)

    # -- actions.log_activity ------------------------------------------------------------
    def activity(
        self,
        kind: str,
        at: datetime,
        *,
        url="",
        campaign_id=None,
        system="leadflow",
        actor=None,
        detail="",
    ) -> None:
        kind = kind if type(kind) is str else kind.value
        self.activities.append(
            (kind, self.when(at), url, campaign_id, system, actor.pk if actor else None, detail)
        )
        if kind in SALES_ACTIVITY_KINDS and actor is not None:
            # A sales activity after acceptance is the hand-off's first touch.
            for offer in self.offers:
                if (
                    offer.decision == Decision.ACCEPTED
                    and offer.first_touch_at is None
                    and offer.decided_at <= at
                    and offer.returned_at is None
                ):
                    offer.first_touch_at = at
            self._record("activity", kind, at, actor, detail)
