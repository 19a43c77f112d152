"""The only code that changes a lead's stage, owner or hand-offs.

Each action runs in one transaction: lock the lead, check the lifecycle table, apply the plan,
write history. HTML views, the API, the importer and the worker all call these functions.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import Side
from leadflow.leads import lifecycle, merge
from leadflow.leads.lifecycle import (
    Conflict,
    Forbidden,
    Inputs,
    LeadState,
    MissingRequirement,
    NotAllowed,
    Transition,
)
from leadflow.leads.models import (
    SALES_ACTIVITY_KINDS,
    Activity,
    Decision,
    Handoff,
    Lead,
    Opportunity,
    OutboxEvent,
    ReasonCode,
    Source,
    Stage,
    StageChange,
)
from leadflow.leads.routing import DatabaseServices

CREATE_ROLES = frozenset({lifecycle.MKT, lifecycle.SYSTEM})

LEAD_FIELDS = (
    "first_name", "last_name", "title", "email", "phone", "company", "domain", "country",
    "industry", "employee_count", "custom", "external_id", "campaign", "account",
)


def load_state(lead: Lead) -> LeadState:
    """Read what the lifecycle needs to know about a lead besides its own row."""
    state = LeadState(lead=lead)
    last_offer = (
        Handoff.objects.filter(lead=lead)
        .select_related("offered_to_team", "offered_to")
        .order_by("-id")
        .first()
    )
    if last_offer is not None:
        if last_offer.decision == Decision.PENDING:
            state.pending_offer = last_offer
        elif last_offer.decision == Decision.ACCEPTED and last_offer.returned_at is None:
            state.last_accepted_offer = last_offer
    if lead.stage == Stage.SQL:
        state.opportunity = (
            Opportunity.objects.filter(lead=lead, closed_at__isnull=True).order_by("-id").first()
        )
    if lead.stage == Stage.IN_REVIEW:
        state.reviewed_offer = last_offer
        entry = (
            StageChange.objects.filter(lead=lead, entity="lead", to_stage=Stage.IN_REVIEW)
            .select_related("reason")
            .order_by("-at", "-id")
            .first()
        )
        if entry is not None:
            state.review_from = entry.from_stage
            state.review_reason = entry.reason
    return state


def _reason(t: Transition, reason: ReasonCode | str | None) -> ReasonCode | None:
    if reason is None or isinstance(reason, ReasonCode):
        return reason
    if t.reason_kind is None:
        # Arbiter decisions etc. may cite the reason under review; accept any kind by code.
        found = ReasonCode.objects.filter(code=reason).first()
    else:
        found = ReasonCode.objects.filter(kind=t.reason_kind, code=reason).first()
    if found is None:
        other = ReasonCode.objects.filter(code=reason).first()
        if other is not None:
            raise MissingRequirement(
                f"reason '{reason}' is not an active {t.reason_kind} reason "
                f"(it is a {other.kind} reason)",
                field="reason",
            )
        raise MissingRequirement(f"unknown reason code '{reason}'", field="reason")
    return found


@transaction.atomic
def transition(
    lead: Lead | int,
    name: str,
    *,
    actor,
    to: str | None = None,
    reason: ReasonCode | str | None = None,
    comment: str = "",
    evidence: dict | None = None,
    assignee=None,
    amount=None,
    seen_version: int | None = None,
    now: datetime | None = None,
    services: lifecycle.Services | None = None,
) -> Lead:
    """Perform transition `name` on a lead, as `actor` (None: leadflow itself).

    `seen_version` is the lead version the caller looked at: if someone changed the lead since,
    the call is refused with Conflict instead of acting on a state the user never saw.
    """
    lead_id = lead.pk if isinstance(lead, Lead) else lead
    now = now or timezone.now()
    services = services or DatabaseServices()
    # Lock the row (PostgreSQL); the version check below also serialises on SQLite.
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner", "owner_team", "source", "campaign")
        .get(pk=lead_id)
    )
    if seen_version is not None and lead.version != seen_version:
        raise Conflict(
            f"lead {lead.pk} was changed by someone else (it is now at stage '{lead.stage}'); "
            "reload it and decide again"
        )
    state = load_state(lead)
    t = lifecycle.resolve(name, state, to)
    inputs = Inputs(
        reason=_reason(t, reason),
        comment=comment or "",
        evidence=evidence or {},
        assignee=assignee,
        amount=amount,
    )
    lifecycle.check(t, state, actor, inputs, now)
    plan = lifecycle.plan(t, state, actor, inputs, now, services)
    _apply(lead, state, plan)
    if plan.new_offer and plan.new_offer.offered_to is not None:
        services.took_turn(plan.new_offer.offered_to, now)
    _record_events(lead, t, plan, state)
    return lead


def _record_events(lead: Lead, t: Transition, plan: lifecycle.Plan, state: LeadState) -> None:
    """Write the transition's events to the outbox, in the transaction that made the change."""
    offer = plan.new_offer or state.pending_offer or state.last_accepted_offer
    events = [
        OutboxEvent(
            name=lifecycle.EVENTS[t.name],
            lead=lead,
            payload=event_payload(lead, plan.history, offer),
            created_at=plan.history.at,
        )
    ]
    if plan.new_offer:
        events.append(
            OutboxEvent(
                name=lifecycle.OFFERED_EVENT,
                lead=lead,
                payload=event_payload(lead, plan.history, plan.new_offer),
                created_at=plan.history.at,
            )
        )
    OutboxEvent.objects.bulk_create(events)


