"""What scoring keeps beside the lead definition: sign-offs, each lead's engagement state, the
record of rescoring runs, and answered activity batches (so a retried batch is not stored twice).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.leads.models import Lead, LeadDefinition


class Approval(models.Model):
    """One side's sign-off of a proposed definition: a manager of marketing, or of sales."""

    class Side(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    definition = models.ForeignKey(
        LeadDefinition, on_delete=models.PROTECT, related_name="approvals"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    approved_at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["approved_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "side"], name="approval_once_per_side"),
            # Two sides, two people: one person cannot sign for both.
            models.UniqueConstraint(
                fields=["definition", "approver"], name="approval_once_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.definition.version} approved for {self.side} by {self.approver}"


class LeadEngagement(models.Model):
    """A lead's engagement state (see `leadflow.scoring.engine`): per engagement rule of
    `definition`, the decayed sum of points at `reference`. A new activity updates it in
    constant time; it is rebuilt from history when the active definition changes."""

    lead = models.OneToOneField(
        Lead, primary_key=True, on_delete=models.CASCADE, related_name="engagement_state"
    )
    definition = models.ForeignKey(LeadDefinition, on_delete=models.CASCADE, related_name="+")
    # Unix seconds, not a DateTimeField: the bulk paths read and write it as a plain number.
    reference = models.FloatField()
    # float64 per engagement rule, in the definition's order (numpy's native byte order).
    sums = models.BinaryField()

    def __str__(self) -> str:
        return f"engagement of lead {self.lead_id} under v{self.definition.version}"


class ScoringRun(models.Model):
    """A full rescore, asked for when a version becomes active and done by `leadflow rescore`
    or the worker; also the periodic decay. Kept as a record of when scores were computed."""

    class Kind(models.TextChoices):
        RESCORE = "rescore", "Full rescore"
        DECAY = "decay", "Engagement decay"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    definition = models.ForeignKey(
        LeadDefinition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    leads = models.PositiveIntegerField(default=0)
    activities = models.PositiveBigIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["requested_at"], condition=Q(status="pending"), name="scoringrun_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.status})"


class ActivityUrl(models.Model):
    """A distinct activity URL, numbered for the activity columns."""

    url = models.CharField(max_length=500, unique=True)

    def __str__(self) -> str:
        return self.url


class ActivityChunk(models.Model):
    """The activities with ids from first_id (100,000 ids) as packed numpy columns (lead, time in
    microseconds, kind, campaign, URL number), so rescoring and the what-if read 20 million
    activities as a few hundred rows. Derived data: a chunk whose activity count no longer
    matches the table is rebuilt (`leadflow.scoring.snapshot`)."""

    first_id = models.BigIntegerField(unique=True)
    last_id = models.BigIntegerField(help_text="The newest activity id it held when built.")
    rows = models.PositiveIntegerField()
    kinds = models.JSONField(help_text="The activity kinds the kind codes number.")
    payload = models.BinaryField()
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_id"]

    def __str__(self) -> str:
        return f"activities {self.first_id}–{self.last_id} ({self.rows})"


class PendingMql(models.Model):
    """A lead that met the MQL rule in an activity batch sent with `qualify=false` (a large
    import): the worker moves it to mql within a sweep, if it still meets the rule then."""

    lead = models.OneToOneField(Lead, primary_key=True, on_delete=models.CASCADE, related_name="+")
    noted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"lead {self.lead_id} to qualify"
