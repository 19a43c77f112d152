"""Outbound webhooks: an admin subscribes a URL to events; each event becomes one
`WebhookDelivery` per subscribed webhook, POSTed by the worker, retried, kept as a log.

A delivery is created by the notify fan-out in the same transaction that marks its
`OutboxEvent` processed, so an event is either fanned out to every webhook or to none, and a
crash loses nothing (see `leadflow.webhooks.outbox`).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.leads.models import OutboxEvent
from leadflow.notify.models import event_choices

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def event_names() -> list[str]:
    return [name for name, _ in event_choices()]


class WebhookQuerySet(models.QuerySet):
    def with_log_counts(self):
        """Each webhook with `pending` and `failed` delivery counts and `last_delivered_at`, in
        the same query."""
        pending = Q(deliveries__status="pending")
        failed = Q(deliveries__status="failed")
        # Ordered again: Django leaves Meta.ordering out of aggregating queries.
        return self.annotate(
            pending=models.Count("deliveries", filter=pending),
            failed=models.Count("deliveries", filter=failed),
            last_delivered_at=models.Max("deliveries__delivered_at"),
        ).order_by("name", "id")


class Webhook(models.Model):
    """A receiver's URL and the events it wants (none listed: every event)."""

    name = models.CharField(max_length=100)
    url = models.URLField(
        "URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    # Kept in clear: leadflow signs with it. Only admins see webhooks at all.
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    events = models.JSONField(
        default=list, blank=True, help_text="Event names, e.g. [\"lead.mql\"]. Empty: every event."
    )
    active = models.BooleanField(
        default=True, help_text="A paused webhook's deliveries wait until it is active again."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.events, list) or not all(isinstance(e, str) for e in self.events):
            raise ValidationError({"events": "a list of event names"})
        unknown = sorted(set(self.events) - set(event_names()))
        if unknown:
            raise ValidationError(
                {"events": f"unknown event {', '.join(unknown)}; known: {', '.join(event_names())}"}
            )
        self.events = sorted(set(self.events))

    def wants(self, event_name: str) -> bool:
        return not self.events or event_name in self.events


class WebhookDelivery(models.Model):
    """One event POSTed to one webhook: retried with backoff until the receiver answers 2xx,
    or given up after `MAX_ATTEMPTS`. Its id is the `Leadflow-Delivery` header, the same on
    every attempt, so receivers can drop a repeat. A replay is a new delivery."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # Kept when old outbox events are pruned: the payload below is what was (and is) sent.
    event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_name = models.CharField(max_length=40)
    payload = models.JSONField(help_text="The JSON body sent: id, event, occurred_at, data.")
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Who asked for a replay; empty for the event itself.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The delivery step: pending deliveries by when they are next due, nothing else.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            # A webhook's delivery log, newest first.
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_log"),
        ]
        constraints = [
            # The fan-out's own backstop: an event reaches a webhook once (replays aside).
            models.UniqueConstraint(
                fields=["webhook", "event"],
                condition=Q(replay_of__isnull=True),
                name="webhook_delivery_once_per_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_name} → {self.webhook} ({self.status})"
