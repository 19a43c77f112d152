"""Intake's records: idempotency keys of API calls, web forms, and the posts they refused."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leadflow.leads.models import Campaign, Source


class IdempotencyKey(models.Model):
    """An API call sent with an `Idempotency-Key`: a retry of it gets the first answer back.

    Claimed in the transaction that does the work, so of two concurrent calls with one key only
    one can do it. `outcome` (what was done, written in that transaction) is enough to answer;
    `status`/`response` are the answer itself, stored after the commit and replayed verbatim.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.JSONField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Text, not JSON: replayed byte for byte (PostgreSQL's jsonb would reorder the keys).
    response = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="intake_idempotency_key_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="intake_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} of {self.user}"


def new_form_key() -> str:
    return secrets.token_urlsafe(18)


class WebForm(models.Model):
    """A public web-to-lead form: pages post to /forms/<key>, or to Salesforce's path with the
    key as `oid`, so an existing Salesforce form works by changing its action's host."""

    name = models.CharField(max_length=100)
    key = models.CharField(
        max_length=40, unique=True, default=new_form_key,
        help_text="Public: it is in the page's HTML (as `oid` or in the action URL).",
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="+",
        help_text="The lead's source unless utm_source or lead_source names a known one.",
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Unless Campaign_ID or utm_campaign names a known one.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
        help_text="The marketing person leads are created as; blank: leadflow itself.",
    )
    return_hosts = models.TextField(
        blank=True,
        help_text="Host names retURL may point to, one a line; others get the thank-you page.",
    )
    honeypot = models.CharField(
        max_length=50, default="hp_website",
        help_text="A field hidden from people: a post that fills it is spam.",
    )
    create_sources = models.BooleanField(
        default=False,
        help_text="A utm_source that names no source creates one (else it is kept as a custom "
        "attribute and the form's source is used).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from leadflow.leads import actions, lifecycle

        if self.owner_id and not lifecycle.actor_roles(self.owner) & actions.CREATE_ROLES:
            raise ValidationError(
                {"owner": f"{self.owner} may not create leads: choose someone in marketing"}
            )

    def allows_return_to(self, host: str | None) -> bool:
        hosts = {h.strip().lower() for h in self.return_hosts.splitlines() if h.strip()}
        return bool(host) and host.lower() in hosts


class RejectedPost(models.Model):
    """A form post that stored no lead, and why: spam and mistakes are visible, not lost."""

    class Reason(models.TextChoices):
        UNKNOWN_FORM = "unknown-form", "Unknown form key"
        INACTIVE_FORM = "inactive-form", "Form switched off"
        MISCONFIGURED = "misconfigured", "Form set up wrongly"
        RATE_LIMITED = "rate-limited", "Too many posts from this address"
        HONEYPOT = "honeypot", "Honeypot field filled (spam)"
        INVALID = "invalid", "Invalid field values"

    form = models.ForeignKey(
        WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejected"
    )
    form_key = models.CharField(max_length=100, blank=True)
    client_address = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)
    fields = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at"], name="intake_rejected_at")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} from {self.client_address}"


class ClientPosts(models.Model):
    """Form posts per client address per minute, in the database so that every server worker
    counts against one limit."""

    client_address = models.CharField(max_length=64)
    window = models.DateTimeField()
    posts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client_address", "window"], name="intake_client_posts_once"
            )
        ]
        indexes = [models.Index(fields=["window"], name="intake_client_posts_window")]

    def __str__(self) -> str:
        return f"{self.client_address} at {self.window:%H:%M}: {self.posts}"
