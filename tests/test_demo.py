"""The demo company: deterministic, realistic, and written exactly as the actions would write it."""

from collections import Counter
from datetime import datetime, time
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from leadflow.accounts.models import Role, User
from leadflow.demo import catalog
from leadflow.demo.generate import generate
from leadflow.demo.simulate import Ids, Simulation
from leadflow.demo.world import build_world, ensure_users, wipe
from leadflow.demo.writer import next_ids
from leadflow.leads import actions
from leadflow.leads.models import (
    Account,
    Campaign,
    Handoff,
    Lead,
    LeadDefinition,
    Opportunity,
    Source,
    Spend,
    Stage,
    StageChange,
)

TODAY = "2026-03-31"
ZONE = ZoneInfo("UTC")
CUTOFF = datetime.combine(datetime.fromisoformat(TODAY).date(), time(23, 59, 59), ZONE)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_demo(leads=300, seed=7, **kw):
    ensure_users("demo-password")
    return generate(seed=seed, leads=leads, months=24, cutoff=CUTOFF, zone=ZONE, **kw)


# --- the bulk path writes what actions.transition writes -------------------------------------

COLUMNS_NOT_COMPARED = {"id", "lead_id", "opportunity_id"}


def raw_rows(table, lead_id, order="id"):
    """The rows as the database holds them (datetimes in their stored format), minus ids."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE lead_id = %s ORDER BY {order}", [lead_id])
        names = [c[0] for c in cursor.description]
        keep = [i for i, n in enumerate(names) if n not in COLUMNS_NOT_COMPARED]
        return [{names[i]: row[i] for i in keep} for row in cursor.fetchall()]


def lead_row(lead_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM leads_lead WHERE id = %s", [lead_id])
        names = [c[0] for c in cursor.description]
        return {n: v for n, v in zip(names, cursor.fetchone(), strict=True) if n != "id"}


def opportunity_index(lead_id):
    """History rows name their opportunity by its position among the lead's opportunities."""
    ids = list(
        Opportunity.objects.filter(lead_id=lead_id).order_by("id").values_list("id", flat=True)
    )
    return [
        ids.index(opp) if opp else None
        for opp in StageChange.objects.filter(lead_id=lead_id)
        .order_by("id")
        .values_list("opportunity_id", flat=True)
    ]


def replay(steps):
    """The same story told through the actions, the way the application would write it."""
    lead = None
    for step in steps:
        kind = step[0]
        if kind == "create":
            _, actor, now, source_id, fields = step
            fields = dict(fields)
            campaign_id, account_id = fields.pop("campaign_id"), fields.pop("account_id")
            lead = actions.create_lead(
                actor=actor,
                source=Source.objects.get(pk=source_id),
                now=now,
                campaign=Campaign.objects.get(pk=campaign_id),
                account=Account.objects.get(pk=account_id) if account_id else None,
                **fields,
            )
        elif kind == "transition":
            _, name, actor, now, kwargs = step
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            lead = actions.transition(lead, name, actor=actor, now=now, **kwargs)
        elif kind == "advance":
            _, to, actor, now = step
            opp = Opportunity.objects.filter(lead=lead).order_by("-id").first()
            with time_machine.travel(now, tick=False):
                actions.move_opportunity(opp, to, actor=actor)
        elif kind == "first_touch":
            Handoff.objects.filter(pk=lead.handoffs.order_by("-id").first().pk).update(
                first_touch_at=step[1]
            )
        elif kind == "expected_close":
            opp = Opportunity.objects.filter(lead=lead).order_by("-id").first()
            Opportunity.objects.filter(pk=opp.pk).update(expected_close=step[1])
        elif kind == "scores":
            Lead.objects.filter(pk=lead.pk).update(fit_score=step[1], engagement_score=step[2])
        else:  # pragma: no cover
            raise AssertionError(f"unknown step {kind}")
    return lead


def covering_sample(runs, size=45):
    """Leads that between them take every kind of transition, plus a few ordinary ones."""
    chosen, seen = [], set()
    for run in sorted(runs, key=lambda r: -len(r.history)):
        kinds = {(h.transition, h.from_stage, h.to_stage) for h in run.history}
        if kinds - seen:
            chosen.append(run)
            seen |= kinds
    chosen += [r for r in runs if r not in chosen][: max(0, size - len(chosen))]
    return chosen, {k[0] for k in seen}


