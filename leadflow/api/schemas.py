"""What the API accepts and returns, and the functions that turn records into it.

Names follow DOMAIN.md: `stage`, `handoff`, `offered_to`, `accept_by`, `decision`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field

from leadflow.accounts.models import Team, User
from leadflow.leads.lifecycle import Need, Transition
from leadflow.leads.models import Handoff, HandoffKind, Lead, Stage, StageChange

NEEDS_HELP = "What the transition requires; one of: " + "; ".join(
    f"`{n.name.lower()}` ({n.value})" for n in Need
)


def need_codes(t: Transition) -> list[str]:
    return [n.name.lower() for n in t.needs]


# --- small shared shapes ------------------------------------------------------------------


class FieldError(Schema):
    field: str
    message: str


class ProblemOut(Schema):
    """An RFC 9457 problem (served as application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code, the same as in the UI.")
    field: str | None = Field(None, description="The request field at fault, when one is.")
    errors: list[FieldError] | None = None


class Person(Schema):
    id: int
    username: str
    name: str


class TeamRef(Schema):
    id: int
    name: str


class SourceRef(Schema):
    id: int
    name: str


class CampaignRef(Schema):
    id: int
    name: str


def person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}


def team_ref(team: Team | None) -> dict | None:
    return None if team is None else {"id": team.pk, "name": team.name}


# --- leads ---------------------------------------------------------------------------------


class LeadOut(Schema):
    id: int
    url: str
    name: str
    first_name: str
    last_name: str
    title: str
    email: str
    phone: str
    company: str
    domain: str
    country: str
    industry: str
    employee_count: int | None
    custom: dict
    external_id: str
    account: int | None
    source: SourceRef
    campaign: CampaignRef | None
    stage: Stage
    owner: Person | None = Field(description="Blank while the lead waits in a team queue.")
    owner_team: TeamRef | None
    sql_evidence: dict
    fit_score: float
    engagement_score: float
    created_at: datetime
    updated_at: datetime
    stage_changed_at: datetime
    version: int = Field(
        description="Send it back as `version` with a transition: a change made since is "
        "refused with 409 `conflict` instead of acting on a state you never saw."
    )


class HandoffOut(Schema):
    id: int
    kind: HandoffKind
    offered_to: Person | None = Field(description="Blank: offered to the team's queue.")
    team: TeamRef
    offered_at: datetime
    accept_by: datetime
    decision: str


class AvailableTransition(Schema):
    name: str
    to: Stage
    label: str
    needs: list[str] = Field(description=NEEDS_HELP)
    reason_kind: str | None = Field(
        description="When a reason is needed: the kind of reason code (see /api/reasons)."
    )


class LeadDetail(LeadOut):
    handoff: HandoffOut | None = Field(description="The hand-off awaiting a decision, if any.")
    available_transitions: list[AvailableTransition] = Field(
        description="What you may do with this lead now, inputs such as reasons aside."
    )


class LeadPage(Schema):
    items: list[LeadOut]
    next: str | None = Field(description="The next page, or null on the last one.")


def lead_out(lead: Lead, url: str) -> dict:
    return {
        "id": lead.pk,
        "url": url,
        "name": lead.name,
        **{
            name: getattr(lead, name)
            for name in (
                "first_name",
                "last_name",
                "title",
                "email",
                "phone",
                "company",
                "domain",
                "country",
                "industry",
                "employee_count",
                "custom",
                "external_id",
                "stage",
                "sql_evidence",
                "fit_score",
                "engagement_score",
                "created_at",
                "updated_at",
                "stage_changed_at",
                "version",
            )
        },
        "account": lead.account_id,
        "source": {"id": lead.source.pk, "name": lead.source.name},
        "campaign": (
            {"id": lead.campaign.pk, "name": lead.campaign.name} if lead.campaign_id else None
        ),
        "owner": person(lead.owner),
        "owner_team": team_ref(lead.owner_team),
    }


