"""A lead's score explanation: which rules gave how many points under the active definition,
and why the lead is or is not an MQL (shown on the lead page and by the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from leadflow.leads.models import Activity, Lead, LeadDefinition, Stage
from leadflow.scoring import active as active_definition
from leadflow.scoring import engine
from leadflow.scoring.document import DocumentInvalid
from leadflow.scoring.incremental import AUTO_QUALIFY


@dataclass
class LeadScore:
    lead: Lead
    explanation: engine.Explanation | None
    unavailable: str = ""  # why there is no explanation
    note: str = ""  # what the verdict means for this lead now

    @property
    def version(self) -> int | None:
        return self.explanation.version if self.explanation else None


def for_lead(lead: Lead, now: datetime | None = None) -> LeadScore:
    """The explanation, recomputed from the lead's attributes and whole history."""
    row = LeadDefinition.active()
    if row is None:
        return LeadScore(lead, None, "There is no active lead definition yet.")
    try:
        rules = active_definition.parsed(row)
    except DocumentInvalid as invalid:
        return LeadScore(
            lead,
            None,
            f"The active lead definition v{row.version} cannot be read "
            f"({invalid.problems[0] if invalid.problems else 'no content'}); "
            "scores are not computed until a valid version is approved.",
        )
    history = (
        Activity.objects.filter(lead=lead)
        .select_related("campaign")
        .values_list("kind", "url", "campaign__name", "campaign__external_id", "occurred_at")
    )
    activities = [
        (
            kind,
            url,
            engine.Campaign(name, external or "") if name is not None else None,
            at.timestamp(),
        )
        for kind, url, name, external, at in history
    ]
    now_ts = (now or timezone.now()).timestamp()
    found = engine.explain(rules, row.version, engine.lead_values(lead), activities, now_ts)
    return LeadScore(lead, found, note=_note(lead, found))


def _note(lead: Lead, found: engine.Explanation) -> str:
    if lead.stage in AUTO_QUALIFY:
        if found.meets:
            return "It will be handed to inside sales (leadflow moves it to MQL)."
        if found.disqualified:
            return "leadflow will not hand it to sales; marketing can disqualify it."
        how = "qualify" if lead.stage == Stage.INQUIRY else "recycle it"
        return f"leadflow will {how} to MQL as soon as it meets both thresholds."
    return f"It is at {Stage(lead.stage).label} already: scores no longer move it."
