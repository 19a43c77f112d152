"""E-mail delivery through a real SMTP server: each message once, with a stable Message-ID,
retried with backoff while the server is down, given up on a permanent refusal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.notify import delivery, fanout
from leadflow.notify.models import EmailDelivery
from leadflow.notify.testing import SmtpSink


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        sink.use_in(settings)
        yield sink


def queue_offer_email(world, address_prefix=""):
    """A lead offered to a rep with an address: one e-mail queued, at `now`."""
    for user in User.objects.all():
        user.email = f"{address_prefix}{user.username}@example.com"
        user.save(update_fields=["email"])
    world.lead_at("mql")
    now = timezone.now()
    fanout.process_outbox(now)
    return EmailDelivery.objects.get(), now


def test_a_message_is_sent_once_with_its_stable_message_id(world, smtp):
    queued, now = queue_offer_email(world)
    assert delivery.deliver_emails(now).sent == [queued.pk]
    assert delivery.deliver_emails(now + timedelta(hours=1)).sent == []

    [mail] = smtp.received()
    queued.refresh_from_db()
    assert mail["Message-ID"] == queued.message_id == (
        f"<event-{queued.event_id}.user-{queued.user_id}@localhost>"
    )
    assert (mail["To"], mail["From"], mail["Auto-Submitted"]) == (
        queued.to_address, "leadflow@localhost", "auto-generated",
    )
    assert mail["Subject"] == queued.subject
    assert (queued.status, queued.attempts, queued.last_error) == ("sent", 1, "")
    assert queued.sent_at is not None


def test_while_the_server_is_down_it_retries_with_growing_waits(world, settings):
    sink = SmtpSink()  # not started: connections are refused
    sink.use_in(settings)
    queued, now = queue_offer_email(world)

    result = delivery.deliver_emails(now)
    queued.refresh_from_db()
    assert result.retrying == [queued.pk]
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert queued.next_attempt_at == now + timedelta(minutes=1)
    assert "ConnectionRefusedError" in queued.last_error

    assert delivery.deliver_emails(now + timedelta(seconds=30)).retrying == []  # not yet due
    delivery.deliver_emails(now + timedelta(minutes=1))
    queued.refresh_from_db()
    assert queued.attempts == 2 and queued.next_attempt_at == now + timedelta(minutes=3)

    with sink:
        assert delivery.deliver_emails(now + timedelta(minutes=3)).sent == [queued.pk]
    [mail] = sink.received()
    assert mail["Message-ID"] == queued.message_id


def test_backoff_doubles_up_to_six_hours():
    waits = [delivery.backoff(n) for n in (1, 2, 3, 9, 10, 11)]
    assert waits == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4),
        timedelta(minutes=256), timedelta(hours=6), timedelta(hours=6),
    ]


def test_after_the_last_attempt_it_gives_up(world, settings):
    SmtpSink().use_in(settings)  # never started
    queued, now = queue_offer_email(world)
    EmailDelivery.objects.filter(pk=queued.pk).update(attempts=delivery.MAX_ATTEMPTS - 1)
    assert delivery.deliver_emails(now).failed == [queued.pk]
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("failed", delivery.MAX_ATTEMPTS)


def test_a_permanent_refusal_is_not_retried(world, smtp):
    queued, now = queue_offer_email(world, address_prefix="bounce-")
    assert delivery.deliver_emails(now).failed == [queued.pk]
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("failed", 1)
    assert "550" in queued.last_error
    assert smtp.received() == []
