"""Recording activities from other systems: one at a time or in batches of up to 10,000.

Each activity names its lead by id, e-mail or external id. Activities whose lead (or campaign,
or actor) cannot be found are refused one by one, with their index and the reason; the rest are
stored, in one transaction. Storing does what `actions.log_activity` does for each activity in
order (a sales activity by a person after acceptance is the hand-off's first touch) and scores
each activity against the active definition; leads that now meet the MQL rule move to `mql`
after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.leads import access, actions
from leadflow.leads.identity import email_key
from leadflow.leads.lifecycle import Forbidden
from leadflow.leads.models import (
    CLOSED_STAGES,
    SALES_ACTIVITY_KINDS,
    Activity,
    Campaign,
    Decision,
    Handoff,
    Lead,
    Stage,
)
from leadflow.scoring import bulk, incremental
from leadflow.scoring.incremental import NewActivity
from leadflow.scoring.models import PendingMql

MAX_BATCH = 10_000
# A sending system's clock may run a little ahead; an activity further in the future is a bug.
CLOCK_SKEW = timedelta(minutes=5)
QUERY_CHUNK = 5_000  # SQLite allows 32,766 parameters per statement
# Who may record activities for any lead: marketing (its automation), managers, admins.
# Reps record them for the leads they may see; the arbiter records none.
ANY_LEAD_ROLES = frozenset({Role.MARKETING, Role.MANAGER, Role.ADMIN})
OWN_LEAD_ROLES = frozenset({Role.INSIDE_SALES, Role.FIELD_SALES})


@dataclass
class Event:
    """One activity as another system reports it."""

    kind: str
    occurred_at: datetime | None = None  # None: now
    lead: int | None = None
    email: str | None = None
    external_id: str | None = None
    url: str = ""
    campaign: int | str | None = None  # a campaign id, or its external id
    source_system: str = "api"
    actor: str | None = None  # the username of the person who did it (calls, meetings)
    detail: str = ""


@dataclass(frozen=True)
class Refusal:
    index: int
    code: str
    detail: str


@dataclass
class Recorded:
    received: int
    stored: int = 0
    refused: list[Refusal] = field(default_factory=list)
    qualified: list[int] = field(default_factory=list)  # leads moved to mql by these activities
    queued: list[int] = field(default_factory=list)  # leads the worker will move (qualify=False)
    activity: Activity | None = None  # the one stored, for a single event


def may_record(user: User) -> QuerySet[Lead]:
    """The leads `user` may record activities for; Forbidden if none."""
    if user.is_superuser or user.role in ANY_LEAD_ROLES:
        return Lead.objects.all()
    if user.role in OWN_LEAD_ROLES:
        return access.visible_leads(user)
    raise Forbidden(f"{user} ({user.get_role_display()}) may not record activities")


def record(
    events: Sequence[Event], *, user: User, now: datetime | None = None, qualify: bool = True
) -> Recorded:
    """Store the events that name a lead, campaign and actor that exist; refuse the others.
    Leads that now meet the MQL rule are moved to mql after the commit, or, with
    `qualify=False` (large imports: each move is a full lifecycle transition), queued for the
    worker, in the same transaction."""
    if len(events) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH:,} activities per call")
    now = now or timezone.now()
    leads = may_record(user)
    result = Recorded(received=len(events))
    lead_ids = _match_leads(leads, events)
    campaigns = _campaigns(events)
    actors = _actors(events)
    rows: list[tuple] = []
    for index, event in enumerate(events):
        refusal = _refusal(index, event, lead_ids, campaigns, actors, now)
        if refusal:
            result.refused.append(refusal)
            continue
        rows.append(
            (
                lead_ids[index],
                event.kind,
                event.occurred_at or now,
                event.url or "",
                campaigns.get(event.campaign) if event.campaign is not None else None,
                event.source_system,
                actors.get(event.actor) if event.actor else None,
                event.detail or "",
            )
        )
    if not rows:
        return result
    with transaction.atomic():
        # Scored first: a lead's state rebuilt from history must not include these yet.
        candidates = incremental.score_activities(
            [NewActivity(r[0], r[1], r[2].timestamp(), r[3], r[4]) for r in rows],
            stored=False,
            now=now,
        )
        bulk.insert_activities(rows)
        _first_touches(rows)
        if not qualify and candidates:
            PendingMql.objects.bulk_create(
                [PendingMql(lead_id=pk, noted_at=now) for pk in candidates],
                ignore_conflicts=True,
            )
    result.stored = len(rows)
    if qualify:
        result.qualified = incremental.qualify(candidates)
    else:
        result.queued = candidates
    return result


def record_one(event: Event, *, user: User, now: datetime | None = None) -> Recorded:
    """One activity, through `actions.log_activity` itself (scored as it is saved)."""
    now = now or timezone.now()
    leads = may_record(user)
    lead_ids = _match_leads(leads, [event])
    campaigns = _campaigns([event])
    actors = _actors([event])
    result = Recorded(received=1)
    refusal = _refusal(0, event, lead_ids, campaigns, actors, now)
    if refusal:
        result.refused.append(refusal)
        return result
    lead_id = lead_ids[0]
    before = Lead.objects.values_list("stage", flat=True).get(pk=lead_id)
    activity = actions.log_activity(
        lead_id,
        event.kind,
        actor=User.objects.get(pk=actors[event.actor]) if event.actor else None,
        occurred_at=event.occurred_at or now,
        url=event.url or "",
        campaign=Campaign.objects.get(pk=campaigns[event.campaign]) if event.campaign else None,
        source_system=event.source_system,
        detail=event.detail or "",
    )
    after = Lead.objects.values_list("stage", flat=True).get(pk=lead_id)
    result.stored, result.activity = 1, activity
    result.qualified = [lead_id] if before != after and after == Stage.MQL else []
    return result


# --- matching ------------------------------------------------------------------------------


def _chunks(values: Sequence, size: int = QUERY_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _best(rows: Iterable[tuple]) -> dict[str, int]:
    """Several leads share an e-mail or external id (a person comes back): prefer an open
    lead, then the newest. rows: (key, id, stage, created_at)."""
    best: dict[str, tuple] = {}
    for key, pk, stage, created_at in rows:
        rank = (stage not in CLOSED_STAGES, created_at, pk)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, pk)
    return {key: pk for key, (_, pk) in best.items()}


def _match_leads(leads: QuerySet[Lead], events: Sequence[Event]) -> dict[int, int]:
    """{event index: lead id} for every event whose lead exists and may be recorded on."""
    ids = sorted({e.lead for e in events if e.lead is not None})
    emails = sorted({e.email.strip() for e in events if e.lead is None and e.email})
    externals = sorted(
        {e.external_id for e in events if e.lead is None and not e.email and e.external_id}
    )
    found_ids: set[int] = set()
    if ids and not leads.query.where:  # every lead: one raw query, not 10,000 ORM lookups
        where, params = bulk.any_of("id", ids)
        found_ids.update(
            pk for (pk,) in bulk.rows(f"SELECT id FROM {Lead._meta.db_table} WHERE {where}",
                                      params)
        )
    else:
        for chunk in _chunks(ids):
            found_ids.update(leads.filter(pk__in=chunk).values_list("pk", flat=True))
    by_email: dict[str, int] = {}
    if emails:
        wanted = sorted({email_key(e) for e in emails})
        rows = []
        for chunk in _chunks(wanted):
            rows += leads.filter(email_key__in=chunk).values_list(
                "email_key", "pk", "stage", "created_at"
            )
        by_email = _best(rows)
    by_external: dict[str, int] = {}
    if externals:
        rows = []
        for chunk in _chunks(externals):
            rows += leads.filter(external_id__in=chunk).values_list(
                "external_id", "pk", "stage", "created_at"
            )
        by_external = _best(rows)
    matched = {}
    for index, event in enumerate(events):
        if event.lead is not None:
            if event.lead in found_ids:
                matched[index] = event.lead
        elif event.email:
            pk = by_email.get(email_key(event.email))
            if pk is not None:
                matched[index] = pk
        elif event.external_id and event.external_id in by_external:
            matched[index] = by_external[event.external_id]
    return matched


def _campaigns(events: Sequence[Event]) -> dict[int | str, int]:
    """{campaign as given: campaign id}: an id, or a campaign's external id."""
    given = {e.campaign for e in events if e.campaign is not None}
    if not given:
        return {}
    ids = [c for c in given if isinstance(c, int)]
    externals = [c for c in given if isinstance(c, str)]
    found: dict[int | str, int] = {}
    query = Q(pk__in=ids) | Q(external_id__in=externals)
    for pk, external in Campaign.objects.filter(query).values_list("pk", "external_id"):
        if pk in given:
            found[pk] = pk
        if external and external in given:
            found[external] = pk
    return found


