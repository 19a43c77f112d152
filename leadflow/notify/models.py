"""Notifications: what the worker makes of the outbox's events.

An `OutboxEvent` becomes, for each person told about it, a `Notification` (in-app) and an
`EmailDelivery` (its own row, so a message is sent once and retried on its own). Who is told:
the built-in rules in `leadflow.notify.fanout`, plus every matching `Subscription`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.leads import lifecycle
from leadflow.leads.models import Lead, OutboxEvent
from leadflow.leads.routing import condition_matches
from leadflow.leads.sla import FIRST_TOUCH_MISSED_EVENT, REMINDER_EVENT


def event_choices() -> list[tuple[str, str]]:
    """Every event name leadflow writes to the outbox. A callable, so a new event needs no
    migration."""
    names = {
        *lifecycle.EVENTS.values(),
        lifecycle.OFFERED_EVENT,
        lifecycle.CREATED_EVENT,
        REMINDER_EVENT,
        FIRST_TOUCH_MISSED_EVENT,
    }
    return [(name, name) for name in sorted(names)]


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)

    def mark_read(self, now=None) -> int:
        return self.unread().update(read_at=now or timezone.now())


class Notification(models.Model):
    """One in-app notification for one person; unread until they open it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # Kept when old outbox events are pruned: a person's notifications are theirs.
    event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_name = models.CharField(max_length=40)
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            # The unread count on every page: a person's unread rows, and nothing else.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"


class Subscription(models.Model):
    """A person asks to be told whenever an event matches their filters.

    `filters` maps a dotted path in the event's payload to the value wanted, in the language of
    routing rules: a value (text compares case-insensitively), a list (any of), or a
    {"min", "max"} range. E.g. {"lead.source": "Content Syndication"},
    {"reason_class": "definitional"}, {"lead.priority": "hot", "handoff.team": "EMEA"}.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    event = models.CharField(max_length=40, choices=event_choices)
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"lead.source": "Content Syndication"} or '
        '{"reason_class": ["definitional", "clerical"]}. Empty: every such event.',
    )
    by_email = models.BooleanField("by e-mail", default=True)
    in_app = models.BooleanField("in the app", default=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["event"], condition=Q(active=True), name="subscription_active")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(by_email=True) | Q(in_app=True), name="subscription_has_a_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.event} {self.filters or ''}".strip()

    def matches(self, payload: dict) -> bool:
        return all(
            condition_matches(expected, payload_value(payload, path))
            for path, expected in (self.filters or {}).items()
        )


def payload_value(payload: dict, path: str):
    """The value at a dotted path of an event payload ("lead.source"), or None."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class EmailDelivery(models.Model):
    """One e-mail to one person about one event: sent once, retried with backoff on failure.

    The Message-ID is fixed when the row is made, so a message sent twice (the worker died
    between the SMTP server accepting it and the commit marking it sent) is recognisable as
    the same message by the receiving side.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="emails")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_deliveries"
    )
    to_address = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    message_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "e-mail deliveries"
        indexes = [
            # The delivery step: pending messages by when they are next due, and nothing else.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="email_pending_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="email_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address} ({self.status})"
