"""The lead lifecycle: one declared table of every allowed transition, and its enforcement.

Each row says from which stage to which stage, who may do it, what it requires and what it
does. `check` refuses anything else with an error that says why; `plan` computes exactly which
rows change. `leadflow.leads.actions` locks, checks, plans and persists; the demo generator's
bulk path runs the same `check` and `plan` on in-memory state. Nothing else changes a stage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from leadflow.accounts.models import Role, Side, Team
from leadflow.leads.models import (
    FIRST_ENTERED,
    Decision,
    Handoff,
    HandoffKind,
    Lead,
    LeadDefinition,
    Opportunity,
    OpportunityStage,
    ReasonCode,
    ReasonKind,
    ReviewOutcome,
    Stage,
    StageChange,
)

if TYPE_CHECKING:
    from leadflow.accounts.models import User

SYSTEM = "system"  # leadflow itself: scoring, the SLA sweep


class Need(enum.Enum):
    """What a transition requires before it may happen."""

    REASON = "a reason code"
    COMMENT = "a comment"
    SQL_EVIDENCE = "qualification evidence: decision maker, need and compelling event"
    PENDING_OFFER = "an open hand-off awaiting decision"
    OVERDUE_OFFER = "an open hand-off past its accept-by deadline"
    ACCEPTED_OFFER = "an accepted hand-off"
    OPEN_OPPORTUNITY = "an open opportunity"
    EARLY_OPPORTUNITY = "an opportunity still in discovery"
    ASSIGNEE = "an assignee in the lead's team"
    REVIEW_OF_INSIDE_SALES = "a review of a lead inside sales rejected, returned or ignored"
    REVIEW_OF_FIELD_SALES = "a review of a lead field sales rejected, returned or ignored"
    REVIEW_REASON_DISQUALIFIES = "a review whose reason disqualifies"
    REVIEW_REASON_KEEPS = "a review whose reason does not disqualify"


class HandoffEffect(enum.Enum):
    NONE = "none"
    OFFER_TO_INSIDE_SALES = "offer to inside sales"
    OFFER_TO_FIELD_SALES = "offer to field sales"
    ACCEPT = "accept the open offer"
    REJECT = "reject the open offer"
    IGNORE = "mark the open offer ignored"
    RETURN = "mark the accepted offer returned"
    REOFFER = "re-offer the open offer to the assignee"


class OwnerEffect(enum.Enum):
    KEEP = "keep"
    OFFERED_TO = "whoever it is offered to"
    ACTOR = "the person acting"
    ARBITER = "the arbiter's queue"
    MARKETING = "marketing's queue"
    ASSIGNEE = "the assignee"


class OpportunityEffect(enum.Enum):
    NONE = "none"
    OPEN = "open an opportunity owned by the actor"
    WIN = "close it won"
    LOSE = "close it lost"


@dataclass(frozen=True)
class Transition:
    name: str
    source: Stage
    target: Stage
    roles: frozenset[str]
    label: str
    needs: tuple[Need, ...] = ()
    reason_kind: ReasonKind | None = None
    handoff: HandoffEffect = HandoffEffect.NONE
    owner: OwnerEffect = OwnerEffect.KEEP
    opportunity: OpportunityEffect = OpportunityEffect.NONE
    records_definition: bool = False
    review: ReviewOutcome | None = None  # the arbiter's verdict, kept on the reviewed hand-off


def _t(name, source, target, roles, label, **kw) -> Transition:
    return Transition(name, source, target, frozenset(roles), label, **kw)


MKT, SDR, AE, ARB = Role.MARKETING, Role.INSIDE_SALES, Role.FIELD_SALES, Role.ARBITER
S = Stage
H, OWN, OP = HandoffEffect, OwnerEffect, OpportunityEffect
REJECT_NEEDS = (Need.PENDING_OFFER, Need.REASON, Need.COMMENT)
REASONED = (Need.REASON, Need.COMMENT)

TRANSITIONS: tuple[Transition, ...] = (
    # Marketing qualifies (by hand or by the score) and hands over to inside sales.
    _t("qualify", S.INQUIRY, S.MQL, {MKT, SYSTEM}, "Qualify as MQL",
       handoff=H.OFFER_TO_INSIDE_SALES, owner=OWN.OFFERED_TO, records_definition=True),
    _t("recycle", S.NURTURE, S.MQL, {MKT, SYSTEM}, "Recycle to sales",
       handoff=H.OFFER_TO_INSIDE_SALES, owner=OWN.OFFERED_TO, records_definition=True),
    _t("nurture", S.INQUIRY, S.NURTURE, {MKT}, "Nurture", owner=OWN.MARKETING),
    _t("disqualify", S.INQUIRY, S.DISQUALIFIED, {MKT}, "Disqualify",
       needs=REASONED, reason_kind=ReasonKind.DISQUALIFY),
    _t("disqualify", S.NURTURE, S.DISQUALIFIED, {MKT}, "Disqualify",
       needs=REASONED, reason_kind=ReasonKind.DISQUALIFY),
    # Inside sales decides on the offer before contact, then works the lead.
    _t("accept", S.MQL, S.SAL, {SDR}, "Accept",
       needs=(Need.PENDING_OFFER,), handoff=H.ACCEPT, owner=OWN.ACTOR),
    _t("reject", S.MQL, S.IN_REVIEW, {SDR}, "Reject",
       needs=REJECT_NEEDS, reason_kind=ReasonKind.REJECT, handoff=H.REJECT, owner=OWN.ARBITER),
    _t("ignore", S.MQL, S.IN_REVIEW, {SYSTEM}, "Escalate ignored offer",
       needs=(Need.OVERDUE_OFFER,), handoff=H.IGNORE, owner=OWN.ARBITER),
    _t("return", S.SAL, S.IN_REVIEW, {SDR}, "Return",
       needs=(Need.ACCEPTED_OFFER, *REASONED), reason_kind=ReasonKind.RETURN,
       handoff=H.RETURN, owner=OWN.ARBITER),
    _t("nurture", S.SAL, S.NURTURE, {SDR}, "Not ready: nurture",
       needs=REASONED, reason_kind=ReasonKind.NURTURE, owner=OWN.MARKETING),
    _t("disqualify", S.SAL, S.DISQUALIFIED, {SDR}, "Disqualify",
       needs=REASONED, reason_kind=ReasonKind.DISQUALIFY),
    _t("convert", S.SAL, S.SQL, {SDR}, "Qualify as SQL",
       needs=(Need.SQL_EVIDENCE,), handoff=H.OFFER_TO_FIELD_SALES, owner=OWN.OFFERED_TO,
       records_definition=True),
    # Field sales decides on the SQL, then runs the opportunity.
    _t("accept", S.SQL, S.SQL, {AE}, "Accept",
       needs=(Need.PENDING_OFFER,), handoff=H.ACCEPT, owner=OWN.ACTOR, opportunity=OP.OPEN),
    _t("reject", S.SQL, S.IN_REVIEW, {AE}, "Reject",
       needs=REJECT_NEEDS, reason_kind=ReasonKind.REJECT, handoff=H.REJECT, owner=OWN.ARBITER),
    _t("ignore", S.SQL, S.IN_REVIEW, {SYSTEM}, "Escalate ignored offer",
       needs=(Need.OVERDUE_OFFER,), handoff=H.IGNORE, owner=OWN.ARBITER),
    _t("return", S.SQL, S.IN_REVIEW, {AE}, "Return",
       needs=(Need.ACCEPTED_OFFER, Need.EARLY_OPPORTUNITY, *REASONED),
       reason_kind=ReasonKind.RETURN, handoff=H.RETURN, owner=OWN.ARBITER, opportunity=OP.LOSE),
    _t("win", S.SQL, S.WON, {AE}, "Close won",
       needs=(Need.OPEN_OPPORTUNITY,), opportunity=OP.WIN),
    _t("lose", S.SQL, S.LOST, {AE}, "Close lost",
       needs=(Need.OPEN_OPPORTUNITY, Need.REASON), reason_kind=ReasonKind.LOSS,
       opportunity=OP.LOSE),
    # The arbiter decides every review.
    # An overrule goes back to the rep who decided (or an assignee the arbiter names).
    _t("uphold", S.IN_REVIEW, S.NURTURE, {ARB}, "Uphold: to nurture",
       needs=(Need.COMMENT, Need.REVIEW_REASON_KEEPS), owner=OWN.MARKETING,
       review=ReviewOutcome.UPHELD),
    _t("uphold", S.IN_REVIEW, S.DISQUALIFIED, {ARB}, "Uphold: disqualify",
       needs=(Need.COMMENT, Need.REVIEW_REASON_DISQUALIFIES), review=ReviewOutcome.UPHELD),
    _t("overrule", S.IN_REVIEW, S.MQL, {ARB}, "Overrule: back to inside sales",
       needs=(Need.COMMENT, Need.REVIEW_OF_INSIDE_SALES),
       handoff=H.OFFER_TO_INSIDE_SALES, owner=OWN.OFFERED_TO, review=ReviewOutcome.OVERRULED),
    _t("overrule", S.IN_REVIEW, S.SQL, {ARB}, "Overrule: back to field sales",
       needs=(Need.COMMENT, Need.REVIEW_OF_FIELD_SALES),
       handoff=H.OFFER_TO_FIELD_SALES, owner=OWN.OFFERED_TO, review=ReviewOutcome.OVERRULED),
    # Managers move work within their team.
    *(
        _t("reassign", stage, stage, {Role.MANAGER}, "Reassign",
           needs=(Need.ASSIGNEE,), owner=OWN.ASSIGNEE,
           handoff=H.REOFFER if stage in (S.MQL, S.SQL) else H.NONE)
        for stage in (S.MQL, S.SAL, S.SQL)
    ),
)


OPPORTUNITY_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    # (from, to): roles. Won and lost close the lead too, through its own transitions.
    (OpportunityStage.DISCOVERY, OpportunityStage.PROPOSAL): frozenset({AE}),
    (OpportunityStage.PROPOSAL, OpportunityStage.FORECAST): frozenset({AE}),
    (OpportunityStage.FORECAST, OpportunityStage.PROPOSAL): frozenset({AE}),
    (OpportunityStage.PROPOSAL, OpportunityStage.DISCOVERY): frozenset({AE}),
}

# Which team side owns a lead in each stage (DOMAIN.md "Lead stages").
STAGE_SIDE = {
    S.INQUIRY: Side.MARKETING,
    S.NURTURE: Side.MARKETING,
    S.MQL: Side.INSIDE_SALES,
    S.SAL: Side.INSIDE_SALES,
    S.SQL: Side.FIELD_SALES,
    S.IN_REVIEW: Side.ARBITER,
}

# The stage a review came from decides where an overrule sends the lead back to.
REVIEW_ORIGIN_SIDE = {S.MQL: Side.INSIDE_SALES, S.SAL: Side.INSIDE_SALES, S.SQL: Side.FIELD_SALES}


# The event each transition emits (through the outbox), by transition name.
EVENTS = {
    "qualify": "lead.mql",
    "recycle": "lead.mql",
    "nurture": "lead.nurtured",
    "disqualify": "lead.disqualified",
    "accept": "handoff.accepted",
    "reject": "handoff.rejected",
    "ignore": "handoff.ignored",
    "return": "lead.returned",
    "convert": "lead.sql",
    "win": "opportunity.won",
    "lose": "opportunity.lost",
    "uphold": "arbiter.decided",
    "overrule": "arbiter.decided",
    "reassign": "handoff.reassigned",
}
OFFERED_EVENT = "handoff.offered"
CREATED_EVENT = "lead.created"


def transitions_from(stage: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == stage]


def allowed_pairs() -> dict[tuple[str, str], frozenset[str]]:
    """Every (from, to) stage pair the table allows, with the union of roles allowed."""
    pairs: dict[tuple[str, str], set[str]] = {}
    for t in TRANSITIONS:
        pairs.setdefault((t.source, t.target), set()).update(t.roles)
    return {k: frozenset(v) for k, v in pairs.items()}


# --- refusals -----------------------------------------------------------------------------


class TransitionError(Exception):
    """A refused transition. `code` is stable: the UI and the API report the same one."""

    code = "transition-refused"
    status = 409

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(TransitionError):
    code = "transition-not-allowed"
    status = 409


class Forbidden(TransitionError):
    code = "forbidden"
    status = 403


class MissingRequirement(TransitionError):
    code = "requirement-missing"
    status = 422


class Conflict(TransitionError):
    code = "conflict"
    status = 409


# --- state and inputs ---------------------------------------------------------------------


@dataclass
class LeadState:
    """What a transition needs to know about a lead beyond its own row."""

    lead: Lead
    pending_offer: Handoff | None = None
    last_accepted_offer: Handoff | None = None
    opportunity: Opportunity | None = None
    review_from: str | None = None  # the stage the lead was in when it went to review
    review_reason: ReasonCode | None = None
    reviewed_offer: Handoff | None = None  # the hand-off rejected, ignored or returned


@dataclass
class Inputs:
    reason: ReasonCode | None = None
    comment: str = ""
    evidence: dict = field(default_factory=dict)
    assignee: User | None = None
    amount: object = None  # opportunity amount on accept, Decimal-compatible


EVIDENCE_FIELDS = ("decision_maker", "need", "compelling_event")


class Services(Protocol):
    """Routing and business time, supplied by the caller (the database, or the bulk generator)."""

    def team_for(self, side: str, lead: Lead) -> Team: ...

    def offer_target(self, side: str, lead: Lead) -> tuple[Team, User | None]: ...

    def took_turn(self, rep: User, at: datetime) -> None: ...

    def accept_by(self, team: Team, offered_at: datetime, kind: str, priority: str) -> datetime:
        ...

    def first_touch_by(
        self, team: Team, accepted_at: datetime, kind: str, priority: str
    ) -> datetime: ...

    def active_definition(self) -> LeadDefinition | None: ...


def resolve(name: str, state: LeadState, to: str | None = None) -> Transition:
    """The row for `name` from the lead's stage; `to` picks among rows with the same name."""
    stage = state.lead.stage
    rows = [t for t in TRANSITIONS if t.name == name and t.source == stage]
    if to is not None:
        rows = [t for t in rows if t.target == to]
    if not rows:
        possible = sorted({t.name for t in transitions_from(stage)})
        target = f" to {to}" if to else ""
        if not any(t.name == name for t in TRANSITIONS):
            raise NotAllowed(f"there is no transition named '{name}'")
        raise NotAllowed(
            f"cannot {name}{target} a lead at stage '{stage}'; "
            f"from '{stage}' the allowed transitions are: {', '.join(possible) or 'none'}"
        )
    if len(rows) > 1:
        # Several targets (uphold, overrule): the one whose needs this lead meets.
        meeting = [t for t in rows if not _unmet_state_needs(t, state)]
        if len(meeting) == 1:
            return meeting[0]
        if not meeting:
            return rows[0]  # let check() explain what is missing
        raise MissingRequirement(
            f"'{name}' from '{stage}' needs a target: one of "
            + ", ".join(t.target for t in rows),
            field="to",
        )
    return rows[0]


