"""Leads: list, read, create, transition, history; and the lifecycle table itself.

Thin edges: parse, ask `access` for the lead, call one action, serialise. Every rule lives in
`leadflow.leads.lifecycle` and `leadflow.leads.actions`, so the API refuses exactly what the
UI refuses, with the same code.
"""

import base64
import binascii
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from leadflow.accounts.models import User
from leadflow.api import intake
from leadflow.api.intake import LeadIntakeOut
from leadflow.api.problems import invalid
from leadflow.api.schemas import (
    HistoryRow,
    LeadDetail,
    LeadPage,
    ProblemOut,
    ReasonOut,
    TransitionIn,
    TransitionRow,
    available_out,
    handoff_out,
    history_out,
    lead_out,
    transition_row,
)
from leadflow.intake.leads import LeadItem
from leadflow.leads import access, actions, lifecycle
from leadflow.leads.models import (
    Lead,
    ReasonCode,
    ReasonKind,
    Stage,
    StageChange,
)

router = Router(tags=["leads"])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Everything a serialised lead touches, in the one query that lists it.
LEAD_RELATED = ("owner", "owner_team", "source", "campaign")

NOT_FOUND = {404: ProblemOut}
REFUSALS = {403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


def _lead_url(request: HttpRequest, pk: int) -> str:
    return request.build_absolute_uri(reverse("api-1.0.0:lead", args=[pk]))


def _detail(request: HttpRequest, lead: Lead) -> dict:
    state = actions.load_state(lead)
    return {
        **lead_out(lead, _lead_url(request, lead.pk)),
        "handoff": handoff_out(state.pending_offer),
        "available_transitions": [
            available_out(t) for t in actions.available_transitions(lead, request.auth, state)
        ],
    }


def _fresh(lead: Lead) -> Lead:
    """The lead as an action left it, read back whole. Not through `access`: you see the
    result of your own action even when it moved the lead out of your sight."""
    return Lead.objects.select_related(*LEAD_RELATED).get(pk=lead.pk)


def _by_id_or_name(model, value: int | str, name_field: str, *, field: str, what: str):
    """A record by its id (a number) or its exact name (a string that is not a known name may
    still be an id written as text: query strings carry everything as text)."""
    found = None
    if isinstance(value, str):
        found = model.objects.filter(**{name_field: value}).first()
    if found is None and str(value).isdigit():
        found = model.objects.filter(pk=int(value)).first()
    if found is None:
        raise invalid(field, f"there is no {what} {value!r}")
    return found


def _id_or_name(value: str, name_lookup: str, id_lookup: str) -> Q:
    """A filter matching a query-string value as a name, or as an id when it is a number."""
    q = Q(**{name_lookup: value})
    if value.isdigit():
        q |= Q(**{id_lookup: int(value)})
    return q


# --- list ----------------------------------------------------------------------------------


class LeadFilters(Schema):
    stage: list[Stage] | None = Field(None, description="Repeat to match several stages.")
    source: str | None = Field(None, description="Source id or name.")
    owner: str | None = Field(None, description="Owner id or username.")
    created_after: datetime | None = Field(
        None, description="Created at or after (ISO 8601; no zone: the company's time zone)."
    )
    created_before: datetime | None = Field(None, description="Created strictly before.")
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, description="From a page's `next` link; do not build it.")


def _aware(value: datetime) -> datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


def _encode_cursor(lead: Lead) -> str:
    raw = f"{lead.created_at.isoformat()}|{lead.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.split("|")
        return datetime.fromisoformat(at), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor", "this cursor is not one leadflow made; follow `next`") from None


