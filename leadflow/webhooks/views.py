"""The webhook pages, for admins: the webhooks and a form to add one; a webhook's details
(its secret, pause and resume) and its delivery log, where any delivery can be replayed in
place (htmx). Changes go through `leadflow.webhooks.actions`; access through
`leadflow.webhooks.access`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.web import presenters
from leadflow.web.views import is_htmx, render_fragment
from leadflow.web.views_notifications import event_label
from leadflow.webhooks import access, actions
from leadflow.webhooks.access import WebhookAccessError
from leadflow.webhooks.models import Webhook, WebhookDelivery, event_names

DELIVERIES_PER_PAGE = 50
Status = WebhookDelivery.Status


class WebhookForm(forms.ModelForm):
    url = forms.URLField(
        label="URL", max_length=500, assume_scheme="https",
        help_text="leadflow POSTs each event here as signed JSON.",
    )
    events = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="None ticked: every event, including those added to leadflow later.",
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "active"]

    required_inputs = frozenset({"name", "url"})  # for web/_field.html

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_id="webhook_%s", **kwargs)
        self.fields["events"].choices = [
            (name, f"{event_label(name)} ({name})") for name in event_names()
        ]
        self.fields["name"].widget.attrs.update(
            {"class": "form-control", "placeholder": "e.g. CRM sync"}
        )
        self.fields["url"].widget.attrs.update(
            {"class": "form-control", "placeholder": "https://example.com/hooks/leadflow"}
        )
        self.fields["active"].widget.attrs["class"] = "form-check-input"
        self.fields["active"].label = "Active: send events from now on"


def _not_admin(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/not_for_you.html",
        {"title": "Webhooks", "message": "Webhooks are set up by leadflow's admins."},
        status=403,
    )


def _webhook_or_404(request: HttpRequest, pk: int) -> Webhook:
    try:
        return access.webhook_for(request.user, pk)
    except WebhookAccessError as exc:
        raise Http404(exc.message) from None


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    if not access.is_admin(request.user):
        return _not_admin(request)
    form = WebhookForm(request.POST or None, initial={"active": True})
    if request.method == "POST":
        if form.is_valid():
            webhook = actions.create_webhook(actor=request.user, **form.cleaned_data)
            messages.success(
                request,
                f"Webhook “{webhook.name}” added. Give its signing secret (below) to the "
                "receiver, so it can check each request came from leadflow.",
            )
            return redirect("webhook_detail", pk=webhook.pk)
        status = 422
    else:
        status = 200
    webhooks = Webhook.objects.with_log_counts()
    return render(
        request, "webhooks/list.html", {"webhooks": webhooks, "form": form}, status=status
    )


@login_required
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not access.is_admin(request.user):
        return _not_admin(request)
    webhook = _webhook_or_404(request, pk)
    context = {
        "webhook": webhook,
        "events": [(name, event_label(name)) for name in webhook.events],
        **_log_context(request, webhook),
    }
    return render(request, "webhooks/detail.html", context)


def _log_context(request: HttpRequest, webhook: Webhook, notice: str = "") -> dict:
    """The delivery log, newest first, filtered by status (`?status=`) and paged (`?page=`)."""
    shown = request.GET.get("status", "")
    deliveries = webhook.deliveries.select_related("requested_by").order_by("-id")
    if shown in Status.values:
        deliveries = deliveries.filter(status=shown)
    else:
        shown = ""
    by_status = webhook.deliveries.order_by().values("status").annotate(n=Count("id"))
    counts = {row["status"]: row["n"] for row in by_status}
    return {
        "webhook": webhook,
        "page": presenters.row_page(deliveries, request.GET.get("page"), DELIVERIES_PER_PAGE),
        "shown": shown,
        "query": request.GET.urlencode(),
        "filters": [("", "All", sum(counts.values()))]
        + [(value, label, counts.get(value, 0)) for value, label in Status.choices],
        "notice": notice,
    }


@login_required
@require_POST
def webhook_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume: `active` is "1" or "0"."""
    if not access.is_admin(request.user):
        return _not_admin(request)
    webhook = _webhook_or_404(request, pk)
    active = request.POST.get("active") == "1"
    actions.change_webhook(webhook, actor=request.user, active=active)
    messages.success(
        request,
        "Resumed: due deliveries go on the worker's next pass."
        if active
        else "Paused: events are not queued for it, and its pending deliveries wait.",
    )
    return redirect("webhook_detail", pk=webhook.pk)


@login_required
@require_POST
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    if not access.is_admin(request.user):
        return _not_admin(request)
    try:
        original = access.delivery_for(request.user, pk)
    except WebhookAccessError as exc:
        raise Http404(exc.message) from None
    replay = actions.replay(original, actor=request.user)
    notice = (
        f"Delivery #{original.pk} queued again as #{replay.pk}: the worker sends it on its "
        "next pass."
    )
    if not is_htmx(request):
        messages.success(request, notice)
        return redirect("webhook_detail", pk=original.webhook_id)
    context = _log_context(request, original.webhook, notice)
    return render_fragment(request, "webhooks/_deliveries.html", context, status=200)
