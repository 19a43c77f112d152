"""Helpers for scoring tests: a small definition, made active without the sign-off."""

from __future__ import annotations

from django.db.models import Max
from django.utils import timezone

from leadflow.leads.models import LeadDefinition

SIMPLE = """\
fit:
  - name: Seniority
    attribute: title
    options:
      - {label: VP, pattern: '\\bvp\\b', points: 30}
      - {label: Manager, pattern: manager, points: 10}
  - name: Company size
    attribute: employee_count
    options:
      - {label: 200+, range: {min: 200}, points: 20}
engagement:
  half_life_days: 10
  rules:
    - {name: Pricing page, activity: web_visit, url: {pattern: /pricing}, points: 10, cap: 20}
    - {name: Web visit, activity: web_visit, points: 2, cap: 6}
    - {name: Form filled, activity: form_fill, points: 15}
mql:
  fit_at_least: 40
  engagement_at_least: 25
disqualifiers:
  competitor_domains: [rival.example]
  free_mail_domains: [gmail.com]
  student_patterns: ['\\bstudent\\b']
"""


def activate(document: str = SIMPLE, **fields) -> LeadDefinition:
    """A definition version made active directly, retiring the one before (tests only: the
    product's way is `leadflow.scoring.definitions`, with both sides' approval)."""
    now = timezone.now()
    LeadDefinition.objects.filter(status=LeadDefinition.Status.ACTIVE).update(
        status=LeadDefinition.Status.RETIRED, retired_at=now
    )
    latest = LeadDefinition.objects.aggregate(v=Max("version"))["v"] or 0
    row = LeadDefinition.objects.create(
        version=latest + 1, document=document, status=LeadDefinition.Status.DRAFT, **fields
    )
    LeadDefinition.objects.filter(pk=row.pk).update(status=LeadDefinition.Status.PROPOSED)
    LeadDefinition.objects.filter(pk=row.pk).update(
        status=LeadDefinition.Status.ACTIVE, activated_at=now
    )
    row.refresh_from_db()
    return row
