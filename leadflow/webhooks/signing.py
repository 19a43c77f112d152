"""How a webhook request is signed, and how a receiver checks it.

Every request carries

    Leadflow-Timestamp: 1764073200                       (Unix seconds when it was sent)
    Leadflow-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is inside the signed text, so a captured request cannot be replayed later with a
fresh timestamp; a receiver refuses timestamps more than `tolerance` seconds from its clock.
Compute the HMAC over the raw body bytes as received — not over JSON re-serialised by your
framework, whose spacing or key order may differ. The header may list several `v1=` values
separated by commas (say, while a secret is being changed); one match is enough.

A receiver in Python, with nothing but the standard library::

    import hashlib, hmac, time

    def verify(secret: str, timestamp: str, body: bytes, signature: str,
               tolerance: int = 300) -> bool:
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        if abs(time.time() - sent) > tolerance:
            return False
        signed = timestamp.encode() + b"." + body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return any(
            hmac.compare_digest(expected, part.strip()[3:])
            for part in signature.split(",")
            if part.strip().startswith("v1=")
        )

(`verify` below is that function; leadflow's tests use it in their receiver.)
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "v1"
TOLERANCE = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `Leadflow-Signature` header value for `body` sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    return f"{SCHEME}=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    signature_header: str,
    tolerance: int = TOLERANCE,
) -> bool:
    """True if `signature_header` signs `body` at `timestamp` with `secret`, and the timestamp
    is within `tolerance` seconds of now."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent) > tolerance:
        return False
    if isinstance(body, str):
        body = body.encode()
    expected = signature(secret, timestamp, body)  # the text as sent, as the recipe does
    return any(
        hmac.compare_digest(expected, part.strip())
        for part in (signature_header or "").split(",")
        if part.strip().startswith(f"{SCHEME}=")
    )
