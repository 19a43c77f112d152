"""The Django admin for every model. Stage, owner and hand-off decisions are read-only here:
they change only through the lifecycle actions, so the admin cannot bypass the rules."""

from django.contrib import admin

from leadflow.leads.models import (
    Account,
    Activity,
    Campaign,
    Handoff,
    Lead,
    LeadDefinition,
    Opportunity,
    OutboxEvent,
    ReasonCode,
    RoutingRule,
    SlaPolicy,
    Source,
    Spend,
    StageChange,
)

LIFECYCLE_FIELDS = ("stage", "owner", "owner_team", "sql_evidence", "version", "stage_changed_at")


class ViewOnlyAdmin(admin.ModelAdmin):
    """For records leadflow writes itself as things happen: shown, never added, edited or
    deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "channel")
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "external_id", "started_on", "ended_on")
    list_filter = ("source",)
    search_fields = ("name", "external_id")


@admin.register(Spend)
class SpendAdmin(admin.ModelAdmin):
    list_display = ("month", "source", "campaign", "amount", "currency")
    list_filter = ("source",)
    date_hierarchy = "month"


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain")
    search_fields = ("name", "domain")


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "kind", "reason_class", "disqualifies", "active")
    list_filter = ("kind", "reason_class", "active")


@admin.register(LeadDefinition)
class LeadDefinitionAdmin(ViewOnlyAdmin):
    """View only: a definition is written, proposed and signed on the definitions pages
    (leadflow.scoring.definitions), where its document is validated and both sides approve.
    An edit here would skip the sign-off, and the database refuses changes to a signed one."""

    list_display = ("version", "status", "created_at", "activated_at")
    list_filter = ("status",)


class HistoryInline(admin.TabularInline):
    model = StageChange
    fk_name = "lead"
    extra = 0
    can_delete = False
    fields = ("at", "transition", "from_stage", "to_stage", "actor", "reason", "comment")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("__str__", "company", "source", "stage", "owner", "owner_team", "created_at")
    list_filter = ("stage", "source", "owner_team")
    search_fields = ("email", "last_name", "company", "external_id")
    list_select_related = ("source", "owner", "owner_team")
    raw_id_fields = ("account", "campaign")
    readonly_fields = LIFECYCLE_FIELDS
    inlines = [HistoryInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # leads enter through create_lead (UI, API, import), which writes history

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "offered_to", "offered_to_team", "accept_by", "decision")
    list_filter = ("kind", "decision", "offered_to_team")
    raw_id_fields = ("lead",)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "stage", "amount", "currency", "expected_close")
    list_filter = ("stage",)
    raw_id_fields = ("lead", "account")
    readonly_fields = ("stage", "outcome_reason", "closed_at", "version")


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("lead", "kind", "occurred_at", "source_system")
    list_filter = ("kind", "source_system")
    raw_id_fields = ("lead", "campaign")
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "lead", "entity", "transition", "from_stage", "to_stage", "actor")
    list_filter = ("entity", "transition", "to_stage")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "name", "side", "team", "conditions", "active")
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("side", "team", "active")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("team", "kind", "priority", "accept_within_hours", "first_touch_within_hours")
    list_filter = ("team", "kind", "priority")


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "lead", "created_at", "processed_at")
    list_filter = ("name",)
    raw_id_fields = ("lead",)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
