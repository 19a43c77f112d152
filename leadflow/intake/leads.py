"""Leads arriving from outside: one, or a batch of up to 5,000 (the API, web-to-lead forms).

Each item is validated on its own; a bad item is reported by its fields and the good items
around it are stored. A person who is already known is not created twice: the lead is found
by e-mail key (leadflow.leads.identity), then by external id, and the arrival is merged into it
by the merge policy (leadflow.leads.merge, through `actions.update_lead`) and recorded on it as
a `form_fill` activity. New people go through `actions.create_lead` (routing, history, outbox,
scoring), one by one, so nothing is skipped for speed; the lookups around them are in bulk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from leadflow.leads import actions, lifecycle
from leadflow.leads.identity import email_key
from leadflow.leads.lifecycle import Forbidden, TransitionError
from leadflow.leads.models import Account, ActivityKind, Campaign, Lead, Source
from leadflow.leads.routing import DatabaseServices

MAX_BATCH = 5_000
QUERY_CHUNK = 2_000  # values per IN (...): well under SQLite's parameter limit

CREATED = "created"
MERGED = "merged"
INVALID = "invalid"

# A plain pydantic model, not a ninja Schema (those cost ~60 µs an object in a batch).
class LeadItem(BaseModel):
    """One arriving lead. Unknown fields are refused by name."""

    model_config = ConfigDict(extra="forbid")

    source: int | str = Field(description="Source id, or its exact name.")
    campaign: int | None = Field(None, description="Campaign id; it must belong to the source.")
    account: int | None = Field(None, description="Account id.")
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    domain: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2.")
    industry: str | None = None
    employee_count: int | None = Field(None, ge=0)
    custom: dict[str, Any] | None = None
    external_id: str | None = None


@dataclass
class Arrival:
    """A validated item: lead fields with their records resolved."""

    index: int
    source: Source
    fields: dict[str, Any]


@dataclass
class Outcome:
    """What became of one item: `created` or `merged` into `lead_id`, or `invalid`."""

    index: int
    result: str
    lead_id: int | None = None
    changed: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # [{"field": "email", "message": …}]

    def as_json(self) -> dict:
        return {
            "index": self.index,
            "result": self.result,
            "lead": self.lead_id,
            "changed": self.changed,
            "errors": self.errors,
        }


def intake_lead(
    item: Mapping[str, Any] | Arrival,
    *,
    actor,
    channel: str = "api",
    now: datetime | None = None,
    record_creation: bool = False,
) -> Outcome:
    """One lead: see `intake_batch`."""
    return intake_batch(
        [item], actor=actor, channel=channel, now=now, record_creation=record_creation
    )[0]


def intake_batch(
    items: Sequence[Mapping[str, Any] | Arrival],
    *,
    actor,
    channel: str = "api",
    now: datetime | None = None,
    record_creation: bool = False,
) -> list[Outcome]:
    """Validate every item, then create or merge each valid one, in one transaction (each item
    in its own savepoint: one refused by the lifecycle does not undo the others). An outcome
    per item, in order. `channel` names the system in the merge activity; `record_creation`
    records a new lead's arrival as a `form_fill` activity too (a person filled a form)."""
    if len(items) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH:,} leads per call")
    if not lifecycle.actor_roles(actor) & actions.CREATE_ROLES:
        raise Forbidden(f"{actor} may not create leads (marketing may)")
    now = now or timezone.now()
    outcomes: list[Outcome | None] = [None] * len(items)
    arrivals = []
    for arrival in validate(items):
        if isinstance(arrival, Outcome):
            outcomes[arrival.index] = arrival
        else:
            arrivals.append(arrival)
    # One routing service for the batch: it keeps the default teams it has looked up.
    services = DatabaseServices()
    with transaction.atomic():
        _lock_identities(arrivals)
        by_email, by_external = _known_leads(arrivals)
        for arrival in arrivals:
            outcomes[arrival.index] = _take(
                arrival, by_email, by_external, actor=actor, channel=channel, now=now,
                record_creation=record_creation, services=services,
            )
    return outcomes


# --- validation ----------------------------------------------------------------------------


