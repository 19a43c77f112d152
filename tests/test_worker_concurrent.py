"""Several workers over the same due hand-offs: each escalation and each e-mail happens once.

Real processes (`leadflow worker --once`) and real threads, against PostgreSQL, where rows are
claimed with SELECT … FOR UPDATE SKIP LOCKED. And a rep accepting an overdue offer while the
sweep escalates it: one of the two wins, never both, and nobody deadlocks."""

from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from leadflow.leads import actions, sla
from leadflow.leads.lifecycle import TransitionError
from leadflow.leads.models import Decision, Handoff, OutboxEvent, Stage, StageChange
from leadflow.notify import delivery, fanout
from leadflow.notify.models import EmailDelivery, Notification
from leadflow.notify.testing import (
    SmtpSink,
    give_everyone_an_address,
    offers_overdue_since,
    start_worker,
    worker_env,
)

from .concurrency import raised, run_together
from .conftest import World

OFFERS = 40

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several workers need PostgreSQL's row locks (SKIP LOCKED); on SQLite one runs",
)


@pytest.fixture
def shared_world(transactional_db):
    world = World()
    give_everyone_an_address()
    return world


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        sink.use_in(settings)
        yield sink


def assert_each_offer_escalated_and_told_once(leads, smtp):
    ids = [lead.pk for lead in leads]
    ignored = StageChange.objects.filter(lead__in=ids, transition="ignore")
    assert Counter(ignored.values_list("lead_id", flat=True)) == Counter(ids)
    assert Handoff.objects.filter(lead__in=ids, decision=Decision.IGNORED).count() == len(ids)
    assert OutboxEvent.objects.filter(name="handoff.ignored").count() == len(ids)
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    # The rep, the sales manager and the arbiter, once each per offer.
    assert Notification.objects.filter(event_name="handoff.ignored").count() == 3 * len(ids)
    deliveries = EmailDelivery.objects.filter(event__name="handoff.ignored")
    assert deliveries.count() == 3 * len(ids)
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    received = smtp.message_ids()
    assert len(received) == len(set(received)) == 3 * len(ids)
    assert set(received) == set(deliveries.values_list("message_id", flat=True))


@postgres_only
def test_two_worker_processes_escalate_and_send_each_exactly_once(shared_world, smtp):
    leads = offers_overdue_since(shared_world, OFFERS)
    env = worker_env(smtp)
    workers = [start_worker("--once", env=env) for _ in range(2)]
    logs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    assert_each_offer_escalated_and_told_once(leads, smtp)


@postgres_only
def test_two_worker_threads_released_together_share_the_work(shared_world, smtp):
    leads = offers_overdue_since(shared_world, OFFERS)
    now = timezone.now()

    def work():
        # Small batches, so the two interleave for many rounds.
        swept = sla.escalate_overdue(now, batch=3)
        fanned = fanout.process_outbox(now, batch=3)
        sent = delivery.deliver_emails(now)
        return swept, fanned, sent

    results = run_together(work, work)

    assert all(results) and not raised(results), results
    escalated = [h for r in results for h in r[0].escalated]
    assert sorted(escalated) == sorted(Handoff.objects.values_list("pk", flat=True))
    sent = [d for r in results for d in r[2].sent]
    assert len(sent) == len(set(sent)) == 3 * OFFERS
    assert_each_offer_escalated_and_told_once(leads, smtp)


def test_a_rep_accepting_while_the_sweep_escalates_never_both(shared_world):
    leads = offers_overdue_since(shared_world, 20)
    now = timezone.now()
    refused = []

    def accept_all():
        for lead in leads:
            try:
                actions.transition(lead.pk, "accept", actor=lead.owner)
            except TransitionError as exc:
                refused.append(exc)

    assert not raised(run_together(lambda: sla.escalate_overdue(now, batch=2), accept_all))

    stages = Counter()
    for lead in leads:
        lead.refresh_from_db()
        stages[lead.stage] += 1
        decided = lead.history.filter(from_stage=Stage.MQL).values_list("transition", flat=True)
        assert list(decided) in (["accept"], ["ignore"]), list(decided)
    assert stages[Stage.SAL] + stages[Stage.IN_REVIEW] == len(leads)
    assert len(refused) == stages[Stage.IN_REVIEW]
    assert not Handoff.objects.filter(decision=Decision.PENDING).exists()
