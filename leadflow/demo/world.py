"""The demo company's fixed setup: users in the default teams, sources, campaigns, definition.

These are few rows, written through the ORM. The leads and everything that happens to them
are written by `leadflow.demo.generate` in bulk.
"""

from __future__ import annotations

import calendar
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from leadflow.accounts.models import Side, Team, User
from leadflow.demo import catalog
from leadflow.demo.memory import days_off, pending_offers
from leadflow.leads.models import (
    Campaign,
    Lead,
    LeadDefinition,
    ReasonCode,
    RoutingRule,
    SlaPolicy,
    Source,
)

UTC = UTC
DEMO_PREFIX = "DEMO-"


def demo_external_id(index: int) -> str:
    """The external id of the demo's lead number `index` (0-based); it marks demo leads."""
    return f"{DEMO_PREFIX}{index + 1:07d}"


def demo_present() -> bool:
    return Lead.objects.filter(external_id=demo_external_id(0)).exists()


# --- users ----------------------------------------------------------------------------------


def ensure_teams() -> dict[str, Team]:
    """The first team of each side: the one routing uses. Migrations create them."""
    teams = {}
    for side in Side:
        team = Team.objects.filter(side=side).order_by("id").first()
        if team is None:
            team = Team.objects.create(name=side.label, side=side)
        teams[side.value] = team
    return teams


def ensure_users(password: str | None) -> list[tuple[str, str, str, str]]:
    """Create or update the demo users and set their passwords.

    Returns (username, role, team, password) rows. Without `password`, each user gets a
    fresh random one; the demo data never depends on it.
    """
    teams = ensure_teams()
    passwords = {name: password or secrets.token_urlsafe(9) for name, *_ in catalog.USERS}
    # PBKDF2 costs ~0.2 s a hash and releases the GIL: hash on both cores, once per password.
    distinct = sorted(set(passwords.values()))
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = dict(zip(distinct, pool.map(make_password, distinct), strict=True))
    rows = []
    with transaction.atomic():
        for username, role, side, first, last in catalog.USERS:
            team = teams[side] if side else None
            user = User.objects.filter(username=username).first() or User(username=username)
            user.role, user.team = role, team
            user.first_name, user.last_name = first, last
            user.email = f"{username}@example.com"
            user.is_active = True
            user.is_staff = user.is_superuser = username == "admin"
            user.password = hashes[passwords[username]]
            user.save()
            rows.append((username, role, team.name if team else "", passwords[username]))
    return rows


# --- the company's calendar of months and campaigns -----------------------------------------


@dataclass(frozen=True)
class CampaignSlot:
    """A campaign running in a month, with its share of its source's leads that month."""

    campaign_id: int
    weight: float
    cost_factor: float
    event_at: datetime | None  # the live webcast, for webcast campaigns


@dataclass
class DemoWorld:
    """Everything the simulation reads, loaded once: it never queries the database."""

    teams: dict[str, Team]  # side -> the team routing uses
    all_teams: list[Team]
    all_users: list[User]  # routing considers every rep of a team, demo or not
    users: dict[str, User]  # the demo users, the same objects as in all_users
    reasons: dict[tuple[str, str], ReasonCode]
    definition: LeadDefinition
    sources: list[Source]  # aligned with catalog.SOURCES
    campaigns: dict[int, Campaign]
    slots: list[list[list[CampaignSlot]]]  # [source][month] -> campaigns running
    months: list[date]
    zone: ZoneInfo
    cutoff: datetime  # the demo's "now": nothing happens after it
    rules: list[RoutingRule]
    policies: list[SlaPolicy]
    days_off: dict[int | None, set[date]]  # team id (None: everyone) -> days
    pending: dict[int, int]  # rep id -> offers awaiting their decision already


def month_range(today: date, months: int) -> list[date]:
    first = []
    y, m = today.year, today.month
    for _ in range(months):
        first.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return first[::-1]


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def third_thursday(month: date) -> date:
    day = month + timedelta(days=(3 - month.weekday()) % 7)
    return day + timedelta(days=14)