def validate(items: Sequence[Mapping[str, Any] | Arrival]) -> list[Arrival | Outcome]:
    """Each item as an Arrival, or as an `invalid` Outcome naming every field at fault."""
    parsed: list[tuple[int, LeadItem] | Outcome | Arrival] = []
    for index, item in enumerate(items):
        if isinstance(item, Arrival):
            item.index = index
            parsed.append(_checked(item))
            continue
        if not isinstance(item, Mapping):
            parsed.append(_invalid(index, [("", "an item is a JSON object of lead fields")]))
            continue
        try:
            parsed.append((index, LeadItem.model_validate(item)))
        except PydanticValidationError as exc:
            errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
            parsed.append(_invalid(index, errors))
    found = [p for p in parsed if isinstance(p, tuple)]
    sources = _sources({p[1].source for p in found})
    campaigns = _by_pk(Campaign, {p[1].campaign for p in found if p[1].campaign is not None})
    accounts = _by_pk(Account, {p[1].account for p in found if p[1].account is not None})
    out: list[Arrival | Outcome] = []
    for p in parsed:
        if not isinstance(p, tuple):
            out.append(p)
            continue
        index, item = p
        out.append(_arrival(index, item, sources, campaigns, accounts))
    return out


def _invalid(index: int, errors: list[tuple[str, str]]) -> Outcome:
    return Outcome(
        index, INVALID, errors=[{"field": name, "message": message} for name, message in errors]
    )


def _sources(refs: set[int | str]) -> dict[int | str, Source]:
    names = {r for r in refs if isinstance(r, str)}
    ids = {r for r in refs if isinstance(r, int)} | {int(r) for r in names if r.isdigit()}
    found: dict[int | str, Source] = {}
    for source in Source.objects.filter(Q(name__in=names) | Q(pk__in=ids)):
        found[source.name] = source
        found.setdefault(source.pk, source)
    # A name that is not a source may be an id written as text.
    for name in names:
        if name not in found and name.isdigit() and int(name) in found:
            found[name] = found[int(name)]
    return found


def _by_pk(model, ids: set[int]) -> dict[int, Any]:
    return {obj.pk: obj for obj in model.objects.filter(pk__in=ids)} if ids else {}


# Checked by the model's own field validators (e-mail syntax, lengths, the country's two
# letters), before anything is written.
CHECKED = ("first_name", "last_name", "title", "email", "phone", "company", "domain",
           "country", "industry", "external_id")


def _arrival(index, item: LeadItem, sources, campaigns, accounts) -> Arrival | Outcome:
    errors: list[tuple[str, str]] = []
    source = sources.get(item.source)
    if source is None:
        errors.append(("source", f"there is no source {item.source!r}"))
    fields: dict[str, Any] = {
        name: value
        for name, value in item.model_dump(exclude_none=True).items()
        if name not in {"source", "campaign", "account"}
    }
    for name in CHECKED:
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    if item.campaign is not None:
        campaign = campaigns.get(item.campaign)
        if campaign is None or (source is not None and campaign.source_id != source.pk):
            errors.append(("campaign", f"there is no campaign {item.campaign} of source "
                                       f"{source or item.source}"))
        fields["campaign"] = campaign
    if item.account is not None:
        fields["account"] = accounts.get(item.account)
        if fields["account"] is None:
            errors.append(("account", f"there is no account {item.account}"))
    errors += _field_errors(fields)
    if errors:
        return _invalid(index, errors)
    return Arrival(index, source, fields)


def _checked(arrival: Arrival) -> Arrival | Outcome:
    """An Arrival built by another edge (a web form): its values still get the model's checks."""
    errors = _field_errors(arrival.fields)
    return _invalid(arrival.index, errors) if errors else arrival


def _field_errors(fields: dict) -> list[tuple[str, str]]:
    checked = {name: fields[name] for name in CHECKED if name in fields}
    try:
        Lead(**checked).clean_fields(
            exclude=[f.name for f in Lead._meta.fields if f.name not in checked]
        )
    except DjangoValidationError as exc:
        return [(name, m) for name, messages in exc.message_dict.items() for m in messages]
    return []


