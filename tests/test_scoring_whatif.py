"""What-if on hand-built history: MQLs per month under a proposal and the active version, the
historical acceptance, SQL and win rates of the leads each qualifies, and the leads that newly
qualify or drop out; and the vectorised replay equals a replay one activity at a time."""

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.leads import actions
from leadflow.scoring import definitions, document, engine, ingest, whatif
from leadflow.scoring.columns import Events, Leads
from leadflow.scoring.testing import SIMPLE, activate
from tests.conftest import EVIDENCE

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
# v2: a lower bar (fit 30, engagement 12) and no separate pricing-page rule.
V2 = (
    SIMPLE.replace("fit_at_least: 40", "fit_at_least: 30")
    .replace("engagement_at_least: 25", "engagement_at_least: 12")
    .replace(
        "    - {name: Pricing page, activity: web_visit, url: {pattern: /pricing}, points: 10, "
        "cap: 20}\n",
        "",
    )
)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=10, tzinfo=UTC)


def lead(world, name, *, title="VP Sales", employees=500, email=None, created="2025-01-01"):
    return actions.create_lead(
        actor=world.marketing, source=world.source, now=day(created), first_name=name,
        title=title, employee_count=employees, email=email or f"{name.lower()}@acme.com",
        company=f"{name} Inc",
    )


def act(world, target, *items):
    """items: (kind, day, url) activities of one lead."""
    events = [
        ingest.Event(kind=kind, lead=target.pk, occurred_at=day(when), url=url)
        for kind, when, url in items
    ]
    ingest.record(events, user=world.marketing, now=day(max(when for _, when, _ in items)))


@pytest.fixture
def history(world):
    activate()
    a = lead(world, "Ann")  # two forms two days apart: meets v1 in March, v2 too
    act(world, a, ("form_fill", "2026-03-10", ""), ("form_fill", "2026-03-12", ""))
    b = lead(world, "Bo")  # one form: only v2's lower bar
    act(world, b, ("form_fill", "2026-05-01", ""))
    c = lead(world, "Cy", title="Manager")  # fit 30: only v2's lower fit bar
    act(world, c, *[("form_fill", "2026-04-02", "")] * 3)
    d = lead(world, "Di")  # met both long before the window: counted by neither
    act(world, d, *[("form_fill", "2025-03-02", "")] * 2)
    e = lead(world, "Ed", email="ed@gmail.com")  # free mail: disqualified
    act(world, e, *[("form_fill", "2026-04-02", "")] * 4)
    f = lead(world, "Flo")  # two forms 45 days apart: the first has decayed under v1
    act(world, f, ("form_fill", "2026-01-05", ""), ("form_fill", "2026-02-19", ""))
    g = lead(world, "Gus")  # pricing pages: v1 only (v2 scores them as plain visits)
    act(world, g, *[("web_visit", "2026-02-03", "https://x.io/pricing")] * 3,
        *[("web_visit", "2026-02-03", "https://x.io/blog")] * 3)
    # What sales did: Ann accepted, converted and won; Gus rejected.
    for target in (a, g):
        target.refresh_from_db()
        if target.stage == "inquiry":
            actions.transition(target, "qualify", actor=world.marketing)
    a.refresh_from_db()
    a = actions.transition(a, "accept", actor=a.owner)
    a = actions.transition(a, "convert", actor=a.owner, evidence=EVIDENCE)
    a = actions.transition(a, "accept", actor=a.owner, amount=1000)
    actions.transition(a, "win", actor=a.owner)
    g.refresh_from_db()
    actions.transition(g, "reject", actor=g.owner, reason="below-fit", comment="not for us")
    draft = definitions.create_draft(actor=world.marketing, text=V2)
    return definitions.propose(draft, actor=world.marketing), {
        x.first_name: x.pk for x in (a, b, c, d, e, f, g)
    }


def test_mqls_per_month_under_each_version(history):
    proposal, _ = history
    found = whatif.compare(proposal, now=NOW)
    assert found.months == [f"2025-{m:02d}" for m in range(7, 13)] + [
        f"2026-{m:02d}" for m in range(1, 7)
    ]
    by_month = dict(zip(found.months, zip(found.proposed.per_month, found.active.per_month,
                                          strict=True), strict=True))
    assert by_month["2026-01"] == (1, 0)  # Flo
    assert by_month["2026-02"] == (0, 1)  # Gus, v1 only
    assert by_month["2026-03"] == (1, 1)  # Ann
    assert by_month["2026-04"] == (1, 0)  # Cy
    assert by_month["2026-05"] == (1, 0)  # Bo
    assert sum(found.proposed.per_month) == 4 and sum(found.active.per_month) == 2


