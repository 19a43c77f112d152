"""Forms of the web pages. They parse input; the lifecycle table decides what is allowed.

Fields a transition needs are not `required` here: `lifecycle.check` refuses a missing reason
or comment with the same message and code the API gives, and the page shows it next to the
field. The browser still gets a `required` attribute, so people learn it before posting.
"""

from __future__ import annotations

from django import forms

from leadflow.accounts.models import Team, User
from leadflow.leads.lifecycle import (
    STAGE_SIDE,
    Need,
    OpportunityEffect,
    Transition,
    TransitionError,
)
from leadflow.leads.models import (
    CLOSED_STAGES,
    ActivityKind,
    ReasonClass,
    ReasonCode,
    Source,
    Stage,
)
from leadflow.leads.routing import REP_ROLE

# --- the lead list filter -----------------------------------------------------------------


class LeadFilterForm(forms.Form):
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    source = forms.ModelChoiceField(
        required=False, queryset=Source.objects.all(), empty_label="Any source"
    )
    owner = forms.ChoiceField(required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].choices = owner_choices(user)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in self.fields)

    def apply(self, leads):
        """Narrow `leads` by the valid filters; invalid ones are reported, not applied."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("stage"):
            leads = leads.filter(stage=data["stage"])
        if data.get("source"):
            leads = leads.filter(source=data["source"])
        owner = data.get("owner")
        if owner == "me":
            leads = leads.filter(owner=self.user)
        elif owner and owner.startswith("team-"):
            leads = leads.filter(owner__isnull=True, owner_team_id=int(owner[5:]))
        elif owner:
            leads = leads.filter(owner_id=int(owner))
        return leads


def owner_choices(user: User) -> list:
    """Choices for the owner filter: me, then each team's queue and members, own team first."""
    members: dict[int, list[User]] = {}
    for member in User.objects.filter(is_active=True, team__isnull=False).order_by(
        "first_name", "last_name", "username"
    ):
        members.setdefault(member.team_id, []).append(member)
    teams = sorted(Team.objects.all(), key=lambda team: (team.pk != user.team_id, team.name))
    choices: list = [("", "Anyone"), ("me", "Me")]
    for team in teams:
        options = [(f"team-{team.pk}", f"{team} queue")]
        options += [(str(m.pk), str(m)) for m in members.get(team.pk, [])]
        choices.append((team.name, options))
    return choices


# --- logging a sales activity ----------------------------------------------------------------


class ActivityForm(forms.Form):
    """A call, meeting or note on the lead page: the sales activities that make first touch."""

    kind = forms.ChoiceField(
        label="What happened",
        choices=[
            (ActivityKind.CALL, "Call"),
            (ActivityKind.MEETING, "Meeting"),
            (ActivityKind.NOTE, "Note"),
        ],
        initial=ActivityKind.CALL,
    )
    detail = forms.CharField(
        required=False,
        label="Detail",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Who you spoke to and what comes next. A note needs its text.",
    )

    required_inputs = frozenset({"kind"})  # for web/_field.html

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="id_activity_%s", **kwargs)
        self.fields["kind"].widget.attrs["class"] = "form-select"
        self.fields["detail"].widget.attrs["class"] = "form-control"

    def clean(self):
        data = super().clean()
        if data.get("kind") == ActivityKind.NOTE and not (data.get("detail") or "").strip():
            self.add_error("detail", "Write the note: a note without text tells nobody anything.")
        return data


# --- one form per transition ---------------------------------------------------------------

# Evidence kept as text; the event date is added as an ISO date when given.
EVIDENCE_TEXT_FIELDS = ("decision_maker", "need", "compelling_event", "budget", "timeframe")

# How each kind of decision looks: moving forward is solid, refusing is outlined in red.
BUTTON_CLASS = {
    "accept": "btn-success",
    "win": "btn-success",
    "qualify": "btn-primary",
    "recycle": "btn-primary",
    "convert": "btn-primary",
    "overrule": "btn-primary",
    "uphold": "btn-outline-primary",
    "reject": "btn-outline-danger",
    "return": "btn-outline-danger",
    "disqualify": "btn-outline-danger",
    "lose": "btn-outline-danger",
}

COMMENT_HELP = {
    "reject": "Say what is wrong, so marketing and the arbiter can fix the cause.",
    "return": "Say what happened since you accepted it.",
    "nurture": "Say what would make it sales-ready.",
    "disqualify": "Say what you found out.",
    "uphold": "Your decision, for both sides to read.",
    "overrule": "Your decision, for both sides to read.",
}