# --- matching and storing ------------------------------------------------------------------


def _identities(arrival: Arrival) -> tuple[str, str]:
    return email_key(arrival.fields.get("email")), arrival.fields.get("external_id") or ""


def _lock_identities(arrivals: list[Arrival]) -> None:
    """PostgreSQL: hold a transaction lock per e-mail key and external id, so that two calls
    bringing the same new person at once cannot both create them (the second waits, then
    finds the first's lead). SQLite needs none: its writers already take turns (IMMEDIATE)."""
    if connection.vendor != "postgresql":
        return
    names = set()
    for arrival in arrivals:
        key, external = _identities(arrival)
        if key:
            names.add(f"email:{key}")
        if external:
            names.add(f"external:{external}")
    if not names:
        return
    # Sorted, so two batches lock in the same order and cannot deadlock.
    keys = sorted(
        int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "big", signed=True)
        for n in names
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys]
        )


def _known_leads(arrivals: list[Arrival]) -> tuple[dict[str, int], dict[str, int]]:
    """Leads already known by e-mail key and by external id (the oldest, if several are)."""
    keys = sorted({k for k, _ in map(_identities, arrivals) if k})
    externals = sorted({e for _, e in map(_identities, arrivals) if e})
    by_email: dict[str, int] = {}
    by_external: dict[str, int] = {}
    for lookup, values, found in (
        ("email_key__in", keys, by_email),
        ("external_id__in", externals, by_external),
    ):
        column = lookup.removesuffix("__in")
        for start in range(0, len(values), QUERY_CHUNK):
            rows = Lead.objects.filter(**{lookup: values[start : start + QUERY_CHUNK]})
            for pk, value in rows.order_by("-pk").values_list("pk", column):
                found[value] = pk  # descending ids: the oldest is written last and stays
    return by_email, by_external


def _take(
    arrival: Arrival, by_email, by_external, *, actor, channel, now, record_creation, services
) -> Outcome:
    key, external = _identities(arrival)
    lead_id = (by_email.get(key) if key else None) or (
        by_external.get(external) if external else None
    )
    try:
        # Each action is atomic itself; an item that takes two gets a savepoint around both:
        # an item the lifecycle refuses leaves nothing behind, and the batch goes on.
        two_actions = lead_id is not None or record_creation
        with transaction.atomic() if two_actions else nullcontext():
            if lead_id is None:
                lead = actions.create_lead(
                    actor=actor, source=arrival.source, now=now, services=services,
                    **arrival.fields,
                )
                if record_creation:
                    _record(lead.pk, arrival, channel, now, "new lead")
                outcome = Outcome(arrival.index, CREATED, lead.pk)
            else:
                # The merge policy picks what it may write: source, campaign and account stay
                # those of the first touch.
                lead, written = actions.update_lead(
                    lead_id, actor=actor, fields=arrival.fields, now=now
                )
                changed = sorted(written)
                detail = f"arrived again; changed {', '.join(changed)}" if changed else (
                    "arrived again; nothing new"
                )
                _record(lead.pk, arrival, channel, now, detail)
                outcome = Outcome(arrival.index, MERGED, lead.pk, changed=changed)
    except DjangoValidationError as exc:
        errors = [(n, m) for n, messages in exc.message_dict.items() for m in messages] if hasattr(
            exc, "error_dict"
        ) else [("", m) for m in exc.messages]
        return _invalid(arrival.index, errors)
    except TransitionError as refusal:
        return _invalid(arrival.index, [(refusal.field or "", refusal.message)])
    # Later items of the same batch find this lead too.
    if key:
        by_email.setdefault(key, outcome.lead_id)
    if external:
        by_external.setdefault(external, outcome.lead_id)
    return outcome


def _record(lead_id: int, arrival: Arrival, channel: str, now: datetime, detail: str) -> None:
    actions.log_activity(
        lead_id,
        ActivityKind.FORM_FILL,
        occurred_at=now,
        campaign=arrival.fields.get("campaign"),
        source_system=channel,
        detail=f"{detail} (source {arrival.source.name})",
    )
