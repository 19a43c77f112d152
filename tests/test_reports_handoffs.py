"""Hand-off health on six hand-offs in March 2026, every figure computed by hand.

All teams work Mon–Fri 09:00–17:00 UTC; an MQL or SQL must be decided within 8 business hours
and touched within 1 business hour of acceptance. Round robin between sdr and sdr2 (who was
offered one longest ago goes next).

    H1 mql L1  offered Mon 2 10:00 to sdr   accepted 12:00 (accept-by Tue 3 10:00, in time)
               first touch (call) 12:30 (touch-by 13:00, in time)
    H6 sql L1  converted Mon 2 14:00, offered to ae, rejected 15:00 "incomplete-record"
               (clerical; accept-by Tue 3 14:00, in time); review still open
    H2 mql L2  offered Mon 2 16:00 to sdr2, rejected Tue 3 10:00 "wrong-territory"
               (procedural; accept-by Tue 3 16:00, in time); upheld Thu 5 10:00
    H4 mql L4  offered Tue 3 09:00 to sdr, ignored Wed 4 09:00 (accept-by Tue 3 17:00);
               overruled Wed 4 13:00, which offers
    H5 mql L4  to sdr again Wed 4 13:00, still pending (accept-by Thu 5 13:00: missed)
    H3 mql L3  offered Fri 6 15:00 to sdr2, accepted Mon 9 16:00 (accept-by Mon 9 15:00: late),
               first touch Tue 10 09:30 (touch-by Mon 9 17:00: late), returned Wed 11 10:00
               "went-cold", upheld Thu 12 10:00
"""

from datetime import UTC, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

import pytest

from leadflow.accounts.models import Team
from leadflow.leads import actions
from leadflow.leads.business_time import BusinessCalendar
from leadflow.leads.models import Handoff
from leadflow.reports import handoffs
from leadflow.reports.measures import BusinessClock, Spread
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

MARCH = Span.parse("2026-03")
AS_OF = utc(2026, 4, 10, 0)


def march(day, hour, minute=0):
    return utc(2026, 3, day, hour, minute)


@pytest.fixture
def journeys(world):
    j = Journeys(world)
    j.l1 = j.walk(
        j.lead(march(2, 9)), ("qualify", march(2, 10)), ("accept", march(2, 12))
    )
    actions.log_activity(j.l1, "call", actor=j.l1.owner, occurred_at=march(2, 12, 30))
    j.l1 = j.walk(
        j.l1,
        ("convert", march(2, 14)),
        ("reject", march(2, 15), {"reason": "incomplete-record"}),
    )
    j.l2 = j.walk(
        j.lead(march(2, 9)),
        ("qualify", march(2, 16)),
        ("reject", march(3, 10), {"reason": "wrong-territory"}),
    )
    j.l4 = j.walk(
        j.lead(march(2, 9)),
        ("qualify", march(3, 9)),
        ("ignore", march(4, 9)),
        ("overrule", march(4, 13)),
    )
    j.l2 = j.walk(j.l2, ("uphold", march(5, 10)))
    j.l3 = j.walk(j.lead(march(2, 9)), ("qualify", march(6, 15)), ("accept", march(9, 16)))
    actions.log_activity(j.l3, "call", actor=j.l3.owner, occurred_at=march(10, 9, 30))
    j.l3 = j.walk(
        j.l3, ("return", march(11, 10), {"reason": "went-cold"}), ("uphold", march(12, 10))
    )
    return j


def test_the_journeys_went_where_the_docstring_says(journeys, world):
    offers = {
        (h.lead_id, h.kind, h.offered_at): (h.offered_to.username, h.decision)
        for h in Handoff.objects.select_related("offered_to")
    }
    assert sorted(offers.values()) == [
        ("ae", "rejected"), ("sdr", "accepted"), ("sdr", "ignored"), ("sdr", "pending"),
        ("sdr2", "accepted"), ("sdr2", "rejected"),
    ]


def test_rates_count_the_handoffs_offered_in_the_period(journeys):
    """Offered 6; accepted H1 H3, rejected H2 H6, ignored H4, pending H5; decided 4.
    acceptance 2/4, rejection 2/4, ignore 1/6, return 1/2 (H3 of H1 H3)."""
    (total,) = handoffs.report(MARCH, as_of=AS_OF).current.rows
    assert (total.offered, total.accepted, total.rejected, total.ignored, total.pending) == (
        6, 2, 2, 1, 1,
    )
    assert (total.decided, total.returned) == (4, 1)
    assert total.acceptance_rate == 0.5
    assert total.rejection_rate == 0.5
    assert total.ignore_rate == 1 / 6
    assert total.return_rate == 0.5


