"""GET /api/leads/{id}/history: the append-only history, oldest first."""

from leadflow.api.testing import client_for
from leadflow.leads import actions
from leadflow.leads.models import LeadDefinition


def test_it_lists_every_change_in_order_with_who_why_and_which_definition(world):
    LeadDefinition.objects.create(version=3, status=LeadDefinition.Status.ACTIVE)
    lead = world.lead_at("in_review")  # create, qualify, reject
    actions.transition(lead, "uphold", actor=world.arbiter, comment="tiny indeed")

    response = client_for(world.arbiter).get(f"/api/leads/{lead.pk}/history")

    assert response.status_code == 200
    rows = response.json()
    assert [(r["transition"], r["from"], r["to"]) for r in rows] == [
        ("create", "", "inquiry"),
        ("qualify", "inquiry", "mql"),
        ("reject", "mql", "in_review"),
        ("uphold", "in_review", "nurture"),
    ]
    assert [r["actor"]["username"] for r in rows] == ["marketing", "marketing", "sdr", "arbiter"]
    assert rows[1]["definition_version"] == 3
    assert (rows[2]["reason"], rows[2]["comment"]) == ("below-fit", "tiny company")
    assert rows[3]["owner"] is None
    assert rows[3]["owner_team"]["id"] == world.marketing_team.pk
    assert rows[0]["at"] <= rows[1]["at"] <= rows[2]["at"] <= rows[3]["at"]


def test_the_history_of_a_lead_you_may_not_see_is_not_found(world):
    lead = world.lead()
    response = client_for(world.ae).get(f"/api/leads/{lead.pk}/history")
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
