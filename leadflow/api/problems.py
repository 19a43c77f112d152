"""Every API error as an RFC 9457 problem: `application/problem+json`.

Body: {type, title, status, detail, code} plus `field` (one field at fault) or `errors`
([{field, message}], several). `code` is the stable part clients branch on; lifecycle
refusals keep the code they have in the UI (`forbidden`, `conflict`, `requirement-missing`…).
`type` stays "about:blank" (so `title` is the HTTP status phrase): the code carries the meaning.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from leadflow.leads.access import LeadNotFound
from leadflow.leads.lifecycle import TransitionError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
INVALID_INPUT = "invalid-input"

# Codes for HTTP errors raised by ninja itself, by status.
HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    429: "throttled",
}


class Problem(Exception):
    """An error the API reports as is: raised by endpoints for what the actions cannot know
    (an unknown source name, a bad cursor)."""

    def __init__(self, status: int, code: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def invalid(field: str, detail: str) -> Problem:
    return Problem(422, INVALID_INPUT, detail, field=field)


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict] | None = None,
    headers: dict | None = None,
) -> JsonResponse:
    body: dict = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE, headers=headers)


# The names endpoints give their body and query schemas; clients never see them.
SCHEMA_PARAMS = {"payload", "filters"}


def _field_of(loc: tuple | list) -> str:
    """('body', 'payload', 'evidence', 'need') -> 'evidence.need'; ('query', 'limit') -> 'limit'.

    Ninja prefixes the location with the parameter source and, for a schema, with the
    parameter's name; clients know neither, they know the field they sent.
    """
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in SCHEMA_PARAMS:
        parts = parts[1:]
    return ".".join(parts)


def install(api: NinjaAPI) -> None:
    """Replace ninja's default error handlers with problem+json ones."""

    @api.exception_handler(Problem)
    def on_problem(request: HttpRequest, exc: Problem):
        return problem_response(exc.status, exc.code, exc.detail, field=exc.field)

    @api.exception_handler(TransitionError)
    def on_refusal(request: HttpRequest, exc: TransitionError):
        return problem_response(exc.status, exc.code, exc.message, field=exc.field)

    @api.exception_handler(LeadNotFound)
    def on_lead_not_found(request: HttpRequest, exc: LeadNotFound):
        return problem_response(exc.status, exc.code, str(exc))

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404):
        return problem_response(404, "not-found", str(exc) or "not found")

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError):
        return problem_response(
            401,
            "unauthenticated",
            "send 'Authorization: Bearer <token>' with a valid, unrevoked token "
            "(create one with `leadflow token USERNAME`), or sign in",
            headers={"WWW-Authenticate": 'Bearer realm="leadflow"'},
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError):
        code = HTTP_CODES.get(exc.status_code, "error")
        return problem_response(exc.status_code, code, exc.message)

    @api.exception_handler(NinjaValidationError)
    def on_invalid_request(request: HttpRequest, exc: NinjaValidationError):
        errors = [{"field": _field_of(e.get("loc", ())), "message": e["msg"]} for e in exc.errors]
        return _invalid(errors)

    @api.exception_handler(DjangoValidationError)
    def on_invalid_model(request: HttpRequest, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = [
                {"field": name, "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ]
        else:
            errors = [{"field": "", "message": message} for message in exc.messages]
        return _invalid(errors)

    @api.exception_handler(Exception)
    def on_crash(request: HttpRequest, exc: Exception):
        logger.exception("API error on %s %s", request.method, request.path)
        return problem_response(
            500, "internal-error", "leadflow failed to handle this request; it has been logged"
        )


def _invalid(errors: list[dict]) -> JsonResponse:
    detail = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors)
    field = errors[0]["field"] if len(errors) == 1 and errors[0]["field"] else None
    return problem_response(422, INVALID_INPUT, detail, field=field, errors=errors)
