"""The human pages. Each view parses input, calls one action or read model, and renders.

This module holds the start page, the lead list and the lead page, and the helpers every view
module shares (`is_htmx`, `render_fragment`, `lead_or_404`, `row_for`, `sentence`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leadflow.accounts.models import Role
from leadflow.leads import access, actions, lifecycle
from leadflow.leads.models import Handoff, Lead, Stage
from leadflow.web import presenters
from leadflow.web.forms import ActivityForm, LeadFilterForm, TransitionForm, reasons_by_kind

LEADS_PER_PAGE = 50

# Where each role starts: the page it works in.
START_PAGE = {
    Role.INSIDE_SALES: "inbox",
    Role.FIELD_SALES: "inbox",
    Role.MANAGER: "team",
    Role.ARBITER: "arbiter_queue",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The start page of the signed-in person's role; the lead list for everyone else."""
    return redirect(START_PAGE.get(request.user.role, "lead_list"))


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    form = LeadFilterForm(request.GET, user=request.user)
    leads = (
        form.apply(access.visible_leads(request.user))
        .select_related("source", "owner", "owner_team")
        .order_by("-created_at", "-id")
    )
    page = presenters.row_page(leads, request.GET.get("page"), LEADS_PER_PAGE)
    return render(request, "web/lead_list.html", {"form": form, "page": page})


@login_required
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request, pk)
    return render(request, "web/lead_detail.html", _panel_context(request, lead))


@login_required
@require_POST
def lead_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Take one transition from the lead page: with htmx the lead panel is swapped in place;
    without JavaScript the browser is redirected (success) or the page is shown again."""
    lead = lead_or_404(request, pk)
    t = row_for(request.POST.get("transition", ""), request.POST.get("to", ""), lead.stage)
    if t is None:
        return _panel_response(
            request, lead, status=400, error="This action does not exist. Reload the page."
        )
    form = TransitionForm(
        request.POST, transition=t, lead=lead, reasons=reasons_by_kind([t]).get(t.reason_kind, ())
    )
    if not form.is_valid():
        error = None
        if any(name in form.errors for name in ("transition", "to", "seen_version")):
            error = "This form is incomplete. Reload the page and try again."
        return _panel_response(request, lead, status=422, form=form, error=error)
    try:
        done = actions.transition(
            lead,
            t.name,
            to=t.target,
            actor=request.user,
            seen_version=form.cleaned_data["seen_version"],
            **form.inputs(),
        )
    except lifecycle.Conflict as refusal:
        # The page now shows the lead as it is; keep what was typed, against the new version.
        data = request.POST.copy()
        data["seen_version"] = str(lead.version)
        form = TransitionForm(data, transition=t, lead=lead, reasons=form.reasons)
        return _panel_response(
            request,
            lead,
            status=refusal.status,
            form=form,
            error=sentence(refusal.message),
            conflict=True,
        )
    except lifecycle.TransitionError as refusal:
        error = None if form.attach(refusal) else sentence(refusal.message)
        return _panel_response(request, lead, status=refusal.status, form=form, error=error)

    notice = (
        f"{t.label}: done. The lead is now at {Stage(done.stage).label}, "
        f"{presenters.owner_phrase(done)}."
    )
    still_visible = access.visible_leads(request.user).filter(pk=done.pk).exists()
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("lead_detail", pk=done.pk) if still_visible else redirect("lead_list")
    if still_visible:
        done = access.lead_for(request.user, done.pk)
    else:
        # The actor just moved the lead out of their team's reach: show them the outcome once.
        done = Lead.objects.select_related(*LEAD_RELATED).get(pk=done.pk)
    return _panel_response(request, done, status=200, notice=notice, gone=not still_visible)


LEAD_RELATED = ("owner", "owner_team", "source", "campaign", "account")


@login_required
@require_POST
def lead_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call, meeting or note from the lead page. The first one after an offer was
    accepted is the hand-off's first touch: `actions.log_activity` stops that clock."""
    lead = lead_or_404(request, pk)
    if not may_log_activity(request.user, lead):
        return _panel_response(
            request,
            lead,
            status=403,
            error="Only the lead's owner, or a manager of its team, logs activities on it.",
        )
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, lead, status=422, activity_form=form)
    activity = actions.log_activity(
        lead, form.cleaned_data["kind"], actor=request.user, detail=form.cleaned_data["detail"]
    )
    notice = f"{activity.get_kind_display()} logged."
    if Handoff.objects.filter(lead=lead, first_touch_at=activity.occurred_at).exists():
        notice += " It is the first touch since the lead was accepted: that clock has stopped."
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("lead_detail", pk=lead.pk)
    return _panel_response(request, lead, status=200, notice=notice)