def test_the_rates_are_what_sales_did_with_each_versions_leads(history):
    proposal, _ = history
    found = whatif.compare(proposal, now=NOW)
    v1 = found.active.outcomes
    assert (v1.qualified, v1.decided, v1.accepted, v1.reached_sql, v1.won, v1.lost) == (
        2, 2, 1, 1, 1, 0
    )
    assert (v1.acceptance_rate, v1.sql_rate, v1.win_rate) == (0.5, 0.5, 1.0)
    v2 = found.proposed.outcomes
    assert (v2.qualified, v2.decided, v2.accepted, v2.acceptance_rate, v2.sql_rate) == (
        4, 1, 1, 1.0, 0.25
    )


def test_the_leads_that_newly_qualify_or_drop_out_are_listed(history):
    proposal, ids = history
    found = whatif.compare(proposal, now=NOW)
    assert (found.newly_qualified, found.dropped) == (3, 1)
    assert [x.id for x in found.newly_listed] == [ids["Bo"], ids["Cy"], ids["Flo"]]
    assert [x.id for x in found.dropped_listed] == [ids["Gus"]]
    assert found.dropped_outcomes.decided == 1 and found.dropped_outcomes.accepted == 0
    assert found.newly_listed[0].mql_at == day("2026-05-01")


def test_the_what_if_of_the_active_version_alone(history, world):
    proposal, _ = history
    definitions.approve(proposal, actor=world.marketing_manager)
    definitions.approve(proposal, actor=world.sales_manager)
    found = whatif.compare(proposal, now=NOW)
    assert found.active is None
    assert found.note == ""
    assert sum(found.proposed.per_month) == 4


# --- the vectorised replay equals a replay one activity at a time ---------------------------

RULES = document.parse(SIMPLE)
SHORT = document.parse(SIMPLE.replace("half_life_days: 10", "half_life_days: 0.01"))
DAY = 86400.0


@settings(max_examples=200, deadline=None)
@given(
    streams=st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.floats(0, 400 * DAY, allow_nan=False)),
                 max_size=40),
        min_size=1, max_size=12,
    ),
    definition=st.sampled_from([RULES, SHORT]),
)
def test_the_vectorised_first_crossing_equals_the_replay(streams, definition):
    n = len(streams)
    leads = Leads(
        ids=np.arange(1, n + 1, dtype=np.int64), created=np.zeros(n),
        stages=np.array(["inquiry"] * n, dtype=object), fit_score=np.zeros(n),
        engagement_score=np.zeros(n), fit=[np.full(n, 50.0)], disqualified=[np.zeros(n, bool)],
    )
    rows = [(i + 1, rule, at) for i, stream in enumerate(streams) for rule, at in stream]
    events = Events(
        lead=np.array([r[0] for r in rows], dtype=np.int64),
        at=np.array([r[2] for r in rows], dtype=float),
        rules=[np.array([r[1] for r in rows], dtype=np.int16)],
    )
    found = whatif.first_crossing(definition, leads, events, events.rules[0], leads.fit[0],
                                  leads.disqualified[0], now=500 * DAY)
    for i, stream in enumerate(streams):
        ordered = sorted(stream, key=lambda e: e[1])
        expected = whatif._replay(
            definition, np.array([r for r, _ in ordered]), np.array([t for _, t in ordered])
        )
        assert found[i] == pytest.approx(expected), (i, ordered)
    assert engine.NO_RULE == -1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.floats(0, 0.999)),
                max_size=60))
def test_activities_are_ordered_by_lead_then_exact_time(items):
    """Within one second too: the fast sort falls back to an exact one where it must."""
    where = np.array([w for w, _, _ in items], dtype=np.int64)
    at = np.array([1.7e9 + s + f for _, s, f in items])
    order = whatif._by_lead_then_time(where, at) if items else np.zeros(0, dtype=np.int64)
    assert list(zip(where[order].tolist(), at[order].tolist(), strict=True)) == sorted(
        zip(where.tolist(), at.tolist(), strict=True)
    )
