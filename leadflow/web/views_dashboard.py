"""The dashboards: one page per audience (executive, marketing, sales), filtered by period,
source and team in the address. The figures come from `leadflow.reports`, through
`dashboards.build`; the charts are drawn in the browser from the same figures, embedded as
JSON next to the tables that show them.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from leadflow.reports.periods import company_zone
from leadflow.web import dashboards
from leadflow.web.dashboards import AUDIENCES, DashboardFilterForm


@login_required
@require_GET
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the signed-in person's audience, with the filters they asked for."""
    audience = dashboards.audience_for(request.user)
    url = reverse("dashboard", args=[audience])
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


@login_required
@require_GET
def dashboard(request: HttpRequest, audience: str) -> HttpResponse:
    if audience not in AUDIENCES:
        raise Http404("There is no such dashboard: choose executive, marketing or sales.")
    form = DashboardFilterForm(request.GET)
    span = form.span()
    board = dashboards.build(audience, span, form.filters(), form.described())
    params = form.params()
    tabs = [
        {
            "audience": name,
            "label": label,
            "url": reverse("dashboard", args=[name]) + (f"?{urlencode(params)}" if params else ""),
            "active": name == audience,
        }
        for name, label in AUDIENCES.items()
    ]
    context = {
        "board": board,
        "form": form,
        "tabs": tabs,
        "span": span,
        "span_last_day": span.last_day - timedelta(days=1),
        "company_zone": company_zone().key,
        "filters_text": form.described(),
        "clear_url": reverse("dashboard", args=[audience])
        + (f"?{urlencode({'period': params['period']})}" if "period" in params else ""),
    }
    return render(request, "web/dashboard.html", context)
