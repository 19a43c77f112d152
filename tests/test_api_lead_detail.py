"""GET /api/leads/{id}: one lead, its open hand-off and what the caller may do with it."""

from leadflow.api.testing import client_for


def test_it_shows_the_open_handoff_and_what_you_may_do(world):
    lead = world.lead_at("mql")
    response = client_for(lead.owner).get(f"/api/leads/{lead.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["stage"] == "mql"
    assert body["version"] == lead.version
    offer = body["handoff"]
    assert offer["kind"] == "mql"
    assert offer["team"]["name"] == world.inside_team.name
    assert offer["offered_to"]["username"] == lead.owner.username  # round-robin's pick
    assert offer["decision"] == "pending"
    assert offer["accept_by"] > offer["offered_at"]
    assert {(t["name"], t["to"]) for t in body["available_transitions"]} == {
        ("accept", "sal"),
        ("reject", "in_review"),
    }
    reject = next(t for t in body["available_transitions"] if t["name"] == "reject")
    assert reject["needs"] == ["pending_offer", "reason", "comment"]
    assert reject["reason_kind"] == "reject"


def test_available_transitions_depend_on_the_caller(world):
    lead = world.lead_at("mql")
    response = client_for(world.sales_manager).get(f"/api/leads/{lead.pk}")
    names = {t["name"] for t in response.json()["available_transitions"]}
    assert names == {"accept", "reject", "reassign"}
    response = client_for(world.arbiter).get(f"/api/leads/{lead.pk}")
    assert response.json()["available_transitions"] == []


def test_a_lead_without_an_open_offer_has_no_handoff(world):
    lead = world.lead_at("sal")
    body = client_for(world.sdr).get(f"/api/leads/{lead.pk}").json()
    assert body["handoff"] is None
    assert body["owner"]["username"] == "sdr"


def test_another_teams_lead_is_answered_exactly_like_a_missing_one(world):
    hidden = world.lead(email="hidden@example.com")  # marketing's, not inside sales'
    missing_id = hidden.pk + 1000
    client = client_for(world.sdr)

    hidden_response = client.get(f"/api/leads/{hidden.pk}")
    missing_response = client.get(f"/api/leads/{missing_id}")

    assert hidden_response.status_code == missing_response.status_code == 404
    assert hidden_response["Content-Type"] == missing_response["Content-Type"]
    assert hidden_response["Content-Type"] == "application/problem+json"
    hidden_body = hidden_response.json()
    missing_body = missing_response.json()
    assert hidden_body["code"] == "not-found"
    hidden_body["detail"] = hidden_body["detail"].replace(str(hidden.pk), "ID")
    missing_body["detail"] = missing_body["detail"].replace(str(missing_id), "ID")
    assert hidden_body == missing_body
