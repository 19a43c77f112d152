"""Sign-offs and scoring runs, view only: both are written by leadflow as it happens
(`leadflow.scoring.definitions`, `leadflow.scoring.rescore`) and are its record."""

from django.contrib import admin

from leadflow.scoring.models import Approval, ScoringRun


class RecordAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Approval)
class ApprovalAdmin(RecordAdmin):
    list_display = ("definition", "side", "approver", "approved_at")
    list_filter = ("side",)


@admin.register(ScoringRun)
class ScoringRunAdmin(RecordAdmin):
    list_display = ("kind", "status", "definition", "requested_at", "finished_at", "leads",
                    "changed", "qualified")
    list_filter = ("kind", "status")
