"""GET /api/check: the lead flow invariant for monitors, for arbiters and admins."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from leadflow.api.testing import client_for


def test_a_healthy_database_is_ok(world):
    world.lead_at("mql")
    response = client_for(world.arbiter).get("/api/check")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["sweep_seconds"] == 30
    empty = {"count": 0, "ids": []}
    assert body["leads_without_owner"] == body["offers_without_deadline"] == empty
    assert body["offers_not_escalated"] == empty


def test_an_overdue_offer_not_escalated_is_reported(world):
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        lead = world.lead_at("mql")
    body = client_for(world.admin).get("/api/check").json()
    assert body["ok"] is False
    assert body["offers_not_escalated"] == {"count": 1, "ids": [lead.handoffs.get().pk]}


def test_it_is_for_arbiters_and_admins_only(world):
    response = client_for(world.sales_manager).get("/api/check")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert response["Content-Type"] == "application/problem+json"
