"""Scoring keeps up with changes made elsewhere.

`leadflow.leads.actions` creates leads and logs activities without knowing about scoring (it
is not this app's code to change): these receivers recompute a lead's fit when its attributes
are saved, and score an activity as it is logged. The bulk paths (activity batches, rescoring,
the demo generator) write without signals and score for themselves.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from leadflow.leads.models import Activity, Lead
from leadflow.scoring import active as active_definition
from leadflow.scoring import engine, incremental

# Saving only these fields cannot change the fit (lifecycle and score updates).
NOT_ATTRIBUTES = frozenset(
    {"stage", "owner", "owner_team", "priority", "updated_at", "stage_changed_at", "version",
     "fit_score", "engagement_score", "sql_evidence"}
)


def _touches_attributes(update_fields) -> bool:
    return update_fields is None or not set(update_fields) <= NOT_ATTRIBUTES


@receiver(pre_save, sender=Lead, dispatch_uid="scoring-fit")
def recompute_fit(sender, instance: Lead, raw=False, update_fields=None, **kwargs) -> None:
    if raw or not _touches_attributes(update_fields):
        return
    scoring = active_definition.active()
    # Kept for fit_saved, so one save reads the active definition once.
    instance._scored_under = scoring
    if scoring is None:
        return
    instance.fit_score = engine.fit_score(scoring.rules, engine.lead_values(instance))


@receiver(post_save, sender=Lead, dispatch_uid="scoring-fit-saved")
def fit_saved(
    sender, instance: Lead, created=False, raw=False, update_fields=None, **kwargs
) -> None:
    if raw or not _touches_attributes(update_fields):
        return
    if update_fields is not None and "fit_score" not in update_fields:
        # A partial save left the fit pre_save computed unwritten.
        Lead.objects.filter(pk=instance.pk).update(fit_score=instance.fit_score)
    scoring = getattr(instance, "_scored_under", None)
    if scoring is None or instance.fit_score < scoring.rules.mql_fit:
        return  # the MQL rule needs the fit too: nothing to check (most arriving leads)
    if created and scoring.rules.mql_engagement > 0:
        return  # a lead saved for the first time has no activity, so no engagement yet
    # After commit: create_lead writes the lead's first history row after saving it.
    pk = instance.pk
    transaction.on_commit(lambda: incremental.qualify(incremental.meeting_mql([pk])))


@receiver(post_save, sender=Activity, dispatch_uid="scoring-activity")
def score_activity(sender, instance: Activity, created=False, raw=False, **kwargs) -> None:
    if raw or not created:
        return
    new = incremental.NewActivity(
        instance.lead_id,
        instance.kind,
        instance.occurred_at.timestamp(),
        instance.url,
        instance.campaign_id,
    )
    with transaction.atomic():
        candidates = incremental.score_activities([new], stored=True)
        incremental.qualify(candidates)
