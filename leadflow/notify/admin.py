"""Subscriptions are edited here; notifications and e-mails are records of what was sent, so
they are read-only, except that a failed e-mail can be queued again."""

from django.contrib import admin
from django.utils import timezone

from leadflow.notify.models import EmailDelivery, Notification, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "event", "filters", "by_email", "in_app", "active")
    list_filter = ("event", "active", "by_email", "in_app")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ("created_at", "user", "event_name", "title", "read_at")
    list_filter = ("event_name",)
    search_fields = ("user__username", "title")
    date_hierarchy = "created_at"
    list_select_related = ("user",)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(ReadOnly):
    list_display = ("created_at", "to_address", "subject", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("to_address", "subject", "message_id")
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.action(description="Queue the selected failed e-mails again")
    def send_again(self, request, queryset):
        count = queryset.filter(status=EmailDelivery.Status.FAILED).update(
            status=EmailDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} e-mail(s) queued again.")

    def has_change_permission(self, request, obj=None):
        # The list's action needs change permission; the form itself stays read-only.
        return obj is None and request.user.has_perm("notify.change_emaildelivery")