def test_sla_compliance_is_decided_by_the_deadline_over_due(journeys):
    """Due in March: all six. In time: H1 H2 H6; H3 late, H4 ignored, H5 never decided: 3/6.
    First touch due: H1 H3; in time: H1: 1/2."""
    (total,) = handoffs.report(MARCH, as_of=AS_OF).current.rows
    assert (total.due, total.decided_in_time, total.sla_compliance) == (6, 3, 0.5)
    assert (total.first_touch_due, total.touched_in_time) == (2, 1)
    assert total.first_touch_compliance == 0.5


def test_a_deadline_still_ahead_is_not_due_yet(world):
    j = Journeys(world)
    j.walk(j.lead(march(2, 9)), ("qualify", march(2, 10)))  # accept-by Tue 3 10:00
    (before,) = handoffs.report(MARCH, as_of=march(3, 9)).current.rows
    (after,) = handoffs.report(MARCH, as_of=march(3, 11)).current.rows
    assert (before.due, before.sla_compliance) == (0, None)
    assert (after.due, after.decided_in_time, after.sla_compliance) == (1, 0, 0.0)


def test_speed_to_lead_in_wall_clock_and_business_hours(journeys):
    """Offer → decision: H6 1 h, H1 2 h, H2 18 h (business: Mon 16–17 + Tue 9–10 = 2 h),
    H3 73 h (business: Fri 15–17 + Mon 9–16 = 9 h).
    Wall [1, 2, 18, 73]: median 10, p90 (h = 2.7) 18 + 0.7·55 = 56.5.
    Business [1, 2, 2, 9]: median 2, p90 2 + 0.7·7 = 6.9.
    Acceptance → first touch: H1 0.5 h; H3 17.5 h (business: Mon 16–17 + Tue 9–9:30 = 1.5 h).
    Wall median 9, p90 0.5 + 0.9·17 = 15.8; business median 1, p90 0.5 + 0.9·1 = 1.4."""
    (total,) = handoffs.report(MARCH, as_of=AS_OF).current.rows
    assert total.offer_to_decision == handoffs.Speed(Spread(4, 10.0, 56.5), Spread(4, 2.0, 6.9))
    assert total.acceptance_to_first_touch == handoffs.Speed(
        Spread(2, 9.0, 15.8), Spread(2, 1.0, 1.4)
    )


def test_the_arbiter_reviews_opened_decided_and_how_fast(journeys):
    """Opened in March: H6 (Mon 2), H2 (Tue 3), H4 (Wed 4), H3 (Wed 11). Decided: H2 upheld
    after 48 h (business 7 + 8 + 1 = 16), H4 overruled after 4 h (4), H3 upheld after 24 h
    (7 + 1 = 8). Wall [4, 24, 48]: median 24, p90 24 + 0.8·24 = 43.2; business [4, 8, 16]:
    median 8, p90 8 + 0.8·8 = 14.4."""
    (total,) = handoffs.report(MARCH, as_of=AS_OF).current.rows
    assert (total.reviews_opened, total.reviews_decided) == (4, 3)
    assert (total.upheld, total.overruled) == (2, 1)
    assert (total.uphold_rate, total.overrule_rate) == (2 / 3, 1 / 3)
    assert total.time_to_review_decision == handoffs.Speed(
        Spread(3, 24.0, 43.2), Spread(3, 8.0, 14.4)
    )


def test_reasons_as_paretos(journeys):
    health = handoffs.report(MARCH, as_of=AS_OF).current
    assert [(r.code, r.count, r.share, r.cumulative_share) for r in health.rejection_reasons] == [
        ("incomplete-record", 1, 0.5, 0.5),  # ties: by label, "Record…" before "Routed…"
        ("wrong-territory", 1, 0.5, 1.0),
    ]
    assert [(r.code, r.count) for r in health.rejection_classes] == [
        ("clerical", 1), ("procedural", 1),
    ]
    assert [(r.code, r.count, r.cumulative_share) for r in health.return_reasons] == [
        ("went-cold", 1, 1.0),
    ]