@router.get("/leads", response={200: LeadPage, 422: ProblemOut}, url_name="leads")
def list_leads(request: HttpRequest, filters: Query[LeadFilters]):
    """Leads you may see, newest first, a page at a time: follow `next` until it is null."""
    leads = access.visible_leads(request.auth).select_related(*LEAD_RELATED)
    if filters.stage:
        leads = leads.filter(stage__in=filters.stage)
    if filters.source:
        leads = leads.filter(_id_or_name(filters.source, "source__name", "source_id"))
    if filters.owner:
        leads = leads.filter(_id_or_name(filters.owner, "owner__username", "owner_id"))
    if filters.created_after:
        leads = leads.filter(created_at__gte=_aware(filters.created_after))
    if filters.created_before:
        leads = leads.filter(created_at__lt=_aware(filters.created_before))
    if filters.cursor:
        # Keyset pagination: stable while leads are added, and as fast on page 1000 as on 1.
        at, pk = _decode_cursor(filters.cursor)
        leads = leads.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    page = list(leads.order_by("-created_at", "-pk")[: filters.limit + 1])
    next_url = None
    if len(page) > filters.limit:
        page = page[: filters.limit]
        params = request.GET.copy()
        params["cursor"] = _encode_cursor(page[-1])
        next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return {
        "items": [lead_out(lead, _lead_url(request, lead.pk)) for lead in page],
        "next": next_url,
    }


# --- one lead ------------------------------------------------------------------------------


@router.get("/leads/{lead_id}", response={200: LeadDetail, **NOT_FOUND}, url_name="lead")
def get_lead(request: HttpRequest, lead_id: int):
    """One lead, its open hand-off and what you may do with it now."""
    return _detail(request, access.lead_for(request.auth, lead_id))


@router.post(
    "/leads",
    response={201: LeadIntakeOut, 200: LeadIntakeOut, 403: ProblemOut, 422: ProblemOut},
    description="Create a lead at `inquiry`, owned by marketing (marketing may create leads); "
    "201. A person already known is merged into their lead instead: 200, `result: merged`.\n\n"
    + intake.MERGE_POLICY + "\n\n" + intake.IDEMPOTENCY,
)
def create_lead(request: HttpRequest, payload: LeadItem):
    """Create or merge one lead (leadflow.api.intake)."""
    return intake.create_or_merge(request, payload.model_dump(exclude_none=True))


@router.post("/leads/{lead_id}/transitions", response={200: LeadDetail, **REFUSALS})
def transition_lead(request: HttpRequest, lead_id: int, payload: TransitionIn):
    """Move a lead: accept, reject, convert, reassign… (see GET /api/transitions).

    Refusals: 403 `forbidden` (not your role or not your lead), 409 `conflict` (the lead
    changed since `version`) or `transition-not-allowed`, 422 `requirement-missing` with the
    `field` to fill in.
    """
    lead = access.lead_for(request.auth, lead_id)
    assignee = None
    if payload.assignee is not None:
        assignee = _by_id_or_name(User, payload.assignee, "username", field="assignee", what="user")
    lead = actions.transition(
        lead,
        payload.name,
        actor=request.auth,
        to=payload.to,
        reason=payload.reason,
        comment=payload.comment,
        evidence=payload.evidence.model_dump(exclude_none=True) if payload.evidence else None,
        assignee=assignee,
        amount=payload.amount,
        seen_version=payload.version,
    )
    return _detail(request, _fresh(lead))


@router.get(
    "/leads/{lead_id}/history", response={200: list[HistoryRow], **NOT_FOUND}, by_alias=True
)
def lead_history(request: HttpRequest, lead_id: int):
    """Every change of the lead and its opportunity, oldest first. History is never edited."""
    lead = access.lead_for(request.auth, lead_id)
    rows = (
        StageChange.objects.filter(lead=lead)
        .select_related("actor", "reason", "definition", "owner", "owner_team")
        .order_by("at", "id")
    )
    return [history_out(row) for row in rows]


# --- the rules -----------------------------------------------------------------------------


@router.get("/transitions", response=list[TransitionRow], by_alias=True, tags=["lifecycle"])
def transition_table(request: HttpRequest):
    """The lifecycle table: every allowed transition, who may do it, what it needs and does."""
    return [transition_row(t) for t in lifecycle.TRANSITIONS]


@router.get("/reasons", response=list[ReasonOut], tags=["lifecycle"])
def reasons(request: HttpRequest, kind: ReasonKind | None = None):
    """Active reason codes, for `reason` in a transition."""
    codes = ReasonCode.objects.filter(active=True)
    if kind:
        codes = codes.filter(kind=kind)
    return codes
