"""The arbiter's queue: every lead in review, the longest waiting first, with the reason given,
who decided and when, the lead's scores and the rep's record; and one decision form per lead:
uphold or overrule (the lifecycle picks the target), an optional rep to offer an overruled lead
to, and the comment the arbiter always writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from leadflow.accounts.models import Role, User
from leadflow.leads import access, actions, lifecycle
from leadflow.leads.lifecycle import LeadState, Transition
from leadflow.leads.models import (
    Decision,
    Handoff,
    Lead,
    ReasonClass,
    ReviewOutcome,
    Source,
    Stage,
    StageChange,
)
from leadflow.web import presenters
from leadflow.web.forms import COMMENT_HELP, TransitionForm
from leadflow.web.views import is_htmx, lead_or_404, render_fragment, sentence

REVIEWS_PER_PAGE = 20

# What sent a lead to review, by the transition that did it.
KINDS = {"reject": "rejected", "return": "returned", "ignore": "ignored"}
KIND_LABELS = {"rejected": "Rejected", "returned": "Returned", "ignored": "Ignored"}


# --- the rep's record ------------------------------------------------------------------------


@dataclass
class RepRecord:
    """What a rep did with the leads offered to them, and how often the arbiter overruled it."""

    accepted: int = 0
    rejected: int = 0
    returned: int = 0
    ignored: int = 0
    overruled: int = 0

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected


def rep_records(people: list[int]) -> dict[int, RepRecord]:
    """Records of several people in two queries. A rejection counts against who decided it;
    a return and an ignored offer against the rep it was offered to (accepting makes the rep
    the offer's `offered_to`). The arbiter's verdict sits on the reviewed hand-off."""
    records = {pk: RepRecord() for pk in people}
    if not people:
        return records
    overruled = Q(review_outcome=ReviewOutcome.OVERRULED)
    decided = (
        Handoff.objects.filter(decided_by__in=people)
        .values("decided_by")
        .annotate(
            accepted=Count("id", filter=Q(decision=Decision.ACCEPTED)),
            rejected=Count("id", filter=Q(decision=Decision.REJECTED)),
            overruled=Count("id", filter=Q(decision=Decision.REJECTED) & overruled),
        )
    )
    for row in decided:
        record = records[row["decided_by"]]
        record.accepted, record.rejected = row["accepted"], row["rejected"]
        record.overruled += row["overruled"]
    received = Q(returned_at__isnull=False) | Q(decision=Decision.IGNORED)
    offered = (
        Handoff.objects.filter(offered_to__in=people)
        .values("offered_to")
        .annotate(
            returned=Count("id", filter=Q(returned_at__isnull=False)),
            ignored=Count("id", filter=Q(decision=Decision.IGNORED)),
            overruled=Count("id", filter=received & overruled),
        )
    )
    for row in offered:
        record = records[row["offered_to"]]
        record.returned, record.ignored = row["returned"], row["ignored"]
        record.overruled += row["overruled"]
    return records


# --- the decision form -----------------------------------------------------------------------


class DecisionForm(forms.Form):
    """Uphold or overrule one review. The comment is not `required` here: the lifecycle refuses
    a missing one with the message the API gives, shown at the field (see forms.py)."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(label="Decision", widget=forms.RadioSelect)
    assignee = forms.TypedChoiceField(
        required=False, label="Offer to (on overrule)", coerce=int, empty_value=None
    )
    comment = forms.CharField(
        required=False,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=COMMENT_HELP["overrule"],
    )

    required_inputs = frozenset({"decision", "comment"})  # for web/_field.html

    def __init__(self, data=None, *, lead: Lead, transitions: list[Transition], reps, helps):
        super().__init__(
            data, initial={"seen_version": lead.version}, auto_id=f"id_review{lead.pk}_%s"
        )
        self.lead = lead
        self.transitions = {t.name: t for t in transitions}
        self.helps = helps
        self.fields["decision"].choices = [(t.name, t.label) for t in transitions]
        self.fields["decision"].error_messages["required"] = "Choose uphold or overrule."
        self.fields["decision"].widget.attrs.update({"class": "form-check-input", "required": True})
        self._reps = {rep.pk: rep for rep in reps}
        if "overrule" in self.transitions and reps:
            grouped: dict[str, list] = {}
            for rep in reps:
                label = f"{rep}, out of office" if rep.out_of_office else str(rep)
                grouped.setdefault(str(rep.team), []).append((rep.pk, label))
            self.fields["assignee"].choices = [("", "The rep who decided"), *grouped.items()]
            self.fields["assignee"].widget.attrs["class"] = "form-select"
        else:
            del self.fields["assignee"]
        self.fields["comment"].widget.attrs.update({"class": "form-control", "required": True})

    def options(self) -> list[tuple]:
        """Each decision's radio button with a sentence saying what it does."""
        return [(radio, self.helps.get(radio.data["value"], "")) for radio in self["decision"]]

    def clean_assignee(self):
        pk = self.cleaned_data.get("assignee")
        return self._reps.get(pk) if pk is not None else None

    def inputs(self) -> dict:
        data = self.cleaned_data
        kwargs = {"comment": data.get("comment", "")}
        if data["decision"] == "overrule" and data.get("assignee") is not None:
            kwargs["assignee"] = data["assignee"]
        return kwargs

    def attach(self, error: lifecycle.TransitionError) -> bool:
        """Show a lifecycle refusal at the field it names; False if it names none here."""
        name = error.field if error.field in ("comment", "assignee") else None
        if name and name in self.fields:
            self.add_error(name, error.message[:1].upper() + error.message[1:])
            return True
        return False


# --- one review ------------------------------------------------------------------------------


@dataclass
class Review:
    lead: Lead
    entry: StageChange | None  # the move to review: who, when, reason, comment
    offer: Handoff | None  # the hand-off under review
    rep: User | None  # whose decision is reviewed
    record: RepRecord | None = None
    form: DecisionForm | None = None
    error: str | None = None
    conflict: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return KINDS.get(self.entry.transition, "") if self.entry else ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, "In review")


