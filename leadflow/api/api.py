"""The REST API, mounted at /api/: OpenAPI 3 at /api/openapi.json, docs at /api/docs.

Every endpoint needs a caller: a bearer token, or the signed-in browser session. Every error
is an RFC 9457 problem (see `leadflow.api.problems`).
"""

from functools import wraps

from django.http import HttpRequest, HttpResponseNotAllowed
from ninja import NinjaAPI, Router

from leadflow.api import (
    activities,
    check,
    definitions,
    intake,
    leads,
    problems,
    reports,
    tokens,
    transfer,
    webhooks,
)
from leadflow.api.auth import BearerToken, Session


class LeadflowAPI(NinjaAPI):
    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = _method_not_allowed_as_problem(pattern.callback)
        return patterns, app_name, namespace

    def get_openapi_schema(self, *args, **kwargs):
        # Ninja documents every response with the renderer's media type; errors are in fact
        # served as application/problem+json, so say so.
        schema = super().get_openapi_schema(*args, **kwargs)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status)[0] in "45" and "application/json" in content:
                        content[problems.CONTENT_TYPE] = content.pop("application/json")
        return schema


def _method_not_allowed_as_problem(view):
    """Ninja answers a wrong method with a plain-text 405 before any handler runs; say it as
    a problem like every other error."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            return problems.problem_response(
                405,
                "method-not-allowed",
                f"{request.method} is not allowed here; use {allowed}",
                headers={"Allow": allowed},
            )
        return response

    return wrapper


api = LeadflowAPI(
    title="leadflow API",
    version="1.0.0",
    description="Leads, their hand-offs and the lifecycle rules of leadflow. "
    "Authenticate with `Authorization: Bearer <token>` (create one with "
    "`leadflow token USERNAME`), or sign in to leadflow and use this page.",
    auth=[BearerToken(), Session()],
)
problems.install(api)
# Before leads: /leads/batch would otherwise be taken for /leads/{lead_id}.
api.add_router("", intake.router)
api.add_router("", leads.router)
api.add_router("", tokens.router)
api.add_router("", reports.router)
api.add_router("", check.router)
api.add_router("", activities.router)
api.add_router("", definitions.router)
api.add_router("", webhooks.router)
api.add_router("", transfer.router)

# Last, so it matches only what nothing above did: an unknown /api/ URL is a problem too.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str):
    raise problems.Problem(404, "not-found", f"there is no API endpoint at {request.path}")


api.add_router("", fallback)
