from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from leadflow.accounts.models import ApiToken, DayOff, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "get_full_name", "role", "team", "out_of_office", "is_active")
    list_filter = ("role", "team", "out_of_office", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            "leadflow",
            {"fields": ("role", "team", "time_zone", "out_of_office", "max_open_offers")},
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("leadflow", {"fields": ("role", "team")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "side", "time_zone", "holiday_country", "work_start", "work_end")
    list_filter = ("side",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("hint", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    # The hash is useless to a human and the token itself is never stored.
    exclude = ("key_hash",)
    readonly_fields = ("user", "hint", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are issued with `leadflow token USERNAME`, shown once

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()


@admin.register(DayOff)
class DayOffAdmin(admin.ModelAdmin):
    list_display = ("day", "name", "team")
    list_filter = ("team",)
