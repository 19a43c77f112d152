"""Helpers for API tests: a client that calls as a given user, with a real token."""

from django.test import Client

from leadflow.accounts.models import ApiToken, User


def client_for(user: User, **kwargs) -> Client:
    """A test client sending `Authorization: Bearer` with a fresh token of `user`."""
    _, raw = ApiToken.issue(user, name="test")
    return Client(headers={"Authorization": f"Bearer {raw}"}, **kwargs)


def post_json(client: Client, url: str, data: dict):
    return client.post(url, data, content_type="application/json")