def build_world(*, months: int, cutoff: datetime, zone: ZoneInfo) -> DemoWorld:
    """Create (or find) everything the leads refer to, and load it for the simulation."""
    month_list = month_range(cutoff.astimezone(zone).date(), months)
    teams = ensure_teams()
    all_users = list(User.objects.select_related("team").order_by("id"))
    demo_names = {name for name, *_ in catalog.USERS}
    users = {u.username: u for u in all_users if u.username in demo_names}
    missing = [name for name, *_ in catalog.USERS if name not in users]
    if missing:
        raise RuntimeError(f"demo users missing: {', '.join(missing)}")
    reasons = {(r.kind, r.code): r for r in ReasonCode.objects.all()}
    start = datetime.combine(month_list[0], datetime.min.time(), zone).astimezone(UTC)
    with transaction.atomic():
        definition = _ensure_definition(start, users)
        sources = [
            Source.objects.get_or_create(name=p.name, defaults={"channel": p.channel})[0]
            for p in catalog.SOURCES
        ]
        slots = [
            _ensure_campaigns(profile, source, month_list, zone)
            for profile, source in zip(catalog.SOURCES, sources, strict=True)
        ]
    return DemoWorld(
        teams=teams,
        all_teams=list(Team.objects.all()),
        all_users=all_users,
        users=users,
        reasons=reasons,
        definition=definition,
        sources=sources,
        campaigns=Campaign.objects.in_bulk(),
        slots=slots,
        months=month_list,
        zone=zone,
        cutoff=cutoff,
        rules=list(RoutingRule.objects.filter(active=True).order_by("position", "id")),
        policies=list(SlaPolicy.objects.all()),
        days_off=days_off(),
        pending=pending_offers(),
    )


def _ensure_definition(start: datetime, users: dict[str, User]) -> LeadDefinition:
    """The active definition; without one, the starter signed by both sides, as the product
    does it (draft, proposal, a marketing and a sales manager approve), dated before the
    demo's first month so that every qualification can record it."""
    active = LeadDefinition.active()
    if active is not None:
        return active
    from leadflow.scoring import definitions
    from leadflow.scoring.models import Approval

    marketing = users["marketing"]
    draft = definitions.create_draft(
        actor=marketing,
        text=definitions.STARTER.read_text(),
        summary="The demo company's first lead definition, agreed by marketing and sales.",
    )
    definitions.propose(draft, actor=marketing)
    definitions.approve(
        draft, actor=users["marketing-manager"], comment="Fit and engagement as we target."
    )
    definitions.approve(
        draft, actor=users["sales-manager"], comment="We accept leads meeting this, within a day."
    )
    # Signed before the demo's history begins (timestamps are not part of the frozen version).
    LeadDefinition.objects.filter(pk=draft.pk).update(
        created_at=start - timedelta(days=45),
        proposed_at=start - timedelta(days=30),
        activated_at=start - timedelta(days=14),
    )
    for approval, days in zip(draft.approvals.order_by("id"), (21, 14), strict=True):
        Approval.objects.filter(pk=approval.pk).update(approved_at=start - timedelta(days=days))
    return LeadDefinition.objects.get(pk=draft.pk)


def _campaign_plan(profile: catalog.SourceProfile, months: list[date], zone: ZoneInfo):
    """Yield (month index, name, started_on, ended_on, weight, cost factor, event_at)."""
    kind = profile.campaign_kind
    for mi, month in enumerate(months):
        quarter = (month.month - 1) // 3 + 1
        q_start = date(month.year, 3 * quarter - 2, 1)
        q_end = month_end(date(month.year, 3 * quarter, 1))
        q_no = month.year * 4 + quarter
        mon = month.strftime("%b %Y")
        topic = catalog.WEBCAST_TOPICS[
            (month.year * 12 + month.month) % len(catalog.WEBCAST_TOPICS)
        ]
        event = datetime.combine(third_thursday(month), datetime.min.time(), zone).replace(hour=11)
        if kind == "quarterly_outbound":
            segment = catalog.OUTBOUND_SEGMENTS[q_no % len(catalog.OUTBOUND_SEGMENTS)]
            yield mi, f"Outbound {month.year} Q{quarter}: {segment}", q_start, q_end, 1.0, 1.0, None
        elif kind == "quarterly_syndication":
            partners = catalog.SYNDICATION_PARTNERS
            for k in range(2):
                partner, factor = partners[(q_no + k) % len(partners)]
                asset = catalog.ASSETS[(q_no + 3 * k) % len(catalog.ASSETS)]
                name = f"{partner} syndication {month.year} Q{quarter}: {asset}"
                yield mi, name, q_start, q_end, 0.6 if k == 0 else 0.4, factor, None
        elif kind == "monthly_authority_webcast":
            who = catalog.AUTHORITIES[(month.year * 12 + month.month) % len(catalog.AUTHORITIES)]
            yield (
                mi,
                f"Webcast with {who}: {topic} ({mon})",
                month,
                event.date(),
                1.0,
                1.0,
                event,
            )
        elif kind == "monthly_educational_webcast":
            yield (
                mi,
                f"Educational webcast: {topic} ({mon})",
                month,
                event.date(),
                1.0,
                1.0,
                (event - timedelta(days=7)),
            )
        elif kind == "monthly_title_webcast":
            group = catalog.TITLE_GROUPS[
                (month.year * 12 + month.month) % len(catalog.TITLE_GROUPS)
            ]
            yield (
                mi,
                f"Webcast for {group}: {topic} ({mon})",
                month,
                event.date(),
                1.0,
                1.0,
                (event + timedelta(days=2)),
            )
        elif kind == "website":
            for name, weight in catalog.WEBSITE_CAMPAIGNS:
                yield mi, name, None, None, weight, 1.0, None
        else:  # pragma: no cover - a new profile must name its campaign kind
            raise ValueError(f"unknown campaign kind {kind!r}")


