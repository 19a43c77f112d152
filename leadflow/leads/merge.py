"""The merge policy: what a lead becomes when the same person arrives again.

Intake (API, web-to-lead) and the CSV importer find an existing lead by e-mail key, then by
external id (leadflow.leads.identity). Instead of a duplicate, the known lead is updated:

1. A blank incoming value never erases anything.
2. `email` and `external_id` are how the lead is found: set only while the lead has none.
3. Person and company fields take the newest non-blank value: a form filled today knows the
   person's current title, phone or head-count better than last year's list.
4. Custom attributes merge key by key, newest value winning; keys not sent are kept.
5. Source and campaign stay those of the first touch, so the lead's cost stays with the
   source that brought it; the new touch is recorded as an activity with its own campaign.
6. Lifecycle and score fields (stage, owner, scores) are never written by a merge: only the
   lifecycle moves a lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FOUND_BY = ("email", "external_id")
NEWEST_WINS = (
    "first_name",
    "last_name",
    "title",
    "phone",
    "company",
    "domain",
    "country",
    "industry",
    "employee_count",
)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def changes(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """The fields to write on a lead whose values are `current` when `incoming` arrives for
    the same person: only what differs, by the policy above. Fields the policy does not name
    (source, campaign, stage…) are ignored."""
    out: dict[str, Any] = {}
    for name in FOUND_BY:
        value = incoming.get(name)
        if not _blank(value) and _blank(current.get(name)):
            out[name] = value
    for name in NEWEST_WINS:
        value = incoming.get(name)
        if not _blank(value) and value != current.get(name):
            out[name] = value
    custom = incoming.get("custom") or {}
    kept = dict(current.get("custom") or {})
    merged = {**kept, **{k: v for k, v in custom.items() if not _blank(v)}}
    if merged != kept:
        out["custom"] = merged
    return out
