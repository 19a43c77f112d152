"""Answering a call under its `Idempotency-Key` header (`leadflow.intake.idempotency`): every
endpoint that changes data in bulk says the same thing about retries, and answers them alike."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from leadflow.api.problems import Problem, invalid
from leadflow.intake import idempotency

DESCRIPTION = (
    "**Retries.** Send an `Idempotency-Key` header (any unique text, at most 100 characters): "
    "a retry with the same key and the same body stores nothing again and gets the first "
    "answer back (with `Idempotent-Replayed: true`); the same key with another body is a 422 "
    "naming the header. Keys are kept 24 hours. A request refused as a whole (403, 422) uses "
    "up no key."
)


def _key(request: HttpRequest) -> str:
    key = request.headers.get(idempotency.HEADER, "").strip()
    if len(key) > idempotency.MAX_LENGTH:
        raise invalid(
            idempotency.HEADER, f"an idempotency key is at most {idempotency.MAX_LENGTH} characters"
        )
    return key


def answer(
    request: HttpRequest, work: Callable[[], dict], render: Callable[[dict], tuple[int, dict]]
) -> HttpResponse:
    """Run `work` (under the request's Idempotency-Key, if any) and answer with `render`."""
    key = _key(request)
    if not key:
        status, body = render(work())
        body, replayed = json.dumps(body, separators=(", ", ": ")), False
    else:
        try:
            done = idempotency.run(
                user=request.auth,
                key=key,
                request_fingerprint=idempotency.fingerprint(
                    request.method, request.path, request.body
                ),
                work=work,
                render=render,
            )
        except idempotency.KeyMisused as misuse:
            raise Problem(
                422, "idempotency-key-reused", str(misuse), field=idempotency.HEADER
            ) from None
        status, body, replayed = done.status, done.body, done.replayed
    response = HttpResponse(body, status=status, content_type="application/json")
    if url := json.loads(body).get("url"):
        response["Location"] = url
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