def handoff_out(offer: Handoff | None) -> dict | None:
    if offer is None:
        return None
    return {
        "id": offer.pk,
        "kind": offer.kind,
        "offered_to": person(offer.offered_to),
        "team": team_ref(offer.offered_to_team),
        "offered_at": offer.offered_at,
        "accept_by": offer.accept_by,
        "decision": offer.decision,
    }


def available_out(t: Transition) -> dict:
    return {
        "name": t.name,
        "to": t.target,
        "label": t.label,
        "needs": need_codes(t),
        "reason_kind": t.reason_kind,
    }


class Evidence(Schema):
    """Qualification evidence (DOMAIN.md): decision maker, need and compelling event are
    required to qualify as SQL; budget, timeframe and anything else are optional."""

    model_config = ConfigDict(extra="allow")

    decision_maker: str | None = None
    need: str | None = None
    compelling_event: str | None = None
    compelling_event_date: str | None = None
    budget: str | None = None
    timeframe: str | None = None


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The transition, e.g. accept, reject, convert, reassign.")
    to: Stage | None = Field(
        None, description="The target stage, when several rows share the name (uphold, overrule)."
    )
    reason: str | None = Field(None, description="A reason code (see /api/reasons).")
    comment: str = ""
    evidence: Evidence | None = None
    assignee: int | str | None = Field(None, description="User id, or username.")
    amount: Decimal | None = Field(None, description="Opportunity amount, when accepting an SQL.")
    version: int | None = Field(
        None, description="The lead version you saw; refused with 409 if it changed since."
    )


# --- history, lifecycle table, reasons, tokens ---------------------------------------------


class HistoryRow(Schema):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    entity: str = Field(description="`lead`, or `opportunity` for the lead's opportunity.")
    opportunity: int | None
    transition: str
    from_: str = Field(alias="from", description="Blank for the row that created the record.")
    to: str
    actor: Person | None = Field(description="Blank: leadflow itself (scoring, SLA sweep).")
    at: datetime
    reason: str | None = Field(description="Reason code.")
    comment: str
    definition_version: int | None = Field(
        description="The lead definition version that made a qualification."
    )
    owner: Person | None = Field(description="The owner after the change.")
    owner_team: TeamRef | None


def history_out(row: StageChange) -> dict:
    return {
        "id": row.pk,
        "entity": row.entity,
        "opportunity": row.opportunity_id,
        "transition": row.transition,
        "from_": row.from_stage,
        "to": row.to_stage,
        "actor": person(row.actor),
        "at": row.at,
        "reason": row.reason.code if row.reason_id else None,
        "comment": row.comment,
        "definition_version": row.definition.version if row.definition_id else None,
        "owner": person(row.owner),
        "owner_team": team_ref(row.owner_team),
    }


class Effects(Schema):
    handoff: str
    owner: str
    opportunity: str
    records_definition: bool = Field(description="Records the active lead definition version.")


class TransitionRow(Schema):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    from_: Stage = Field(alias="from")
    to: Stage
    label: str
    roles: list[str] = Field(description="Roles that may do it; `system` is leadflow itself.")
    needs: list[str] = Field(description=NEEDS_HELP)
    reason_kind: str | None
    effects: Effects


def transition_row(t: Transition) -> dict:
    return {
        "name": t.name,
        "from_": t.source,
        "to": t.target,
        "label": t.label,
        "roles": sorted(t.roles),
        "needs": need_codes(t),
        "reason_kind": t.reason_kind,
        "effects": {
            "handoff": t.handoff.value,
            "owner": t.owner.value,
            "opportunity": t.opportunity.value,
            "records_definition": t.records_definition,
        },
    }


class ReasonOut(Schema):
    code: str
    kind: str
    reason_class: str
    label: str
    disqualifies: bool


class TokenOut(Schema):
    id: int
    name: str
    hint: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked: bool