def event_payload(lead: Lead, entry: StageChange, offer: Handoff | None) -> dict:
    """What subscribers, e-mails and webhooks learn about a change: plain JSON."""
    reason = entry.reason
    return {
        "at": entry.at.isoformat(),
        "transition": entry.transition,
        "from": entry.from_stage,
        "to": entry.to_stage,
        "actor": entry.actor.username if entry.actor else None,
        "reason": reason.code if reason else None,
        "reason_class": reason.reason_class if reason else None,
        "comment": entry.comment,
        "lead": lead_payload(lead),
        "handoff": handoff_payload(offer) if offer is not None else None,
    }


def lead_payload(lead: Lead) -> dict:
    return {
        "id": lead.pk,
        "name": lead.name,
        "email": lead.email,
        "company": lead.company,
        "source": lead.source.name,
        "campaign": lead.campaign.name if lead.campaign_id else None,
        "stage": lead.stage,
        "priority": lead.priority,
        "owner": lead.owner.username if lead.owner_id else None,
        "owner_team": lead.owner_team.name if lead.owner_team_id else None,
    }


def handoff_payload(offer: Handoff) -> dict:
    return {
        "id": offer.pk,
        "kind": offer.kind,
        "offered_to": offer.offered_to.username if offer.offered_to_id else None,
        "team": offer.offered_to_team.name,
        "accept_by": offer.accept_by.isoformat(),
        "decision": offer.decision,
    }


def _apply(lead: Lead, state: LeadState, plan: lifecycle.Plan) -> None:
    updated = Lead.objects.filter(pk=lead.pk, version=lead.version).update(**plan.lead_fields)
    if updated != 1:
        raise Conflict(f"lead {lead.pk} was changed by someone else; reload it and decide again")
    for name, value in plan.lead_fields.items():
        setattr(lead, name, value)
    if plan.close_offer:
        _update(state.pending_offer, plan.close_offer)
    if plan.mark_returned:
        _update(state.last_accepted_offer, plan.mark_returned)
    if plan.review_fields:
        _update(state.reviewed_offer, plan.review_fields)
    if plan.new_offer:
        plan.new_offer.save()
    if plan.new_opportunity:
        plan.new_opportunity.save()
    if plan.opportunity_fields:
        opp = state.opportunity
        updated = Opportunity.objects.filter(pk=opp.pk, version=opp.version).update(
            **plan.opportunity_fields
        )
        if updated != 1:
            raise Conflict(f"opportunity {opp.pk} was changed by someone else; reload it")
    plan.history.save()
    if plan.opportunity_history:
        plan.opportunity_history.save()


def _update(obj, fields: dict) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(fields))


@transaction.atomic
def create_lead(
    *, actor, source: Source, now: datetime | None = None, services=None, **fields
) -> Lead:
    """Create a lead at `inquiry`, owned by marketing, with its first history row."""
    roles = lifecycle.actor_roles(actor)
    if not roles & CREATE_ROLES:
        raise Forbidden(f"{actor} may not create leads (marketing may)")
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise MissingRequirement(f"unknown lead field(s): {', '.join(sorted(unknown))}")
    now = now or timezone.now()
    services = services or DatabaseServices()
    lead = Lead(source=source, created_at=now, updated_at=now, stage_changed_at=now, **fields)
    lead.owner_team = services.team_for(Side.MARKETING, lead)
    lead.owner = actor if actor is not None and actor.team_id == lead.owner_team_id else None
    lead.full_clean(exclude=["source", "owner", "owner_team", "account", "campaign"])
    lead.save()
    entry = StageChange.objects.create(
        lead=lead, transition="create", from_stage="", to_stage=Stage.INQUIRY, actor=actor,
        at=now, owner=lead.owner, owner_team=lead.owner_team,
    )
    OutboxEvent.objects.create(
        name=lifecycle.CREATED_EVENT, lead=lead, payload=event_payload(lead, entry, None),
        created_at=now,
    )
    return lead


