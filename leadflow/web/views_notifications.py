"""The notification centre: a person's notifications, newest first, marked read one by one or
all at once; and their subscriptions, to be told whenever an event matches their filters.

The notifications and subscriptions are `leadflow.notify`'s models; the worker writes the
notifications, this page only reads them and sets `read_at`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from leadflow.accounts.models import Team
from leadflow.leads.models import Priority, ReasonClass, Source
from leadflow.notify.models import Notification, Subscription, event_choices
from leadflow.web import presenters
from leadflow.web.navigation import unread_badge, unread_count
from leadflow.web.views import is_htmx, render_fragment

NOTIFICATIONS_PER_PAGE = 30

# What each event means, for people choosing what to be told about.
EVENT_LABELS = {
    "lead.created": "A lead is created",
    "lead.mql": "A lead becomes an MQL and is offered to inside sales",
    "lead.sql": "A lead becomes an SQL and is offered to field sales",
    "lead.nurtured": "A lead goes to nurture",
    "lead.disqualified": "A lead is disqualified",
    "lead.returned": "Sales returns an accepted lead",
    "handoff.offered": "A lead is offered to a rep or a team queue",
    "handoff.accepted": "Sales accepts an offer",
    "handoff.rejected": "Sales rejects an offer",
    "handoff.ignored": "An offer passes its deadline undecided",
    "handoff.reassigned": "A manager reassigns a lead",
    "handoff.reminder": "A deadline reminder goes out",
    "handoff.first_touch_missed": "An accepted lead misses its first touch",
    "opportunity.won": "An opportunity is won",
    "opportunity.lost": "An opportunity is lost",
    "arbiter.decided": "The arbiter decides a review",
}

# The filters the form offers, as paths in the event payload (see Subscription.filters).
FILTER_PATHS = {
    "source": "lead.source",
    "reason_class": "reason_class",
    "team": "handoff.team",
    "priority": "lead.priority",
}
FILTER_LABELS = {
    "lead.source": "Source",
    "reason_class": "Reason class",
    "handoff.team": "Team",
    "lead.priority": "Priority",
}
_VALUE_LABELS = {
    "reason_class": dict(ReasonClass.choices),
    "lead.priority": dict(Priority.choices),
}


def event_label(name: str) -> str:
    return EVENT_LABELS.get(name, name)


def describe_filters(filters: dict) -> list[str]:
    """'Source: Content Syndication', 'Reason class: Definitional (…)', in words."""
    parts = []
    for path, value in (filters or {}).items():
        values = value if isinstance(value, list) else [value]
        labels = _VALUE_LABELS.get(path, {})
        shown = " or ".join(str(labels.get(v, v)) for v in values)
        parts.append(f"{FILTER_LABELS.get(path, path)}: {shown}")
    return parts


class SubscriptionForm(forms.ModelForm):
    event = forms.ChoiceField(label="When")
    source = forms.ModelChoiceField(
        required=False, queryset=Source.objects.all(), empty_label="Any source", label="Source"
    )
    reason_class = forms.ChoiceField(
        required=False,
        choices=[("", "Any reason class"), *ReasonClass.choices],
        label="Reason class",
    )
    team = forms.ModelChoiceField(
        required=False,
        queryset=Team.objects.all(),
        empty_label="Any team",
        label="Team",
        help_text="The team the lead is offered to.",
    )
    priority = forms.ChoiceField(
        required=False, choices=[("", "Any priority"), *Priority.choices], label="Priority"
    )

    class Meta:
        model = Subscription
        fields = ["event", "in_app", "by_email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="sub_%s", **kwargs)
        self.fields["event"].choices = [("", "Choose an event…")] + [
            (name, f"{event_label(name)} ({name})") for name, _ in event_choices()
        ]
        self.fields["in_app"].label = "In leadflow"
        self.fields["by_email"].label = "By e-mail"
        for f in self.fields.values():
            if isinstance(f.widget, forms.CheckboxInput):
                f.widget.attrs["class"] = "form-check-input"
            else:
                f.widget.attrs["class"] = "form-select"
        self.fields["event"].widget.attrs["required"] = True

    required_inputs = frozenset({"event"})  # for web/_field.html

    def clean(self):
        data = super().clean()
        if not data.get("in_app") and not data.get("by_email"):
            raise forms.ValidationError(
                "Choose at least one way to be told: in leadflow or by e-mail."
            )
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        found = {}
        if data.get("source"):
            found[FILTER_PATHS["source"]] = data["source"].name
        if data.get("reason_class"):
            found[FILTER_PATHS["reason_class"]] = data["reason_class"]
        if data.get("team"):
            found[FILTER_PATHS["team"]] = data["team"].name
        if data.get("priority"):
            found[FILTER_PATHS["priority"]] = data["priority"]
        return found

    def save(self, *, user) -> Subscription:
        subscription = super().save(commit=False)
        subscription.user = user
        subscription.filters = self.filters()
        subscription.save()
        return subscription


# --- the page --------------------------------------------------------------------------------


@login_required
@require_GET
def centre(request: HttpRequest) -> HttpResponse:
    return render(request, "web/notifications.html", _context(request))


def _context(request: HttpRequest, *, form: SubscriptionForm | None = None) -> dict:
    user = request.user
    unread_only = request.GET.get("show") == "unread"
    notifications = user.notifications.all()
    if unread_only:
        notifications = notifications.unread()
    page = presenters.row_page(notifications, request.GET.get("page"), NOTIFICATIONS_PER_PAGE)
    return {
        "page": page,
        "unread_only": unread_only,
        **_subscription_context(request, form=form),
    }


def _subscription_context(request: HttpRequest, *, form=None, notice: str = "") -> dict:
    subscriptions = [
        (s, event_label(s.event), describe_filters(s.filters))
        for s in request.user.subscriptions.order_by("event", "id")
    ]
    return {
        "subscriptions": subscriptions,
        "subscription_form": form or SubscriptionForm(initial={"in_app": True, "by_email": True}),
        "subscription_notice": notice,
    }


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = Notification.objects.filter(pk=pk, user=request.user).first()
    if notification is None:
        raise Http404("This notification does not exist or is not yours.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if not is_htmx(request):
        return redirect("notifications")
    context = {"note": notification, "unread_badge": _badge(request)}
    return render_fragment(request, "web/_notification.html", context, status=200)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    marked = request.user.notifications.mark_read()
    if not is_htmx(request):
        if marked:
            plural = "s" if marked != 1 else ""
            messages.success(request, f"Marked {marked} notification{plural} read.")
        return redirect("notifications")
    context = {**_context(request), "unread_badge": _badge(request)}
    return render_fragment(request, "web/_notification_list.html", context, status=200)


@login_required
@require_POST
def add_subscription(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        if not is_htmx(request):
            context = _context(request, form=form)
            return render_fragment(request, "web/notifications.html", context, status=422)
        context = _subscription_context(request, form=form)
        return render_fragment(request, "web/_subscriptions.html", context, status=422)
    subscription = form.save(user=request.user)
    notice = f"Subscribed: you will be told when {event_label(subscription.event).lower()}"
    if subscription.filters:
        notice += f" ({'; '.join(describe_filters(subscription.filters))})"
    notice += "."
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("notifications")
    context = _subscription_context(request, notice=notice)
    return render_fragment(request, "web/_subscriptions.html", context, status=200)


@login_required
@require_POST
def delete_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = Subscription.objects.filter(pk=pk, user=request.user).delete()
    if not deleted:
        raise Http404("This subscription does not exist or is not yours.")
    notice = "Subscription removed: you will no longer be told about those events."
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("notifications")
    context = _subscription_context(request, notice=notice)
    return render_fragment(request, "web/_subscriptions.html", context, status=200)


def _badge(request: HttpRequest):
    """The bell's count, to replace the top bar's out of band after marking read."""
    return unread_badge(unread_count(request.user), oob=True)