class TransitionForm(forms.Form):
    """The inputs of one lifecycle row, with the lead version the person is looking at."""

    transition = forms.CharField(widget=forms.HiddenInput)
    to = forms.CharField(widget=forms.HiddenInput)
    seen_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, data=None, *, transition: Transition, lead, reasons=()):
        t = transition
        super().__init__(
            data,
            initial={"transition": t.name, "to": t.target, "seen_version": lead.version},
            # Several of these forms share one page: keep their element ids apart.
            auto_id=f"id_{t.name}_{t.target}_%s",
        )
        self.t = t
        self.reasons = reasons
        needs = set(t.needs)
        if Need.REASON in needs:
            self.fields["reason"] = forms.ChoiceField(
                required=False, label="Reason", choices=reason_choices(reasons)
            )
        if Need.SQL_EVIDENCE in needs:
            self.fields["decision_maker"] = forms.CharField(
                required=False,
                max_length=200,
                label="Decision maker",
                help_text="Name and role of the person with authority to buy.",
            )
            self.fields["need"] = forms.CharField(
                required=False,
                label="Specific pain or need",
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields["compelling_event"] = forms.CharField(
                required=False,
                max_length=300,
                label="Compelling event",
                help_text="What makes them act soon.",
            )
            self.fields["event_date"] = forms.DateField(
                required=False,
                label="Event date (optional)",
                widget=forms.DateInput(attrs={"type": "date"}),
            )
            self.fields["budget"] = forms.CharField(
                required=False, max_length=200, label="Budget (optional)"
            )
            self.fields["timeframe"] = forms.CharField(
                required=False, max_length=200, label="Timeframe (optional)"
            )
        if Need.ASSIGNEE in needs:
            self.fields["assignee"] = forms.ModelChoiceField(
                required=False,
                label="Assign to",
                empty_label="Choose a person…",
                queryset=User.objects.filter(team_id=lead.owner_team_id, is_active=True).order_by(
                    "first_name", "last_name", "username"
                ),
            )
        if t.name == "overrule":
            # Back to the rep who decided, unless the arbiter names another.
            self.fields["assignee"] = forms.ModelChoiceField(
                required=False,
                label="Offer to (optional)",
                empty_label="The rep who decided",
                queryset=User.objects.filter(
                    role=REP_ROLE[STAGE_SIDE[t.target]], is_active=True, team__isnull=False
                ).order_by("first_name", "last_name", "username"),
            )
        if t.opportunity is OpportunityEffect.OPEN:
            self.fields["amount"] = forms.DecimalField(
                required=False,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                label="Opportunity amount (USD, optional)",
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            )
        if Need.COMMENT in needs:
            self.fields["comment"] = forms.CharField(
                required=False,
                label="Comment",
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=COMMENT_HELP.get(t.name, ""),
            )
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css
            if name in self.required_inputs:
                field.widget.attrs["required"] = True

    @property
    def required_inputs(self) -> set[str]:
        needs = set(self.t.needs)
        names = set()
        if Need.REASON in needs:
            names.add("reason")
        if Need.COMMENT in needs:
            names.add("comment")
        if Need.SQL_EVIDENCE in needs:
            names |= {"decision_maker", "need", "compelling_event"}
        if Need.ASSIGNEE in needs:
            names.add("assignee")
        return names

    @property
    def has_inputs(self) -> bool:
        return bool(self.visible_fields())

    @property
    def confirmation(self) -> str:
        """A sentence to read before a one-click action that cannot be undone."""
        if self.t.target in CLOSED_STAGES and not self.has_inputs:
            return f"This closes the lead as {Stage(self.t.target).label.lower()} for good."
        return ""

    @property
    def opens_in_place(self) -> bool:
        """Whether the action shows a form (inputs or a confirmation) before it is sent."""
        return self.has_inputs or bool(self.confirmation)

    @property
    def button_class(self) -> str:
        return BUTTON_CLASS.get(self.t.name, "btn-outline-secondary")

    @property
    def submit_class(self) -> str:
        """The button that commits a filled-in form is solid, whatever its summary looks like."""
        return self.button_class.replace("btn-outline-", "btn-")

    @property
    def dom_id(self) -> str:
        return f"action-{self.t.name}-{self.t.target}"

    def inputs(self) -> dict:
        """The keyword arguments `actions.transition` takes, from the cleaned data."""
        data = self.cleaned_data
        kwargs: dict = {"comment": data.get("comment", "")}
        if "reason" in self.fields:
            kwargs["reason"] = data.get("reason") or None
        if "decision_maker" in self.fields:
            evidence = {name: data.get(name) or "" for name in EVIDENCE_TEXT_FIELDS}
            if data.get("event_date"):
                evidence["event_date"] = data["event_date"].isoformat()
            kwargs["evidence"] = evidence
        if "assignee" in self.fields:
            kwargs["assignee"] = data.get("assignee")
        if "amount" in self.fields:
            kwargs["amount"] = data.get("amount")
        return kwargs

    def attach(self, error: TransitionError) -> bool:
        """Show a lifecycle refusal next to the field it names; False if it names none here."""
        field = (error.field or "").removeprefix("evidence.")
        if field in self.fields and field not in ("transition", "to", "seen_version"):
            self.add_error(field, error.message[:1].upper() + error.message[1:])
            return True
        return False


def reason_choices(reasons) -> list:
    """Reasons as choices, grouped by class (procedural, clerical, definitional) when set."""
    choices: list = [("", "Choose a reason…")]
    grouped: dict[str, list] = {}
    for reason in reasons:
        grouped.setdefault(reason.reason_class, []).append((reason.code, reason.label))
    choices.extend(grouped.pop("", []))
    for reason_class in ReasonClass:  # in the declared order, not alphabetical
        if reason_class.value in grouped:
            choices.append((reason_class.label, grouped[reason_class.value]))
    return choices


def reasons_by_kind(transitions) -> dict[str, list[ReasonCode]]:
    """The active reasons every transition on the page needs, in one query."""
    kinds = {t.reason_kind for t in transitions if Need.REASON in t.needs}
    found: dict[str, list[ReasonCode]] = {kind: [] for kind in kinds}
    if kinds:
        for reason in ReasonCode.objects.filter(kind__in=kinds, active=True).order_by("label"):
            found[reason.kind].append(reason)
    return found