def actor_roles(actor: User | None) -> frozenset[str]:
    return frozenset({SYSTEM}) if actor is None else actor.acting_roles


# Needs the person supplies with the request; the others are about the lead's state.
INPUT_NEEDS = frozenset({Need.REASON, Need.COMMENT, Need.SQL_EVIDENCE, Need.ASSIGNEE})


def check(
    t: Transition,
    state: LeadState,
    actor: User | None,
    inputs: Inputs | None,
    now: datetime,
):
    """Refuse the transition with a precise error, or return None when it may happen.

    With `inputs=None` the input needs (reason, comment, evidence, assignee) are not checked:
    the question is then "may this person do it now, given the right inputs?"."""
    roles = actor_roles(actor)
    if not roles & t.roles:
        who = "leadflow itself" if actor is None else f"{actor} ({', '.join(sorted(roles))})"
        raise Forbidden(
            f"'{t.name}' from '{t.source}' may be done by {', '.join(sorted(t.roles))}, "
            f"not by {who}"
        )
    if actor is not None and not _in_scope(t, state, actor):
        raise Forbidden(f"{actor} does not work this lead: it belongs to {_owner_text(state)}")
    for need in t.needs:
        if inputs is not None or need not in INPUT_NEEDS:
            _check_need(need, t, state, inputs, now)
    for need in _unmet_state_needs(t, state):
        raise NotAllowed(f"'{t.name}' needs {need.value}")


