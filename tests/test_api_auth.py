"""Who may call the API: bearer tokens (hashed at rest, revocable) and the browser session."""

import hashlib

from django.test import Client

from leadflow.accounts.models import ApiToken
from leadflow.api.testing import client_for, post_json

PROBLEM = "application/problem+json"


def test_a_bearer_token_authenticates_its_user(world):
    response = client_for(world.sdr).get("/api/tokens")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["test"]  # the sdr's own token


def test_only_the_hash_of_a_token_is_stored(world):
    token, raw = ApiToken.issue(world.sdr)
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in [str(value) for value in stored.values()]


def test_a_revoked_token_is_refused_with_a_401_problem(world):
    token, raw = ApiToken.issue(world.sdr)
    token.revoke()
    response = Client().get("/api/leads", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "unauthenticated"
    assert body["title"] == "Unauthorized"


def test_a_token_of_an_inactive_user_is_refused(world):
    _, raw = ApiToken.issue(world.sdr)
    world.sdr.is_active = False
    world.sdr.save()
    response = Client().get("/api/leads", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401


def test_no_credentials_get_a_401_problem(world):
    response = Client().get("/api/leads")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM


def test_a_signed_in_session_may_read(world):
    client = Client()
    client.force_login(world.sdr)
    assert client.get("/api/tokens").status_code == 200


def test_a_session_write_needs_the_csrf_token(world):
    lead = world.lead_at("mql")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.sdr)
    url = f"/api/leads/{lead.pk}/transitions"

    refused = post_json(client, url, {"name": "accept"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf-failed"

    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post(
        url, {"name": "accept"}, content_type="application/json", headers={"X-CSRFToken": "a" * 32}
    )
    assert accepted.status_code == 200
    assert accepted.json()["stage"] == "sal"


def test_a_token_client_with_a_bad_token_gets_401_not_a_csrf_error(world):
    lead = world.lead_at("mql")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": "Bearer lf_wrong"})
    response = post_json(client, f"/api/leads/{lead.pk}/transitions", {"name": "accept"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_a_token_write_needs_no_csrf_token(world):
    lead = world.lead_at("mql")
    client = client_for(world.sdr, enforce_csrf_checks=True)
    response = post_json(client, f"/api/leads/{lead.pk}/transitions", {"name": "accept"})
    assert response.status_code == 200
