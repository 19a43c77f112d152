"""Role-aware navigation: each role sees the pages it works in; beside the signed-in person's
name, everyone sees the notification bell with their unread count."""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from leadflow.accounts.models import Role
from leadflow.notify.models import Notification
from leadflow.transfer.access import may_import
from leadflow.webhooks.access import is_admin


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    visible: Callable = lambda user: True
    # URL names (besides url_name) under which the item is shown as the current section.
    section: frozenset[str] = frozenset()


def is_rep(user) -> bool:
    return user.role in (Role.INSIDE_SALES, Role.FIELD_SALES)


def is_manager(user) -> bool:
    return user.role == Role.MANAGER


def is_arbiter(user) -> bool:
    return user.role == Role.ARBITER


ITEMS = (
    # The page each role works in comes first.
    NavItem("Inbox", "inbox", is_rep, section=frozenset({"inbox_offer", "inbox_decide"})),
    NavItem("Team", "team", is_manager, section=frozenset({"team_reassign", "team_out_of_office"})),
    NavItem("Arbiter queue", "arbiter_queue", is_arbiter, section=frozenset({"arbiter_decide"})),
    NavItem(
        "Leads",
        "lead_list",
        section=frozenset({"lead_detail", "lead_transition", "lead_activity"}),
    ),
    NavItem(
        "Definitions",
        "definition_list",
        lambda user: user.role in (Role.MARKETING, Role.MANAGER),
        section=frozenset({"definition_detail", "definition_diff", "definition_whatif"}),
    ),
    NavItem("Dashboards", "dashboard_home", section=frozenset({"dashboard"})),
    NavItem("Import", "import_home", may_import, section=frozenset({"import_job"})),
    NavItem("Spend", "spend", may_import),
    NavItem("Webhooks", "webhook_list", is_admin, section=frozenset({"webhook_detail"})),
    NavItem("Admin", "admin:index", lambda user: user.is_staff),
    NavItem("API docs", "api-1.0.0:openapi-view"),
)

BELL = NavItem(
    "Notifications",
    "notifications",
    section=frozenset(
        {
            "notification_read",
            "notifications_read_all",
            "subscription_add",
            "subscription_delete",
        }
    ),
)

# Bootstrap Icons' "bell-fill" (MIT licence), inline: the icon font is not vendored.
_BELL_PATH = (
    "M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2m.995-14.901a1 1 0 1 0-1.99 0A5 5 0 0 0 3 6c0 "
    "1.098-.5 6-2 7h14c-1.5-1-2-5.902-2-7 0-2.42-1.72-4.44-4.005-4.901"
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_caption": ""}
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else None

    def link(item: NavItem, label) -> dict:
        active = current == item.url_name or current in item.section
        return {"label": label, "url": reverse(item.url_name), "active": active}

    unread = unread_count(user)
    return {
        "user_caption": caption(user),
        "unread_notifications": unread,
        "nav_items": [link(item, item.label) for item in ITEMS if item.visible(user)],
        "bell": link(BELL, bell_label(unread)),
    }


# The bell shows "99+" beyond this: every page reads at most this many ids from the partial
# index `notification_unread`, however far behind someone is, and never runs a COUNT.
UNREAD_SHOWN = 99


def unread_count(user) -> int:
    """Unread notifications, up to UNREAD_SHOWN + 1 (shown as "99+")."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    return len(unread.values_list("pk", flat=True)[: UNREAD_SHOWN + 1])


def unread_badge(count: int, *, oob: bool = False) -> SafeString:
    """The unread count on the bell. Always present (hidden at zero), so the notification
    centre's htmx answers can replace it out of band after marking notifications read."""
    return format_html(
        '<span id="unread-count" class="badge rounded-pill text-bg-danger ms-1"{}{}>'
        '{}<span class="visually-hidden"> unread</span></span>',
        mark_safe(' hx-swap-oob="true"') if oob else "",
        mark_safe(" hidden") if not count else "",
        f"{UNREAD_SHOWN}+" if count > UNREAD_SHOWN else count,
    )


def bell_label(count: int) -> SafeString:
    return format_html(
        '<svg class="bell align-text-bottom" width="18" height="18" viewBox="0 0 16 16" '
        'fill="currentColor" aria-hidden="true" focusable="false"><path d="{}"/></svg>'
        '<span class="visually-hidden">Notifications</span>{}',
        _BELL_PATH,
        unread_badge(count),
    )


def caption(user) -> str:
    """Role and team under the user's name; the team is left out when the role says it."""
    role = user.get_role_display()
    team = user.team.name if user.team_id else ""
    if not team or role.lower().startswith(team.lower()):
        return role
    return f"{role} · {team}"
