"""`GET /api/check`: the lead flow's invariant, as `leadflow check` reports it, for monitors.

For arbiters and admins: the answer names leads of every team.
"""

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from leadflow.accounts.models import Role
from leadflow.api.problems import Problem
from leadflow.api.schemas import ProblemOut
from leadflow.leads import sla

router = Router(tags=["operations"])


class Violation(Schema):
    count: int
    ids: list[int] = Field(description=f"The first {sla.LIMIT_IDS} offending ids.")


class CheckOut(Schema):
    ok: bool = Field(description="True when every count is zero.")
    checked_at: datetime
    sweep_seconds: int = Field(description="The sweep interval: the grace an overdue offer gets.")
    leads_without_owner: Violation = Field(description="Open leads without an owner.")
    offers_without_deadline: Violation = Field(description="Open hand-offs without a deadline.")
    offers_not_escalated: Violation = Field(
        description="Open hand-offs past their deadline by more than one sweep interval."
    )


@router.get("/check", response={200: CheckOut, 403: ProblemOut})
def check(request: HttpRequest):
    """Every open lead without an owner and every open hand-off without a deadline, or past it
    by more than one sweep interval without escalation. `ok` is false if there is any."""
    user = request.auth
    if not (user.is_superuser or user.role in (Role.ARBITER, Role.ADMIN)):
        raise Problem(403, "forbidden", "the invariant check is for arbiters and admins")
    now = timezone.now()
    found = sla.violations(now)
    return {
        "ok": found.total == 0,
        "checked_at": now,
        "sweep_seconds": settings.LEADFLOW_SWEEP_SECONDS,
        **{
            name: {"count": found.counts[name], "ids": getattr(found, name)}
            for name in found.counts
        },
    }
