"""Sign-offs and scoring runs, view only: both are written by leadflow as it happens
(`leadflow.scoring.definitions`, `leadflow.scoring.rescore`) and are its record."""

from django.contrib import admin

from leadflow.leads.admin import ViewOnlyAdmin
from leadflow.scoring.models import Approval, ScoringRun


@admin.register(Approval)
class ApprovalAdmin(ViewOnlyAdmin):
    list_display = ("definition", "side", "approver", "approved_at")
    list_filter = ("side",)


@admin.register(ScoringRun)
class ScoringRunAdmin(ViewOnlyAdmin):
    list_display = ("kind", "status", "definition", "requested_at", "finished_at", "leads",
                    "changed", "qualified")
    list_filter = ("kind", "status")
