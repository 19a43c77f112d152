"""Sign-off: a proposal becomes active only with a marketing manager's AND a sales manager's
approval, two different people; the version before is retired; versions never change once
proposed; every MQL and SQL records the version that qualified it."""

import pytest
from django.db import IntegrityError, transaction

from leadflow.accounts.models import Role
from leadflow.leads import actions
from leadflow.leads.models import LeadDefinition, StageChange
from leadflow.scoring import definitions
from leadflow.scoring.definitions import DefinitionRefused
from leadflow.scoring.models import Approval, ScoringRun
from leadflow.scoring.testing import SIMPLE, activate
from tests.conftest import EVIDENCE


def proposal(world, text=SIMPLE):
    draft = definitions.create_draft(actor=world.marketing, text=text)
    return definitions.propose(draft, actor=world.marketing)


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(DefinitionRefused) as caught:
        call(*args, **kwargs)
    return caught.value.code


def test_a_marketing_and_a_sales_manager_make_it_active(world):
    old = activate()
    new = proposal(world, SIMPLE.replace("fit_at_least: 40", "fit_at_least: 35"))
    first = definitions.approve(new, actor=world.marketing_manager)
    assert not first.activated
    assert LeadDefinition.active() == old
    second = definitions.approve(new, actor=world.sales_manager, comment="Fits what we accept")
    assert second.activated
    old.refresh_from_db()
    new.refresh_from_db()
    assert (new.status, old.status) == ("active", "retired")
    assert new.activated_at is not None and old.retired_at is not None
    assert [(a.side, a.approver) for a in new.approvals.all()] == [
        ("marketing", world.marketing_manager),
        ("sales", world.sales_manager),
    ]


def test_a_field_sales_manager_signs_for_sales_too(world):
    new = proposal(world)
    definitions.approve(new, actor=world.field_manager)
    assert definitions.approve(new, actor=world.marketing_manager).activated


def test_two_managers_of_one_side_are_not_enough(world):
    second_marketing = world.user("mm2", Role.MANAGER, world.marketing_team)
    new = proposal(world)
    definitions.approve(new, actor=world.marketing_manager)
    assert refusal(definitions.approve, new, actor=second_marketing) == "already-approved"
    assert refusal(definitions.approve, new, actor=world.marketing_manager) == "already-approved"
    new.refresh_from_db()
    assert new.status == "proposed"


def test_one_person_cannot_sign_for_both_sides(world):
    new = proposal(world)
    Approval.objects.create(definition=new, side="marketing", approver=world.sales_manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.create(definition=new, side="sales", approver=world.sales_manager)


@pytest.mark.parametrize("who", ["marketing", "sdr", "ae", "arbiter", "admin"])
def test_only_managers_approve(world, who):
    new = proposal(world)
    assert refusal(definitions.approve, new, actor=getattr(world, who)) == "forbidden"


def test_only_a_proposal_is_approved(world):
    draft = definitions.create_draft(actor=world.marketing, text=SIMPLE)
    assert refusal(definitions.approve, draft, actor=world.sales_manager) == "not-proposed"


def test_sales_does_not_write_or_propose_definitions(world):
    assert refusal(definitions.create_draft, actor=world.sales_manager, text=SIMPLE) == "forbidden"
    draft = definitions.create_draft(actor=world.marketing_manager, text=SIMPLE)
    assert refusal(definitions.propose, draft, actor=world.sdr) == "forbidden"


def test_a_proposed_or_active_version_cannot_be_edited(world):
    new = proposal(world)
    assert refusal(definitions.update_draft, new, actor=world.marketing, text="x") == (
        "definition-immutable"
    )
    definitions.approve(new, actor=world.marketing_manager)
    definitions.approve(new, actor=world.sales_manager)
    assert refusal(definitions.update_draft, new, actor=world.marketing, text="x") == (
        "definition-immutable"
    )


def test_the_database_refuses_to_change_a_version_past_draft(world):
    active = activate()
    with pytest.raises(Exception, match="cannot be changed once proposed"), transaction.atomic():
        LeadDefinition.objects.filter(pk=active.pk).update(document="fit: []")
    with pytest.raises(Exception, match="draft, proposed, active, retired"), transaction.atomic():
        LeadDefinition.objects.filter(pk=active.pk).update(status="draft")
    active.refresh_from_db()
    assert (active.status, active.document) == ("active", SIMPLE)


def test_a_withdrawn_proposal_is_retired_without_being_active(world):
    new = proposal(world)
    definitions.withdraw(new, actor=world.marketing)
    new.refresh_from_db()
    assert (new.status, new.activated_at) == ("retired", None)
    assert refusal(definitions.approve, new, actor=world.sales_manager) == "not-proposed"


def test_activation_rescores_every_lead(world):
    lead = world.lead(title="VP Sales", employee_count=500)
    new = proposal(world)
    definitions.approve(new, actor=world.marketing_manager)
    definitions.approve(new, actor=world.sales_manager)
    run = ScoringRun.objects.get(kind="rescore")
    assert (run.status, run.definition, run.leads) == ("done", new, 1)
    lead.refresh_from_db()
    assert lead.fit_score == 50


def test_every_mql_and_sql_records_the_qualifying_version(world):
    old = activate()
    before = world.lead_at("mql")
    new = proposal(world)
    definitions.approve(new, actor=world.marketing_manager)
    definitions.approve(new, actor=world.sales_manager)
    after = world.lead_at("mql")
    after = actions.transition(after, "accept", actor=after.owner)
    actions.transition(after, "convert", actor=after.owner, evidence=EVIDENCE)
    assert StageChange.objects.get(lead=before, to_stage="mql").definition == old
    assert [(c.to_stage, c.definition) for c in StageChange.objects.filter(
        lead=after, to_stage__in=["mql", "sql"])] == [("mql", new), ("sql", new)]