def may_log_activity(user, lead: Lead) -> bool:
    """Who works a lead logs its sales activities: its owner, or a manager of the team that
    owns it (the lifecycle's rule for acting on a lead someone else owns)."""
    if lead.owner_id is not None and lead.owner_id == user.pk:
        return True
    return (
        user.role == Role.MANAGER
        and user.team_id is not None
        and (user.team_id == lead.owner_team_id)
    )


def lead_or_404(request: HttpRequest, pk: int) -> Lead:
    """The lead the signed-in person may see; the same 404 for missing and not theirs."""
    try:
        return access.lead_for(request.user, pk)
    except access.LeadNotFound:
        raise Http404("This lead does not exist or is not one of your team's leads.") from None


def row_for(name: str, to: str, stage: str) -> lifecycle.Transition | None:
    """The table row a posted form was built for; the one from the lead's stage if possible.

    A stale page may post a row that no longer applies: the action then refuses it with a
    Conflict (the version moved on), which is the message the person needs.
    """
    rows = [t for t in lifecycle.TRANSITIONS if t.name == name and t.target == to]
    return next((t for t in rows if t.source == stage), rows[0] if rows else None)


def sentence(message: str) -> str:
    """A lifecycle message (shared with the API) written as a sentence on the page."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def render_fragment(
    request: HttpRequest, template: str, context: dict, *, status: int
) -> HttpResponse:
    """Render a page or a fragment htmx swaps in; caches keep the two apart."""
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _panel_response(request: HttpRequest, lead: Lead, *, status: int, **kwargs) -> HttpResponse:
    template = "web/_lead_panel.html" if is_htmx(request) else "web/lead_detail.html"
    context = _panel_context(request, lead, **kwargs)
    return render_fragment(request, template, context, status=status)


def _panel_context(
    request: HttpRequest,
    lead: Lead,
    *,
    form: TransitionForm | None = None,
    activity_form: ActivityForm | None = None,
    error: str | None = None,
    conflict: bool = False,
    notice: str | None = None,
    gone: bool = False,
) -> dict:
    state = actions.load_state(lead)
    transitions = [] if gone else actions.available_transitions(lead, request.user, state)
    reasons = reasons_by_kind(transitions)
    forms = []
    for t in transitions:
        if form is not None and form.t == t:
            forms.append(form)  # the posted one, with its values and errors
        else:
            forms.append(
                TransitionForm(transition=t, lead=lead, reasons=reasons.get(t.reason_kind, ()))
            )
    if activity_form is None and not gone and may_log_activity(request.user, lead):
        activity_form = ActivityForm()
    return {
        "lead": lead,
        "owner_label": presenters.owner_label(lead),
        "owner_phrase": presenters.owner_phrase(lead),
        "action_forms": forms,
        "activity_form": activity_form,
        "handoff": presenters.current_handoff(lead),
        "opportunities": lead.opportunities.select_related("owner").order_by("-created_at"),
        "timeline": presenters.timeline(lead),
        "error": error,
        "conflict": conflict,
        "notice": notice,
        "gone": gone,
    }
