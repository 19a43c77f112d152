"""People, teams and API tokens.

A user has one role (DOMAIN.md "People and roles") and usually one team. A manager acts with
the rights of their team's side plus the manager's own (reassign, approve definitions).
"""

import hashlib
import secrets
from datetime import time

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    INSIDE_SALES = "inside_sales", "Inside sales (SDR)"
    FIELD_SALES = "field_sales", "Field sales (AE)"
    MANAGER = "manager", "Manager"
    ARBITER = "arbiter", "Arbiter"
    ADMIN = "admin", "Admin"


class Side(models.TextChoices):
    """Which part of the lead flow a team belongs to."""

    MARKETING = "marketing", "Marketing"
    INSIDE_SALES = "inside_sales", "Inside sales"
    FIELD_SALES = "field_sales", "Field sales"
    ARBITER = "arbiter", "Arbiter"


class Team(models.Model):
    """A team, its queue (leads owned by the team but no person yet) and its business calendar."""

    name = models.CharField(max_length=100, unique=True)
    side = models.CharField(max_length=20, choices=Side.choices)
    time_zone = models.CharField(max_length=64, default="UTC")
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code for public holidays, e.g. US, DE."
    )
    holiday_subdivision = models.CharField(max_length=8, blank=True)
    work_days = models.CharField(
        max_length=13, default="0,1,2,3,4", help_text="Working weekdays, 0 = Monday."
    )
    work_start = models.TimeField(default=time(9, 0))
    work_end = models.TimeField(default=time(17, 0))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DayOff(models.Model):
    """A company-specific day off (beyond public holidays), for one team or for everyone."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="days_off",
        help_text="Blank: the whole company.",
    )
    day = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="day_off_once")]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETING)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="Blank: the team's zone.")
    # Routing (DOMAIN.md "Hand-offs"): round-robin skips reps out of office or at their cap.
    out_of_office = models.BooleanField(default=False)
    max_open_offers = models.PositiveIntegerField(
        default=25, help_text="Most offers awaiting this rep's decision at once."
    )
    last_offered_at = models.DateTimeField(
        null=True, blank=True, help_text="Round-robin turn: the least recently offered goes next."
    )

    def clean(self):
        super().clean()
        if self.role == Role.ARBITER and self.team_id and self.team.side != Side.ARBITER:
            raise ValidationError(
                {"team": "The arbiter may not be a member of a sales or marketing team."}
            )

    @property
    def side(self) -> str | None:
        """The side the user works for; arbiters and admins belong to none."""
        if self.role == Role.MANAGER:
            return self.team.side if self.team_id else None
        return {
            Role.MARKETING: Side.MARKETING,
            Role.INSIDE_SALES: Side.INSIDE_SALES,
            Role.FIELD_SALES: Side.FIELD_SALES,
        }.get(self.role)

    @property
    def acting_roles(self) -> frozenset[str]:
        """The roles the lifecycle table checks: a manager also acts as their team's side."""
        roles = {self.role}
        if self.role == Role.MANAGER and self.side:
            roles.add(self.side)
        return frozenset(roles)

    @property
    def display_time_zone(self) -> str:
        if self.time_zone:
            return self.time_zone
        return self.team.time_zone if self.team_id else "UTC"

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A per-user API token. Only its SHA-256 is stored: the token is shown once, at creation.

    Tokens are 256-bit random, so a fast hash is enough: there is nothing to brute-force.
    """

    PREFIX = "lf_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="cli")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "cli") -> tuple["ApiToken", str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=cls.hash(raw), hint=raw[:10])
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        token = (
            cls.objects.active().select_related("user").filter(key_hash=cls.hash(raw)).first()
        )
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        # Write last-use at most once a minute: a hot client must not turn reads into writes.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
