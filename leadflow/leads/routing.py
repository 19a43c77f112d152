"""Where a lead goes: the team that owns it at each stage, and who an offer is made to.

This is the database-backed implementation of `lifecycle.Services`. Today an offer goes to the
side's team queue; routing rules and round-robin plug in here.
"""

from __future__ import annotations

from datetime import datetime

from leadflow.accounts.models import Side, Team
from leadflow.leads.business_time import calendar_for
from leadflow.leads.models import Lead, LeadDefinition


class NoTeam(Exception):
    pass


class DatabaseServices:
    def __init__(self) -> None:
        self._teams: dict[str, Team] = {}
        self._definition: tuple[LeadDefinition | None] | None = None

    def team_for(self, side: str, lead: Lead) -> Team:
        if lead.owner_team_id and lead.owner_team.side == side:
            return lead.owner_team
        if side not in self._teams:
            team = Team.objects.filter(side=side).order_by("id").first()
            if team is None:
                raise NoTeam(f"there is no {Side(side).label} team: create one in the admin")
            self._teams[side] = team
        return self._teams[side]

    def offer_target(self, side: str, lead: Lead):
        return self.team_for(side, lead), None

    def accept_by(self, team: Team, offered_at: datetime, kind: str) -> datetime:
        return calendar_for(team).accept_by(offered_at, kind)

    def first_touch_by(self, team: Team, accepted_at: datetime) -> datetime:
        return calendar_for(team).first_touch_by(accepted_at)

    def active_definition(self) -> LeadDefinition | None:
        if self._definition is None:
            self._definition = (LeadDefinition.active(),)
        return self._definition[0]
