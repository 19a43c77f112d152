"""Crossing the MQL rule moves the lead to mql through the state machine, as leadflow itself:
`qualify` from inquiry, `recycle` from nurture; never a disqualified lead, never a lead past
those stages. The fit follows the lead's attributes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.api.testing import client_for, post_json
from leadflow.leads import actions
from leadflow.leads.models import Lead, StageChange
from leadflow.scoring import ingest, rescore
from leadflow.scoring.models import PendingMql
from leadflow.scoring.testing import activate

FIT = {"title": "VP Sales", "employee_count": 500}  # 30 + 20 = 50 >= 40


def forms(lead, n=2, **extra):
    return [ingest.Event(kind="form_fill", lead=lead.pk, **extra) for _ in range(n)]


def test_a_batch_that_crosses_the_rule_qualifies_the_lead(world):
    definition = activate()
    lead = world.lead(**FIT)
    one = ingest.record(forms(lead, 1), user=world.marketing)
    lead.refresh_from_db()
    assert (one.qualified, lead.stage, lead.engagement_score) == ([], "inquiry", 15)
    two = ingest.record(forms(lead, 1), user=world.marketing)
    lead.refresh_from_db()
    assert two.qualified == [lead.pk]
    assert lead.stage == "mql"
    change = StageChange.objects.get(lead=lead, to_stage="mql")
    assert (change.transition, change.actor, change.definition) == ("qualify", None, definition)
    assert lead.handoffs.get().offered_to_team == world.inside_team


def test_from_nurture_it_is_a_recycle(world):
    activate()
    lead = world.lead_at("nurture", **FIT)
    result = ingest.record(forms(lead), user=world.marketing)
    assert result.qualified == [lead.pk]
    assert StageChange.objects.filter(lead=lead, transition="recycle", to_stage="mql").exists()


def test_engagement_alone_does_not_qualify_a_poor_fit(world):
    activate()
    lead = world.lead(title="Intern", employee_count=10)
    result = ingest.record(forms(lead, 5), user=world.marketing)
    lead.refresh_from_db()
    assert (result.qualified, lead.stage, lead.engagement_score) == ([], "inquiry", 75)


def test_a_disqualified_lead_is_not_handed_over(world):
    activate()
    lead = world.lead(email="vp@rival.example", **FIT)
    result = ingest.record(forms(lead, 3), user=world.marketing)
    lead.refresh_from_db()
    assert (result.qualified, lead.stage) == ([], "inquiry")


def test_a_lead_past_mql_is_scored_but_not_moved(world):
    activate()
    lead = world.lead_at("sal", **FIT)
    ingest.record(forms(lead, 3), user=world.marketing)
    lead.refresh_from_db()
    assert (lead.stage, lead.engagement_score) == ("sal", 45)


def test_old_activities_count_for_less(world):
    activate()
    lead = world.lead(**FIT)
    long_ago = timezone.now() - timedelta(days=10)  # one half-life
    result = ingest.record(forms(lead, 3, occurred_at=long_ago), user=world.marketing)
    lead.refresh_from_db()
    assert result.qualified == []
    assert round(lead.engagement_score, 6) == 22.5


def test_one_activity_through_the_api_or_log_activity_is_scored_too(world):
    activate()
    lead = world.lead(**FIT)
    actions.log_activity(lead, "form_fill")
    response = post_json(client_for(world.marketing), "/api/activities",
                         {"lead": lead.pk, "kind": "form_fill"})
    assert response.json()["qualified"] == [lead.pk]
    lead.refresh_from_db()
    assert lead.stage == "mql"
    assert lead.engagement_score == pytest.approx(30, abs=1e-3)  # a few ms of decay


def test_the_fit_follows_the_leads_attributes(world, django_capture_on_commit_callbacks):
    activate()
    lead = world.lead(title="Manager", employee_count=500)
    assert Lead.objects.get(pk=lead.pk).fit_score == 30
    ingest.record(forms(lead), user=world.marketing)
    assert Lead.objects.get(pk=lead.pk).stage == "inquiry"  # engaged, but fit 30 < 40
    lead.title = "VP Marketing"
    with django_capture_on_commit_callbacks(execute=True):
        lead.save()
    lead.refresh_from_db()
    assert (lead.fit_score, lead.stage) == (50, "mql")


def test_a_large_import_queues_the_leads_for_the_worker(world):
    activate()
    lead = world.lead(**FIT)
    gone_cold = world.lead(email="cold@acme.com", **FIT)
    response = post_json(
        client_for(world.marketing), "/api/activities/batch?qualify=false",
        {"activities": [{"lead": pk, "kind": "form_fill"} for pk in (lead.pk, lead.pk,
                                                                      gone_cold.pk,
                                                                      gone_cold.pk)]},
    )
    body = response.json()
    assert (body["qualified"], sorted(body["queued"])) == ([], sorted([lead.pk, gone_cold.pk]))
    assert Lead.objects.get(pk=lead.pk).stage == "inquiry"
    # Before the worker runs, marketing disqualifies one of them.
    actions.transition(gone_cold, "disqualify", actor=world.marketing, reason="spam",
                       comment="fake form fills")
    assert rescore.run().qualified == 1
    assert Lead.objects.get(pk=lead.pk).stage == "mql"
    assert not PendingMql.objects.exists()
