"""Two people acting on the same lead at the same moment: exactly one wins, the other gets a
clear conflict. Real threads, real connections, real row locks."""

import pytest
from django.db import connection

from leadflow.leads import actions, lifecycle
from leadflow.leads.models import Handoff, Stage

from .concurrency import run_together
from .conftest import World


@pytest.fixture
def shared_world(transactional_db):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        # In-memory SQLite shares one cache between threads; locks are table-level there.
        pass
    return World()


@pytest.mark.parametrize("attempt", range(3))
def test_accept_and_reject_at_once_one_wins_one_conflicts(shared_world, attempt):
    world = shared_world
    lead = world.lead_at("mql")
    seen = lead.version
    rep = lead.owner  # round-robin picked a rep; their manager may decide too
    results = run_together(
        lambda: actions.transition(lead.pk, "accept", actor=rep, seen_version=seen),
        lambda: actions.transition(
            lead.pk, "reject", actor=world.sales_manager, reason="below-fit",
            comment="too small", seen_version=seen,
        ),
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], lifecycle.Conflict)
    assert "changed by someone else" in losers[0].message
    lead.refresh_from_db()
    assert lead.stage == winners[0].stage
    assert lead.stage in (Stage.SAL, Stage.IN_REVIEW)
    # The loser left no trace: one decision, one history row for the race.
    assert Handoff.objects.filter(lead=lead).exclude(decision="pending").count() == 1
    assert lead.history.filter(from_stage=Stage.MQL).count() == 1


def test_two_accepts_without_versions_give_one_owner(shared_world):
    world = shared_world
    lead = world.lead_at("mql")
    rep = lead.owner
    results = run_together(
        lambda: actions.transition(lead.pk, "accept", actor=rep),
        lambda: actions.transition(lead.pk, "accept", actor=world.sales_manager),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], lifecycle.TransitionError), results
    assert "cannot accept a lead at stage 'sal'" in errors[0].message
    lead.refresh_from_db()
    assert lead.owner in (rep, world.sales_manager)
    assert lead.history.filter(transition="accept").count() == 1
