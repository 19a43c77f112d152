"""The signature receivers check: HMAC-SHA256 of "<timestamp>.<body>" with the webhook's
secret; a tampered body, a wrong secret or a stale timestamp fails."""

import hashlib
import hmac
import time

from leadflow.webhooks.signing import signature, verify

SECRET = "whsec_test"
BODY = (
    b'{"data":{"lead":{"id":7}},"event":"lead.mql","id":42,'
    b'"occurred_at":"2026-11-25T10:00:00+00:00"}'
)


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_the_body():
    expected = hmac.new(SECRET.encode(), b"1764064800." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1764064800, BODY) == f"v1={expected}"


def test_a_fresh_request_signed_with_the_secret_verifies():
    now = str(int(time.time()))
    assert verify(SECRET, now, BODY, signature(SECRET, now, BODY))
    assert verify(SECRET, now, BODY.decode(), signature(SECRET, now, BODY))


def test_a_tampered_body_or_another_secret_fails():
    now = int(time.time())
    good = signature(SECRET, now, BODY)
    assert not verify(SECRET, now, BODY.replace(b"42", b"43"), good)
    assert not verify("whsec_other", now, BODY, good)
    assert not verify(SECRET, now + 1, BODY, good)  # the timestamp is signed too
    assert not verify(SECRET, now, BODY, good.replace("v1=", "v2="))
    assert not verify(SECRET, now, BODY, "")


def test_a_stale_or_future_timestamp_fails_even_when_signed():
    old = int(time.time()) - 301
    assert not verify(SECRET, old, BODY, signature(SECRET, old, BODY))
    ahead = int(time.time()) + 301
    assert not verify(SECRET, ahead, BODY, signature(SECRET, ahead, BODY))
    assert verify(SECRET, old, BODY, signature(SECRET, old, BODY), tolerance=600)


def test_one_matching_signature_among_several_is_enough():
    now = int(time.time())
    header = f"v1=deadbeef, {signature(SECRET, now, BODY)}"
    assert verify(SECRET, now, BODY, header)


def test_a_timestamp_that_is_not_a_number_fails():
    assert not verify(SECRET, "yesterday", BODY, signature(SECRET, "yesterday", BODY))