def _in_scope(t: Transition, state: LeadState, actor: User) -> bool:
    """People act on their own team's leads; managers on their teams'; arbiters on reviews."""
    if actor.role == Role.ARBITER:
        # The judicial branch: never a member of a sales or marketing team.
        return actor.team_id is None or actor.team.side == Side.ARBITER
    lead = state.lead
    if t.source == Stage.INQUIRY or t.source == Stage.NURTURE:
        return True  # marketing owns the whole top of the funnel
    offer = state.pending_offer
    if offer is not None:
        if offer.offered_to_id is not None and offer.offered_to_id != actor.pk:
            return actor.role == Role.MANAGER and actor.team_id == offer.offered_to_team_id
        return actor.team_id == offer.offered_to_team_id
    if lead.owner_id is not None and lead.owner_id != actor.pk:
        return actor.role == Role.MANAGER and actor.team_id == lead.owner_team_id
    return actor.team_id == lead.owner_team_id


def _owner_text(state: LeadState) -> str:
    lead = state.lead
    if lead.owner_id:
        return str(lead.owner)
    return f"the {lead.owner_team} queue" if lead.owner_team_id else "nobody"


_STATE_NEEDS = {
    Need.PENDING_OFFER,
    Need.ACCEPTED_OFFER,
    Need.OPEN_OPPORTUNITY,
    Need.EARLY_OPPORTUNITY,
    Need.REVIEW_OF_INSIDE_SALES,
    Need.REVIEW_OF_FIELD_SALES,
    Need.REVIEW_REASON_DISQUALIFIES,
    Need.REVIEW_REASON_KEEPS,
}


