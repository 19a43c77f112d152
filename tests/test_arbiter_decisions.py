"""The arbiter decides every review: uphold counts against the source, overrule against the
rep, and an overruled lead goes back to the rep who decided, with a new deadline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.accounts.models import Role
from leadflow.leads import actions, lifecycle
from leadflow.leads.models import Decision, Stage


def test_overrule_sends_the_lead_back_to_the_rep_with_a_new_deadline(world):
    lead = world.lead_at("mql")
    rep = lead.owner
    rejected = lead.handoffs.get()
    lead = actions.transition(lead, "reject", actor=rep, reason="below-fit", comment="small")
    later = timezone.now() + timedelta(hours=3)
    lead = actions.transition(
        lead, "overrule", actor=world.arbiter, comment="200 staff: fits", now=later
    )
    assert (lead.stage, lead.owner) == (Stage.MQL, rep)
    rejected.refresh_from_db()
    assert rejected.review_outcome == "overruled"
    new_offer = lead.handoffs.get(decision=Decision.PENDING)
    assert new_offer.offered_to == rep
    assert new_offer.offered_at == later and new_offer.accept_by > later
    assert lead.history.last().comment == "200 staff: fits"


def test_overrule_may_name_another_rep(world):
    lead = world.lead_at("in_review")
    lead = actions.transition(
        lead, "overrule", actor=world.arbiter, comment="give it to Jo", assignee=world.sdr2
    )
    assert lead.owner == world.sdr2
    assert lead.handoffs.get(decision=Decision.PENDING).offered_to == world.sdr2


def test_uphold_sends_to_nurture_and_records_the_verdict(world):
    lead = world.lead_at("in_review")
    lead = actions.transition(lead, "uphold", actor=world.arbiter, comment="right call")
    assert (lead.stage, lead.owner, lead.owner_team) == (
        Stage.NURTURE, None, world.marketing_team,
    )
    assert lead.handoffs.get().review_outcome == "upheld"


def test_uphold_of_a_disqualifying_reason_disqualifies(world):
    lead = world.lead_at("mql")
    lead = actions.transition(lead, "reject", actor=lead.owner, reason="spam", comment="bot")
    lead = actions.transition(lead, "uphold", actor=world.arbiter, comment="it is a bot")
    assert lead.stage == Stage.DISQUALIFIED


def test_the_arbiter_must_write_a_comment(world):
    lead = world.lead_at("in_review")
    with pytest.raises(lifecycle.MissingRequirement) as refused:
        actions.transition(lead, "uphold", actor=world.arbiter, comment=" ")
    assert refused.value.field == "comment"


def test_an_arbiter_inside_a_sales_team_may_not_judge(world):
    judge = world.user("conflicted", Role.ARBITER, world.inside_team)
    lead = world.lead_at("in_review")
    with pytest.raises(lifecycle.Forbidden):
        actions.transition(lead, "overrule", actor=judge, comment="my own team")


def test_the_admin_form_refuses_an_arbiter_in_a_sales_team(world):
    from django.core.exceptions import ValidationError

    world.arbiter.team = world.inside_team
    with pytest.raises(ValidationError, match="may not be a member"):
        world.arbiter.full_clean()


def test_a_manager_reassigns_an_accepted_sql_without_an_open_offer(world):
    ae2 = world.user("ae2", Role.FIELD_SALES, world.field_team)
    lead = world.lead_at("sql_accepted")
    lead = actions.transition(lead, "reassign", actor=world.field_manager, assignee=ae2)
    assert (lead.stage, lead.owner) == (Stage.SQL, ae2)
    assert not lead.handoffs.filter(decision=Decision.PENDING).exists()
