from django.contrib import admin

from leadflow.transfer.models import ImportJob, ImportPreset


@admin.register(ImportPreset)
class ImportPresetAdmin(admin.ModelAdmin):
    list_display = ("name", "created_by", "created_at")
    search_fields = ("name",)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """View only: a job's progress is written by the importer with its rows, in one
    transaction; an edit here would break the resume (started on the import pages or CLI)."""

    list_display = (
        "__str__", "status", "rows_done", "created", "merged", "failed", "created_by",
        "created_at", "finished_at",
    )
    list_filter = ("status",)
    search_fields = ("original_name", "path", "sha256")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
