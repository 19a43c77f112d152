"""Imports: saved column mappings (presets) and import jobs with their committed progress."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportPreset(models.Model):
    """A saved column mapping: CSV column -> lead field (or `custom.<key>`, or `-` to skip).

    Built-in presets (Salesforce, HubSpot) live in code (`leadflow.transfer.presets`); these
    are the ones people save."""

    name = models.CharField(max_length=100, unique=True)
    mapping = models.JSONField(default=dict)
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"source": "Webinar"}')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One CSV file being imported. Each chunk of rows commits together with `offset`/`line`
    (where the next chunk starts) and the counts, so an interrupted job resumes exactly there."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Mapping columns"  # uploaded in the browser, not started yet
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    path = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    preset = models.CharField(max_length=100, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Committed progress: byte offset and physical line number after the last committed row.
    offset = models.BigIntegerField(default=0)
    line = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    merged = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    error_path = models.CharField(max_length=500, blank=True)
    error_bytes = models.BigIntegerField(default=0)  # the error file's size at the last commit
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "id"], name="importjob_status")]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.original_name or self.path}"

    @property
    def share(self) -> float:
        return self.offset / self.size if self.size else 1.0
