"""The rep's inbox: what is offered to them (and to their team's queue), due first, with
Accept and Reject on each row; below it, the leads they accepted that still wait for a first
touch. Decisions go through `actions.transition`, like the lead page's forms. The SLA clocks
are `presenters.Clock`, shared with the manager's team view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from leadflow.leads import actions, lifecycle
from leadflow.leads.models import Decision, Handoff, Lead, Priority, Source, Stage
from leadflow.leads.routing import DatabaseServices
from leadflow.web import presenters
from leadflow.web.forms import TransitionForm, reasons_by_kind
from leadflow.web.presenters import Clock, clock, offer_clock
from leadflow.web.views import (
    is_htmx,
    lead_or_404,
    render_fragment,
    row_for,
    sentence,
)

OFFERS_PER_PAGE = 50
FIRST_TOUCH_LIMIT = 50
INBOX_TRANSITIONS = ("accept", "reject")
OFFER_RELATED = ("lead__source", "lead__campaign", "offered_to", "offered_to_team")


# --- what the inbox lists --------------------------------------------------------------------


def pending_offers(user) -> QuerySet[Handoff]:
    """Open offers made to `user`, and to their team's queue, deadline first.

    These leads are the user's by construction (an offer makes its receiver the lead's owner,
    or its team the owning team), so this is the inbox's definition, not a permission filter;
    every decision is still checked by `actions.transition`.
    """
    mine = Q(offered_to=user)
    if user.team_id:
        mine |= Q(offered_to__isnull=True, offered_to_team_id=user.team_id)
    return (
        Handoff.objects.filter(mine, decision=Decision.PENDING)
        .select_related(*OFFER_RELATED)
        .order_by("accept_by", "id")
    )


def awaiting_first_touch(user) -> QuerySet[Handoff]:
    """Offers `user` accepted whose lead is still theirs and not yet touched (call, meeting or
    note), first-touch deadline first."""
    return (
        Handoff.objects.filter(
            offered_to=user,
            lead__owner=user,
            decision=Decision.ACCEPTED,
            first_touch_at__isnull=True,
            returned_at__isnull=True,
            first_touch_by__isnull=False,
            lead__stage__in=(Stage.SAL, Stage.SQL),
        )
        .select_related(*OFFER_RELATED)
        .order_by("first_touch_by", "id")
    )


class InboxFilterForm(forms.Form):
    offered = forms.ChoiceField(
        required=False,
        label="Offered to",
        choices=[("", "Me and my team's queue"), ("me", "Me"), ("queue", "My team's queue")],
    )
    priority = forms.ChoiceField(
        required=False, label="Priority", choices=[("", "Any priority"), *Priority.choices]
    )
    source = forms.ModelChoiceField(
        required=False, label="Source", queryset=Source.objects.all(), empty_label="Any source"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="filter_%s", **kwargs)
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-select form-select-sm"

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in self.fields)

    def apply(self, offers: QuerySet[Handoff]) -> QuerySet[Handoff]:
        """Narrow by the valid filters; invalid ones are reported, not applied."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("offered") == "me":
            offers = offers.filter(offered_to__isnull=False)
        elif data.get("offered") == "queue":
            offers = offers.filter(offered_to__isnull=True)
        if data.get("priority"):
            offers = offers.filter(lead__priority=data["priority"])
        if data.get("source"):
            offers = offers.filter(lead__source=data["source"])
        return offers

    def params(self) -> dict[str, str]:
        """The filters as they are in the URL, to keep them in the page's own links."""
        return {name: self.data[name] for name in self.fields if self.data.get(name)}


# --- one row of the inbox --------------------------------------------------------------------


@dataclass
class OfferRow:
    offer: Handoff
    clock: Clock
    accept: TransitionForm | None = None
    reject: TransitionForm | None = None
    can_reject: bool = False
    reject_open: bool = False
    error: str | None = None
    conflict: bool = False
    # Links that open and close the reject form without JavaScript, filters kept.
    reject_href: str = ""
    cancel_href: str = ""

    @property
    def lead(self) -> Lead:
        return self.offer.lead


@dataclass
class Outcome:
    """A row after the decision: what happened, in a sentence."""

    lead: Lead
    decision: str  # accepted, rejected, or gone (decided elsewhere meanwhile)
    notice: str
    first_touch_by: datetime | None = None


def _decision_rows(lead: Lead, user) -> dict[str, lifecycle.Transition]:
    """Accept and reject from the lead's stage, if the user's role may take them at all."""
    roles = user.acting_roles
    return {
        t.name: t
        for t in lifecycle.transitions_from(lead.stage)
        if t.name in INBOX_TRANSITIONS and roles & t.roles
    }


