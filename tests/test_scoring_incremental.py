"""Incremental engagement (constant work per activity, in any arrival order) equals the full
recomputation from history, for random activity streams: in memory, and through the database
(activity batches) against `leadflow rescore`."""

from datetime import UTC, datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadflow.leads.models import Activity, Lead
from leadflow.scoring import document, engine, ingest, rescore
from leadflow.scoring.models import LeadEngagement
from leadflow.scoring.testing import SIMPLE, activate

DAY = 86400.0
RULES = document.parse(SIMPLE)
HALF_LIFE_2 = document.parse(SIMPLE.replace("half_life_days: 10", "half_life_days: 2.5"))
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()

events = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 2]),  # pricing, web visit, form (caps 20, 6, none)
        st.floats(min_value=0, max_value=120 * DAY, allow_nan=False),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(events=events, later=st.floats(min_value=0, max_value=60 * DAY),
       definition=st.sampled_from([RULES, HALF_LIFE_2]))
def test_incremental_engagement_equals_the_full_recomputation(events, later, definition):
    state = engine.EngagementState.empty(definition)
    for rule, at in events:  # arrival order: late activities arrive after later ones
        state.add(definition, rule, T0 + at)
    now = T0 + max((at for _, at in events), default=0) + later
    assert state.score(definition, now) == pytest.approx(
        engine.recompute(definition, [(r, T0 + at) for r, at in events], now),
        rel=1e-9, abs=1e-9,
    )


KINDS = {0: ("web_visit", "https://x.io/pricing"), 1: ("web_visit", "https://x.io/blog"),
         2: ("form_fill", ""), 3: ("email_open", "")}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stream=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(list(KINDS)),
                  st.floats(min_value=0, max_value=60 * DAY, allow_nan=False)),
        min_size=1, max_size=40,
    ),
    batch=st.integers(1, 15),
)
# A moment .9997 s into its second: SQLite's unixepoch() once rounded it into the next second.
@example(stream=[(0, 0, 2674892.9996714955)], batch=1)
def test_batches_through_the_database_equal_a_full_rescore(world, stream, batch):
    with transaction.atomic():
        activate()
        leads = [world.lead(title="Manager", email=f"p{i}@acme.com") for i in range(3)]
        now = datetime.fromtimestamp(T0 + 61 * DAY, tz=UTC)
        events = [
            ingest.Event(kind=KINDS[k][0], url=KINDS[k][1], lead=leads[who].pk,
                         occurred_at=datetime.fromtimestamp(T0 + at, tz=UTC))
            for who, k, at in stream
        ]
        for start in range(0, len(events), batch):
            ingest.record(events[start:start + batch], user=world.marketing, now=now)
        incremental = dict(Lead.objects.values_list("pk", "engagement_score"))
        assert Activity.objects.count() == len(events)
        rescore.rescore(now=now, qualify=False)
        full = dict(Lead.objects.values_list("pk", "engagement_score"))
        assert incremental == pytest.approx(full, rel=1e-9, abs=1e-9)
        # and the states left by the rescore carry on like the incremental ones
        assert LeadEngagement.objects.count() == len({who for who, k, _ in stream if k != 3})
        transaction.set_rollback(True)
