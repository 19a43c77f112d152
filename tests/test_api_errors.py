"""Every API error is an RFC 9457 problem, even the unexpected ones."""

from leadflow.api.testing import client_for, post_json
from leadflow.leads import actions

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def test_an_unknown_api_url_is_a_404_problem(world):
    response = client_for(world.sdr).get("/api/leeds")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert PROBLEM_KEYS <= set(response.json())


def test_a_body_that_is_not_json_is_a_400_problem(world):
    lead = world.lead_at("mql")
    response = client_for(world.sdr).post(
        f"/api/leads/{lead.pk}/transitions", "{oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "bad-request"


def test_a_crash_is_a_500_problem_that_reveals_nothing(world, monkeypatch, caplog):
    def crash(*args, **kwargs):
        raise RuntimeError("secret internals")

    lead = world.lead_at("mql")
    monkeypatch.setattr(actions, "transition", crash)
    response = post_json(
        client_for(world.sdr), f"/api/leads/{lead.pk}/transitions", {"name": "accept"}
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (500, "internal-error")
    assert "secret" not in response.content.decode()
    assert "secret internals" in caplog.text  # logged for the operator


def test_a_method_an_endpoint_does_not_have_is_a_405_problem(world):
    response = client_for(world.sdr).delete("/api/leads")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method-not-allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
