"""`leadflow token USERNAME`: prints a working token, and only it, on stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from leadflow.accounts.models import ApiToken


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_only_a_token_that_authenticates(world):
    out, _ = run("sdr", "--name", "crm-sync")
    raw = out.strip()
    assert out == raw + "\n"  # nothing else on stdout: `$(leadflow token sdr)` is the token
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tokens")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["crm-sync"]
    token = ApiToken.objects.get(user=world.sdr)
    assert token.key_hash == ApiToken.hash(raw) != raw


def test_an_unknown_user_is_a_clear_error(world):
    with pytest.raises(CommandError, match="there is no user named 'nobody'"):
        run("nobody")
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token_by_its_hint(world):
    out, _ = run("sdr")
    raw = out.strip()
    run("sdr", "--revoke", raw[:10])
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/tokens").status_code == 401


def test_revoking_an_unknown_hint_is_a_clear_error(world):
    with pytest.raises(CommandError, match="no active token"):
        run("sdr", "--revoke", "lf_nothing")
