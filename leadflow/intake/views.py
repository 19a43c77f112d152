"""The public web-to-lead endpoints, the thank-you page, and the staff page of rejected posts.

Thin edges: `leadflow.intake.webtolead` decides; these views only answer. The form endpoints
are CSRF-exempt: they are posted cross-site by design, from pages leadflow never served, and
carry no session to protect (the form key, honeypot and rate limit stand in).
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote_to_bytes

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadflow.intake import webtolead
from leadflow.intake.models import RejectedPost

STATUS = {
    RejectedPost.Reason.UNKNOWN_FORM: 404,
    RejectedPost.Reason.INACTIVE_FORM: 404,
    RejectedPost.Reason.MISCONFIGURED: 503,
    RejectedPost.Reason.RATE_LIMITED: 429,
    RejectedPost.Reason.INVALID: 400,
}


@csrf_exempt
@require_POST
def form_post(request: HttpRequest, key: str) -> HttpResponse:
    return _receive(request, key, _posted(request))


@csrf_exempt
@require_POST
def salesforce_post(request: HttpRequest) -> HttpResponse:
    """Salesforce's Web-to-Lead address: the form key is the `oid` field."""
    posted = _posted(request)
    return _receive(request, posted.get("oid", ""), posted)


def _posted(request: HttpRequest) -> QueryDict:
    """The posted fields. Salesforce forms name their charset in the action
    (`?encoding=ISO-8859-1`); a page that declares none is sent by browsers in windows-1252.
    Django reads url-encoded bodies as UTF-8 only, so other charsets are decoded here."""
    if request.content_type != "application/x-www-form-urlencoded":
        return request.POST
    name = request.GET.get("encoding", "")
    try:
        encoding = codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        encoding = "utf-8"
    try:
        unquote_to_bytes(request.body.replace(b"+", b" ")).decode(encoding)
    except UnicodeDecodeError:
        encoding = "cp1252"
    if encoding == "utf-8":
        return request.POST
    return QueryDict(request.body, encoding=encoding)


def _receive(request: HttpRequest, key: str, posted: QueryDict) -> HttpResponse:
    received = webtolead.receive(
        key, posted, client=request.META.get("REMOTE_ADDR", "") or "unknown"
    )
    if received.status == "stored" or received.reason == RejectedPost.Reason.HONEYPOT:
        response = HttpResponseRedirect(received.redirect_to or reverse("intake_thanks"))
        response.status_code = 303  # See Other: the browser follows with a GET
        return response
    status = STATUS[received.reason]
    response = render(
        request,
        "intake/refused.html",
        {"received": received, "status": status,
         "back": request.META.get("HTTP_REFERER", "")},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = "60"
    return response


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/thanks.html")


@staff_member_required
def rejected_posts(request: HttpRequest) -> HttpResponse:
    """The latest rejected form posts, so spam and broken forms are seen, not lost."""
    reason = request.GET.get("reason", "")
    posts = RejectedPost.objects.select_related("form")
    if reason in RejectedPost.Reason.values:
        posts = posts.filter(reason=reason)
    return render(
        request,
        "intake/rejected_posts.html",
        {"posts": posts[:200], "reasons": RejectedPost.Reason.choices, "reason": reason},
    )