def _latest_by_lead(rows) -> dict[int, object]:
    """The first row per lead of rows ordered by lead, newest first."""
    found: dict[int, object] = {}
    for row in rows:
        found.setdefault(row.lead_id, row)
    return found


def reviews(leads: list[Lead], user) -> list[Review]:
    """The reviews of a page of leads, in a fixed number of queries whatever its length."""
    ids = [lead.pk for lead in leads]
    entries = _latest_by_lead(
        StageChange.objects.filter(
            lead_id__in=ids, entity=StageChange.Entity.LEAD, to_stage=Stage.IN_REVIEW
        )
        .select_related("actor", "reason")
        .order_by("lead_id", "-at", "-id")
    )
    offers = _latest_by_lead(
        Handoff.objects.filter(lead_id__in=ids)
        .select_related("offered_to", "offered_to_team", "decided_by")
        .order_by("lead_id", "-id")
    )
    found = []
    for lead in leads:
        entry, offer = entries.get(lead.pk), offers.get(lead.pk)
        rep = entry.actor if entry and entry.actor_id else (offer.offered_to if offer else None)
        found.append(Review(lead=lead, entry=entry, offer=offer, rep=rep))
    records = rep_records(sorted({r.rep.pk for r in found if r.rep}))
    reps = _overrule_candidates(found)
    for review in found:
        review.record = records.get(review.rep.pk) if review.rep else None
        review.form = decision_form(review, user, reps)
    return found


def review_state(review: Review) -> LeadState:
    """What `actions.load_state` reads for a lead in review, from rows already loaded."""
    entry = review.entry
    return LeadState(
        lead=review.lead,
        reviewed_offer=review.offer,
        review_from=entry.from_stage if entry else None,
        review_reason=entry.reason if entry else None,
    )


def _overrule_candidates(found: list[Review]) -> dict[str, list[User]]:
    """For each stage an overrule may send a lead back to, the reps the lead page's overrule
    form offers (the same rule for every lead: one query per stage, not per lead)."""
    if not found:
        return {}
    lead = found[0].lead
    return {
        t.target: list(
            TransitionForm(transition=t, lead=lead)
            .fields["assignee"]
            .queryset.select_related("team")
        )
        for t in lifecycle.transitions_from(Stage.IN_REVIEW)
        if t.name == "overrule"
    }


