"""Scoring as activities arrive: constant work per activity (`engine.EngagementState`).

`score_activities` runs inside the transaction that stores the activities. It locks the leads,
adds each activity to its lead's engagement state, writes the new engagement scores and returns
the leads that now meet the MQL rule; the caller moves those to `mql` after commit (`qualify`),
each in its own transaction, through `actions.transition` as leadflow itself.

A lead without a state under the active version (new, or scored under an older version) gets
one built from its history first: once, not per activity.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection
from django.utils import timezone

from leadflow.leads import actions, lifecycle
from leadflow.leads.models import Activity, Campaign, Lead, Stage
from leadflow.leads.routing import DatabaseServices, NoTeam
from leadflow.scoring import active as active_definition
from leadflow.scoring import bulk, engine
from leadflow.scoring.active import Scoring
from leadflow.scoring.models import LeadEngagement

logger = logging.getLogger(__name__)

# Stages the score moves to `mql`, and how (DOMAIN.md: from nurture it is a recycle).
AUTO_QUALIFY = {Stage.INQUIRY: "qualify", Stage.NURTURE: "recycle"}


@dataclass(frozen=True)
class NewActivity:
    lead_id: int
    kind: str
    at: float  # Unix seconds
    url: str = ""
    campaign_id: int | None = None


def campaigns_for(scoring: Scoring, ids: Iterable[int | None]) -> dict[int, engine.Campaign]:
    """Names and external ids of the campaigns, when some rule filters on campaigns."""
    if not any(r.campaign for r in scoring.rules.rules):
        return {}
    wanted = {i for i in ids if i}
    return {
        pk: engine.Campaign(name, external or "")
        for pk, name, external in Campaign.objects.filter(pk__in=wanted).values_list(
            "pk", "name", "external_id"
        )
    }


def score_activities(
    activities: Sequence[NewActivity], *, stored: bool, now: datetime | None = None
) -> list[int]:
    """Add `activities` to their leads' engagement; the ids of leads now meeting the MQL rule
    at a stage the score moves to `mql`. `stored`: the activities are already in the table
    (so a history rebuild includes them and they are not added twice)."""
    scoring = active_definition.active()
    if scoring is None or not activities:
        return []
    rules = scoring.rules
    now_ts = (now or timezone.now()).timestamp()
    campaigns = campaigns_for(scoring, (a.campaign_id for a in activities))
    by_lead: dict[int, list[tuple[int, float]]] = defaultdict(list)
    cache: dict[tuple, int] = {}
    for a in activities:
        key = (a.kind, a.url, a.campaign_id)
        rule = cache.get(key)
        if rule is None:
            campaign = campaigns.get(a.campaign_id)
            rule = cache[key] = engine.rule_index(rules, a.kind, a.url, campaign)
        if rule != engine.NO_RULE:
            by_lead[a.lead_id].append((rule, a.at))
    if not by_lead:
        return []

    lead_ids = sorted(by_lead)
    leads = _lock_leads(lead_ids)
    where, params = bulk.any_of("lead_id", lead_ids)
    states = {
        pk: (definition_id, reference, sums)
        for pk, definition_id, reference, sums in bulk.rows(
            "SELECT lead_id, definition_id, reference, sums FROM "
            f"{LeadEngagement._meta.db_table} WHERE {where}",
            params,
        )
    }
    stale = [pk for pk in lead_ids if states.get(pk, (None,))[0] != scoring.row.pk]
    rebuilt = _rebuild(scoring, stale)
    fresh_fit = {
        lead.pk: engine.fit_score(rules, engine.lead_values(lead)) for lead in _whole(stale)
    }

    engagement_rows, score_rows, candidates = [], [], []
    for pk in lead_ids:
        if pk not in leads:
            continue  # deleted meanwhile
        if pk in rebuilt:
            state = rebuilt[pk]
        else:
            _, reference, sums = states[pk]
            state = engine.EngagementState(np.frombuffer(sums).tolist(), reference)
        if not (stored and pk in rebuilt):  # a rebuild from stored history has them already
            for rule, at in sorted(by_lead[pk], key=lambda e: e[1]):
                state.add(rules, rule, at)
        stage, fit = leads[pk]
        fit = fresh_fit.get(pk, fit)
        engagement = state.score(rules, now_ts)
        engagement_rows.append(
            (pk, scoring.row.pk, state.reference, np.asarray(state.sums, dtype=float).tobytes())
        )
        score_rows.append((pk, fit, engagement))
        if stage in AUTO_QUALIFY and engine.meets_mql(rules, fit, engagement, False):
            candidates.append(pk)
    bulk.upsert_engagement(engagement_rows)
    bulk.update_lead_scores(score_rows)
    return [
        lead.pk
        for lead in _whole(candidates)
        if not engine.disqualified(rules, engine.lead_values(lead))
    ]


def _lock_leads(ids: Sequence[int]) -> dict[int, tuple[str, float]]:
    """{id: (stage, fit score)}, the rows locked in id order so concurrent batches cannot
    deadlock (SQLite writers are serialised by the database lock already)."""
    where, params = bulk.any_of("id", ids)
    lock = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    found = bulk.rows(
        f"SELECT id, stage, fit_score FROM {Lead._meta.db_table} WHERE {where} ORDER BY id{lock}",
        params,
    )
    return {pk: (stage, fit) for pk, stage, fit in found}


def _whole(ids: list[int]) -> list[Lead]:
    """The leads with what fit and disqualifiers read (few: new leads and MQL candidates)."""
    if not ids:
        return []
    return list(Lead.objects.filter(pk__in=ids).select_related("source", "campaign"))


def _rebuild(scoring: Scoring, lead_ids: list[int]):
    """Engagement states from each lead's stored history (reference: its last activity)."""
    states = {pk: engine.EngagementState.empty(scoring.rules) for pk in lead_ids}
    if not lead_ids:
        return states
    kinds = scoring.rules.scored_kinds
    history = (
        Activity.objects.filter(lead_id__in=lead_ids, kind__in=kinds)
        .order_by("occurred_at", "id")
        .values_list("lead_id", "kind", "occurred_at", "url", "campaign_id")
    )
    rows = list(history)
    campaigns = campaigns_for(scoring, (r[4] for r in rows))
    for lead_id, kind, at, url, campaign_id in rows:
        rule = engine.rule_index(scoring.rules, kind, url, campaigns.get(campaign_id))
        if rule != engine.NO_RULE:
            states[lead_id].add(scoring.rules, rule, at.timestamp())
    return states


