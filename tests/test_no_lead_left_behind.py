"""No lead is left behind: random sequences of everything people and the clock do, and after
every step the invariant holds and every ignored hand-off reached the arbiter within one sweep.

A Hypothesis state machine drives new leads, scoring to MQL, accepts, rejects, returns, SQL
conversions, arbiter decisions, reassignments, out-of-office changes and clock advances over
simulated weeks that cross Thanksgiving and Christmas in a New York team's calendar. The worker
is simulated as it runs: one sweep per interval of simulated time.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from leadflow.accounts.models import Role, Team
from leadflow.leads import actions, lifecycle, sla
from leadflow.leads.models import CLOSED_STAGES, Decision, Handoff, Lead, Stage

from .conftest import EVIDENCE, World

NEW_YORK = ZoneInfo("America/New_York")
SWEEP = timedelta(minutes=30)  # simulated worker interval
START = datetime(2026, 11, 20, 8, 0, tzinfo=NEW_YORK)  # a Friday before Thanksgiving


class LeadFlow(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: a fresh company each time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.world = World()
        for team in Team.objects.all():
            team.time_zone, team.holiday_country = "America/New_York", "US"
            team.work_start, team.work_end = time(9), time(17)
            team.save()
        self.world.ae2 = self.world.user("ae2", Role.FIELD_SALES, self.world.field_team)
        self.reps = [self.world.sdr, self.world.sdr2, self.world.ae, self.world.ae2]
        self.now = START
        self.last_sweep = START

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- helpers ---------------------------------------------------------------------------

    def leads_at(self, *stages):
        return list(Lead.objects.filter(stage__in=stages).order_by("pk"))

    def act(self, lead, name, actor, **kw):
        try:
            return actions.transition(lead, name, actor=actor, now=self.now, **kw)
        except lifecycle.TransitionError:
            # A refusal is a legitimate outcome (e.g. a deadline passed a moment ago); the
            # invariants below must hold either way.
            return None

    def decider(self, lead, data):
        """Someone who may decide on the lead's pending offer: the rep or their manager."""
        offer = lead.handoffs.get(decision=Decision.PENDING)
        managers = {
            self.world.inside_team.pk: self.world.sales_manager,
            self.world.field_team.pk: self.world.field_manager,
        }
        choices = [managers[offer.offered_to_team_id]]
        if offer.offered_to is not None:
            choices.append(offer.offered_to)
        return data.draw(st.sampled_from(choices))

    # -- what people do --------------------------------------------------------------------

    @rule(hot=st.booleans())
    def new_lead(self, hot):
        lead = actions.create_lead(
            actor=self.world.marketing, source=self.world.source, now=self.now,
            email=f"lead{Lead.objects.count()}@example.com", company="Acme",
        )
        if hot:
            Lead.objects.filter(pk=lead.pk).update(priority="hot")

    @rule(data=st.data())
    def scoring_qualifies(self, data):
        candidates = self.leads_at(Stage.INQUIRY, Stage.NURTURE)
        if candidates:
            lead = data.draw(st.sampled_from(candidates))
            name = "qualify" if lead.stage == Stage.INQUIRY else "recycle"
            self.act(lead, name, None)

    @rule(data=st.data())
    def accept(self, data):
        offered = [x for x in self.leads_at(Stage.MQL, Stage.SQL) if x.handoffs.filter(
            decision=Decision.PENDING).exists()]
        if offered:
            lead = data.draw(st.sampled_from(offered))
            self.act(lead, "accept", self.decider(lead, data))

    @rule(data=st.data())
    def reject(self, data):
        offered = [x for x in self.leads_at(Stage.MQL, Stage.SQL) if x.handoffs.filter(
            decision=Decision.PENDING).exists()]
        if offered:
            lead = data.draw(st.sampled_from(offered))
            reason = data.draw(st.sampled_from(["below-fit", "wrong-territory", "spam"]))
            self.act(lead, "reject", self.decider(lead, data), reason=reason, comment="no")

    @rule(data=st.data())
    def return_lead(self, data):
        accepted = self.leads_at(Stage.SAL)
        if accepted:
            lead = data.draw(st.sampled_from(accepted))
            self.act(lead, "return", lead.owner, reason="went-cold", comment="no answer")

    @rule(data=st.data())
    def convert(self, data):
        accepted = self.leads_at(Stage.SAL)
        if accepted:
            lead = data.draw(st.sampled_from(accepted))
            self.act(lead, "convert", lead.owner, evidence=EVIDENCE)

    @rule(data=st.data(), overrule=st.booleans(), to_other=st.booleans())
    def arbiter_decides(self, data, overrule, to_other):
        reviews = self.leads_at(Stage.IN_REVIEW)
        if reviews:
            lead = data.draw(st.sampled_from(reviews))
            assignee = None
            if overrule and to_other:
                origin = lead.history.filter(to_stage=Stage.IN_REVIEW).last().from_stage
                pool = [self.world.sdr, self.world.sdr2] if origin != Stage.SQL else [
                    self.world.ae, self.world.ae2]
                assignee = data.draw(st.sampled_from(pool))
            name = "overrule" if overrule else "uphold"
            self.act(lead, name, self.world.arbiter, comment="decided", assignee=assignee)

    @rule(data=st.data())
    def manager_reassigns(self, data):
        offered = [x for x in self.leads_at(Stage.MQL) if x.handoffs.filter(
            decision=Decision.PENDING).exists()]
        if offered:
            lead = data.draw(st.sampled_from(offered))
            to = data.draw(st.sampled_from([self.world.sdr, self.world.sdr2]))
            self.act(lead, "reassign", self.world.sales_manager, assignee=to)

    @rule(data=st.data(), away=st.booleans())
    def out_of_office(self, data, away):
        rep = data.draw(st.sampled_from(self.reps))
        rep.out_of_office = away
        rep.save(update_fields=["out_of_office"])

    # -- the clock and the worker ----------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=24 * 6))
    def time_passes(self, hours):
        """The worker sweeps once per interval while time passes, as `leadflow worker` does."""
        target = self.now + timedelta(hours=hours)
        while self.now < target:
            self.now = min(self.now + SWEEP, target)
            sla.sweep(self.now)
            self.last_sweep = self.now

    # -- what must always be true ----------------------------------------------------------

    @invariant()
    def nothing_is_left_behind(self):
        assert sla.violations(self.now).counts == {
            "leads_without_owner": 0,
            "offers_without_deadline": 0,
            "offers_not_escalated": 0,
        }
        assert not Lead.objects.exclude(stage__in=CLOSED_STAGES).filter(
            owner_team__isnull=True
        ).exists()

    @invariant()
    def every_ignored_offer_reached_the_arbiter_within_one_sweep(self):
        for offer in Handoff.objects.filter(decision=Decision.IGNORED).select_related("lead"):
            assert offer.decided_at - offer.accept_by <= SWEEP, offer
            escalation = offer.lead.history.get(transition="ignore", at=offer.decided_at)
            assert escalation.to_stage == Stage.IN_REVIEW
        # Nothing pending is overdue as of the last sweep.
        assert not Handoff.objects.filter(
            decision=Decision.PENDING, accept_by__lte=self.last_sweep
        ).exists()

    @invariant()
    def each_lead_has_at_most_one_open_offer_with_an_owner(self):
        for offer in Handoff.objects.filter(decision=Decision.PENDING).select_related("lead"):
            lead = offer.lead
            assert lead.stage in (Stage.MQL, Stage.SQL)
            assert lead.owner_team_id == offer.offered_to_team_id
            assert lead.owner_id == offer.offered_to_id


@pytest.mark.django_db
def test_no_lead_is_left_behind_whatever_happens():
    run_state_machine_as_test(
        LeadFlow,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