def _unmet_state_needs(t: Transition, state: LeadState) -> list[Need]:
    unmet = []
    opp = state.opportunity
    for need in t.needs:
        if need not in _STATE_NEEDS:
            continue
        ok = {
            Need.PENDING_OFFER: state.pending_offer is not None,
            Need.ACCEPTED_OFFER: state.pending_offer is None
            and state.last_accepted_offer is not None,
            Need.OPEN_OPPORTUNITY: opp is not None and opp.closed_at is None,
            Need.EARLY_OPPORTUNITY: opp is not None
            and opp.closed_at is None
            and opp.stage == OpportunityStage.DISCOVERY,
            Need.REVIEW_OF_INSIDE_SALES: REVIEW_ORIGIN_SIDE.get(state.review_from)
            == Side.INSIDE_SALES,
            Need.REVIEW_OF_FIELD_SALES: REVIEW_ORIGIN_SIDE.get(state.review_from)
            == Side.FIELD_SALES,
            Need.REVIEW_REASON_DISQUALIFIES: bool(
                state.review_reason and state.review_reason.disqualifies
            ),
            Need.REVIEW_REASON_KEEPS: not (
                state.review_reason and state.review_reason.disqualifies
            ),
        }[need]
        if not ok:
            unmet.append(need)
    return unmet