def meeting_mql(lead_ids: Sequence[int], now: datetime | None = None) -> list[int]:
    """Of these leads, those at inquiry or nurture that meet the active MQL rule now."""
    scoring = active_definition.active()
    if scoring is None or not lead_ids:
        return []
    rules = scoring.rules
    now_ts = (now or timezone.now()).timestamp()
    leads = [lead for lead in _whole(list(lead_ids)) if lead.stage in AUTO_QUALIFY]
    leads = [lead for lead in leads if lead.fit_score >= rules.mql_fit]
    if not leads:
        return []
    states = {
        pk: (definition_id, reference, sums)
        for pk, definition_id, reference, sums in LeadEngagement.objects.filter(
            lead_id__in=[lead.pk for lead in leads]
        ).values_list("lead_id", "definition_id", "reference", "sums")
    }
    stale = [lead.pk for lead in leads if states.get(lead.pk, (None,))[0] != scoring.row.pk]
    rebuilt = _rebuild(scoring, stale)
    found = []
    for lead in leads:
        if lead.pk in rebuilt:
            state = rebuilt[lead.pk]
        else:
            _, reference, sums = states[lead.pk]
            state = engine.EngagementState(np.frombuffer(sums).tolist(), reference)
        values = engine.lead_values(lead)
        fit = engine.fit_score(rules, values)
        dq = bool(engine.disqualified(rules, values))
        if engine.meets_mql(rules, fit, state.score(rules, now_ts), dq):
            found.append(lead.pk)
    return found


def qualify(lead_ids: Iterable[int]) -> list[int]:
    """Move each lead to `mql` as leadflow itself (qualify from inquiry, recycle from nurture),
    each in its own transaction. A lead that moved on meanwhile is left as it is. The ids of
    the leads moved."""
    services = DatabaseServices()
    moved = []
    for pk in lead_ids:
        stage = Lead.objects.filter(pk=pk).values_list("stage", flat=True).first()
        name = AUTO_QUALIFY.get(stage)
        if name is None:
            continue
        try:
            actions.transition(pk, name, actor=None, services=services)
        except (lifecycle.TransitionError, NoTeam) as refusal:
            logger.warning("lead %s meets the MQL rule but was not moved: %s", pk, refusal)
            continue
        moved.append(pk)
    return moved
