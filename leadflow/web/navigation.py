"""Role-aware navigation: each role sees the pages it works in."""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    visible: Callable = lambda user: True
    # URL names (besides url_name) under which the item is shown as the current section.
    section: frozenset[str] = frozenset()


ITEMS = (
    NavItem("Leads", "lead_list", section=frozenset({"lead_detail", "lead_transition"})),
    NavItem("Admin", "admin:index", lambda user: user.is_staff),
    NavItem("API docs", "api-1.0.0:openapi-view"),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_caption": ""}
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match else None
    return {
        "user_caption": caption(user),
        "nav_items": [
            {
                "label": item.label,
                "url": reverse(item.url_name),
                "active": current == item.url_name or current in item.section,
            }
            for item in ITEMS
            if item.visible(user)
        ],
    }


def caption(user) -> str:
    """Role and team under the user's name; the team is left out when the role says it."""
    role = user.get_role_display()
    team = user.team.name if user.team_id else ""
    if not team or role.lower().startswith(team.lower()):
        return role
    return f"{role} · {team}"
