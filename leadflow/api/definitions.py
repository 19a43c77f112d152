"""Lead definitions: versions, their documents (YAML, in and out as files too), sign-off,
the diff between two versions, the what-if of a proposal, and a lead's score explanation.

Thin edges: parse, call `leadflow.scoring.definitions` (or a read model), serialise. A
document with problems is refused as `definition-invalid`, each problem with its line, column
and field.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from leadflow.api.problems import Problem, problem_response
from leadflow.api.schemas import Person, ProblemOut, person
from leadflow.leads import access
from leadflow.leads.models import LeadDefinition
from leadflow.scoring import definitions, explain, whatif
from leadflow.scoring.definitions import DefinitionRefused
from leadflow.scoring.document import problems as document_problems
from leadflow.scoring.models import Approval

router = Router(tags=["lead definition"])

REFUSALS = {403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}
YAML_TYPE = "application/yaml"


# --- shapes --------------------------------------------------------------------------------


class DocumentProblem(Schema):
    line: int
    column: int
    field: str = Field(description="Where in the document, e.g. fit[0].options[1].points.")
    message: str


class ApprovalOut(Schema):
    side: str = Field(description="marketing or sales")
    approver: Person
    approved_at: datetime
    comment: str


class DefinitionOut(Schema):
    version: int
    status: LeadDefinition.Status
    summary: str
    created_at: datetime
    created_by: Person | None
    proposed_at: datetime | None
    proposed_by: Person | None
    activated_at: datetime | None
    retired_at: datetime | None
    approvals: list[ApprovalOut]
    approvals_missing: list[str] = Field(description="Sides still to approve a proposal.")
    valid: bool = Field(description="Whether the document is a valid definition.")


class DefinitionDetail(DefinitionOut):
    document: str
    problems: list[DocumentProblem]


class DraftIn(Schema):
    model_config = ConfigDict(extra="forbid")

    document: str | None = Field(
        None, description="The YAML document; default: a copy of `based_on`, or of the active."
    )
    based_on: int | None = Field(None, description="A version to copy.")
    summary: str = Field("", max_length=300)


class DraftUpdate(Schema):
    model_config = ConfigDict(extra="forbid")

    document: str
    summary: str | None = Field(None, max_length=300)


class DocumentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    document: str


class ValidationOut(Schema):
    valid: bool
    problems: list[DocumentProblem]


class ApproveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    comment: str = ""


class ApprovedOut(Schema):
    definition: DefinitionOut
    activated: bool = Field(description="This approval was the second side's: now active.")


class DiffLineOut(Schema):
    kind: str = Field(description="same, added, removed or gap")
    old: int | None
    new: int | None
    text: str


class DiffOut(Schema):
    old: int
    new: int
    changes: list[str] = Field(description="What changed, in words.")
    lines: list[DiffLineOut]
    unified: str


def _definition_out(row: LeadDefinition) -> dict:
    approvals = list(row.approvals.all())
    have = {a.side for a in approvals}
    return {
        "version": row.version,
        "status": row.status,
        "summary": row.summary,
        "created_at": row.created_at,
        "created_by": person(row.created_by),
        "proposed_at": row.proposed_at,
        "proposed_by": person(row.proposed_by),
        "activated_at": row.activated_at,
        "retired_at": row.retired_at,
        "approvals": [
            {
                "side": a.side,
                "approver": person(a.approver),
                "approved_at": a.approved_at,
                "comment": a.comment,
            }
            for a in approvals
        ],
        "approvals_missing": [s for s in Approval.Side.values if s not in have]
        if row.status == LeadDefinition.Status.PROPOSED
        else [],
        "valid": not definitions.problems_of(row),
    }


def _detail(row: LeadDefinition) -> dict:
    return {
        **_definition_out(row),
        "document": row.document,
        "problems": [p.as_dict() for p in definitions.problems_of(row)],
    }


def _versions():
    return LeadDefinition.objects.select_related("created_by", "proposed_by").prefetch_related(
        Prefetch("approvals", queryset=Approval.objects.select_related("approver"))
    )


def _version(version: int) -> LeadDefinition:
    row = _versions().filter(version=version).first()
    if row is None:
        raise Problem(404, "not-found", f"there is no lead definition version {version}")
    return row


def _refused(refusal: DefinitionRefused):
    """A refusal as a problem; a document's problems each with line, column and field."""
    errors = [
        {"field": p.field or "document", "message": str(p), "line": p.line, "column": p.column}
        for p in refusal.problems
    ]
    return problem_response(
        refusal.status, refusal.code, refusal.message, field=refusal.field, errors=errors or None
    )


# --- versions ------------------------------------------------------------------------------


@router.get("/definitions", response=list[DefinitionOut])
def list_definitions(request: HttpRequest):
    """Every version, newest first. Everyone may read the definition: it is the contract."""
    return [_definition_out(row) for row in _versions().order_by("-version")]


