"""Routing and SLA clocks (DOMAIN.md "Hand-offs", "Business time"): which team and rep an MQL
is offered to, what happens when nobody is available, how managers move it, and by when it
must be accepted and touched. Real rows, real actions, explicit clocks."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from leadflow.accounts.models import DayOff, Role, Side, Team, User
from leadflow.leads import actions
from leadflow.leads.lifecycle import Forbidden, MissingRequirement
from leadflow.leads.models import (
    Decision,
    Handoff,
    HandoffKind,
    Lead,
    Priority,
    RoutingRule,
    SlaPolicy,
    Source,
    Stage,
)

from .conftest import EVIDENCE

MONDAY = date(2026, 6, 15)  # an ordinary week: no holidays anywhere near


def at(day: date, hour: int, minute: int = 0, zone: str = "UTC") -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


def plus(days: int) -> date:
    return MONDAY + timedelta(days=days)


MON_10 = at(MONDAY, 10)


def qualify(world, when=MON_10, *, priority=Priority.NORMAL, source=None, **fields) -> Lead:
    """A new lead scored to MQL at `when`: the moment it is routed and its clock starts."""
    lead = actions.create_lead(
        actor=world.marketing,
        source=source or world.source,
        now=when,
        **{"email": "pat@example.com", "first_name": "Pat", "company": "Acme", **fields},
    )
    if priority != Priority.NORMAL:
        Lead.objects.filter(pk=lead.pk).update(priority=priority)
    return actions.transition(lead, "qualify", actor=world.marketing, now=when)


def pending(lead: Lead) -> Handoff:
    return Handoff.objects.select_related("offered_to", "offered_to_team").get(
        lead=lead, decision=Decision.PENDING
    )


def offered_to(lead: Lead) -> str | None:
    offer = pending(lead)
    return offer.offered_to.username if offer.offered_to else None


def inside_team(name: str) -> Team:
    return Team.objects.create(name=name, side=Side.INSIDE_SALES)


def rule(team: Team, position: int, conditions: dict, **extra) -> RoutingRule:
    extra.setdefault("side", Side.INSIDE_SALES)
    return RoutingRule.objects.create(
        team=team, position=position, name=f"{team} #{position}", conditions=conditions, **extra
    )


# --- which team: ordered rules ---------------------------------------------------------------


def test_the_first_active_matching_rule_by_position_picks_the_team(world):
    dach, enterprise = inside_team("DACH"), inside_team("Enterprise")
    # Created out of position order: position decides, not creation order.
    rule(enterprise, 30, {"employee_count": {"min": 1000}})
    rule(dach, 20, {"country": ["de", "AT", "CH"]})
    rule(enterprise, 10, {}, active=False)  # an inactive catch-all is skipped
    rule(world.field_team, 1, {}, side=Side.FIELD_SALES)  # the other side's rules don't apply

    german_giant = qualify(world, country="DE", employee_count=5000)
    american_giant = qualify(world, country="US", employee_count=5000)
    american_shop = qualify(world, country="US", employee_count=40)

    assert pending(german_giant).offered_to_team == dach
    assert german_giant.owner_team == dach
    assert pending(american_giant).offered_to_team == enterprise
    assert pending(american_shop).offered_to_team == world.inside_team  # no match: the default


def test_activating_a_rule_changes_where_the_next_lead_goes(world):
    dach = inside_team("DACH")
    dach_rule = rule(dach, 10, {"country": "DE"}, active=False)
    assert qualify(world, country="DE").owner_team == world.inside_team
    dach_rule.active = True
    dach_rule.save()
    assert qualify(world, country="DE", when=MON_10 + timedelta(minutes=1)).owner_team == dach


CONDITIONS = [
    pytest.param({"country": ["de", "at"]}, {"country": "AT"}, {"country": "FR"}, id="list"),
    pytest.param(
        {"employee_count": {"min": 200, "max": 999}},
        {"employee_count": 999},
        {"employee_count": 1000},
        id="range",
    ),
    pytest.param(
        {"employee_count": {"min": 200}}, {"employee_count": 200}, {}, id="range-unknown-value"
    ),
    pytest.param(
        {"company": {"pattern": r"^acme\b"}},
        {"company": "ACME Corp"},
        {"company": "Not Acme"},
        id="pattern",
    ),
    pytest.param(
        {"industry": "Software"},
        {"industry": "SOFTWARE"},
        {"industry": "Software services"},
        id="text-any-case",
    ),
    pytest.param(
        {"custom.segment": ["enterprise"]},
        {"custom": {"segment": "Enterprise"}},
        {"custom": {"segment": "smb"}},
        id="custom-key",
    ),
    pytest.param(
        {"country": "DE", "employee_count": {"min": 200}},
        {"country": "DE", "employee_count": 500},
        {"country": "DE", "employee_count": 100},
        id="all-conditions-must-hold",
    ),
]


@pytest.mark.parametrize("conditions, matching, other", CONDITIONS)
def test_a_rule_condition_routes_matching_leads_and_only_them(world, conditions, matching, other):
    special = inside_team("Special")
    rule(special, 10, conditions)
    assert qualify(world, **matching).owner_team == special
    assert qualify(world, MON_10 + timedelta(minutes=1), **other).owner_team == world.inside_team


def test_a_source_condition_matches_the_source_name_in_any_case(world):
    syndication = Source.objects.create(name="Content Syndication")
    special = inside_team("Syndication desk")
    rule(special, 10, {"source": ["content syndication"]})
    assert qualify(world, source=syndication).owner_team == special
    assert qualify(world, MON_10 + timedelta(minutes=1)).owner_team == world.inside_team


# --- which rep: round-robin ------------------------------------------------------------------


def rep(world, username: str, team: Team | None = None, **extra) -> User:
    return world.user(username, Role.INSIDE_SALES, team or world.inside_team, **extra)


def offer_many(world, n: int) -> list[str | None]:
    """n successive MQLs, a minute apart; whom each was offered to."""
    return [offered_to(qualify(world, MON_10 + timedelta(minutes=i))) for i in range(n)]


def test_successive_mqls_go_to_reps_in_turn_least_recently_offered_first(world):
    rep(world, "sdr3")
    User.objects.filter(username="sdr").update(last_offered_at=at(MONDAY, 8))
    User.objects.filter(username="sdr2").update(last_offered_at=at(MONDAY, 7))
    # Never offered first, then the longest wait; the manager is not a rep and gets none.
    assert offer_many(world, 6) == ["sdr3", "sdr2", "sdr", "sdr3", "sdr2", "sdr"]
    last = User.objects.get(username="sdr").last_offered_at
    assert last == MON_10 + timedelta(minutes=5)


def test_the_owner_of_a_routed_mql_is_the_rep_it_was_offered_to(world):
    lead = qualify(world)
    assert (lead.stage, lead.owner, lead.owner_team) == (Stage.MQL, world.sdr, world.inside_team)
    assert pending(lead).kind == HandoffKind.MQL


def test_round_robin_skips_a_rep_who_is_out_of_office(world):
    rep(world, "sdr3")
    User.objects.filter(username="sdr2").update(out_of_office=True)
    assert offer_many(world, 4) == ["sdr", "sdr3", "sdr", "sdr3"]


def test_round_robin_skips_an_inactive_rep(world):
    User.objects.filter(username="sdr").update(is_active=False)
    assert offer_many(world, 2) == ["sdr2", "sdr2"]


def test_round_robin_skips_a_rep_at_their_cap_until_an_offer_is_decided(world):
    User.objects.filter(username="sdr").update(max_open_offers=1)
    first, second, third = (qualify(world, MON_10 + timedelta(minutes=i)) for i in range(3))
    assert [offered_to(x) for x in (first, second, third)] == ["sdr", "sdr2", "sdr2"]
    actions.transition(first, "accept", actor=world.sdr, now=MON_10 + timedelta(minutes=5))
    # sdr has no open offer now, and has waited longest.
    assert offered_to(qualify(world, MON_10 + timedelta(minutes=6))) == "sdr"


def test_a_rule_team_offers_to_its_own_reps_only(world):
    dach = inside_team("DACH")
    rule(dach, 10, {"country": "DE"})
    rep(world, "dach-rep", dach)
    assert [
        offered_to(qualify(world, MON_10 + timedelta(minutes=i), country="DE")) for i in range(2)
    ] == ["dach-rep", "dach-rep"]


def assert_in_team_queue(lead: Lead, team: Team) -> None:
    offer = pending(lead)
    assert (offer.offered_to, offer.offered_to_team) == (None, team)
    assert offer.accept_by is not None
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.owner_team) == (Stage.MQL, None, team)
    assert lead.history.last().owner_team == team


def test_with_every_rep_away_or_full_the_offer_goes_to_the_team_queue(world):
    User.objects.filter(username="sdr").update(out_of_office=True)
    User.objects.filter(username="sdr2").update(max_open_offers=1)
    assert offered_to(qualify(world)) == "sdr2"
    assert_in_team_queue(qualify(world, MON_10 + timedelta(minutes=1)), world.inside_team)


def test_a_rule_team_without_reps_gets_the_lead_in_its_queue(world):
    dach = inside_team("DACH")
    rule(dach, 10, {"country": "DE"})
    assert_in_team_queue(qualify(world, country="DE"), dach)


# --- managers reassign within their team -------------------------------------------------------


def test_a_manager_reassigns_the_pending_offer_and_the_lead_within_the_team(world):
    lead = qualify(world)
    offer = pending(lead)
    assert offer.offered_to == world.sdr
    lead = actions.transition(
        lead, "reassign", actor=world.sales_manager, assignee=world.sdr2, now=MON_10
    )
    moved = pending(lead)
    assert (moved.pk, moved.offered_to, lead.owner) == (offer.pk, world.sdr2, world.sdr2)
    with pytest.raises(Forbidden):
        actions.transition(lead, "accept", actor=world.sdr)
    lead = actions.transition(lead, "accept", actor=world.sdr2, now=MON_10)
    assert (lead.stage, lead.owner) == (Stage.SAL, world.sdr2)


def test_a_manager_assigns_a_lead_waiting_in_the_team_queue(world):
    User.objects.filter(role=Role.INSIDE_SALES).update(out_of_office=True)
    lead = qualify(world)
    assert_in_team_queue(lead, world.inside_team)
    User.objects.filter(pk=world.sdr.pk).update(out_of_office=False)  # back from holiday
    lead = actions.transition(lead, "reassign", actor=world.sales_manager, assignee=world.sdr)
    assert (pending(lead).offered_to, lead.owner) == (world.sdr, world.sdr)


def test_reassigning_to_someone_outside_the_team_is_refused(world):
    dach = inside_team("DACH")
    outsiders = [world.ae, rep(world, "dach-rep", dach)]
    lead = qualify(world)
    for outsider in outsiders:
        with pytest.raises(MissingRequirement) as refused:
            actions.transition(lead, "reassign", actor=world.sales_manager, assignee=outsider)
        assert refused.value.field == "assignee"
    lead.refresh_from_db()
    assert (pending(lead).offered_to, lead.owner) == (world.sdr, world.sdr)


# --- SLA clocks ----------------------------------------------------------------------------


def test_an_mql_must_be_accepted_within_one_business_day_by_default(world):
    assert pending(qualify(world)).accept_by == at(plus(1), 10)  # Mon 10:00 → Tue 10:00
    friday_4pm = at(plus(4), 16)
    assert pending(qualify(world, friday_4pm)).accept_by == at(plus(7), 16)  # → Mon 16:00


def test_a_hot_mql_must_be_accepted_within_two_business_hours_by_default(world):
    assert pending(qualify(world, priority=Priority.HOT)).accept_by == at(MONDAY, 12)
    evening = at(MONDAY, 16)
    assert pending(qualify(world, evening, priority=Priority.HOT)).accept_by == at(plus(1), 10)


def test_the_deadline_is_counted_in_the_receiving_teams_calendar(world):
    Team.objects.filter(pk=world.inside_team.pk).update(
        time_zone="America/New_York", holiday_country="US"
    )
    ny = "America/New_York"
    lead = qualify(world, at(date(2026, 11, 25), 16, zone=ny))  # the day before Thanksgiving
    assert pending(lead).accept_by == at(date(2026, 11, 27), 16, zone=ny)


def test_a_team_policy_sets_the_deadlines_for_its_kind_and_priority(world):
    inside, field = world.inside_team, world.field_team
    SlaPolicy.objects.create(
        team=inside,
        kind=HandoffKind.MQL,
        priority=Priority.HOT,
        accept_within_hours=Decimal("1"),
        first_touch_within_hours=Decimal("0.25"),
    )
    SlaPolicy.objects.create(
        team=inside,
        kind=HandoffKind.MQL,
        priority=Priority.NORMAL,
        accept_within_hours=Decimal("16"),
        first_touch_within_hours=Decimal("2"),
    )
    # Another team's policy, and a policy for the other kind, change nothing here.
    SlaPolicy.objects.create(
        team=field, kind=HandoffKind.MQL, priority=Priority.HOT, accept_within_hours=Decimal("9")
    )
    SlaPolicy.objects.create(
        team=inside, kind=HandoffKind.SQL, priority=Priority.HOT, accept_within_hours=Decimal("9")
    )
    hot = qualify(world, priority=Priority.HOT)
    normal = qualify(world)
    assert pending(hot).accept_by == at(MONDAY, 11)
    assert pending(normal).accept_by == at(plus(2), 10)  # 7 h Mon, 8 h Tue, 1 h Wed

    accepted_at = at(MONDAY, 16, 30)
    for lead in (hot, normal):
        actions.transition(lead, "accept", actor=lead.owner, now=accepted_at)
    hot_offer, normal_offer = (Handoff.objects.get(lead=x) for x in (hot, normal))
    assert hot_offer.first_touch_by == at(MONDAY, 16, 45)
    assert normal_offer.first_touch_by == at(plus(1), 10, 30)


def test_first_touch_is_due_one_business_hour_after_acceptance_by_default(world):
    lead = qualify(world, at(plus(4), 15))
    actions.transition(lead, "accept", actor=world.sdr, now=at(plus(4), 16, 30))  # Friday
    assert Handoff.objects.get(lead=lead).first_touch_by == at(plus(7), 9, 30)  # Monday


def test_an_sql_is_offered_to_field_sales_on_field_sales_clocks(world):
    SlaPolicy.objects.create(
        team=world.field_team,
        kind=HandoffKind.SQL,
        priority=Priority.NORMAL,
        accept_within_hours=Decimal("4"),
        first_touch_within_hours=Decimal("3"),
    )
    lead = qualify(world)
    actions.transition(lead, "accept", actor=world.sdr, now=at(MONDAY, 11))
    lead = actions.transition(
        lead, "convert", actor=world.sdr, evidence=EVIDENCE, now=at(MONDAY, 15)
    )
    offer = pending(lead)
    assert (offer.kind, offer.offered_to, offer.offered_to_team) == (
        HandoffKind.SQL,
        world.ae,
        world.field_team,
    )
    assert offer.accept_by == at(plus(1), 11)  # 2 h Mon + 2 h Tue
    actions.transition(lead, "accept", actor=world.ae, now=at(plus(1), 16))
    offer.refresh_from_db()
    assert offer.first_touch_by == at(plus(2), 11)  # 1 h Tue + 2 h Wed


@pytest.mark.parametrize(
    "whose, due",
    [
        pytest.param("team", at(plus(2), 10), id="the team's day off"),
        pytest.param("company", at(plus(2), 10), id="a company day off"),
        pytest.param("another team", at(plus(1), 10), id="another team's day off"),
    ],
)
def test_days_off_are_skipped_by_the_sla_clock(world, whose, due):
    team = {"team": world.inside_team, "company": None, "another team": world.field_team}[whose]
    DayOff.objects.create(team=team, day=plus(1), name="Offsite")
    assert pending(qualify(world)).accept_by == due


def test_routing_clocks_hold_across_a_dst_change(world):
    """Berlin moves its clocks on Sunday 2026-03-29: a Friday 16:00 offer is due Monday 16:00
    local, which is 14:00 UTC where Friday 16:00 was 15:00 UTC."""
    Team.objects.filter(pk=world.inside_team.pk).update(time_zone="Europe/Berlin")
    lead = qualify(world, at(date(2026, 3, 27), 16, zone="Europe/Berlin"))
    assert pending(lead).accept_by == datetime(2026, 3, 30, 14, tzinfo=UTC)