def _actors(events: Sequence[Event]) -> dict[str, int]:
    names = {e.actor for e in events if e.actor}
    if not names:
        return {}
    return dict(
        User.objects.filter(username__in=names, is_active=True).values_list("username", "pk")
    )


def _refusal(index, event: Event, lead_ids, campaigns, actors, now) -> Refusal | None:
    if event.lead is None and not event.email and not event.external_id:
        return Refusal(index, "no-lead", "name the lead: lead (id), email or external_id")
    if index not in lead_ids:
        if event.lead is not None:
            return Refusal(index, "unknown-lead", f"there is no lead {event.lead}")
        if event.email:
            return Refusal(index, "unknown-lead", f"no lead has the e-mail {event.email}")
        return Refusal(index, "unknown-lead", f"no lead has the external id {event.external_id}")
    if event.occurred_at is not None and event.occurred_at > now + CLOCK_SKEW:
        return Refusal(
            index, "in-the-future", f"occurred_at {event.occurred_at.isoformat()} is in the future"
        )
    if event.campaign is not None and event.campaign not in campaigns:
        return Refusal(index, "unknown-campaign", f"there is no campaign {event.campaign!r}")
    if event.actor and event.actor not in actors:
        return Refusal(index, "unknown-actor", f"there is no active user {event.actor!r}")
    return None


# --- first touch, in bulk --------------------------------------------------------------------


def _first_touches(rows: Sequence[tuple]) -> None:
    """What log_activity does for each row in order, in one pass: a sales activity by a person
    stops the clock of the lead's accepted, untouched hand-off if it came after acceptance."""
    touches = [(r[0], r[2]) for r in rows if r[1] in SALES_ACTIVITY_KINDS and r[6] is not None]
    if not touches:
        return
    open_offers: dict[int, list[Handoff]] = defaultdict(list)
    lead_ids = sorted({lead for lead, _ in touches})
    for chunk in _chunks(lead_ids):
        for offer in Handoff.objects.filter(
            lead_id__in=chunk,
            decision=Decision.ACCEPTED,
            first_touch_at__isnull=True,
            returned_at__isnull=True,
        ):
            open_offers[offer.lead_id].append(offer)
    touched: list[Handoff] = []
    for lead_id, at in touches:
        for offer in open_offers.get(lead_id, ()):
            if offer.first_touch_at is None and offer.decided_at <= at:
                offer.first_touch_at = at
                touched.append(offer)
    for offer in touched:
        Handoff.objects.filter(pk=offer.pk, first_touch_at__isnull=True).update(
            first_touch_at=offer.first_touch_at
        )