def _reject_form(t, lead: Lead, data=None, reasons=None) -> TransitionForm:
    if reasons is None:
        reasons = reasons_by_kind([t]).get(t.reason_kind, ())
    form = TransitionForm(data, transition=t, lead=lead, reasons=reasons)
    # Several rows may have their form open: keep their element ids apart.
    form.auto_id = f"id_offer{lead.pk}_%s"
    return form


def offer_row(
    offer: Handoff,
    user,
    now: datetime,
    services: DatabaseServices,
    *,
    params: dict[str, str] | None = None,
    reject_open: bool = False,
    reject_form: TransitionForm | None = None,
    reasons=None,
    error: str | None = None,
    conflict: bool = False,
) -> OfferRow:
    lead = offer.lead
    rows = _decision_rows(lead, user)
    params = params or {}
    base = reverse("inbox")
    row = OfferRow(
        offer=offer,
        clock=offer_clock(offer, now, services),
        error=error,
        conflict=conflict,
        reject_href=f"{base}?{urlencode({**params, 'reject': lead.pk})}#offer-{lead.pk}",
        cancel_href=f"{base}?{urlencode(params)}#offer-{lead.pk}" if params else base,
    )
    if "accept" in rows:
        row.accept = TransitionForm(transition=rows["accept"], lead=lead)
        row.accept.auto_id = False  # hidden inputs only; one such form on every row
    if "reject" in rows:
        row.can_reject = True
        row.reject_open = reject_open or reject_form is not None
        if reject_form is not None:
            row.reject = reject_form
        elif row.reject_open:
            row.reject = _reject_form(rows["reject"], lead, reasons=reasons)
            # Opened by the rep: the keyboard goes straight to the reason picker.
            row.reject.fields["reason"].widget.attrs["autofocus"] = True
    return row


@dataclass
class Summary:
    """The line above the offers: "3 offers · 1 overdue · 2 at risk"."""

    offers: int = 0
    overdue: int = 0
    at_risk: int = 0
    more: bool = False  # another page follows: the counts are this page's

    @classmethod
    def of(cls, clocks: list[Clock], page: presenters.RowPage) -> Summary:
        return cls(
            offers=len(clocks),
            overdue=sum(c.overdue for c in clocks),
            at_risk=sum(c.at_risk for c in clocks),
            more=page.has_next,
        )


def first_touch_rows(user, now: datetime, services: DatabaseServices) -> list[tuple]:
    rows = []
    for offer in awaiting_first_touch(user)[:FIRST_TOUCH_LIMIT]:
        calendar = services.calendar(offer.offered_to_team)
        started = offer.decided_at or offer.offered_at
        rows.append((offer, clock(calendar, started, offer.first_touch_by, now)))
    return rows


# --- the pages -------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "web/inbox.html", _inbox_context(request))


def _inbox_context(request: HttpRequest, *, replace: OfferRow | None = None) -> dict:
    user = request.user
    form = InboxFilterForm(request.GET)
    offers = form.apply(pending_offers(user))
    page = presenters.row_page(offers, request.GET.get("page"), OFFERS_PER_PAGE)
    now = timezone.now()
    services = DatabaseServices()
    params = form.params()
    open_id = request.GET.get("reject", "")
    reasons = None
    if open_id:
        reasons = reasons_by_kind([t for t in lifecycle.TRANSITIONS if t.name == "reject"])
        reasons = reasons.get("reject", ())
    rows = []
    for offer in page.rows:
        if replace is not None and replace.offer.pk == offer.pk:
            rows.append(replace)
            continue
        rows.append(
            offer_row(
                offer,
                user,
                now,
                services,
                params=params,
                reject_open=str(offer.lead_id) == open_id,
                reasons=reasons,
            )
        )
    return {
        "form": form,
        "page": page,
        "rows": rows,
        "params": params,
        "summary": Summary.of([r.clock for r in rows], page),
        "first_touch": first_touch_rows(user, now, services),
        "next_url": request.get_full_path(),
    }


@login_required
@require_GET
def inbox_offer(request: HttpRequest, pk: int) -> HttpResponse:
    """One row, for htmx: `?reject=1` opens its reject form, without it the form closes."""
    lead = lead_or_404(request, pk)
    if not is_htmx(request):
        # Opened as a page: the inbox, with this row's form open if asked.
        query = f"?reject={lead.pk}#offer-{lead.pk}" if request.GET.get("reject") else ""
        return redirect(reverse("inbox") + query)
    return _offer_response(request, lead, status=200, reject_open=bool(request.GET.get("reject")))


