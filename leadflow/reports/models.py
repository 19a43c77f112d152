"""What the reports keep between reads: monthly cohort summaries (`summaries`)."""

from __future__ import annotations

from django.db import models


class CohortSummary(models.Model):
    """The source table's counts for the leads created in one month (company time, in the zone
    named), per source and campaign, as `summaries.count_month` computed them."""

    month = models.DateField(help_text="First day of the month, company time.")
    time_zone = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    rows = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "time_zone"], name="one_summary_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.time_zone})"


class CohortChange(models.Model):
    """A month whose cohort figures may have changed since its summary was computed.

    Written only by database triggers (migration 0001), whatever writes the lead, hand-off,
    opportunity or history row; `month` is the UTC month ("YYYY-MM") of the lead's creation
    moved a day back and a day forward, so that it names the company month too.
    """

    month = models.CharField(max_length=7, db_index=True)

    def __str__(self) -> str:
        return self.month
