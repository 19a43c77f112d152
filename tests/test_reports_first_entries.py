"""A lead's first-entry columns (Lead.first_mql_at … won_at) equal what its history says: the
first history row entering each waterfall stage (the opportunity: its opening), however the
lead got there — recycled, overruled, returned, or with stages skipped by an imported past.

The funnel reports count and time leads on these columns, so these tests are what keeps the
cohort waterfall's definition ("reached(S) = leads that ever entered S, counted once") true.
"""

from datetime import timedelta
from random import Random

from leadflow.leads import lifecycle
from leadflow.leads.models import (
    FIRST_ENTERED,
    Lead,
    OpportunityStage,
    Stage,
    StageChange,
)
from leadflow.reports.testing import Journeys, utc


def from_history(lead: Lead) -> dict:
    """The first history row entering each waterfall stage, as the funnel once joined it."""
    firsts: dict = dict.fromkeys(FIRST_ENTERED.values())
    for entry in StageChange.objects.filter(lead=lead).order_by("at", "id"):
        if entry.entity == StageChange.Entity.OPPORTUNITY:
            stage = "opportunity" if entry.to_stage == OpportunityStage.DISCOVERY else None
        else:
            stage = entry.to_stage
        column = FIRST_ENTERED.get(stage)
        if column is not None and firsts[column] is None:
            firsts[column] = entry.at
    return firsts


def columns(lead: Lead) -> dict:
    return Lead.objects.filter(pk=lead.pk).values(*FIRST_ENTERED.values()).get()


def test_a_recycled_lead_keeps_its_first_mql_and_sal(world):
    j = Journeys(world)
    lead = j.walk(
        j.lead(utc(2026, 2, 2, 9)),
        ("qualify", utc(2026, 2, 2, 10)),
        ("accept", utc(2026, 2, 2, 11)),
        ("return", utc(2026, 2, 3, 9), {"reason": "went-cold"}),
        ("uphold", utc(2026, 2, 4, 9)),
        ("recycle", utc(2026, 2, 5, 9)),
        ("accept", utc(2026, 2, 5, 10)),
    )
    assert columns(lead) == {
        "first_mql_at": utc(2026, 2, 2, 10),
        "first_sal_at": utc(2026, 2, 2, 11),
        "first_sql_at": None,
        "first_opportunity_at": None,
        "won_at": None,
    }
    assert columns(lead) == from_history(lead)


def test_an_overruled_rejection_keeps_the_first_mql(world):
    j = Journeys(world)
    lead = j.walk(
        j.lead(utc(2026, 1, 10, 9)),
        ("qualify", utc(2026, 1, 12, 9)),
        ("reject", utc(2026, 1, 12, 10), {"reason": "below-fit"}),
        ("overrule", utc(2026, 1, 12, 11)),
        ("accept", utc(2026, 1, 12, 13)),
    )
    assert columns(lead)["first_mql_at"] == utc(2026, 1, 12, 9)
    assert columns(lead)["first_sal_at"] == utc(2026, 1, 12, 13)
    assert columns(lead) == from_history(lead)


def test_a_won_lead_has_every_stage_once_and_a_revisited_sql_keeps_its_first(world):
    """Field sales rejects the SQL, the arbiter sends it back, field sales accepts (opening
    the opportunity) and wins."""
    j = Journeys(world)
    lead = j.walk(
        j.lead(utc(2026, 1, 5, 9)),
        ("qualify", utc(2026, 1, 5, 10)),
        ("accept", utc(2026, 1, 5, 12)),
        ("convert", utc(2026, 1, 6, 10)),
        ("reject", utc(2026, 1, 6, 11), {"reason": "incomplete-record"}),
        ("overrule", utc(2026, 1, 6, 12)),
        ("accept", utc(2026, 1, 6, 14), {"amount": 10_000}),
        ("win", utc(2026, 1, 20, 12)),
    )
    assert columns(lead) == {
        "first_mql_at": utc(2026, 1, 5, 10),
        "first_sal_at": utc(2026, 1, 5, 12),
        "first_sql_at": utc(2026, 1, 6, 10),
        "first_opportunity_at": utc(2026, 1, 6, 14),
        "won_at": utc(2026, 1, 20, 12),
    }
    assert columns(lead) == from_history(lead)


