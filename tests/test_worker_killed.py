"""A worker killed (SIGKILL) in the middle of its work and started again loses nothing and
repeats nothing: every due escalation happens once and every message is sent once.

The worker is a real `leadflow worker` process on the test database (SQLite file or
PostgreSQL), killed as soon as the database shows it part-way through."""

import time
from collections import Counter

import pytest

from leadflow.leads.models import Decision, Handoff, OutboxEvent, StageChange
from leadflow.notify.models import EmailDelivery, Notification
from leadflow.notify.testing import (
    SmtpSink,
    give_everyone_an_address,
    offers_overdue_since,
    start_worker,
    worker_env,
)

from .conftest import World

OFFERS = 80


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


def kill_when(worker, progress, total, timeout=60):
    """SIGKILL `worker` as soon as 0 < progress() < total; return the progress seen then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = progress()
        if done:
            worker.kill()
            worker.wait(timeout=10)
            return done
        if worker.poll() is not None:
            break
        time.sleep(0.002)
    worker.kill()
    pytest.fail(f"the worker never showed progress (exit {worker.poll()}): {worker.stdout.read()}")


def escalated():
    return StageChange.objects.filter(transition="ignore").count()


def sent():
    return EmailDelivery.objects.filter(status="sent").count()


def restart(env):
    worker = start_worker("--once", env=env)
    log, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, log


def assert_nothing_lost(leads):
    ids = [lead.pk for lead in leads]
    assert Counter(
        StageChange.objects.filter(transition="ignore").values_list("lead_id", flat=True)
    ) == Counter(ids)
    assert Handoff.objects.filter(decision=Decision.IGNORED).count() == OFFERS
    assert not Handoff.objects.filter(decision=Decision.PENDING).exists()
    assert OutboxEvent.objects.filter(name="handoff.ignored").count() == OFFERS
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert Notification.objects.filter(event_name="handoff.ignored").count() == told()
    assert EmailDelivery.objects.count() == EmailDelivery.objects.filter(status="sent").count()
    assert EmailDelivery.objects.count() == told()


def told():
    """Per ignored offer: the rep, the sales manager and the arbiter; an offer that waited in
    the team queue (both reps at their cap of open offers) has no rep to tell."""
    offers = Handoff.objects.filter(decision=Decision.IGNORED)
    return 2 * offers.count() + offers.filter(offered_to__isnull=False).count()


def test_killed_mid_sweep_and_restarted_every_message_goes_exactly_once(shared_world, smtp):
    leads = offers_overdue_since(shared_world, OFFERS)
    env = worker_env(smtp)

    worker = start_worker("--once", env=env)
    at_kill = kill_when(worker, escalated, OFFERS)
    assert 0 < at_kill < OFFERS, "killed after the sweep, not in the middle of it"
    assert sent() == 0  # the sweep comes first: no e-mail has gone yet

    restart(env)

    assert_nothing_lost(leads)
    received = smtp.message_ids()
    assert len(received) == len(set(received)) == told()
    assert set(received) == set(EmailDelivery.objects.values_list("message_id", flat=True))


def test_killed_mid_delivery_and_restarted_every_message_arrives(shared_world, smtp):
    """Killed while sending, at most the one message in flight may go twice (accepted by the
    server, not yet marked sent): it carries the same Message-ID, so receivers drop it."""
    leads = offers_overdue_since(shared_world, OFFERS)
    env = worker_env(smtp)

    worker = start_worker("--once", env=env)
    at_kill = kill_when(worker, sent, 2 * OFFERS)
    assert 0 < at_kill < EmailDelivery.objects.count(), "killed after delivery, not during it"

    restart(env)

    assert_nothing_lost(leads)
    received = smtp.message_ids()
    assert set(received) == set(EmailDelivery.objects.values_list("message_id", flat=True))
    assert len(received) - len(set(received)) <= 1, Counter(received).most_common(2)
