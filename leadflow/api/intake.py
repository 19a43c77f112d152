"""Lead intake: POST /api/leads (one lead) and POST /api/leads/batch (up to 5,000).

Thin edges: parse, call `leadflow.intake.leads` under `leadflow.intake.idempotency`, answer.
Both de-duplicate: a person already known by e-mail or external id is merged into their lead
(see MERGE_POLICY) instead of created twice, and both honour `Idempotency-Key`.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import BaseModel, ConfigDict, Field

from leadflow.api import idempotent
from leadflow.api.schemas import FieldError, LeadDetail, ProblemOut
from leadflow.intake import leads as intake
from leadflow.leads import merge

router = Router(tags=["intake"])

def _policy_items(doc: str) -> list[str]:
    """The numbered rules of the merge policy's docstring, each on one line."""
    items: list[str] = []
    for line in doc.splitlines():
        text = line.strip()
        if re.match(r"\d+\. ", text):
            items.append(text)
        elif items and not text:
            break  # the list has ended
        elif items:
            items[-1] += " " + text
    return items


MERGE_POLICY = (
    "**De-duplication.** A lead is found by its e-mail address first (case-insensitive; "
    "`+tags` folded only at providers where they never name another mailbox, such as Gmail), "
    "then by `external_id`. A match is merged, not duplicated, and the arrival is recorded on "
    "the lead as a `form_fill` activity. The merge policy (`leadflow.leads.merge`):\n\n"
    + "\n".join(_policy_items(merge.__doc__))
)

IDEMPOTENCY = idempotent.DESCRIPTION


class IntakeResult(Schema):
    result: str = Field(description="`created` (201) or `merged` into a known lead (200).")
    changed: list[str] = Field(description="The fields the merge wrote (empty when created).")


class LeadIntakeOut(LeadDetail, IntakeResult):
    pass


class ItemOut(Schema):
    index: int = Field(description="Position of the item in `items`, from 0.")
    result: str = Field(description="`created`, `merged` or `invalid`.")
    lead: int | None = Field(description="The lead created or merged into.")
    changed: list[str] = Field(description="Fields a merge wrote.")
    errors: list[FieldError] = Field(
        description="For `invalid`: every field at fault, named `items[<index>].<field>`."
    )


class BatchOut(Schema):
    received: int
    created: int
    merged: int
    invalid: int
    items: list[ItemOut]


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any JSON value: an item that is not an object is refused alone, by its index.
    items: list[Any] = Field(
        min_length=1,
        max_length=intake.MAX_BATCH,
        description="Leads, each with the fields of POST /api/leads. Each is validated alone.",
    )


def create_or_merge(request: HttpRequest, item: dict) -> HttpResponse:
    """POST /api/leads (routed in leadflow.api.leads): one lead, created or merged."""
    from leadflow.api import leads as lead_api  # it routes here: imported late

    def work() -> dict:
        outcome = intake.intake_lead(item, actor=request.auth)
        if outcome.result == intake.INVALID:
            raise _item_problem(outcome.errors)
        return outcome.as_json()

    def render(outcome: dict) -> tuple[int, dict]:
        lead = lead_api._fresh(lead_api.Lead(pk=outcome["lead"]))
        body = LeadIntakeOut.model_validate(
            {**lead_api._detail(request, lead), "result": outcome["result"],
             "changed": outcome["changed"]}
        ).model_dump(mode="json")
        return (201 if outcome["result"] == intake.CREATED else 200), body

    return idempotent.answer(request, work, render)


def _item_problem(errors: list[dict]) -> DjangoValidationError:
    """The lead's errors as a 422 naming each field (leadflow.api.problems renders it)."""
    by_field: dict[str, list[str]] = {}
    for e in errors:
        by_field.setdefault(e["field"], []).append(e["message"])
    return DjangoValidationError(by_field)


@router.post(
    "/leads/batch",
    response={200: BatchOut, 403: ProblemOut, 422: ProblemOut},
    description="Create or merge up to 5,000 leads in one call. Each item is validated alone: "
    "an invalid item is reported in `items` with every field at fault "
    "(`items[3].email`) and the valid items are stored all the same. The answer is 200 "
    "with one entry per item, in order.\n\n" + MERGE_POLICY + "\n\n" + IDEMPOTENCY,
)
def create_batch(request: HttpRequest, payload: BatchIn):
    def work() -> dict:
        outcomes = intake.intake_batch(payload.items, actor=request.auth)
        return {"items": [o.as_json() for o in outcomes]}

    def render(outcome: dict) -> tuple[int, dict]:
        items = outcome["items"]
        for item in items:
            item["errors"] = [
                {"field": f"items[{item['index']}]" + (f".{e['field']}" if e["field"] else ""),
                 "message": e["message"]}
                for e in item["errors"]
            ]
        counts = {r: sum(1 for i in items if i["result"] == r) for r in
                  (intake.CREATED, intake.MERGED, intake.INVALID)}
        return 200, {"received": len(items), **counts, "items": items}

    return idempotent.answer(request, work, render)
