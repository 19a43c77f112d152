"""POST /api/leads/{id}/transitions: the lifecycle's actions, and its refusals with their codes."""

from decimal import Decimal

import pytest

from leadflow.api.testing import client_for, post_json
from leadflow.leads import actions
from leadflow.leads.models import Lead, Opportunity, StageChange
from tests.conftest import EVIDENCE


def transition(user, lead, **body):
    return post_json(client_for(user), f"/api/leads/{lead.pk}/transitions", body)


def assert_refused(response, status, code, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body.get("field") == field
    assert body["detail"]


def test_inside_sales_accepts_an_mql(world):
    lead = world.lead_at("mql")
    response = transition(world.sdr, lead, name="accept", version=lead.version)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stage"] == "sal"
    assert body["owner"]["username"] == "sdr"
    assert body["version"] == lead.version + 1
    assert body["handoff"] is None
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("sal", world.sdr)


def test_a_reject_without_a_reason_is_refused_naming_the_reason(world):
    lead = world.lead_at("mql")
    response = transition(world.sdr, lead, name="reject", comment="wrong region")
    assert_refused(response, 422, "requirement-missing", field="reason")
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_a_reject_with_reason_and_comment_sends_the_lead_to_review(world):
    lead = world.lead_at("mql")
    response = transition(world.sdr, lead, name="reject", reason="below-fit", comment="3 people")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "in_review"
    row = StageChange.objects.filter(lead=lead).last()
    assert (row.transition, row.reason.code, row.comment) == ("reject", "below-fit", "3 people")


def test_an_unknown_reason_code_is_refused_naming_the_reason(world):
    lead = world.lead_at("mql")
    response = transition(world.sdr, lead, name="reject", reason="no-such", comment="x")
    assert_refused(response, 422, "requirement-missing", field="reason")


def test_the_wrong_role_is_forbidden(world):
    lead = world.lead_at("mql")  # the arbiter sees every lead, but does not accept offers
    response = transition(world.arbiter, lead, name="accept")
    assert_refused(response, 403, "forbidden")
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_a_stale_version_is_a_conflict(world):
    lead = world.lead_at("mql")
    seen = lead.version
    actions.transition(lead, "reassign", actor=world.sales_manager, assignee=world.sdr2)
    response = transition(world.sdr2, lead, name="accept", version=seen)
    assert_refused(response, 409, "conflict")
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_a_transition_the_stage_does_not_allow_is_refused(world):
    lead = world.lead_at("sal")
    response = transition(world.sdr, lead, name="accept")
    assert_refused(response, 409, "transition-not-allowed")


def test_a_lead_you_may_not_see_is_not_found(world):
    lead = world.lead_at("mql")
    response = transition(world.ae, lead, name="accept")
    assert_refused(response, 404, "not-found")


def test_converting_needs_every_piece_of_evidence(world):
    lead = world.lead_at("sal")
    evidence = {**EVIDENCE, "compelling_event": ""}
    response = transition(world.sdr, lead, name="convert", evidence=evidence)
    assert_refused(response, 422, "requirement-missing", field="evidence.compelling_event")


def test_converting_with_evidence_hands_the_lead_to_field_sales(world):
    lead = world.lead_at("sal")
    evidence = {**EVIDENCE, "budget": "not yet"}
    response = transition(world.sdr, lead, name="convert", evidence=evidence)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stage"] == "sql"
    assert body["sql_evidence"] == evidence
    assert body["handoff"]["kind"] == "sql"


def test_field_sales_accepts_an_sql_with_an_amount(world):
    lead = world.lead_at("sql")
    response = transition(world.ae, lead, name="accept", amount="12500.00")
    assert response.status_code == 200, response.content
    assert Opportunity.objects.get(lead=lead).amount == Decimal("12500.00")


@pytest.mark.parametrize("by", ["username", "id"])
def test_a_manager_reassigns_by_username_or_id(world, by):
    lead = world.lead_at("sal")
    assignee = world.sdr2.username if by == "username" else world.sdr2.pk
    response = transition(world.sales_manager, lead, name="reassign", assignee=assignee)
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["username"] == "sdr2"
    assert Lead.objects.get(pk=lead.pk).owner == world.sdr2


def test_an_unknown_assignee_is_refused_naming_the_assignee(world):
    lead = world.lead_at("sal")
    response = transition(world.sales_manager, lead, name="reassign", assignee="nobody")
    assert_refused(response, 422, "invalid-input", field="assignee")


def test_an_assignee_outside_the_team_is_refused_naming_the_assignee(world):
    lead = world.lead_at("sal")
    response = transition(world.sales_manager, lead, name="reassign", assignee="ae")
    assert_refused(response, 422, "requirement-missing", field="assignee")


def test_an_unknown_body_field_is_refused_by_name(world):
    lead = world.lead_at("mql")
    response = transition(world.sdr, lead, name="accept", reson="typo")
    assert_refused(response, 422, "invalid-input", field="reson")
