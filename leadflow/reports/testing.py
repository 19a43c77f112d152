"""Journeys for report tests: leads walked through the real actions at explicit moments.

Reports are only as right as the history they read, so their tests build it the way leadflow
does: `actions.create_lead` and `actions.transition` with `now=`, never by writing rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.leads import actions
from leadflow.leads.models import Lead, Opportunity

EVIDENCE = {
    "decision_maker": "Dana Cho, VP Operations (signs)",
    "need": "Manual routing loses 30% of web leads",
    "compelling_event": "New region opens 2027-01-15",
}

MARKETING_STEPS = {"qualify", "recycle", "nurture", "disqualify"}
ARBITER_STEPS = {"uphold", "overrule"}


def utc(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Journeys:
    """Builds leads and moves them, as the people of the test `world` would."""

    def __init__(self, world) -> None:
        self.world = world

    def lead(self, at: datetime, source=None, **fields) -> Lead:
        fields.setdefault("email", "pat@example.com")
        return actions.create_lead(
            actor=self.world.marketing, source=source or self.world.source, now=at, **fields
        )

    def step(self, lead: Lead, name: str, at: datetime, actor=None, **kw) -> Lead:
        """Transition `name` at `at`, by whoever would do it: marketing for the top of the
        funnel, the arbiter for reviews, leadflow itself for `ignore`, else the lead's owner
        (the rep an offer went to)."""
        if actor is None:
            if name in MARKETING_STEPS:
                actor = self.world.marketing
            elif name in ARBITER_STEPS:
                actor = self.world.arbiter
                kw.setdefault("comment", "reviewed")
            elif name != "ignore":
                lead.refresh_from_db()
                actor = lead.owner
        if name in {"reject", "return", "nurture", "disqualify", "lose"}:
            kw.setdefault("comment", "see reason")
        if name == "convert":
            kw.setdefault("evidence", EVIDENCE)
        return actions.transition(lead, name, actor=actor, now=at, **kw)

    def walk(self, lead: Lead, *steps: tuple) -> Lead:
        """Several steps: (name, at) or (name, at, {keyword arguments})."""
        for name, at, *kw in steps:
            lead = self.step(lead, name, at, **(kw[0] if kw else {}))
        return lead

    def move_opportunity(self, lead: Lead, to: str, at: datetime) -> Opportunity:
        """Move the lead's open opportunity at `at` (the action reads the clock itself)."""
        import time_machine  # a test dependency

        opportunity = lead.opportunities.get(closed_at__isnull=True)
        with time_machine.travel(at, tick=False):
            return actions.move_opportunity(opportunity, to, actor=opportunity.owner)