def test_by_rep(journeys):
    """sdr: H1 accepted, H4 ignored, H5 pending. sdr2: H2 rejected, H3 accepted and returned.
    ae: H6 rejected."""
    rows = {r.group: r for r in handoffs.report(MARCH, by="rep", as_of=AS_OF).current.rows}
    assert list(rows) == ["All", "ae", "sdr", "sdr2"]
    sdr, sdr2, ae = rows["sdr"], rows["sdr2"], rows["ae"]
    assert (sdr.offered, sdr.accepted, sdr.ignored, sdr.pending) == (3, 1, 1, 1)
    assert (sdr.acceptance_rate, sdr.ignore_rate) == (1.0, 1 / 3)
    assert (sdr2.offered, sdr2.accepted, sdr2.rejected, sdr2.returned) == (2, 1, 1, 1)
    assert (sdr2.acceptance_rate, sdr2.return_rate) == (0.5, 1.0)
    assert (ae.offered, ae.rejected, ae.acceptance_rate, ae.return_rate) == (1, 1, 0.0, None)
    # Deadlines and reviews are counted against the same reps.
    assert (sdr.due, sdr.decided_in_time, sdr2.due, sdr2.decided_in_time) == (3, 1, 2, 1)
    assert (sdr.reviews_decided, sdr.overruled, sdr2.reviews_decided, sdr2.upheld) == (1, 1, 2, 2)
    assert sdr2.offer_to_decision.wall_clock == Spread(2, 45.5, 67.5)  # 18 h and 73 h


def test_by_kind_and_team(journeys):
    by_kind = handoffs.report(MARCH, by="kind", as_of=AS_OF).current.rows
    assert [(r.group, r.offered) for r in by_kind] == [
        ("All", 6), ("Inside sales → field sales", 1), ("Marketing → inside sales", 5),
    ]
    by_team = handoffs.report(MARCH, by="team", as_of=AS_OF).current.rows
    assert [(r.group, r.offered, r.rejected) for r in by_team] == [
        ("All", 6, 2), ("Field sales", 1, 1), ("Inside sales", 5, 1),
    ]
    only_sql = handoffs.report(MARCH, kind="sql", as_of=AS_OF).current.rows
    assert [(r.offered, r.rejected, r.reviews_opened) for r in only_sql] == [(1, 1, 1)]


def test_empty_comparison_periods_are_zeros_and_undefined_rates(journeys):
    report = handoffs.report(MARCH, by="rep", as_of=AS_OF)
    assert report.periods == {"current": "2026-03", "previous": "2026-02", "last_year": "2025-03"}
    previous = {r.group: r for r in report.previous.rows}
    assert list(previous) == ["All", "ae", "sdr", "sdr2"]
    assert (previous["sdr"].offered, previous["sdr"].acceptance_rate) == (0, None)
    assert previous["All"].offer_to_decision == handoffs.Speed()
    assert report.last_year.rejection_reasons == []


def test_the_report_takes_a_fixed_number_of_queries(journeys, django_assert_max_num_queries):
    """Calendars (2), arbiter team, reason codes; per span: outcomes, deadlines, speed rows,
    review rows, rejection reasons, return reasons."""
    with django_assert_max_num_queries(4 + 3 * 6):
        handoffs.report(MARCH, by="rep", as_of=AS_OF)


def test_the_business_clock_agrees_with_the_calendar():
    """BusinessClock.between == BusinessCalendar.between, across weekends, a holiday and the
    spring DST change in Berlin."""
    calendar = BusinessCalendar(time_zone="Europe/Berlin", holiday_country="DE")
    clock = BusinessClock(calendar, datetime(2026, 3, 1).date(), datetime(2026, 4, 30).date())
    rng = Random(5)
    start = datetime(2026, 3, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    for _ in range(300):
        a = start + timedelta(minutes=rng.randrange(0, 58 * 24 * 60))
        b = a + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        b = min(b, datetime(2026, 4, 30, 20, tzinfo=UTC))  # still Apr 30 in Berlin
        assert clock.between(a, b) == calendar.between(a, b).total_seconds(), (a, b)


def test_business_hours_use_the_team_calendar(world):
    """An inside-sales team in New York (EDT since Mar 8): offered Fri 13 16:00 local, accepted
    Mon 16 10:00 local: 66 h on the wall clock, 2 business hours (Fri 16–17, Mon 9–10)."""
    Team.objects.filter(pk=world.inside_team.pk).update(time_zone="America/New_York")
    j = Journeys(world)
    lead = j.walk(j.lead(march(2, 9)), ("qualify", march(13, 20)))
    j.step(lead, "accept", march(16, 14))
    (total,) = handoffs.report(MARCH, as_of=AS_OF).current.rows
    assert total.offer_to_decision == handoffs.Speed(Spread(1, 66.0, 66.0), Spread(1, 2.0, 2.0))
