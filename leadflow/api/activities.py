"""Activities: what leads did (web visits, e-mails, webinars, forms) and what sales did with
them (calls, meetings, notes), from other systems, one at a time or 10,000 per call.

Thin edges: parse, call `leadflow.scoring.ingest`, serialise. A batch stores every activity
whose lead can be found and reports the others by index; a retried batch with the same
`Idempotency-Key` is answered from the first call, not stored twice.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, model_validator

from leadflow.api import idempotent
from leadflow.api.problems import Problem, invalid
from leadflow.api.schemas import ProblemOut
from leadflow.leads import access
from leadflow.leads.models import Activity, ActivityKind
from leadflow.scoring import ingest

router = Router(tags=["activities"])

REFUSALS = {403: ProblemOut, 404: ProblemOut, 422: ProblemOut}


# Plain pydantic models, not ninja Schemas: a Schema runs a per-object root validator that
# costs 60 µs an activity, 0.6 s of a 10,000-activity batch.
class ActivityIn(BaseModel):
    """One activity. Name its lead with exactly one of `lead`, `email` or `external_id`."""

    model_config = ConfigDict(extra="forbid")

    lead: int | None = Field(None, description="The lead's id.")
    email: str | None = Field(None, max_length=254, description="The lead's e-mail address.")
    external_id: str | None = Field(None, max_length=100, description="The lead's external id.")
    kind: ActivityKind
    occurred_at: datetime | None = Field(
        None, description="When it happened (ISO 8601 with a zone); default: now."
    )
    url: str = Field("", max_length=500, description="The page, for web visits.")
    campaign: int | str | None = Field(
        None, description="The campaign (e-mails, webinars): its id, or its external id."
    )
    source_system: str = Field("api", max_length=50, description="The system reporting it.")
    actor: str | None = Field(
        None,
        description="Username of the person who did it. A call, meeting or note by a person "
        "after the lead was accepted is the hand-off's first touch.",
    )
    detail: str = ""

    @model_validator(mode="after")
    def one_lead_reference(self):
        given = [n for n in ("lead", "email", "external_id") if getattr(self, n) not in (None, "")]
        if len(given) != 1:
            raise ValueError(
                "name the lead with exactly one of lead, email or external_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activities: list[ActivityIn] = Field(min_length=1, max_length=ingest.MAX_BATCH)


class RefusalOut(Schema):
    index: int = Field(description="Position of the activity in the batch, from 0.")
    code: str = Field(
        description="unknown-lead, unknown-campaign, unknown-actor, in-the-future or no-lead."
    )
    detail: str


class BatchOut(Schema):
    received: int
    stored: int
    refused: list[RefusalOut]
    qualified: list[int] = Field(
        description="Leads these activities moved to `mql` (they now meet the lead definition)."
    )
    queued: list[int] = Field(
        description="With qualify=false: leads that now meet the definition, which the worker "
        "moves to `mql` within a sweep."
    )


class ActivityOut(Schema):
    id: int
    lead: int
    kind: ActivityKind
    occurred_at: datetime
    url: str
    campaign: int | None
    source_system: str
    actor: str | None
    detail: str


class RecordedOut(Schema):
    activity: ActivityOut
    qualified: list[int]


def activity_out(activity: Activity) -> dict:
    return {
        "id": activity.pk,
        "lead": activity.lead_id,
        "kind": activity.kind,
        "occurred_at": activity.occurred_at,
        "url": activity.url,
        "campaign": activity.campaign_id,
        "source_system": activity.source_system,
        "actor": activity.actor.username if activity.actor_id else None,
        "detail": activity.detail,
    }


def _event(item: ActivityIn) -> ingest.Event:
    return ingest.Event(**item.model_dump())


@router.post("/activities", response={201: RecordedOut, **REFUSALS})
def record_activity(request: HttpRequest, response: HttpResponse, payload: ActivityIn):
    """Record one activity. An unknown lead, campaign or actor is a 422 naming the field."""
    result = ingest.record_one(_event(payload), user=request.auth)
    if result.refused:
        refusal = result.refused[0]
        field = {"unknown-campaign": "campaign", "unknown-actor": "actor"}.get(
            refusal.code, "occurred_at" if refusal.code == "in-the-future" else _lead_field(payload)
        )
        raise Problem(422, refusal.code, refusal.detail, field=field)
    return Status(
        201, {"activity": activity_out(result.activity), "qualified": result.qualified}
    )


def _lead_field(payload: ActivityIn) -> str:
    return "lead" if payload.lead is not None else "email" if payload.email else "external_id"


@router.post("/activities/batch", response={200: BatchOut, **REFUSALS})
def record_batch(request: HttpRequest, payload: BatchIn, qualify: Query[bool] = True):
    """Record up to 10,000 activities in one call. Those whose lead, campaign or actor cannot
    be found are refused one by one (`refused`, by index); the others are stored together.
    An `Idempotency-Key` header makes a retry safe, as for POST /api/leads.

    Leads that now meet the MQL rule move to `mql` in the call (`qualified`). For a large
    import send `qualify=false`: they are queued (`queued`) and the worker moves them within
    a sweep, so the call does not wait on one lifecycle transition per lead.
    """
    events = [_event(item) for item in payload.activities]
    return idempotent.answer(
        request,
        lambda: _batch_out(ingest.record(events, user=request.auth, qualify=qualify)),
        lambda outcome: (200, outcome),
    )


def _batch_out(result: ingest.Recorded) -> dict:
    return {
        "received": result.received,
        "stored": result.stored,
        "refused": [
            {"index": r.index, "code": r.code, "detail": r.detail} for r in result.refused
        ],
        "qualified": result.qualified,
        "queued": result.queued,
    }


@router.get("/leads/{lead_id}/activities", response={200: list[ActivityOut], 404: ProblemOut})
def lead_activities(request: HttpRequest, lead_id: int, limit: Query[int] = 200):
    """The lead's activities, newest first (at most `limit`, up to 1,000)."""
    if not 1 <= limit <= 1000:
        raise invalid("limit", "limit is between 1 and 1000")
    lead = access.lead_for(request.auth, lead_id)
    rows = (
        Activity.objects.filter(lead=lead)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return [activity_out(a) for a in rows]