def _check_need(need: Need, t: Transition, state: LeadState, inputs: Inputs, now: datetime):
    if need is Need.REASON:
        if inputs.reason is None:
            raise MissingRequirement(f"'{t.name}' needs {need.value}", field="reason")
        if inputs.reason.kind != t.reason_kind or not inputs.reason.active:
            raise MissingRequirement(
                f"reason '{inputs.reason.code}' is not an active {t.reason_kind} reason",
                field="reason",
            )
    elif need is Need.COMMENT:
        if not inputs.comment.strip():
            raise MissingRequirement(f"'{t.name}' needs {need.value}", field="comment")
    elif need is Need.SQL_EVIDENCE:
        for name in EVIDENCE_FIELDS:
            if not str(inputs.evidence.get(name) or "").strip():
                raise MissingRequirement(
                    f"'{t.name}' needs {need.value}; '{name}' is missing",
                    field=f"evidence.{name}",
                )
    elif need is Need.OVERDUE_OFFER:
        offer = state.pending_offer
        if offer is None or offer.accept_by > now:
            raise NotAllowed(f"'{t.name}' needs {need.value}")
    elif need is Need.ASSIGNEE:
        a = inputs.assignee
        team_id = state.lead.owner_team_id
        if a is None or a.team_id != team_id or not a.is_active:
            raise MissingRequirement(f"'{t.name}' needs {need.value}", field="assignee")