def decision_form(review: Review, user, reps: dict[str, list[User]], data=None):
    transitions = actions.available_transitions(review.lead, user, review_state(review))
    if not transitions:
        return None
    overrule = next((t for t in transitions if t.name == "overrule"), None)
    return DecisionForm(
        data,
        lead=review.lead,
        transitions=transitions,
        reps=reps.get(overrule.target, []) if overrule else [],
        helps=_helps(review, transitions),
    )


def _helps(review: Review, transitions: list[Transition]) -> dict[str, str]:
    lead = review.lead
    origin = f"{lead.source}" + (f" ({lead.campaign})" if lead.campaign_id else "")
    who = str(review.rep) if review.rep else "the team that had it"
    helps = {}
    for t in transitions:
        if t.name == "uphold" and t.target == Stage.DISQUALIFIED:
            helps[t.name] = f"The reason disqualifies: the lead is closed. Counts against {origin}."
        elif t.name == "uphold":
            helps[t.name] = f"The lead goes to marketing's nurture. Counts against {origin}."
        elif t.name == "overrule":
            back = "inside sales" if t.target == Stage.MQL else "field sales"
            helps[t.name] = (
                f"The lead goes back to {back} with a new deadline, offered to {who} unless "
                f"you name another rep. Counts against {who}."
            )
    return helps


