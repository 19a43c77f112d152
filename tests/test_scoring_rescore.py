"""`leadflow rescore` scores every lead with a progress bar and moves those meeting the rule;
the worker's pass does asked-for rescores and the periodic decay."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadflow.leads.models import Lead, LeadDefinition
from leadflow.scoring import ingest, rescore
from leadflow.scoring.models import LeadEngagement, ScoringRun
from leadflow.scoring.testing import SIMPLE, activate


def run_command(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rescore", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_rescores_every_lead_with_a_progress_bar(world):
    activate()
    good = world.lead(title="VP Sales", employee_count=500)
    poor = world.lead(title="Intern", employee_count=5)
    Lead.objects.filter(pk__in=[good.pk, poor.pk]).update(fit_score=0, engagement_score=0)
    out, err = run_command()
    assert "Rescored 2 leads (0 scored activities) against lead definition v1" in out
    assert "1 scores changed, 0 leads moved to MQL." in out
    for phase in ("leads", "activities", "writing"):
        assert f"{phase:<11} [" in err
    assert "100%" in err
    assert Lead.objects.get(pk=good.pk).fit_score == 50


def test_it_moves_leads_that_meet_the_rule_to_mql(world):
    old = activate()
    lead = world.lead(title="VP Sales", employee_count=500)
    ingest.record([ingest.Event(kind="form_fill", lead=lead.pk)] * 2, user=world.marketing)
    lead.refresh_from_db()
    assert lead.stage == "mql"
    # A lead the old rule left at inquiry meets the new, lower one.
    other = world.lead(title="VP Ops", employee_count=500, email="other@acme.com")
    ingest.record([ingest.Event(kind="form_fill", lead=other.pk)], user=world.marketing)
    activate(SIMPLE.replace("engagement_at_least: 25", "engagement_at_least: 10"))
    out, _ = run_command("--quiet")
    other.refresh_from_db()
    assert other.stage == "mql"
    assert "1 leads moved to MQL" in out
    old.refresh_from_db()
    assert old.status == "retired"


def test_without_an_active_definition_it_says_so(world):
    with pytest.raises(CommandError, match="no active lead definition"):
        run_command()


def test_an_unreadable_active_definition_is_named(world):
    activate("version: 1\nfit: {title_level: {vp: 25}}\n")
    with pytest.raises(CommandError, match="v1 cannot be read"):
        run_command()


def test_it_does_the_rescore_asked_for_at_activation(world):
    row = activate()
    asked = rescore.request(row)
    out, _ = run_command("--quiet")
    asked.refresh_from_db()
    assert asked.status == "done"
    assert asked.finished_at is not None


def test_the_worker_pass_does_pending_rescores_then_decays(world):
    row = activate()
    lead = world.lead(title="VP Sales", employee_count=500)
    Lead.objects.filter(pk=lead.pk).update(fit_score=0)
    rescore.request(row)
    done = rescore.run()
    assert done.rescored == 1
    assert Lead.objects.get(pk=lead.pk).fit_score == 50
    assert ScoringRun.objects.filter(kind="decay", status="done").count() == 1


def test_decay_brings_stored_engagement_to_the_present(world):
    activate()
    lead = world.lead(title="Intern")
    ingest.record([ingest.Event(kind="form_fill", lead=lead.pk)], user=world.marketing)
    assert Lead.objects.get(pk=lead.pk).engagement_score == pytest.approx(15, abs=1e-3)
    later = timezone.now() + timedelta(days=10)  # one half-life
    done = rescore.decay(now=later)
    assert (done.leads, done.changed) == (1, 1)
    assert Lead.objects.get(pk=lead.pk).engagement_score == pytest.approx(7.5, abs=1e-3)
    # Not again within the hour; forced, it runs (and changes nothing more at the same time).
    assert rescore.decay(now=later + timedelta(minutes=10)).skipped
    assert rescore.decay(now=later, force=True).changed == 0


def test_decay_leaves_states_of_another_version_to_the_rescore(world):
    activate()
    lead = world.lead(title="Intern")
    ingest.record([ingest.Event(kind="form_fill", lead=lead.pk)], user=world.marketing)
    activate(SIMPLE.replace("half_life_days: 10", "half_life_days: 20"))
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        assert rescore.decay().leads == 0
    assert LeadEngagement.objects.get().definition.version == 1
    assert LeadDefinition.objects.get(version=2).status == "active"


def test_the_worker_command_runs_the_scoring_step(world):
    row = activate()
    lead = world.lead(title="VP Sales", employee_count=500)
    Lead.objects.filter(pk=lead.pk).update(fit_score=0)
    asked = rescore.request(row)
    call_command("worker", "--once")
    asked.refresh_from_db()
    assert asked.status == "done"
    assert Lead.objects.get(pk=lead.pk).fit_score == 50
