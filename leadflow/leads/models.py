"""The lead flow's records: sources, campaigns, leads, hand-offs, opportunities, activities,
history.

Stage, owner and hand-off fields are changed only by `leadflow.leads.actions`, which enforces
the table in `leadflow.leads.lifecycle`. Nothing else assigns them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.accounts.models import Team
from leadflow.leads.identity import email_key


class Stage(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"
    IN_REVIEW = "in_review", "In review"
    DISQUALIFIED = "disqualified", "Disqualified"


CLOSED_STAGES = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})


class OpportunityStage(models.TextChoices):
    DISCOVERY = "discovery", "Discovery"
    PROPOSAL = "proposal", "Proposal"
    FORECAST = "forecast", "Forecast"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Source(models.Model):
    """Where leads come from (e.g. Content Syndication, Organic Web)."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=150)
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["source__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name"], name="campaign_unique_per_source")
        ]

    def __str__(self) -> str:
        return self.name


class Spend(models.Model):
    """Money spent on a source (and optionally one of its campaigns) in a calendar month."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="spend")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="spend"
    )
    month = models.DateField(help_text="First day of the month.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "campaign", "month"], name="spend_once_per_month"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="spend_not_negative"),
        ]
        indexes = [models.Index(fields=["month", "source"])]

    def __str__(self) -> str:
        return f"{self.source} {self.month:%Y-%m}: {self.amount} {self.currency}"


class Account(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.name


class ReasonKind(models.TextChoices):
    REJECT = "reject", "Reject (before contact)"
    RETURN = "return", "Return (after acceptance)"
    DISQUALIFY = "disqualify", "Disqualify (after contact)"
    NURTURE = "nurture", "Not ready (to nurture)"
    LOSS = "loss", "Opportunity lost"


class ReasonClass(models.TextChoices):
    """Why a hand-off failed, so the fix goes to the right place (DOMAIN.md "Hand-offs")."""

    PROCEDURAL = "procedural", "Procedural (wrong person or team)"
    CLERICAL = "clerical", "Clerical (record incomplete or wrong)"
    DEFINITIONAL = "definitional", "Definitional (does not meet the definition)"


class ReasonCode(models.Model):
    code = models.SlugField(max_length=50)
    kind = models.CharField(max_length=20, choices=ReasonKind.choices)
    reason_class = models.CharField(max_length=20, choices=ReasonClass.choices, blank=True)
    label = models.CharField(max_length=150)
    disqualifies = models.BooleanField(
        default=False, help_text="An upheld review with this reason disqualifies the lead."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "label"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="reason_code_unique_per_kind")
        ]

    def __str__(self) -> str:
        return self.label


class LeadDefinition(models.Model):
    """A version of the lead definition, the contract both sides sign (DOMAIN.md)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Editable while a draft only (leadflow.scoring.definitions; a trigger, migration 0005).
    document = models.TextField(blank=True)
    summary = models.CharField(
        max_length=300, blank=True, help_text="What this version changes, and why."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_definition"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.get_status_display()})"

    @classmethod
    def active(cls) -> "LeadDefinition | None":
        return cls.objects.filter(status=cls.Status.ACTIVE).first()


class Priority(models.TextChoices):
    NORMAL = "normal", "Normal"
    HOT = "hot", "Hot"


# The later waterfall stages and the Lead column holding when a lead first entered each: the
# lead stages by a history row to that stage, the opportunity by its opening.
FIRST_ENTERED = {
    "mql": "first_mql_at",
    "sal": "first_sal_at",
    "sql": "first_sql_at",
    "opportunity": "first_opportunity_at",
    "won": "won_at",
}
COHORT_INDEX_FIELDS = ["created_at", "source", "campaign", *FIRST_ENTERED.values()]


class Lead(models.Model):
    # The person
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # What the lead is matched on (leadflow.leads.identity); kept in step with `email` by save().
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=50, blank=True)
    # The company
    company = models.CharField(max_length=200, blank=True)
    domain = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    # Where it came from
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="leads")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    # Lifecycle: written only by leadflow.leads.actions
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.INQUIRY)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        help_text="Blank while the lead waits in its owner team's queue.",
    )
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    sql_evidence = models.JSONField(default=dict, blank=True)
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.NORMAL)
    # Scores
    fit_score = models.FloatField(default=0)
    engagement_score = models.FloatField(default=0)
    # Timestamps
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    # When the lead first entered each later stage of the cohort waterfall (FIRST_ENTERED):
    # set by the lifecycle plan that takes it there and never moved afterwards, so a recycled
    # lead's second MQL keeps its first. Each equals the lead's first history row entering the
    # stage; the funnel reports count and time leads on them instead of joining the history.
    first_mql_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_sal_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_sql_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_opportunity_at = models.DateTimeField(null=True, blank=True, editable=False)
    won_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Optimistic concurrency: bumped by every action, so a stale form or API call is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "stage"], name="lead_owner_stage"),
            models.Index(fields=["owner_team", "stage"], name="lead_team_stage"),
            models.Index(fields=["source", "created_at"], name="lead_source_created"),
            models.Index(fields=["stage", "created_at"], name="lead_stage_created"),
            models.Index(fields=["email_key"], name="lead_email_key"),
            models.Index(fields=["external_id"], name="lead_external_id"),
            # The cohort of a period with what the funnel reports read of each lead, so they
            # are answered from the index alone.
            models.Index(fields=COHORT_INDEX_FIELDS, name="lead_cohort"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Lead {self.pk}"

    def save(self, *args, **kwargs):
        self.email_key = email_key(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_key"}
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        return str(self)

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES


class HandoffKind(models.TextChoices):
    MQL = "mql", "Marketing → inside sales"
    SQL = "sql", "Inside sales → field sales"


class Decision(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    IGNORED = "ignored", "Ignored"


class ReviewOutcome(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    OVERRULED = "overruled", "Overruled"


class Handoff(models.Model):
    """One offer of a lead from one side to the other, with its deadline and its decision."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="handoffs")
    kind = models.CharField(max_length=3, choices=HandoffKind.choices)
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handoffs_offered",
        help_text="Blank: offered to the team's queue.",
    )
    offered_to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="handoffs")
    offered_at = models.DateTimeField()
    accept_by = models.DateTimeField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handoffs_decided",
    )
    reason = models.ForeignKey(ReasonCode, null=True, blank=True, on_delete=models.PROTECT)
    comment = models.TextField(blank=True)
    first_touch_by = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    # SLA clock state, advanced by the worker's sweep.
    remind_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next reminder is due; blank: none left."
    )
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    first_touch_alerted_at = models.DateTimeField(null=True, blank=True)
    # The arbiter's verdict on a rejected, ignored or returned hand-off: an uphold counts
    # against the lead's source and campaign, an overrule against the rep who decided.
    review_outcome = models.CharField(max_length=10, choices=ReviewOutcome.choices, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lead", "offered_at"], name="handoff_lead_offered"),
            # The SLA sweep: pending hand-offs ordered by deadline, and nothing else.
            models.Index(
                fields=["accept_by"], condition=Q(decision="pending"), name="handoff_pending_due"
            ),
            models.Index(
                fields=["remind_at"], condition=Q(decision="pending"), name="handoff_pending_remind"
            ),
            models.Index(
                fields=["first_touch_by"],
                condition=Q(
                    decision="accepted", first_touch_at__isnull=True,
                    first_touch_alerted_at__isnull=True,
                ),
                name="handoff_untouched_due",
            ),
            models.Index(fields=["offered_to", "decision"], name="handoff_offered_to"),
            models.Index(fields=["offered_at"], name="handoff_offered_at"),
            # Hand-off health: the reviews decided in a period (partial: most rows have none).
            models.Index(
                fields=["reviewed_at"],
                condition=Q(reviewed_at__isnull=False),
                name="handoff_reviewed_at",
            ),
        ]
        constraints = [
            # At most one open hand-off per lead: the lead is offered to one place at a time.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(decision="pending"), name="one_pending_handoff"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of lead {self.lead_id} ({self.decision})"


class Opportunity(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="opportunities")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(
        max_length=10, choices=OpportunityStage.choices, default=OpportunityStage.DISCOVERY
    )
    expected_close = models.DateField(null=True, blank=True)
    outcome_reason = models.ForeignKey(ReasonCode, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["stage", "expected_close"], name="opportunity_stage_close"),
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage"),
        ]

    def __str__(self) -> str:
        return self.name


class ActivityKind(models.TextChoices):
    WEB_VISIT = "web_visit", "Web visit"
    EMAIL_SENT = "email_sent", "E-mail sent"
    EMAIL_OPEN = "email_open", "E-mail opened"
    EMAIL_CLICK = "email_click", "E-mail clicked"
    WEBINAR_REGISTERED = "webinar_registered", "Webinar registered"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    FORM_FILL = "form_fill", "Form fill"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"


# Sales activities set a hand-off's first touch; marketing activities feed engagement.
SALES_ACTIVITY_KINDS = frozenset({ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.NOTE})


class Activity(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField()
    url = models.CharField(max_length=500, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL)
    source_system = models.CharField(max_length=50, default="leadflow")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    detail = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["lead", "occurred_at"], name="activity_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise HistoryIsAppendOnly("history rows cannot be updated")

    def delete(self):
        raise HistoryIsAppendOnly("history rows cannot be deleted")


class HistoryIsAppendOnly(Exception):
    pass


class StageChange(models.Model):
    """The append-only history of every lead and opportunity transition.

    Written by the action that makes the change, in the same transaction. A database trigger
    (migration 0002) refuses UPDATE too, so even raw SQL cannot rewrite the past.
    """

    class Entity(models.TextChoices):
        LEAD = "lead", "Lead"
        OPPORTUNITY = "opportunity", "Opportunity"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="history")
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.PROTECT, related_name="history"
    )
    entity = models.CharField(max_length=12, choices=Entity.choices, default=Entity.LEAD)
    transition = models.CharField(max_length=30)
    from_stage = models.CharField(max_length=20, blank=True)
    to_stage = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Blank: done by leadflow itself (scoring, SLA sweep).",
    )
    at = models.DateTimeField()
    reason = models.ForeignKey(ReasonCode, null=True, blank=True, on_delete=models.PROTECT)
    comment = models.TextField(blank=True)
    definition = models.ForeignKey(
        LeadDefinition, null=True, blank=True, on_delete=models.PROTECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The lead's owner after the change.",
    )
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="history_lead_at"),
            models.Index(fields=["to_stage", "at"], name="history_to_stage_at"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '∅'} → {self.to_stage} ({self.transition})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise HistoryIsAppendOnly("history rows cannot be updated")
        super().save(*args, **kwargs)
        self._keep_first_entry()

    def _keep_first_entry(self) -> None:
        """Keep the lead's first-entry column (`FIRST_ENTERED`) at the earliest history row
        entering its stage. The lifecycle plan sets it with the move it plans, so this costs
        nothing there; it matters for history written otherwise (an imported past)."""
        if self.entity == self.Entity.OPPORTUNITY:
            stage = "opportunity" if self.to_stage == OpportunityStage.DISCOVERY else None
        else:
            stage = self.to_stage
        column = FIRST_ENTERED.get(stage)
        if column is None:
            return
        lead = self._state.fields_cache.get("lead")
        known = getattr(lead, column) if lead is not None else None
        if known is not None and known <= self.at:
            return
        later = Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__gt": self.at})
        Lead.objects.filter(later, pk=self.lead_id).update(**{column: self.at})
        if lead is not None:
            setattr(lead, column, self.at)

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly("history rows cannot be deleted")


class SlaPolicy(models.Model):
    """How much business time a team gets to decide on an offer, and to touch it after
    acceptance; per kind of hand-off and per lead priority (hot leads go faster)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sla_policies")
    kind = models.CharField(max_length=3, choices=HandoffKind.choices)
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.NORMAL)
    accept_within_hours = models.DecimalField(max_digits=6, decimal_places=2)
    first_touch_within_hours = models.DecimalField(max_digits=6, decimal_places=2, default=1)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "kind", "priority"], name="sla_policy_once"),
            models.CheckConstraint(
                condition=Q(accept_within_hours__gt=0, first_touch_within_hours__gt=0),
                name="sla_policy_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.kind} {self.priority}: {self.accept_within_hours} h"


class RoutingRule(models.Model):
    """An ordered rule: leads matching its conditions are offered to its team (round-robin
    among the team's available reps). The first matching active rule wins."""

    position = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    name = models.CharField(max_length=100)
    side = models.CharField(
        max_length=20, choices=[("inside_sales", "Inside sales"), ("field_sales", "Field sales")]
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    conditions = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"country": ["DE", "AT"], "employee_count": {"min": 200}, '
        '"source": ["Organic Web"], "custom.segment": ["enterprise"]}. Empty: matches all.',
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["side", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} → {self.team}"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it reports.

    The worker turns each into notifications (and, later, webhook deliveries) after commit, so
    a crash between the change and the e-mail loses nothing."""

    name = models.CharField(max_length=40)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="outbox_unprocessed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"