# --- the queue -------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(
        required=False,
        label="What happened",
        choices=[("", "Rejected, returned or ignored"), *KIND_LABELS.items()],
    )
    reason_class = forms.ChoiceField(
        required=False, label="Reason class", choices=[("", "Any class"), *ReasonClass.choices]
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

    def apply(self, leads: QuerySet[Lead]) -> QuerySet[Lead]:
        self.is_valid()
        data = self.cleaned_data
        entry = StageChange.objects.filter(
            lead=OuterRef("pk"), entity=StageChange.Entity.LEAD, to_stage=Stage.IN_REVIEW
        ).order_by("-at", "-id")
        if data.get("kind"):
            transition = {v: k for k, v in KINDS.items()}[data["kind"]]
            leads = leads.annotate(
                review_transition=Subquery(entry.values("transition")[:1])
            ).filter(review_transition=transition)
        if data.get("reason_class"):
            leads = leads.annotate(
                review_class=Subquery(entry.values("reason__reason_class")[:1])
            ).filter(review_class=data["reason_class"])
        if data.get("source"):
            leads = leads.filter(source=data["source"])
        return leads


def may_see_queue(user) -> bool:
    return user.role in (Role.ARBITER, Role.ADMIN) or user.is_superuser


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    if not may_see_queue(request.user):
        return _not_the_arbiter(request)
    form = QueueFilterForm(request.GET)
    in_review = access.visible_leads(request.user).filter(stage=Stage.IN_REVIEW)
    leads = (
        form.apply(in_review)
        .select_related("source", "campaign", "owner_team")
        .order_by("stage_changed_at", "id")
    )
    page = presenters.row_page(leads, request.GET.get("page"), REVIEWS_PER_PAGE)
    return render(
        request,
        "web/arbiter_queue.html",
        {
            "form": form,
            "page": page,
            "reviews": reviews(page.rows, request.user),
            "waiting": in_review.count(),
            "next_url": request.get_full_path(),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Uphold or overrule one review: with htmx the lead's card is swapped for the outcome."""
    if not may_see_queue(request.user):
        return _not_the_arbiter(request)
    lead = lead_or_404(request, pk)
    review = _review(request, lead)
    if review.form is None and lead.stage == Stage.IN_REVIEW:
        return _not_the_arbiter(request)  # e.g. an admin, or an arbiter inside a sales team
    if review.form is None:
        return _outcome_response(
            request,
            lead,
            status=409,
            notice=(
                f"{lead} is no longer in review: it is at {lead.get_stage_display()}, "
                f"{presenters.owner_phrase(lead)}."
            ),
            error=True,
        )
    form = decision_form(review, request.user, _overrule_candidates([review]), data=request.POST)
    review.form = form
    if not form.is_valid():
        if "seen_version" in form.errors:
            review.error = "This form is incomplete. Reload the page and try again."
        return _review_response(request, review, status=422)
    name = form.cleaned_data["decision"]
    try:
        done = actions.transition(
            lead,
            name,
            actor=request.user,
            seen_version=form.cleaned_data["seen_version"],
            **form.inputs(),
        )
    except lifecycle.Conflict as refusal:
        lead = lead_or_404(request, pk)
        if lead.stage != Stage.IN_REVIEW:
            return _outcome_response(
                request,
                lead,
                status=refusal.status,
                notice=(
                    f"Someone else decided meanwhile: {lead} is at {lead.get_stage_display()}, "
                    f"{presenters.owner_phrase(lead)}."
                ),
                error=True,
            )
        review = _review(request, lead)
        data = request.POST.copy()
        data["seen_version"] = str(lead.version)
        review.form = decision_form(review, request.user, _overrule_candidates([review]), data=data)
        review.error, review.conflict = sentence(refusal.message), True
        return _review_response(request, review, status=refusal.status)
    except lifecycle.TransitionError as refusal:
        if not form.attach(refusal):
            review.error = sentence(refusal.message)
        return _review_response(request, review, status=refusal.status)
    notice, offer = _decided_notice(done, name)
    return _outcome_response(request, done, status=200, notice=notice, offer=offer)


def _review(request: HttpRequest, lead: Lead) -> Review:
    [review] = reviews([lead], request.user)
    return review


def _decided_notice(lead: Lead, name: str) -> tuple[str, Handoff | None]:
    """What the decision did, and the new offer an overrule made (its deadline is shown)."""
    if name == "overrule":
        offer = lead.handoffs.select_related("offered_to", "offered_to_team").order_by("-id")[0]
        to = offer.offered_to or f"the {offer.offered_to_team} queue"
        return (
            f"Overruled: {lead} goes back to sales at {Stage(lead.stage).label}, offered to "
            f"{to} with a new deadline.",
            offer,
        )
    if lead.stage == Stage.DISQUALIFIED:
        return f"Upheld: {lead} is disqualified; the cause counts against {lead.source}.", None
    return (
        f"Upheld: {lead} goes to marketing's nurture; the cause counts against {lead.source}.",
        None,
    )


def _review_response(request: HttpRequest, review: Review, *, status: int) -> HttpResponse:
    if is_htmx(request):
        return render_fragment(
            request, "web/_arbiter_review.html", {"review": review}, status=status
        )
    # Without JavaScript: the queue again, this card showing its form and errors.
    reviews_on_page = [review]
    context = {
        "form": QueueFilterForm(),
        "page": presenters.RowPage(number=1, rows=[review.lead], has_next=False, per_page=1),
        "reviews": reviews_on_page,
        "waiting": access.visible_leads(request.user).filter(stage=Stage.IN_REVIEW).count(),
        "next_url": "",
    }
    return render_fragment(request, "web/arbiter_queue.html", context, status=status)


def _outcome_response(
    request: HttpRequest,
    lead: Lead,
    *,
    status: int,
    notice: str,
    error: bool = False,
    offer: Handoff | None = None,
) -> HttpResponse:
    if not is_htmx(request):
        if offer is not None:
            notice += f" Accept by {timezone.localtime(offer.accept_by):%d %b %Y, %H:%M %Z}."
        (messages.error if error else messages.success)(request, notice)
        return redirect("arbiter_queue")
    waiting = access.visible_leads(request.user).filter(stage=Stage.IN_REVIEW).count()
    context = {"lead": lead, "notice": notice, "error": error, "waiting": waiting, "offer": offer}
    return render_fragment(request, "web/_arbiter_decided.html", context, status=status)


def _not_the_arbiter(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/not_for_you.html",
        {
            "title": "Arbiter queue",
            "message": "The arbiter's queue is for the arbiter, who decides every review.",
        },
        status=403,
    )
