"""Who is calling: a bearer token (scripts, integrations) or the signed-in browser session
(so a person can try the API from /api/docs)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from leadflow.accounts.models import ApiToken, User
from leadflow.api.problems import Problem


class BearerToken(HttpBearer):
    """`Authorization: Bearer lf_…`, a token from `leadflow token USERNAME`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return ApiToken.authenticate(token)


class Session(APIKeyCookie):
    """Django's session, CSRF-checked like any form post.

    Unlike ninja's `django_auth`, the CSRF check runs only once the session has authenticated:
    a token client that sends no cookie and a bad token gets a 401, not a confusing CSRF 403.
    """

    def __init__(self) -> None:
        # Read here, not at import time: settings may change under tests.
        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise Problem(
                403,
                "csrf-failed",
                "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie",
            )
        return request.user