def _ensure_campaigns(profile, source: Source, months: list[date], zone: ZoneInfo):
    existing = {c.name: c for c in Campaign.objects.filter(source=source)}
    slots: list[list[CampaignSlot]] = [[] for _ in months]
    for mi, name, started, ended, weight, factor, event in _campaign_plan(profile, months, zone):
        campaign = existing.get(name)
        if campaign is None:
            campaign = Campaign.objects.create(
                source=source,
                name=name[:150],
                started_on=started,
                ended_on=ended,
                external_id=f"{DEMO_PREFIX}C{source.pk}-{len(existing) + 1}",
            )
            existing[name] = campaign
        event_utc = event.astimezone(UTC) if event else None
        slots[mi].append(CampaignSlot(campaign.pk, weight, factor, event_utc))
    return slots


# --- wiping a previous demo -----------------------------------------------------------------

_DEMO_LEADS = "SELECT id FROM leads_lead WHERE external_id LIKE %s"
_DEMO_CAMPAIGNS = (
    "SELECT id FROM leads_campaign WHERE external_id LIKE %s "
    "AND id NOT IN (SELECT campaign_id FROM leads_lead WHERE campaign_id IS NOT NULL)"
)


def _lead_dependents() -> list:
    """The models that refer to leads, those referring to others of them first."""
    models = [rel.related_model for rel in Lead._meta.related_objects]
    refers = {
        m: {f.related_model for f in m._meta.concrete_fields if f.is_relation} for m in models
    }
    ordered: list = []
    while len(ordered) < len(models):
        for m in models:
            if m not in ordered and not any(
                m in refers[other] for other in models if other not in ordered and other is not m
            ):
                ordered.append(m)
                break
        else:  # a cycle: fall back to declaration order for the rest
            ordered += [m for m in models if m not in ordered]
    return ordered


def wipe() -> dict[str, int]:
    """Delete the demo's leads and everything hanging off them; keep users and definitions.

    The demo users' round-robin turns start over.

    History is append-only for the application; wiping a demo database is the one place that
    deletes it, with plain SQL (the database trigger only refuses UPDATE).
    """
    like = DEMO_PREFIX + "%"
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for model in _lead_dependents():
            column = next(
                f.column
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model is Lead
            )
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE {column} IN ({_DEMO_LEADS})", [like]
            )
            counts[str(model._meta.verbose_name_plural)] = cursor.rowcount
        cursor.execute(
            "SELECT DISTINCT account_id FROM leads_lead "
            "WHERE external_id LIKE %s AND account_id IS NOT NULL",
            [like],
        )
        accounts = [row[0] for row in cursor.fetchall()]
        cursor.execute("DELETE FROM leads_lead WHERE external_id LIKE %s", [like])
        counts["leads"] = cursor.rowcount
        counts["accounts"] = 0
        for i in range(0, len(accounts), 500):
            batch = accounts[i : i + 500]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"DELETE FROM leads_account WHERE id IN ({marks}) "
                "AND id NOT IN (SELECT account_id FROM leads_lead WHERE account_id IS NOT NULL) "
                "AND id NOT IN "
                "(SELECT account_id FROM leads_opportunity WHERE account_id IS NOT NULL)",
                batch,
            )
            counts["accounts"] += cursor.rowcount
        cursor.execute(f"DELETE FROM leads_spend WHERE campaign_id IN ({_DEMO_CAMPAIGNS})", [like])
        counts["spend rows"] = cursor.rowcount
        cursor.execute(
            f"DELETE FROM leads_campaign WHERE id IN ({_DEMO_CAMPAIGNS}) AND id NOT IN "
            "(SELECT campaign_id FROM leads_activity WHERE campaign_id IS NOT NULL)",
            [like],
        )
        counts["campaigns"] = cursor.rowcount
    # The demo's offers are gone, and with them the round-robin turns they took: a new demo
    # from the same seed routes as the first one did.
    User.objects.filter(username__in=[name for name, *_ in catalog.USERS]).update(
        last_offered_at=None
    )
    return counts
