"""Who may import and export: marketing (who create leads) and admins (DOMAIN.md roles)."""

from leadflow.accounts.models import Role
from leadflow.leads import lifecycle


def may_import(user) -> bool:
    if not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or user.role == Role.ADMIN
        or lifecycle.MKT in lifecycle.actor_roles(user)
    )