@transaction.atomic
def update_lead(
    lead: Lead | int, *, actor, fields: dict, now: datetime | None = None
) -> tuple[Lead, dict]:
    """Merge what arrived for a known person (`fields`) into their lead by the merge policy
    (`leadflow.leads.merge.changes`); returns the lead and the fields written ({}: nothing
    changed). Never touches stage, owner or scores: saved with update_fields, so scoring
    recomputes the fit (and may qualify the lead after commit)."""
    roles = lifecycle.actor_roles(actor)
    if not roles & CREATE_ROLES:
        raise Forbidden(f"{actor} may not update leads (marketing may)")
    unknown = set(fields) - set(LEAD_FIELDS)
    if unknown:
        raise MissingRequirement(f"unknown lead field(s): {', '.join(sorted(unknown))}")
    lead_id = lead.pk if isinstance(lead, Lead) else lead
    lead = Lead.objects.select_for_update(of=("self",)).select_related("source").get(pk=lead_id)
    current = {name: getattr(lead, name) for name in (*merge.FOUND_BY, *merge.NEWEST_WINS)}
    current["custom"] = lead.custom
    written = merge.changes(current, fields)
    if not written:
        return lead, {}
    for name, value in written.items():
        setattr(lead, name, value)
    lead.clean_fields(exclude=[f.name for f in Lead._meta.fields if f.name not in written])
    lead.version += 1
    lead.updated_at = now or timezone.now()
    lead.save(update_fields=[*written, "version", "updated_at"])
    return lead, written


@transaction.atomic
def move_opportunity(opportunity: Opportunity | int, to: str, *, actor, seen_version=None):
    """Move an open opportunity between discovery, proposal and forecast."""
    opp_id = opportunity.pk if isinstance(opportunity, Opportunity) else opportunity
    opp = Opportunity.objects.select_for_update().select_related("lead").get(pk=opp_id)
    if seen_version is not None and opp.version != seen_version:
        raise Conflict(f"opportunity {opp.pk} was changed by someone else; reload it")
    roles = lifecycle.OPPORTUNITY_TRANSITIONS.get((opp.stage, to))
    if roles is None:
        raise NotAllowed(f"an opportunity cannot move from '{opp.stage}' to '{to}'")
    if not roles & lifecycle.actor_roles(actor):
        raise Forbidden(f"moving an opportunity needs role {', '.join(sorted(roles))}")
    if actor.pk != opp.owner_id and not (
        actor.role == "manager" and actor.team_id == opp.owner.team_id
    ):
        raise Forbidden(f"{actor} does not own this opportunity")
    now = timezone.now()
    from_stage = opp.stage
    Opportunity.objects.filter(pk=opp.pk).update(stage=to, version=opp.version + 1)
    opp.stage, opp.version = to, opp.version + 1
    StageChange.objects.create(
        lead=opp.lead, opportunity=opp, entity=StageChange.Entity.OPPORTUNITY,
        transition="advance", from_stage=from_stage, to_stage=to, actor=actor, at=now,
        owner=opp.owner, owner_team=opp.lead.owner_team,
    )
    return opp


def available_transitions(lead: Lead, user, state: LeadState | None = None) -> list[Transition]:
    """The transitions `user` may take on `lead` right now (inputs such as reasons aside)."""
    state = state or load_state(lead)
    now = timezone.now()
    found = []
    for t in lifecycle.transitions_from(lead.stage):
        try:
            lifecycle.check(t, state, user, None, now)
        except lifecycle.TransitionError:
            continue
        found.append(t)
    return found


@transaction.atomic
def log_activity(
    lead: Lead | int,
    kind: str,
    *,
    actor=None,
    occurred_at: datetime | None = None,
    url: str = "",
    campaign=None,
    source_system: str = "leadflow",
    detail: str = "",
) -> Activity:
    """Record an activity on a lead. A sales activity by the accepting rep (call, meeting,
    note) after acceptance is the hand-off's first touch: it stops the first-touch clock."""
    lead_id = lead.pk if isinstance(lead, Lead) else lead
    occurred_at = occurred_at or timezone.now()
    activity = Activity.objects.create(
        lead_id=lead_id, kind=kind, occurred_at=occurred_at, url=url, campaign=campaign,
        source_system=source_system, actor=actor, detail=detail,
    )
    if kind in SALES_ACTIVITY_KINDS and actor is not None:
        Handoff.objects.filter(
            lead_id=lead_id,
            decision=Decision.ACCEPTED,
            first_touch_at__isnull=True,
            decided_at__lte=occurred_at,
            returned_at__isnull=True,
        ).update(first_touch_at=occurred_at)
    return activity
