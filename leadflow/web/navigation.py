"""Role-aware navigation: each role sees the pages it works in."""

from leadflow.accounts.models import Role

ALL = frozenset(Role.values)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("Leads", "lead_list", ALL)]
    if user.role == Role.ADMIN or user.is_staff:
        items.append(("Admin", "admin:index", ALL))
    items.append(("API docs", "api-1.0.0:openapi-view", ALL))
    return {"nav_items": [(label, name) for label, name, roles in items if user.role in roles]}
