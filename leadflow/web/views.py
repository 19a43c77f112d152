"""The human pages. Each view parses input, calls one action or read model, and renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leadflow.leads import access, actions, lifecycle
from leadflow.leads.models import Lead, Stage
from leadflow.web import presenters
from leadflow.web.forms import LeadFilterForm, TransitionForm, reasons_by_kind

LEADS_PER_PAGE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("lead_list")


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
    lead = _lead_or_404(request, pk)
    return render(request, "web/lead_detail.html", _panel_context(request, lead))


@login_required
@require_POST
def lead_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Take one transition from the lead page: with htmx the lead panel is swapped in place;
    without JavaScript the browser is redirected (success) or the page is shown again."""
    lead = _lead_or_404(request, pk)
    t = _row_for(request.POST.get("transition", ""), request.POST.get("to", ""), lead.stage)
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
            error=_sentence(refusal.message),
            conflict=True,
        )
    except lifecycle.TransitionError as refusal:
        error = None if form.attach(refusal) else _sentence(refusal.message)
        return _panel_response(request, lead, status=refusal.status, form=form, error=error)

    notice = (
        f"{t.label}: done. The lead is now at {Stage(done.stage).label}, "
        f"{presenters.owner_phrase(done)}."
    )
    still_visible = access.visible_leads(request.user).filter(pk=done.pk).exists()
    if not _is_htmx(request):
        messages.success(request, notice)
        return redirect("lead_detail", pk=done.pk) if still_visible else redirect("lead_list")
    if still_visible:
        done = access.lead_for(request.user, done.pk)
    else:
        # The actor just moved the lead out of their team's reach: show them the outcome once.
        done = Lead.objects.select_related(*LEAD_RELATED).get(pk=done.pk)
    return _panel_response(request, done, status=200, notice=notice, gone=not still_visible)


LEAD_RELATED = ("owner", "owner_team", "source", "campaign", "account")


def _lead_or_404(request: HttpRequest, pk: int) -> Lead:
    try:
        return access.lead_for(request.user, pk)
    except access.LeadNotFound:
        raise Http404("This lead does not exist or is not one of your team's leads.") from None


def _row_for(name: str, to: str, stage: str) -> lifecycle.Transition | None:
    """The table row a posted form was built for; the one from the lead's stage if possible.

    A stale page may post a row that no longer applies: the action then refuses it with a
    Conflict (the version moved on), which is the message the person needs.
    """
    rows = [t for t in lifecycle.TRANSITIONS if t.name == name and t.target == to]
    return next((t for t in rows if t.source == stage), rows[0] if rows else None)


def _sentence(message: str) -> str:
    """A lifecycle message (shared with the API) written as a sentence on the page."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _panel_response(request: HttpRequest, lead: Lead, *, status: int, **kwargs) -> HttpResponse:
    template = "web/_lead_panel.html" if _is_htmx(request) else "web/lead_detail.html"
    response = render(request, template, _panel_context(request, lead, **kwargs), status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _panel_context(
    request: HttpRequest,
    lead: Lead,
    *,
    form: TransitionForm | None = None,
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
    return {
        "lead": lead,
        "owner_label": presenters.owner_label(lead),
        "owner_phrase": presenters.owner_phrase(lead),
        "action_forms": forms,
        "handoff": presenters.current_handoff(lead),
        "opportunities": lead.opportunities.select_related("owner").order_by("-created_at"),
        "timeline": presenters.timeline(lead),
        "error": error,
        "conflict": conflict,
        "notice": notice,
        "gone": gone,
    }
