"""Admin for intake: web forms (set up here); their rejected posts, per-address post counts and
API idempotency keys (read-only: records of what arrived)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from leadflow.intake.models import ClientPosts, IdempotencyKey, RejectedPost, WebForm


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "source", "campaign", "owner", "active", "post_to")
    list_filter = ("active", "source")
    search_fields = ("name", "key")
    readonly_fields = ("post_to",)

    @admin.display(description="Form action")
    def post_to(self, form: WebForm) -> str:
        if not form.pk:
            return "-"
        return format_html(
            "<code>{}</code> or Salesforce's <code>{}</code> with oid={}",
            reverse("intake_form_post", args=[form.key]),
            reverse("intake_salesforce") + "?encoding=UTF-8",
            form.key,
        )


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RejectedPost)
class RejectedPostAdmin(ReadOnly):
    list_display = ("at", "form", "form_key", "client_address", "reason", "detail")
    list_filter = ("reason", "form")
    search_fields = ("client_address", "form_key", "detail")
    date_hierarchy = "at"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnly):
    list_display = ("key", "user", "created_at", "status")
    search_fields = ("key",)
    list_filter = ("status",)


@admin.register(ClientPosts)
class ClientPostsAdmin(ReadOnly):
    list_display = ("client_address", "window", "posts")
    search_fields = ("client_address",)