@login_required
@require_POST
def inbox_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or reject an offer from its inbox row: with htmx the row is swapped in place;
    without JavaScript the browser goes back to the inbox (or sees the form again)."""
    lead = lead_or_404(request, pk)
    name = request.POST.get("transition", "")
    t = None
    if name in INBOX_TRANSITIONS:
        t = row_for(name, request.POST.get("to", ""), lead.stage)
    if t is None:
        return _offer_response(
            request, lead, status=400, error="This action does not exist. Reload the page."
        )
    is_reject = t.name == "reject"
    form = (
        _reject_form(t, lead, request.POST)
        if is_reject
        else TransitionForm(request.POST, transition=t, lead=lead)
    )
    if not form.is_valid():
        error = None
        if any(name in form.errors for name in ("transition", "to", "seen_version")):
            error = "This form is incomplete. Reload the page and try again."
        return _offer_response(
            request, lead, status=422, reject_form=form if is_reject else None, error=error
        )
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
        lead = lead_or_404(request, pk)
        if is_reject:
            # Keep what was typed, against the version the page now shows.
            data = request.POST.copy()
            data["seen_version"] = str(lead.version)
            form = _reject_form(t, lead, data, reasons=form.reasons)
        return _offer_response(
            request,
            lead,
            status=refusal.status,
            reject_form=form if is_reject and lead.stage == t.source else None,
            error=sentence(refusal.message),
            conflict=True,
        )
    except lifecycle.TransitionError as refusal:
        error = None if form.attach(refusal) else sentence(refusal.message)
        return _offer_response(
            request,
            lead,
            status=refusal.status,
            reject_form=form if is_reject else None,
            error=error,
        )

    outcome = _outcome(done, t)
    if not is_htmx(request):
        messages.success(request, outcome.notice)
        return redirect(_next_url(request))
    now = timezone.now()
    context = {"outcome": outcome, "lead": done, **_summary_oob(request, now)}
    if t.name == "accept":
        context["first_touch"] = first_touch_rows(request.user, now, DatabaseServices())
        context["first_touch_oob"] = True
    return render_fragment(request, "web/_inbox_outcome.html", context, status=200)


def _summary_oob(request: HttpRequest, now: datetime) -> dict:
    """The inbox summary as it now stands, for htmx to replace out of band once a row has
    turned into its outcome: the page the decision came from (its filters and page number,
    from `next`), counted again."""
    query = QueryDict(urlsplit(_next_url(request)).query)
    offers = InboxFilterForm(query).apply(pending_offers(request.user))
    page = presenters.row_page(offers, query.get("page"), OFFERS_PER_PAGE)
    services = DatabaseServices()
    clocks = [offer_clock(offer, now, services) for offer in page.rows]
    return {"summary": Summary.of(clocks, page), "summary_oob": True}


def _outcome(lead: Lead, t: lifecycle.Transition) -> Outcome:
    if t.name == "accept":
        offer = lead.handoffs.order_by("-id").first()
        return Outcome(
            lead=lead,
            decision="accepted",
            notice=f"Accepted: {lead} is yours, at {Stage(lead.stage).label}.",
            first_touch_by=offer.first_touch_by if offer else None,
        )
    entry = lead.history.select_related("reason").order_by("-at", "-id").first()
    reason = f" ({entry.reason.label})" if entry and entry.reason else ""
    return Outcome(
        lead=lead,
        decision="rejected",
        notice=f"Rejected: {lead} went to the arbiter with your reason{reason}.",
    )


def _offer_response(
    request: HttpRequest,
    lead: Lead,
    *,
    status: int,
    reject_open: bool = False,
    reject_form: TransitionForm | None = None,
    error: str | None = None,
    conflict: bool = False,
) -> HttpResponse:
    """The lead's row as it is now: still pending for this user, or a sentence saying where
    the lead went (someone else decided it meanwhile)."""
    offer = pending_offers(request.user).filter(lead=lead).first()
    now = timezone.now()
    if offer is None:
        lead = lead_or_404(request, lead.pk)
        gone = Outcome(
            lead=lead,
            decision="gone",
            notice=(
                f"{lead} is no longer waiting for your decision: it is at "
                f"{Stage(lead.stage).label}, {presenters.owner_phrase(lead)}."
            ),
        )
        if not is_htmx(request):
            messages.info(request, gone.notice)
            return redirect(_next_url(request))
        context = {
            "outcome": gone,
            "lead": lead,
            "error": error,
            "conflict": conflict,
            **_summary_oob(request, now),
        }
        return render_fragment(request, "web/_inbox_outcome.html", context, status=status)
    row = offer_row(
        offer,
        request.user,
        now,
        DatabaseServices(),
        reject_open=reject_open,
        reject_form=reject_form,
        error=error,
        conflict=conflict,
    )
    if not is_htmx(request) and request.method == "POST":
        # Without JavaScript: the whole inbox again, this row showing its form and errors.
        context = _inbox_context(request, replace=row)
        return render_fragment(request, "web/inbox.html", context, status=status)
    return render_fragment(request, "web/_inbox_offer.html", {"row": row}, status=status)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("inbox")
