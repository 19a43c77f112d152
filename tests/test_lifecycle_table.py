"""The lifecycle table is the law: every (from, to) pair of stages is allowed exactly when a
row of the table says so, and exactly for the roles that row names."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.accounts.models import Role, Side
from leadflow.leads import actions, lifecycle
from leadflow.leads.lifecycle import STAGE_SIDE, TransitionError
from leadflow.leads.models import CLOSED_STAGES, ReasonCode, Stage

from .conftest import EVIDENCE

ROLES = [*Role.values, lifecycle.SYSTEM]


def actor_for(world, role: str, source_stage: str):
    """The person of `role`; for a manager, the manager of the team owning the lead."""
    if role == lifecycle.SYSTEM:
        return None
    if role == Role.MANAGER:
        return {
            Side.MARKETING: world.marketing_manager,
            Side.INSIDE_SALES: world.sales_manager,
            Side.FIELD_SALES: world.field_manager,
            Side.ARBITER: world.marketing_manager,
        }[STAGE_SIDE[source_stage]]
    return {
        Role.MARKETING: world.marketing,
        Role.INSIDE_SALES: world.sdr,
        Role.FIELD_SALES: world.ae,
        Role.ARBITER: world.arbiter,
        Role.ADMIN: world.admin,
    }[role]


def lead_meeting(world, t: lifecycle.Transition):
    """A lead at the row's source stage, in the sub-state the row's needs ask for."""
    Need = lifecycle.Need
    if t.source == Stage.SQL:
        accepted = Need.ACCEPTED_OFFER in t.needs or Need.OPEN_OPPORTUNITY in t.needs
        if t.name == "reassign":
            accepted = False
        return world.lead_at("sql_accepted" if accepted else "sql")
    if t.source == Stage.IN_REVIEW:
        if Need.REVIEW_OF_FIELD_SALES in t.needs:
            lead = world.lead_at("sql")
            return actions.transition(
                lead, "reject", actor=world.ae, reason="below-fit", comment="no project"
            )
        lead = world.lead_at("mql")
        code = "spam" if Need.REVIEW_REASON_DISQUALIFIES in t.needs else "below-fit"
        return actions.transition(lead, "reject", actor=world.sdr, reason=code, comment="why")
    return world.lead_at(t.source)


def inputs_for(world, t: lifecycle.Transition, lead) -> dict:
    reason = None
    if t.reason_kind:
        reason = ReasonCode.objects.filter(kind=t.reason_kind).first().code
    assignee = None
    if lifecycle.Need.ASSIGNEE in t.needs:
        assignee = world.user(f"spare-{lead.pk}", world.sdr.role, lead.owner_team)
        if lead.owner_team == world.field_team:
            assignee.role = Role.FIELD_SALES
            assignee.save()
    return {
        "reason": reason,
        "comment": "stated reason",
        "evidence": EVIDENCE,
        "assignee": assignee,
        "amount": 25000,
    }


def act(world, t, role):
    lead = lead_meeting(world, t)
    kwargs = inputs_for(world, t, lead)
    now = timezone.now()
    if lifecycle.Need.OVERDUE_OFFER in t.needs:
        now += timedelta(days=30)
    actor = actor_for(world, role, t.source)
    return actions.transition(lead, t.name, to=t.target, actor=actor, now=now, **kwargs)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "t", lifecycle.TRANSITIONS, ids=lambda t: f"{t.name}:{t.source}->{t.target}"
)
def test_each_row_is_allowed_for_exactly_its_roles(world, t, role):
    manager = actor_for(world, role, t.source) if role == Role.MANAGER else None
    acting = {role} | ({manager.team.side} if manager else set())
    expected = bool(acting & t.roles)
    if expected:
        lead = act(world, t, role)
        lead.refresh_from_db()
        assert lead.stage == t.target
        if lead.stage not in CLOSED_STAGES:
            assert lead.owner_team_id is not None, "an open lead must always have an owner"
        last = lead.history.filter(entity="lead").last()
        assert (last.from_stage, last.to_stage, last.transition) == (t.source, t.target, t.name)
    else:
        with pytest.raises(lifecycle.Forbidden):
            act(world, t, role)


STAGE_PAIRS = [(a, b) for a in Stage.values for b in Stage.values]


@pytest.mark.parametrize("pair", STAGE_PAIRS, ids=lambda p: f"{p[0]}->{p[1]}")
def test_pairs_outside_the_table_are_refused_for_everyone(world, pair):
    source, target = pair
    allowed = lifecycle.allowed_pairs()
    if pair in allowed:
        assert allowed[pair], "a row with no roles would be dead"
        return
    if source in (Stage.WON, Stage.LOST, Stage.DISQUALIFIED):
        lead = world.lead_at("sql_accepted")
        lead = actions.transition(
            lead, {"won": "win", "lost": "lose"}.get(source, "win"), actor=world.ae,
            reason="price",
        ) if source != Stage.DISQUALIFIED else actions.transition(
            world.lead(), "disqualify", actor=world.marketing, reason="spam", comment="bot"
        )
    else:
        lead = world.lead_at("sql" if source == Stage.SQL else source)
    assert lead.stage == source
    names = {t.name for t in lifecycle.TRANSITIONS}
    for role in ROLES:
        actor = actor_for(world, role, source) if source in STAGE_SIDE else world.admin
        for name in names:
            with pytest.raises(TransitionError) as refused:
                actions.transition(
                    lead, name, to=target, actor=actor, reason="below-fit", comment="x",
                    evidence=EVIDENCE,
                )
            assert source in refused.value.message
    lead.refresh_from_db()
    assert lead.stage == source


def test_refusal_names_the_stage_and_the_allowed_transitions(world):
    lead = world.lead_at("sal")
    with pytest.raises(lifecycle.NotAllowed) as refused:
        actions.transition(lead, "accept", actor=world.sdr)
    assert refused.value.message == (
        "cannot accept a lead at stage 'sal'; from 'sal' the allowed transitions are: "
        "convert, disqualify, nurture, reassign, return"
    )


def test_reject_without_comment_names_the_missing_field(world):
    lead = world.lead_at("mql")
    with pytest.raises(lifecycle.MissingRequirement) as refused:
        actions.transition(lead, "reject", actor=world.sdr, reason="below-fit")
    assert refused.value.field == "comment"
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_sql_needs_decision_maker_need_and_compelling_event(world):
    lead = world.lead_at("sal")
    evidence = dict(EVIDENCE, compelling_event="  ")
    with pytest.raises(lifecycle.MissingRequirement) as refused:
        actions.transition(lead, "convert", actor=world.sdr, evidence=evidence)
    assert refused.value.field == "evidence.compelling_event"
    lead = actions.transition(lead, "convert", actor=world.sdr, evidence=EVIDENCE)
    assert lead.sql_evidence == EVIDENCE


def test_a_reason_of_the_wrong_kind_is_refused(world):
    lead = world.lead_at("mql")
    with pytest.raises(lifecycle.MissingRequirement, match="not an active reject reason"):
        actions.transition(lead, "reject", actor=world.sdr, reason="went-cold", comment="c")


def test_an_sdr_cannot_decide_on_another_reps_offer(world):
    lead = world.lead_at("mql")
    lead = actions.transition(lead, "reassign", actor=world.sales_manager, assignee=world.sdr2)
    with pytest.raises(lifecycle.Forbidden, match="does not work this lead"):
        actions.transition(lead, "accept", actor=world.sdr)
    lead = actions.transition(lead, "accept", actor=world.sdr2)
    assert lead.owner == world.sdr2