@router.get("/definitions/{int:version}", response={200: DefinitionDetail, 404: ProblemOut})
def get_definition(request: HttpRequest, version: int):
    """One version with its document and, if any, the problems that keep it from being used."""
    return _detail(_version(version))


@router.post("/definitions", response={201: DefinitionDetail, **REFUSALS})
def create_draft(request: HttpRequest, response: HttpResponse, payload: DraftIn):
    """A new draft (marketing): the given document, a copy of `based_on`, or of the active
    version. Drafts may have problems while they are written; proposing checks them."""
    based_on = _version(payload.based_on) if payload.based_on is not None else None
    try:
        row = definitions.create_draft(
            actor=request.auth, text=payload.document, summary=payload.summary, based_on=based_on
        )
    except DefinitionRefused as refusal:
        return _refused(refusal)
    response["Location"] = request.build_absolute_uri(f"/api/definitions/{row.version}")
    return Status(201, _detail(_version(row.version)))


@router.post("/definitions/import", response={201: DefinitionDetail, **REFUSALS})
def import_draft(
    request: HttpRequest,
    response: HttpResponse,
    file: File[UploadedFile],
    summary: Form[str] = "",
):
    """A new draft from an uploaded YAML file (multipart/form-data, field `file`)."""
    raw = file.read(definitions.MAX_DOCUMENT * 4 + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(422, "invalid-input", "the file is not UTF-8 text", field="file") from None
    try:
        row = definitions.create_draft(actor=request.auth, text=text, summary=summary)
    except DefinitionRefused as refusal:
        return _refused(refusal)
    response["Location"] = request.build_absolute_uri(f"/api/definitions/{row.version}")
    return Status(201, _detail(_version(row.version)))


@router.get(
    "/definitions/{int:version}/document",
    response={200: None, 404: ProblemOut},
    openapi_extra={"responses": {200: {"content": {YAML_TYPE: {}}}}},
)
def export_document(request: HttpRequest, version: int):
    """The document as a YAML file, to keep, review or import elsewhere."""
    row = _version(version)
    response = HttpResponse(row.document, content_type=f"{YAML_TYPE}; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="lead-definition-v{row.version}.yaml"'
    )
    return response


@router.put("/definitions/{int:version}", response={200: DefinitionDetail, **REFUSALS})
def update_draft(request: HttpRequest, version: int, payload: DraftUpdate):
    """Change a draft. A proposed, active or retired version never changes:
    409 `definition-immutable`."""
    try:
        row = definitions.update_draft(
            _version(version), actor=request.auth, text=payload.document, summary=payload.summary
        )
    except DefinitionRefused as refusal:
        return _refused(refusal)
    return _detail(_version(row.version))


@router.post("/definitions/validate", response=ValidationOut)
def validate(request: HttpRequest, payload: DocumentIn):
    """Check a document without saving it (the editor's live preview)."""
    found = document_problems(payload.document)
    return {"valid": not found, "problems": [p.as_dict() for p in found]}


# --- sign-off ------------------------------------------------------------------------------


@router.post("/definitions/{int:version}/propose", response={200: DefinitionDetail, **REFUSALS})
def propose(request: HttpRequest, version: int):
    """Offer a draft for sign-off (marketing). It must be valid: 422 `definition-invalid`
    lists each problem with its line. From now on it cannot change."""
    try:
        definitions.propose(_version(version), actor=request.auth)
    except DefinitionRefused as refusal:
        return _refused(refusal)
    return _detail(_version(version))


@router.post("/definitions/{int:version}/approve", response={200: ApprovedOut, **REFUSALS})
def approve(request: HttpRequest, version: int, payload: ApproveIn):
    """Sign a proposal for your side (a marketing manager, or an inside or field sales
    manager). With both sides signed, by two people, it becomes the active version, the one
    before is retired and every lead is rescored."""
    try:
        done = definitions.approve(_version(version), actor=request.auth, comment=payload.comment)
    except DefinitionRefused as refusal:
        return _refused(refusal)
    return {"definition": _definition_out(_version(version)), "activated": done.activated}


@router.post("/definitions/{int:version}/withdraw", response={200: DefinitionDetail, **REFUSALS})
def withdraw(request: HttpRequest, version: int):
    """Take back a proposal (marketing): it is retired without having been active."""
    try:
        definitions.withdraw(_version(version), actor=request.auth)
    except DefinitionRefused as refusal:
        return _refused(refusal)
    return _detail(_version(version))


@router.get("/definitions/{int:version}/diff", response={200: DiffOut, 404: ProblemOut})
def diff(request: HttpRequest, version: int, against: int | None = None):
    """The changes from version `against` (default: the active version, or the one just
    before) to this one: line by line, and in words."""
    new = _version(version)
    if against is None:
        current = LeadDefinition.active()
        against = (
            current.version if current and current.version != version else max(version - 1, 1)
        )
    old = _version(against)
    found = definitions.diff(old, new)
    return {
        "old": old.version,
        "new": new.version,
        "changes": found.changes,
        "lines": [vars(line) for line in found.lines],
        "unified": found.unified,
    }


class OutcomesOut(Schema):
    qualified: int
    decided: int = Field(description="Of those, leads with a decided MQL hand-off.")
    accepted: int
    reached_sql: int
    won: int
    lost: int
    acceptance_rate: float | None = Field(description="accepted / decided")
    sql_rate: float | None = Field(description="reached_sql / qualified")
    win_rate: float | None = Field(description="won / (won + lost)")


class SideOut(Schema):
    version: int
    status: str
    mqls_per_month: list[int]
    outcomes: OutcomesOut


class ListedLeadOut(Schema):
    id: int
    name: str
    company: str
    stage: str
    mql_at: datetime = Field(description="When this version would have qualified it.")


class WhatIfOut(Schema):
    months: list[str]
    proposed: SideOut
    active: SideOut | None
    newly_qualified: int
    dropped: int
    newly_qualified_outcomes: OutcomesOut
    dropped_outcomes: OutcomesOut
    newly_qualified_leads: list[ListedLeadOut] = Field(description=f"The latest {whatif.LISTED}.")
    dropped_leads: list[ListedLeadOut]
    note: str


def _outcomes_out(o: whatif.Outcomes) -> dict:
    return {
        **vars(o),
        "acceptance_rate": o.acceptance_rate,
        "sql_rate": o.sql_rate,
        "win_rate": o.win_rate,
    }


def _side_out(side: whatif.Side | None) -> dict | None:
    if side is None:
        return None
    return {
        "version": side.version,
        "status": side.status,
        "mqls_per_month": side.per_month,
        "outcomes": _outcomes_out(side.outcomes),
    }


def what_if_out(found: whatif.WhatIf) -> dict:
    return {
        "months": found.months,
        "proposed": _side_out(found.proposed),
        "active": _side_out(found.active),
        "newly_qualified": found.newly_qualified,
        "dropped": found.dropped,
        "newly_qualified_outcomes": _outcomes_out(found.newly_outcomes),
        "dropped_outcomes": _outcomes_out(found.dropped_outcomes),
        "newly_qualified_leads": [vars(x) for x in found.newly_listed],
        "dropped_leads": [vars(x) for x in found.dropped_listed],
        "note": found.note,
    }


@router.get("/definitions/{int:version}/what-if", response={200: WhatIfOut, **REFUSALS})
def what_if(request: HttpRequest, version: int):
    """How the last 12 months would have looked under this version beside the active one:
    MQLs per month, and the historical acceptance, SQL and win rates of the leads each
    qualifies, with the leads that would newly qualify or drop out."""
    row = _version(version)
    try:
        return what_if_out(whatif.compare(row, now=timezone.now()))
    except DefinitionRefused as refusal:
        return _refused(refusal)


# --- a lead's score ------------------------------------------------------------------------


def _plain(value):
    """A custom attribute may hold a list or a mapping: shown as text."""
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


class FitLineOut(Schema):
    criterion: str
    attribute: str
    value: str | float | int | bool | None
    option: str | None = Field(description="The option that matched; null: none did.")
    points: float


class RuleLineOut(Schema):
    rule: str
    activities: int
    points: float = Field(description="Decayed to now, capped.")
    cap: float | None
    capped: bool


class ScoreOut(Schema):
    lead: int
    version: int
    fit: float
    engagement: float
    fit_needed: float
    engagement_needed: float
    mql: bool = Field(description="Whether the lead meets the MQL rule now.")
    verdict: str
    note: str
    disqualified: list[str]
    fit_lines: list[FitLineOut]
    engagement_lines: list[RuleLineOut]
    unscored_activities: int


@router.get("/leads/{lead_id}/score", response={200: ScoreOut, **REFUSALS})
def lead_score(request: HttpRequest, lead_id: int):
    """Why the lead has its scores: the points of each fit criterion and engagement rule of
    the active definition, and why it is or is not an MQL."""
    lead = access.lead_for(request.auth, lead_id)
    found = explain.for_lead(lead)
    if found.explanation is None:
        raise Problem(409, "no-active-definition", found.unavailable)
    e = found.explanation
    return {
        "lead": lead.pk,
        "version": e.version,
        "fit": e.fit,
        "engagement": e.engagement,
        "fit_needed": e.fit_needed,
        "engagement_needed": e.engagement_needed,
        "mql": e.meets,
        "verdict": e.verdict,
        "note": found.note,
        "disqualified": e.disqualified,
        "fit_lines": [{**vars(line), "value": _plain(line.value)} for line in e.fit_lines],
        "engagement_lines": [vars(line) for line in e.rule_lines],
        "unscored_activities": e.unscored_activities,
    }