def test_an_opportunity_moved_back_to_discovery_keeps_its_opening(world):
    j = Journeys(world)
    lead = j.walk(
        j.lead(utc(2026, 1, 5, 9)),
        ("qualify", utc(2026, 1, 5, 10)),
        ("accept", utc(2026, 1, 5, 12)),
        ("convert", utc(2026, 1, 6, 10)),
        ("accept", utc(2026, 1, 6, 12), {"amount": 5_000}),
    )
    j.move_opportunity(lead, OpportunityStage.PROPOSAL, utc(2026, 1, 8, 9))
    j.move_opportunity(lead, OpportunityStage.DISCOVERY, utc(2026, 1, 9, 9))
    assert columns(lead)["first_opportunity_at"] == utc(2026, 1, 6, 12)
    assert columns(lead) == from_history(lead)


def test_an_imported_past_that_skips_stages_sets_only_the_stages_it_entered(world):
    """History written outside the lifecycle (an import) keeps the columns too, and an
    earlier entry written later moves the column back to it."""
    j = Journeys(world)
    lead = j.lead(utc(2026, 3, 3, 9))
    StageChange.objects.create(
        lead=lead, transition="import", from_stage="inquiry", to_stage="sql", at=utc(2026, 3, 5)
    )
    assert columns(lead)["first_sql_at"] == utc(2026, 3, 5)
    assert lead.first_sql_at == utc(2026, 3, 5)  # the instance knows it too
    StageChange.objects.create(
        lead_id=lead.pk, transition="import", from_stage="inquiry", to_stage="sql",
        at=utc(2026, 3, 4),
    )
    StageChange.objects.create(
        lead_id=lead.pk, transition="import", from_stage="sql", to_stage="sql",
        at=utc(2026, 3, 6),
    )
    assert columns(lead) == {
        "first_mql_at": None,
        "first_sal_at": None,
        "first_sql_at": utc(2026, 3, 4),
        "first_opportunity_at": None,
        "won_at": None,
    }
    assert columns(lead) == from_history(lead)


# --- random journeys -------------------------------------------------------------------------

# What a step needs besides its actor, by transition name (a reason of the right kind).
STEP_INPUTS = {
    "reject": {"reason": "below-fit"},
    "return": {"reason": "went-cold"},
    "disqualify": {"reason": "no-need"},
    "lose": {"reason": "price"},
    "accept": {"amount": 1_000},
}
FORWARD = {"qualify", "recycle", "accept", "convert", "win"}


def test_random_journeys_keep_the_columns_equal_to_the_history(world):
    """Forty leads take random allowed steps at random moments (recycles, reviews, returns,
    skipped stages by import): after every journey the columns equal the history's firsts."""
    j = Journeys(world)
    rng = Random(11)
    walked = set()
    for n in range(40):
        at = utc(2026, 1, 5) + timedelta(hours=rng.randrange(0, 2000))
        lead = j.lead(at, email=f"lead{n}@example.com")
        for _ in range(rng.randrange(1, 20)):
            at += timedelta(hours=rng.choice((1, 3, 30, 80)))
            lead.refresh_from_db()
            if rng.random() < 0.05:
                # An imported row into any waterfall stage, at any moment after creation.
                StageChange.objects.create(
                    lead=lead, transition="import", from_stage=lead.stage,
                    to_stage=rng.choice((Stage.MQL, Stage.SAL, Stage.SQL, Stage.WON)),
                    at=lead.created_at + timedelta(minutes=rng.randrange(1, 5000)),
                )
                continue
            names = sorted({t.name for t in lifecycle.transitions_from(lead.stage)} - {"reassign"})
            if not names:
                break
            # Forward steps twice as likely, so that some journeys get as far as a win.
            name = rng.choice(names + [n for n in names if n in FORWARD])
            try:
                lead = j.step(lead, name, at, **STEP_INPUTS.get(name, {}))
            except lifecycle.TransitionError:
                continue  # not possible now (an offer not yet overdue, …): try another step
            walked.add(name)
        assert columns(lead) == from_history(lead), f"lead {n}"
    # The walk went through the paths that enter a stage more than once.
    assert {"recycle", "overrule", "return", "uphold", "win"} <= walked
