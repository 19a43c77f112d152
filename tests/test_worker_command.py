"""`leadflow worker`: one pass with --once, a failing step does not stop the others, and
SIGTERM stops a running worker cleanly."""

import logging
import signal
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import actions, sla
from leadflow.leads.models import Stage
from leadflow.notify.models import EmailDelivery
from leadflow.notify.testing import SmtpSink, start_worker, worker_env

from .conftest import World


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        sink.use_in(settings)
        yield sink


def test_one_pass_escalates_notifies_and_sends(world, smtp, caplog):
    User.objects.filter(username="arbiter").update(email="arbiter@example.com")
    with time_machine.travel(timezone.now() - timedelta(days=5), tick=False):
        lead = world.lead_at("mql")

    with caplog.at_level(logging.INFO, logger="leadflow.worker"):
        call_command("worker", "--once")

    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW
    [mail] = smtp.received()
    assert mail["To"] == "arbiter@example.com"
    assert mail["Subject"] == "Ignored, escalated to the arbiter: Pat Lee (Acme)"
    log = caplog.text
    assert "worker started: one pass" in log
    assert "sweep: escalated 1, reminded 0" in log
    assert "fan-out: events 4" in log  # created, mql, offered, ignored
    assert "delivery: e-mails sent 1, to retry 0, failed 0" in log


def test_a_failing_step_is_logged_and_the_next_steps_still_run(world, smtp, monkeypatch, caplog):
    User.objects.filter(username="arbiter").update(email="arbiter@example.com")
    lead = world.lead_at("mql")
    actions.transition(lead, "reject", actor=lead.owner, reason="below-fit", comment="small")

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(sla, "sweep", broken)
    with pytest.raises(CommandError, match="the pass failed"):
        call_command("worker", "--once")
    assert "sweep failed" in caplog.text and "database on fire" in caplog.text
    assert [m["To"] for m in smtp.received()] == ["arbiter@example.com"]  # the rejection


@pytest.fixture
def shared_world(transactional_db):
    return World()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_running_worker_cleanly(shared_world, smtp, sig):
    worker = start_worker("--interval", "0.2", env=worker_env(smtp))
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            lines.append(line)
            if "worker started" in line:
                break
        time.sleep(0.5)  # a few passes
        worker.send_signal(sig)
        rest, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    log = "".join(lines) + rest
    assert worker.returncode == 0, log
    assert f"{signal.Signals(sig).name} received: stopping after the current batch" in log
    assert log.rstrip().endswith("worker stopped")
    assert EmailDelivery.objects.count() == 0
