"""The manager's team view: the team's pending hand-offs that are overdue or at risk, by rep;
each rep's open offers against their cap and whether they are out of office. A hand-off is
reassigned with the lifecycle's `reassign` transition; out of office is a user attribute that
routing reads, not a lifecycle change, so it is set here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from leadflow.accounts.models import Role, Team, User
from leadflow.leads import actions, lifecycle
from leadflow.leads.models import Decision, Handoff, Lead
from leadflow.leads.routing import REP_ROLE, DatabaseServices
from leadflow.web.forms import TransitionForm
from leadflow.web.presenters import Clock, offer_clock
from leadflow.web.views import is_htmx, lead_or_404, render_fragment, row_for, sentence
from leadflow.web.views_inbox import OFFER_RELATED


@dataclass
class TeamOffer:
    offer: Handoff
    clock: Clock
    reassign: TransitionForm | None = None
    error: str | None = None
    conflict: bool = False

    @property
    def lead(self) -> Lead:
        return self.offer.lead


@dataclass
class RepLine:
    rep: User
    open_offers: int
    overdue: int = 0
    at_risk: int = 0

    @property
    def at_cap(self) -> bool:
        return self.open_offers >= self.rep.max_open_offers

    @property
    def load_percent(self) -> int:
        cap = self.rep.max_open_offers
        return min(100, round(100 * self.open_offers / cap)) if cap else 100


@dataclass
class Group:
    """The hand-offs of one rep (or of the team's queue) on the board."""

    label: str
    rep: User | None
    offers: list[TeamOffer] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(o.clock.overdue for o in self.offers)

    @property
    def at_risk(self) -> int:
        return sum(o.clock.at_risk for o in self.offers)


@dataclass
class Board:
    team: Team
    reps: list[RepLine]
    groups: list[Group]
    pending: int
    overdue: int
    at_risk: int
    show_all: bool

    @property
    def out_of_office(self) -> int:
        return sum(line.rep.out_of_office for line in self.reps)

    @property
    def shown(self) -> int:
        return sum(len(g.offers) for g in self.groups)


def managed_team(request: HttpRequest) -> Team | None:
    user = request.user
    return user.team if user.role == Role.MANAGER and user.team_id else None


def team_reps(team: Team) -> list[User]:
    """The team's active reps (the people routing offers to), with their open offers."""
    role = REP_ROLE.get(team.side)
    if role is None:
        return []
    return list(
        User.objects.filter(team=team, role=role, is_active=True)
        .annotate(
            open_offers=Count(
                "handoffs_offered", filter=Q(handoffs_offered__decision=Decision.PENDING)
            )
        )
        .order_by("first_name", "last_name", "username")
    )


def board(team: Team, now: datetime, *, show_all: bool = False) -> Board:
    services = DatabaseServices()
    reps = team_reps(team)
    lines = {rep.pk: RepLine(rep, rep.open_offers) for rep in reps}
    offers = (
        Handoff.objects.filter(decision=Decision.PENDING, offered_to_team=team)
        .select_related(*OFFER_RELATED)
        .order_by("accept_by", "id")
    )
    queue = Group(f"{team} queue", None)
    groups: dict[int, Group] = {rep.pk: Group(str(rep), rep) for rep in reps}
    pending = overdue = at_risk = 0
    for offer in offers:
        item = TeamOffer(offer, offer_clock(offer, now, services))
        pending += 1
        overdue += item.clock.overdue
        at_risk += item.clock.at_risk
        line = lines.get(offer.offered_to_id)
        if line is not None:
            line.overdue += item.clock.overdue
            line.at_risk += item.clock.at_risk
        if not show_all and item.clock.status == "on_track":
            continue
        if offer.offered_to_id is None:
            group = queue
        else:
            group = groups.setdefault(offer.offered_to_id, Group(str(offer.offered_to), None))
        group.offers.append(item)
    for group in [queue, *groups.values()]:
        for item in group.offers:
            item.reassign = reassign_form(item.lead, reps, current=item.offer.offered_to_id)
    return Board(
        team=team,
        reps=list(lines.values()),
        groups=[g for g in [queue, *groups.values()] if g.offers],
        pending=pending,
        overdue=overdue,
        at_risk=at_risk,
        show_all=show_all,
    )


def reassign_form(lead: Lead, reps: list[User], *, current=None, data=None):
    """The lead page's `reassign` form, its choices limited to the team's reps (and listed
    from `reps`, so a board of many rows asks the database once)."""
    t = row_for("reassign", lead.stage, lead.stage)
    if t is None or t.name != "reassign":
        return None
    form = TransitionForm(data, transition=t, lead=lead)
    form.auto_id = f"id_reassign{lead.pk}_%s"
    assignee = form.fields["assignee"]
    assignee.queryset = assignee.queryset.filter(pk__in=[rep.pk for rep in reps])
    assignee.choices = [("", "Choose a rep…")] + [
        (rep.pk, rep_option(rep)) for rep in reps if rep.pk != current
    ]
    return form


def rep_option(rep: User) -> str:
    load = f"{rep.open_offers} of {rep.max_open_offers} open"
    return f"{rep} ({load}, out of office)" if rep.out_of_office else f"{rep} ({load})"


# --- the pages -------------------------------------------------------------------------------


@login_required
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    team = managed_team(request)
    if team is None:
        return _not_a_manager(request)
    show_all = request.GET.get("show") == "all"
    return render(
        request,
        "web/team.html",
        {"board": board(team, timezone.now(), show_all=show_all), "show_all": show_all},
    )


@login_required
@require_POST
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Reassign a hand-off to another rep of the team, in one action (`reassign`)."""
    team = managed_team(request)
    if team is None:
        return _not_a_manager(request)
    lead = lead_or_404(request, pk)
    reps = team_reps(team)
    form = reassign_form(lead, reps, data=request.POST)
    if form is None:
        return _row_response(
            request,
            team,
            lead,
            status=409,
            error=f"A lead at {lead.get_stage_display()} cannot be reassigned.",
        )
    if not form.is_valid():
        error = None
        if any(name in form.errors for name in ("transition", "to", "seen_version")):
            error = "This form is incomplete. Reload the page and try again."
        return _row_response(request, team, lead, status=422, form=form, error=error)
    try:
        done = actions.transition(
            lead,
            "reassign",
            to=lead.stage,
            actor=request.user,
            seen_version=form.cleaned_data["seen_version"],
            assignee=form.cleaned_data["assignee"],
        )
    except lifecycle.Conflict as refusal:
        return _row_response(
            request,
            team,
            lead_or_404(request, pk),
            status=refusal.status,
            error=sentence(refusal.message),
            conflict=True,
        )
    except lifecycle.TransitionError as refusal:
        error = None if form.attach(refusal) else sentence(refusal.message)
        return _row_response(request, team, lead, status=refusal.status, form=form, error=error)

    offer = done.handoffs.order_by("-id").first()
    notice = f"Reassigned {done} to {done.owner}."
    if offer is not None and offer.decision == Decision.PENDING:
        notice += " The deadline stays as it was."
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("team")
    context = {
        "board": board(team, timezone.now()),
        "lead": done,
        "notice": notice,
        "offer": offer,
        "reps_oob": True,
    }
    return render_fragment(request, "web/_team_reassigned.html", context, status=200)


@login_required
@require_POST
def out_of_office(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a rep of the manager's team out of office (routing skips them) or back."""
    team = managed_team(request)
    if team is None:
        return _not_a_manager(request)
    rep = User.objects.filter(pk=pk, team=team, is_active=True).first()
    if rep is None:
        raise Http404("This person is not in your team.")
    away = request.POST.get("out_of_office") == "1"
    User.objects.filter(pk=rep.pk).update(out_of_office=away)
    notice = (
        f"{rep} is out of office: new leads go to the rest of the team."
        if away
        else f"{rep} is back: new leads are offered to them again."
    )
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("team")
    context = {"board": board(team, timezone.now()), "reps_notice": notice, "summary_oob": True}
    return render_fragment(request, "web/_team_reps.html", context, status=200)


def _row_response(
    request: HttpRequest,
    team: Team,
    lead: Lead,
    *,
    status: int,
    form=None,
    error: str | None = None,
    conflict: bool = False,
) -> HttpResponse:
    """A board row as it is now, with the refusal next to the field or above the row."""
    offer = (
        Handoff.objects.filter(lead=lead, decision=Decision.PENDING, offered_to_team=team)
        .select_related(*OFFER_RELATED)
        .first()
    )
    if not is_htmx(request):
        messages.error(request, error or "Not done: check the form below and try again.")
        if offer is None or form is None:
            return redirect("team")
    if offer is None:
        context = {"lead": lead, "notice": error, "error": True, "board": None}
        return render_fragment(request, "web/_team_reassigned.html", context, status=status)
    reps = team_reps(team)
    item = TeamOffer(offer, offer_clock(offer, timezone.now(), DatabaseServices()))
    item.reassign = form or reassign_form(lead, reps, current=offer.offered_to_id)
    item.error, item.conflict = error, conflict
    if not is_htmx(request):
        # Without JavaScript: the whole board again, this row showing its form's errors.
        b = board(team, timezone.now(), show_all=True)
        for group in b.groups:
            group.offers = [item if o.offer.pk == offer.pk else o for o in group.offers]
        return render_fragment(
            request, "web/team.html", {"board": b, "show_all": True}, status=status
        )
    return render_fragment(request, "web/_team_offer.html", {"item": item}, status=status)


def _not_a_manager(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/not_for_you.html",
        {
            "title": "Team",
            "message": "The team view is for managers: it shows their team's hand-offs and reps.",
        },
        status=403,
    )