@pytest.mark.django_db
def test_bulk_rows_are_the_rows_the_actions_write():
    """Replaying each sampled lead's steps through actions.transition gives identical rows."""
    report = make_demo(leads=600, record=frozenset(range(600)))
    sample, transitions = covering_sample(report.recorded)
    assert {
        "create",
        "qualify",
        "accept",
        "reject",
        "ignore",
        "return",
        "nurture",
        "disqualify",
        "convert",
        "win",
        "lose",
        "uphold",
        "overrule",
        "recycle",
        "reassign",
        "advance",
    } <= transitions
    for run in sample:
        twin = replay(run.steps)
        bulk_id = run.lead.pk
        assert lead_row(twin.pk) == lead_row(bulk_id), run.lead.external_id
        for table in ("leads_handoff", "leads_opportunity", "leads_stagechange"):
            assert raw_rows(table, twin.pk) == raw_rows(table, bulk_id), (table, run.steps)
        assert opportunity_index(twin.pk) == opportunity_index(bulk_id)


@pytest.mark.django_db
def test_the_simulation_reads_nothing_from_the_database(django_assert_num_queries):
    ensure_users("demo-password")
    world = build_world(months=24, cutoff=CUTOFF, zone=ZONE)
    sim = Simulation(world, seed=3, total=400, ids=Ids(next_ids()))
    with django_assert_num_queries(0):
        runs = [sim.run(i) for i in range(400)]
    assert sum(len(r.history) for r in runs) > 400


# --- deterministic ------------------------------------------------------------------------


def fingerprint():
    """Everything about the demo except primary keys."""
    leads = sorted(
        Lead.objects.values_list(
            "external_id",
            "stage",
            "owner__username",
            "owner_team__name",
            "email",
            "title",
            "company",
            "version",
            "created_at",
            "updated_at",
            "fit_score",
            "engagement_score",
        )
    )
    history = Counter(
        StageChange.objects.values_list(
            "lead__external_id",
            "transition",
            "from_stage",
            "to_stage",
            "at",
            "actor__username",
            "reason__code",
            "comment",
        )
    )
    handoffs = Counter(
        Handoff.objects.values_list(
            "lead__external_id",
            "kind",
            "decision",
            "offered_at",
            "accept_by",
            "decided_at",
            "first_touch_at",
            "returned_at",
        )
    )
    activities = Lead.objects.aggregate(n=Count("activities"))["n"]
    spend = Spend.objects.aggregate(total=Sum("amount"))["total"]
    return leads, history, handoffs, activities, spend


@pytest.mark.django_db
def test_same_seed_same_company_whether_simulated_in_process_or_forked():
    make_demo(leads=300, seed=11, parallel=False)
    first = fingerprint()
    wipe()
    report = make_demo(leads=300, seed=11, chunk_size=70, parallel=True)
    assert report.parallel
    assert fingerprint() == first


@pytest.mark.django_db
def test_another_seed_another_company():
    make_demo(leads=200, seed=1)
    first = fingerprint()
    wipe()
    make_demo(leads=200, seed=2)
    assert fingerprint()[0] != first[0]


# --- what the company looks like -------------------------------------------------------------


@pytest.mark.django_db
def test_every_source_has_leads_campaigns_and_spend_unless_organic():
    make_demo(leads=600)
    for profile in catalog.SOURCES:
        source = Source.objects.get(name=profile.name)
        assert source.leads.count() > 10, profile.name
        assert source.campaigns.count() >= 1
        if profile.cost_per_lead is None:
            assert not source.spend.exists()
        else:
            assert source.spend.count() >= 12


