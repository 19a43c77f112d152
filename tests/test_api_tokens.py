"""GET /api/tokens and DELETE /api/tokens/{id}: your own tokens, and revoking one."""

from django.test import Client

from leadflow.accounts.models import ApiToken


def as_user(raw):
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_lists_your_own_tokens_without_their_secret(world):
    _, raw = ApiToken.issue(world.sdr, name="crm-sync")
    ApiToken.issue(world.sdr2, name="not-mine")
    response = as_user(raw).get("/api/tokens")
    assert response.status_code == 200
    [token] = response.json()
    assert token["name"] == "crm-sync"
    assert token["hint"] == raw[:10]
    assert token["revoked"] is False
    assert token["last_used_at"] is not None  # this very call
    assert raw not in response.content.decode()
    assert "key_hash" not in token


def test_revoking_a_token_refuses_it_from_then_on(world):
    _, raw = ApiToken.issue(world.sdr, name="keep")
    old, old_raw = ApiToken.issue(world.sdr, name="old")
    response = as_user(raw).delete(f"/api/tokens/{old.pk}")
    assert response.status_code == 204
    assert as_user(old_raw).get("/api/tokens").status_code == 401
    listed = {t["name"]: t["revoked"] for t in as_user(raw).get("/api/tokens").json()}
    assert listed == {"keep": False, "old": True}


def test_another_users_token_is_not_found_and_stays_valid(world):
    _, raw = ApiToken.issue(world.sdr)
    theirs, theirs_raw = ApiToken.issue(world.sdr2)
    response = as_user(raw).delete(f"/api/tokens/{theirs.pk}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not-found"
    assert as_user(theirs_raw).get("/api/tokens").status_code == 200
