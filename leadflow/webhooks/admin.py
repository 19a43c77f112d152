"""Webhooks are edited here too (admins only: the admin site is for staff); deliveries are a
log — read-only, except that any of them can be replayed."""

from django.contrib import admin

from leadflow.webhooks import actions
from leadflow.webhooks.models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "url")
    readonly_fields = ("secret", "created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id", "created_at", "webhook", "event_name", "status", "attempts", "last_status_code",
        "next_attempt_at", "delivered_at",
    )
    list_filter = ("status", "event_name", "webhook")
    list_select_related = ("webhook",)
    date_hierarchy = "created_at"
    actions = ["replay"]

    @admin.action(description="Replay the selected deliveries (queue each event again)")
    def replay(self, request, queryset):
        for delivery in queryset.select_related("webhook"):
            actions.replay(delivery, actor=request.user)
        self.message_user(request, f"{queryset.count()} delivery(ies) queued again.")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