@pytest.mark.django_db
def test_content_syndication_is_cheap_per_raw_lead_and_poor_at_qualifying():
    make_demo(leads=4000)
    cs = Source.objects.get(name="Content Syndication")
    raw = cs.leads.count()
    spend = cs.spend.aggregate(total=Sum("amount"))["total"]
    assert spend / raw == pytest.approx(Decimal("23.15"), abs=Decimal("0.01"))
    sql = cs.leads.filter(history__to_stage=Stage.SQL).distinct().count()
    assert 0.005 < sql / raw < 0.025  # the seed article: 1.28%
    authority = Source.objects.get(name="Webcast with Authority")
    a_raw = authority.leads.count()
    a_sql = authority.leads.filter(history__to_stage=Stage.SQL).distinct().count()
    a_spend = authority.spend.aggregate(total=Sum("amount"))["total"]
    assert a_spend / a_raw > 4 * spend / raw  # expensive per raw lead...
    assert a_sql / a_raw > 5 * sql / raw  # ...and converts far better


@pytest.mark.django_db
def test_qualifications_record_the_active_definition():
    make_demo(leads=300)
    definition = LeadDefinition.active()
    assert definition.version == 1
    assert "fit_at_least" in definition.document
    rows = StageChange.objects.filter(transition__in=["qualify", "recycle", "convert"])
    assert rows.exists()
    assert set(rows.values_list("definition", flat=True)) == {definition.pk}


# --- invariants ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_invariants_hold():
    make_demo(leads=1500)
    assert (
        not Lead.objects.exclude(stage__in=["won", "lost", "disqualified"])
        .filter(owner_team=None)
        .exists()
    )
    assert not Handoff.objects.filter(decision="pending", accept_by=None).exists()
    # The sweep escalates an offer within one interval of its deadline, up to the demo's now.
    overdue = Handoff.objects.filter(decision="pending", accept_by__lt=CUTOFF.replace(minute=50))
    assert not overdue.exists()
    chains = {}
    for lead_id, opp_id, entity, frm, to in StageChange.objects.order_by("at", "id").values_list(
        "lead_id", "opportunity_id", "entity", "from_stage", "to_stage"
    ):
        key = (lead_id, opp_id if entity == "opportunity" else None)
        assert frm == chains.get(key, ""), (key, frm, chains.get(key))
        chains[key] = to
    stages = dict(Lead.objects.values_list("id", "stage"))
    assert {lead: stage for (lead, opp), stage in chains.items() if opp is None} == stages
    opportunities = list(Opportunity.objects.all())
    assert opportunities
    assert all(chains[(o.lead_id, o.pk)] == o.stage for o in opportunities)
    # Nothing happens after the demo's today.
    assert not StageChange.objects.filter(at__gt=CUTOFF).exists()
    assert not Lead.objects.filter(created_at__gt=CUTOFF).exists()


# --- the command -------------------------------------------------------------------------


def run_demo(*args):
    out, err = StringIO(), StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_creates_a_user_per_role_with_the_given_password():
    output = run_demo("--leads", "120", "--today", TODAY, "--password", "s3cret-demo")
    for username in catalog.REQUIRED_USERNAMES:
        user = User.objects.get(username=username)
        assert user.check_password("s3cret-demo")
        assert f"\n{username} " in output
    assert {u.role for u in User.objects.all()} == set(Role.values)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert User.objects.get(username="sdr").team.side == "inside_sales"
    assert User.objects.get(username="ae").team.side == "field_sales"
    assert Lead.objects.count() == 120


@pytest.mark.django_db
def test_running_it_again_resets_passwords_without_duplicating():
    run_demo("--leads", "100", "--today", TODAY, "--password", "first-password")
    output = run_demo("--leads", "100", "--today", TODAY)
    assert "already here" in output
    assert Lead.objects.count() == 100
    sdr = User.objects.get(username="sdr")
    assert not sdr.check_password("first-password")
    printed = next(line for line in output.splitlines() if line.startswith("sdr "))
    assert sdr.check_password(printed.split()[-1])


@pytest.mark.django_db
def test_reset_wipes_and_regenerates():
    run_demo("--leads", "100", "--today", TODAY, "--password", "pw-12345678")
    history = StageChange.objects.count()
    run_demo("--leads", "100", "--today", TODAY, "--password", "pw-12345678", "--reset")
    assert Lead.objects.count() == 100
    assert StageChange.objects.count() == history
    assert Spend.objects.values("source", "campaign", "month").distinct().count() == (
        Spend.objects.count()
    )