# --- the plan: exactly which rows change --------------------------------------------------


@dataclass
class Plan:
    lead_fields: dict
    history: StageChange
    close_offer: dict | None = None  # field updates for state.pending_offer
    review_fields: dict | None = None  # field updates for state.reviewed_offer
    mark_returned: dict | None = None  # field updates for state.last_accepted_offer
    new_offer: Handoff | None = None
    new_opportunity: Opportunity | None = None
    opportunity_fields: dict | None = None
    opportunity_history: StageChange | None = None


def first_entries(t: Transition, lead: Lead, now: datetime) -> dict:
    """The lead's first-entry columns this transition sets (`FIRST_ENTERED`): the stage it
    enters, and the opportunity stage when it opens one — only where not set before."""
    entered = [t.target]
    if t.opportunity is OpportunityEffect.OPEN:
        entered.append("opportunity")
    fields = {}
    for stage in entered:
        name = FIRST_ENTERED.get(stage)
        if name is not None and getattr(lead, name) is None:
            fields[name] = now
    return fields


def plan(
    t: Transition,
    state: LeadState,
    actor: User | None,
    inputs: Inputs,
    now: datetime,
    services: Services,
) -> Plan:
    lead = state.lead
    owner, owner_team = lead.owner, lead.owner_team
    fields: dict = {"stage": t.target, "updated_at": now, "version": lead.version + 1}
    if t.source != t.target:
        fields["stage_changed_at"] = now
    fields.update(first_entries(t, lead, now))
    result = Plan(lead_fields=fields, history=None)  # type: ignore[arg-type]

    offer_side = {
        HandoffEffect.OFFER_TO_INSIDE_SALES: Side.INSIDE_SALES,
        HandoffEffect.OFFER_TO_FIELD_SALES: Side.FIELD_SALES,
    }.get(t.handoff)
    if offer_side:
        reviewed = state.reviewed_offer
        if t.review is ReviewOutcome.OVERRULED and inputs.assignee is not None:
            team, person = inputs.assignee.team, inputs.assignee
        elif t.review is ReviewOutcome.OVERRULED and reviewed and reviewed.offered_to_id:
            team, person = reviewed.offered_to_team, reviewed.offered_to
        else:
            team, person = services.offer_target(offer_side, lead)
        result.new_offer = Handoff(
            lead=lead,
            kind=HandoffKind.MQL if offer_side == Side.INSIDE_SALES else HandoffKind.SQL,
            offered_to=person,
            offered_to_team=team,
            offered_at=now,
            accept_by=services.accept_by(team, now, t.target, lead.priority),
        )
        owner, owner_team = person, team
    elif t.handoff is HandoffEffect.ACCEPT:
        result.close_offer = {
            "decision": Decision.ACCEPTED,
            "decided_at": now,
            "decided_by": actor,
            "offered_to": actor,
            "first_touch_by": services.first_touch_by(
                state.pending_offer.offered_to_team, now, state.pending_offer.kind, lead.priority
            ),
        }
    elif t.handoff in (HandoffEffect.REJECT, HandoffEffect.IGNORE):
        result.close_offer = {
            "decision": (
                Decision.REJECTED if t.handoff is HandoffEffect.REJECT else Decision.IGNORED
            ),
            "decided_at": now,
            "decided_by": actor,
            "reason": inputs.reason,
            "comment": inputs.comment,
        }
    elif t.handoff is HandoffEffect.RETURN:
        result.mark_returned = {"returned_at": now}
    elif t.handoff is HandoffEffect.REOFFER and state.pending_offer is not None:
        # An accepted SQL has no open offer left: reassigning it moves only the owner.
        result.close_offer = {"offered_to": inputs.assignee}

    if t.review is not None and state.reviewed_offer is not None:
        result.review_fields = {"review_outcome": t.review, "reviewed_at": now}

    if t.owner is OwnerEffect.ACTOR:
        owner = actor
    elif t.owner is OwnerEffect.ASSIGNEE:
        owner = inputs.assignee
    elif t.owner is OwnerEffect.ARBITER:
        owner, owner_team = None, services.team_for(Side.ARBITER, lead)
    elif t.owner is OwnerEffect.MARKETING:
        owner, owner_team = None, services.team_for(Side.MARKETING, lead)
    fields["owner"], fields["owner_team"] = owner, owner_team
    if t.handoff is HandoffEffect.OFFER_TO_FIELD_SALES and t.name == "convert":
        fields["sql_evidence"] = {k: v for k, v in inputs.evidence.items() if v not in ("", None)}

    definition = services.active_definition() if t.records_definition else None
    result.history = StageChange(
        lead=lead,
        entity=StageChange.Entity.LEAD,
        transition=t.name,
        from_stage=t.source,
        to_stage=t.target,
        actor=actor,
        at=now,
        reason=inputs.reason,
        comment=inputs.comment,
        definition=definition,
        owner=owner,
        owner_team=owner_team,
    )

    if t.opportunity is OpportunityEffect.OPEN:
        opp = Opportunity(
            lead=lead,
            account=lead.account,
            owner=actor,
            name=lead.company or lead.name,
            amount=inputs.amount or 0,
            stage=OpportunityStage.DISCOVERY,
            created_at=now,
        )
        result.new_opportunity = opp
        result.opportunity_history = StageChange(
            lead=lead,
            opportunity=opp,
            entity=StageChange.Entity.OPPORTUNITY,
            transition=t.name,
            from_stage="",
            to_stage=OpportunityStage.DISCOVERY,
            actor=actor,
            at=now,
            owner=actor,
            owner_team=owner_team,
        )
    elif t.opportunity in (OpportunityEffect.WIN, OpportunityEffect.LOSE):
        opp = state.opportunity
        won = t.opportunity is OpportunityEffect.WIN
        target = OpportunityStage.WON if won else OpportunityStage.LOST
        result.opportunity_fields = {
            "stage": target,
            "closed_at": now,
            "outcome_reason": inputs.reason,
            "version": opp.version + 1,
        }
        result.opportunity_history = StageChange(
            lead=lead,
            opportunity=opp,
            entity=StageChange.Entity.OPPORTUNITY,
            transition=t.name,
            from_stage=opp.stage,
            to_stage=target,
            actor=actor,
            at=now,
            reason=inputs.reason,
            comment=inputs.comment,
            owner=opp.owner,
            owner_team=owner_team,
        )
    return result
