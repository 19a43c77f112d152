"""The API describes itself: OpenAPI 3 at /api/openapi.json, browsable docs at /api/docs."""

import json

from django.test import Client
from django.urls import reverse

from leadflow.api.testing import client_for
from leadflow.leads.lifecycle import TRANSITIONS

PATHS = {
    "/api/leads": {"get", "post"},
    "/api/leads/{lead_id}": {"get"},
    "/api/leads/{lead_id}/transitions": {"post"},
    "/api/leads/{lead_id}/history": {"get"},
    "/api/transitions": {"get"},
    "/api/reasons": {"get"},
    "/api/tokens": {"get"},
    "/api/tokens/{token_id}": {"delete"},
}


def test_the_schema_is_openapi_3_json_with_every_lead_endpoint(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["version"] == "1.0.0"
    described = {path: set(ops) for path, ops in schema["paths"].items()}
    for path, operations in PATHS.items():
        assert described.get(path) == operations, path
    assert {"BearerToken", "Session"} <= set(schema["components"]["securitySchemes"])


def test_errors_are_documented_as_problem_json(db):
    schema = Client().get("/api/openapi.json").json()
    responses = schema["paths"]["/api/leads/{lead_id}/transitions"]["post"]["responses"]
    assert set(responses["409"]["content"]) == {"application/problem+json"}
    assert set(responses["200"]["content"]) == {"application/json"}


def test_the_docs_page_is_served(db):
    url = reverse("api-1.0.0:openapi-view")
    assert url == "/api/docs"
    response = Client().get(url)
    assert response.status_code == 200
    assert b"/api/openapi.json" in response.content


def test_the_lifecycle_table_is_published_row_for_row(world):
    response = client_for(world.ae).get("/api/transitions")
    assert response.status_code == 200
    rows = response.json()
    assert [(r["name"], r["from"], r["to"]) for r in rows] == [
        (t.name, t.source, t.target) for t in TRANSITIONS
    ]
    reject = next(r for r in rows if r["name"] == "reject" and r["from"] == "mql")
    assert reject["roles"] == ["inside_sales"]
    assert reject["needs"] == ["pending_offer", "reason", "comment"]
    assert reject["reason_kind"] == "reject"
    assert reject["effects"]["handoff"] == "reject the open offer"
    assert reject["effects"]["owner"] == "the arbiter's queue"


def test_reason_codes_are_listed_by_kind(world):
    response = client_for(world.sdr).get("/api/reasons?kind=reject")
    assert response.status_code == 200
    reasons = response.json()
    assert "below-fit" in {r["code"] for r in reasons}
    assert {r["kind"] for r in reasons} == {"reject"}
