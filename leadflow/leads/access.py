"""Who may see which leads, in one place (DOMAIN.md: a person sees their own team's leads;
managers their teams'; the arbiter and admins all; and a rep, the leads once offered to them).
Views and the API never filter by permission themselves: they ask here.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from leadflow.accounts.models import Role
from leadflow.leads.models import Handoff, Lead


class LeadNotFound(Exception):
    """The same error for 'no such lead' and 'not yours to see': existence is not leaked."""

    code = "not-found"
    status = 404


def visible_leads(user) -> QuerySet[Lead]:
    leads = Lead.objects.all()
    if user.role in (Role.ARBITER, Role.ADMIN) or user.is_superuser:
        return leads
    # A rep also keeps sight of every lead once offered to them, to follow what became of a
    # lead they rejected or returned (the arbiter's decision) or handed on.
    scope = Q(owner=user) | Q(
        Exists(Handoff.objects.filter(lead=OuterRef("pk"), offered_to=user))
    )
    if user.team_id:
        scope |= Q(owner_team_id=user.team_id)
    return leads.filter(scope)


def lead_for(user, lead_id) -> Lead:
    """The lead `user` may see, with its owner and source loaded, or LeadNotFound."""
    try:
        return (
            visible_leads(user)
            .select_related("owner", "owner_team", "source", "campaign", "account")
            .get(pk=lead_id)
        )
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise LeadNotFound(f"lead {lead_id} not found") from None
