"""The retry schedule shared by everything the worker sends (e-mails, webhooks): waits that
double after each failed attempt, up to a cap."""

from __future__ import annotations

from datetime import timedelta


def backoff(attempts: int, *, first: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: `first`, then twice as long
    each time, never more than `cap`."""
    return min(first * 2 ** max(0, attempts - 1), cap)
