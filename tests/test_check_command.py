"""`leadflow check`: the lead flow invariant, zero on a healthy database, and every planted
violation listed with its id and exit status 1."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadflow.leads import sla
from leadflow.leads.models import Lead


def check() -> str:
    out = StringIO()
    call_command("check", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_healthy_database_has_zero_violations(world):
    world.lead_at("in_review")  # first: `lead_at` has the first rep in the round decide
    world.lead_at("mql")
    world.lead_at("nurture")
    out = check()
    assert "System check identified no issues" in out
    assert "Lead flow invariant: 0 violation(s)." in out
    assert "open leads without an owner: 0" in out
    assert "open hand-offs without a deadline: 0" in out
    assert "open hand-offs past their deadline by more than 30 s (one sweep), " \
        "not escalated: 0" in out


def test_an_overdue_offer_the_sweep_missed_is_listed_until_the_sweep_runs(world):
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        lead = world.lead_at("mql")
    offer = lead.handoffs.get()
    out = StringIO()
    with pytest.raises(CommandError, match="1 violation"):
        call_command("check", stdout=out, stderr=StringIO())
    assert f"not escalated: 1 (ids {offer.pk})" in out.getvalue()

    sla.sweep()
    assert "Lead flow invariant: 0 violation(s)." in check()


def test_an_offer_within_one_sweep_of_its_deadline_is_not_yet_a_violation(world):
    lead = world.lead_at("mql")
    deadline = lead.handoffs.get().accept_by
    with time_machine.travel(deadline + timedelta(seconds=20), tick=False):
        assert "Lead flow invariant: 0 violation(s)." in check()


def test_an_open_lead_without_an_owner_is_listed(world):
    lead = world.lead_at("nurture")
    closed = world.lead_at("inquiry")
    Lead.objects.filter(pk__in=[lead.pk, closed.pk]).update(owner=None, owner_team=None)
    Lead.objects.filter(pk=closed.pk).update(stage="disqualified")  # closed: needs no owner
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check", stdout=out, stderr=StringIO())
    assert f"open leads without an owner: 1 (ids {lead.pk})" in out.getvalue()


def test_system_check_tags_run_only_djangos_checks(world):
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        world.lead_at("mql")
    out = StringIO()
    call_command("check", "--tag", "models", stdout=out)
    assert "Lead flow invariant" not in out.getvalue()
