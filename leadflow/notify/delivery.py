"""Sending the e-mails the fan-out queued, through Django's mail backend (SMTP in production:
EMAIL_HOST, EMAIL_PORT), each once, with retries.

Each message is sent inside its own short transaction that holds its `EmailDelivery` row
(`FOR UPDATE SKIP LOCKED`): a second worker skips it, and a worker that dies mid-send releases
it at once, so the next pass sends it. It is marked sent in that same transaction, right after
the SMTP server accepts it. The one window that can repeat a message is between the server's
acceptance and that commit — a single UPDATE; the message then goes again with the same
Message-ID, which receivers use to drop the copy. (On SQLite, where one worker runs, the row
lock is the database write lock: held for one SMTP exchange, bounded by the SMTP timeout.)

A failure is retried with exponential backoff; a permanent refusal (5xx) or too many attempts
marks the delivery failed, with the error kept for the admin.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from leadflow.notify import retry
from leadflow.notify.models import EmailDelivery

logger = logging.getLogger(__name__)

# Seconds an SMTP operation may take before it counts as failed (Django's EMAIL_TIMEOUT, if
# set, wins). Also bounds how long a message holds its row lock.
SMTP_TIMEOUT = 30
# 1 min, 2, 4 … then every 6 h: about a day of attempts before giving up.
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=6)


def _never_stop() -> bool:
    return False


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return retry.backoff(attempts, first=timedelta(minutes=1), cap=MAX_BACKOFF)


def due_emails(now: datetime) -> QuerySet[EmailDelivery]:
    """Pending deliveries whose attempt is due (index `email_pending_due`)."""
    return EmailDelivery.objects.filter(
        status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")


def build_message(delivery: EmailDelivery, connection=None) -> EmailMessage:
    return EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to_address],
        connection=connection,
        headers={
            "Message-ID": delivery.message_id,
            # RFC 3834: no vacation auto-replies to a robot.
            "Auto-Submitted": "auto-generated",
        },
    )


def is_permanent(exc: Exception) -> bool:
    """This message was refused for good (5xx for its recipient or its content): retrying
    will not help. Anything else — the server down, busy, or refusing our sender — may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def _server_unusable(exc: Exception) -> bool:
    """The server or our connection to it failed (down, timed out, refusing our sender), not
    this message: stop this pass, try again the next one. smtplib's errors are OSErrors."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError):
        return False
    return isinstance(exc, OSError)


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"e-mails sent {len(self.sent)}, to retry {len(self.retrying)}, "
            f"failed {len(self.failed)}"
        )


def deliver_emails(
    now: datetime | None = None, *, should_stop: Callable[[], bool] = _never_stop
) -> DeliveryResult:
    """Send every delivery due at `now`, one transaction per message."""
    now = now or timezone.now()
    result = DeliveryResult()
    connection = None
    try:
        while not should_stop():
            with transaction.atomic():
                delivery = due_emails(now).select_for_update(skip_locked=True).first()
                if delivery is None:
                    break
                try:
                    if connection is None:
                        connection = get_connection(
                            fail_silently=False,
                            timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT,
                        )
                        connection.open()
                    connection.send_messages([build_message(delivery, connection)])
                except Exception as exc:
                    _record_failure(delivery, exc, now, result)
                    if _server_unusable(exc):
                        break
                    continue
                # Accepted by the server: mark it sent before anything else can happen.
                delivery.status = EmailDelivery.Status.SENT
                delivery.sent_at = timezone.now()
                delivery.attempts += 1
                delivery.last_error = ""
                delivery.save(update_fields=["status", "sent_at", "attempts", "last_error"])
            result.sent.append(delivery.pk)
    finally:
        if connection is not None:
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing left to lose
                logger.debug("closing the SMTP connection failed", exc_info=True)
    return result


def _record_failure(
    delivery: EmailDelivery, exc: Exception, now: datetime, result: DeliveryResult
) -> None:
    delivery.attempts += 1
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if is_permanent(exc) or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = EmailDelivery.Status.FAILED
        result.failed.append(delivery.pk)
        logger.error(
            "e-mail %s to %s failed for good after %s attempts: %s",
            delivery.pk, delivery.to_address, delivery.attempts, delivery.last_error,
        )
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        result.retrying.append(delivery.pk)
        logger.warning(
            "e-mail %s to %s failed (attempt %s), retrying at %s: %s",
            delivery.pk, delivery.to_address, delivery.attempts,
            delivery.next_attempt_at.isoformat(), delivery.last_error,
        )
    delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
