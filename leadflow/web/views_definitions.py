"""The lead definition pages: the versions, the YAML editor with its live preview, sign-off,
the diff between two versions and the what-if of a proposal.

Thin edges: parse, call `leadflow.scoring.definitions` (or a read model), render. Refusals
carry the same codes as in the API.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leadflow.leads.models import LeadDefinition
from leadflow.scoring import definitions, document, whatif
from leadflow.scoring.definitions import DefinitionRefused
from leadflow.scoring.models import Approval, ScoringRun

Status = LeadDefinition.Status


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _versions():
    return LeadDefinition.objects.select_related("created_by", "proposed_by").prefetch_related(
        Prefetch("approvals", queryset=Approval.objects.select_related("approver"))
    )


def _version(version: int) -> LeadDefinition:
    row = _versions().filter(version=version).first()
    if row is None:
        raise Http404(f"There is no lead definition version {version}.")
    return row


def _sentence(message: str) -> str:
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


# --- the list --------------------------------------------------------------------------------


@login_required
@require_GET
def definition_list(request: HttpRequest) -> HttpResponse:
    rows = list(_versions().order_by("-version"))
    for row in rows:
        row.missing = definitions.approvals_missing(row) if row.status == Status.PROPOSED else []
    return render(
        request,
        "web/definitions/list.html",
        {
            "versions": rows,
            "active": next((r for r in rows if r.status == Status.ACTIVE), None),
            "may_edit": definitions.may_edit(request.user),
            "last_run": ScoringRun.objects.filter(kind=ScoringRun.Kind.RESCORE).first(),
        },
    )


@login_required
@require_POST
def definition_new(request: HttpRequest) -> HttpResponse:
    """A new draft, copied from a version (default: the active one, or the starter)."""
    based_on = None
    if request.POST.get("based_on"):
        based_on = _version(int(request.POST["based_on"]))
    try:
        row = definitions.create_draft(
            actor=request.user, based_on=based_on, summary=request.POST.get("summary", "")
        )
    except DefinitionRefused as refusal:
        messages.error(request, _sentence(refusal.message))
        return redirect("definition_list")
    messages.success(request, f"Draft v{row.version} created. Edit it, then propose it.")
    return redirect("definition_detail", version=row.version)


@login_required
@require_POST
def definition_import(request: HttpRequest) -> HttpResponse:
    """A new draft from an uploaded YAML file."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a YAML file to import.")
        return redirect("definition_list")
    try:
        text = upload.read(definitions.MAX_DOCUMENT * 4 + 1).decode("utf-8-sig")
        row = definitions.create_draft(
            actor=request.user, text=text, summary=request.POST.get("summary", "")
        )
    except UnicodeDecodeError:
        messages.error(request, "That file is not UTF-8 text; export it as YAML and try again.")
        return redirect("definition_list")
    except DefinitionRefused as refusal:
        messages.error(request, _sentence(refusal.message))
        return redirect("definition_list")
    found = definitions.problems_of(row)
    if found:
        messages.warning(
            request,
            f"Imported as draft v{row.version}, with {len(found)} problem(s) to fix before it "
            "can be proposed.",
        )
    else:
        messages.success(request, f"Imported as draft v{row.version}.")
    return redirect("definition_detail", version=row.version)


# --- one version -----------------------------------------------------------------------------


def _context(request: HttpRequest, row: LeadDefinition, **extra) -> dict:
    text = extra.pop("text", row.document)
    found = document.problems(text)
    parsed = None
    if not found:
        parsed = document.parse(text)
    user = request.user
    side = definitions.approval_side(user)
    signed = {a.side for a in row.approvals.all()}
    current = LeadDefinition.active()
    return {
        "definition": row,
        "text": text,
        "lines": _numbered(text, found),
        "problems": found,
        "problem_rows": _problem_rows(text, found),
        "parsed": parsed,
        "may_edit": definitions.may_edit(user),
        "editable": row.status == Status.DRAFT and definitions.may_edit(user),
        "may_propose": row.status == Status.DRAFT and definitions.may_edit(user),
        "may_withdraw": row.status == Status.PROPOSED and definitions.may_edit(user),
        "approval_side": side,
        "may_approve": row.status == Status.PROPOSED and side is not None and side not in signed
        and not any(a.approver_id == user.pk for a in row.approvals.all()),
        "missing": definitions.approvals_missing(row) if row.status == Status.PROPOSED else [],
        "active": current,
        "compare_with": current if current and current.pk != row.pk else None,
        "versions": LeadDefinition.objects.order_by("-version").values_list("version", flat=True),
        **extra,
    }


def _problem_rows(text: str, found: list[document.Problem]) -> list[dict]:
    """Each problem with its source line and a caret under the column, as a compiler shows."""
    lines = text.splitlines()
    rows = []
    for problem in found:
        gutter = f"{problem.line:>4} | "
        rows.append(
            {
                "problem": problem,
                "gutter": gutter,
                "text": lines[problem.line - 1] if 0 < problem.line <= len(lines) else "",
                "pointer": " " * (len(gutter) + problem.column - 1) + "^",
            }
        )
    return rows


def _numbered(text: str, found: list[document.Problem]) -> list[dict]:
    at = {}
    for problem in found:
        at.setdefault(problem.line, []).append(problem)
    return [
        {"number": i, "text": line, "problems": at.get(i, [])}
        for i, line in enumerate(text.splitlines() or [""], start=1)
    ]


@login_required
def definition_detail(request: HttpRequest, version: int) -> HttpResponse:
    """GET: the version. POST: save a draft (the editor); with htmx the editor is swapped."""
    row = _version(version)
    if request.method == "POST":
        return _save(request, row)
    return render(request, "web/definitions/detail.html", _context(request, row))


def _save(request: HttpRequest, row: LeadDefinition) -> HttpResponse:
    text = request.POST.get("document", "").replace("\r\n", "\n")
    summary = request.POST.get("summary")
    try:
        row = definitions.update_draft(row, actor=request.user, text=text, summary=summary)
    except DefinitionRefused as refusal:
        context = _context(request, row, text=text, error=_sentence(refusal.message))
        return _editor_response(request, context, status=refusal.status)
    row = _version(row.version)
    found = definitions.problems_of(row)
    notice = (
        f"Saved. {len(found)} problem(s) to fix before it can be proposed."
        if found
        else "Saved. It is valid: propose it when both sides should sign it."
    )
    if not _is_htmx(request):
        messages.success(request, notice)
        return redirect("definition_detail", version=row.version)
    return _editor_response(request, _context(request, row, notice=notice), status=200)


def _editor_response(request: HttpRequest, context: dict, status: int) -> HttpResponse:
    partial = _is_htmx(request)
    template = "web/definitions/_editor.html" if partial else "web/definitions/detail.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def definition_preview(request: HttpRequest) -> HttpResponse:
    """The live preview of the editor: problems at their lines, and the rules as read."""
    text = request.POST.get("document", "").replace("\r\n", "\n")
    found = document.problems(text)
    return render(
        request,
        "web/definitions/_preview.html",
        {
            "problems": found,
            "problem_rows": _problem_rows(text, found),
            "parsed": None if found else document.parse(text),
        },
    )


def _act(request: HttpRequest, version: int, action) -> HttpResponse:
    row = _version(version)
    try:
        notice = action(row)
    except DefinitionRefused as refusal:
        messages.error(request, _sentence(refusal.message))
    else:
        messages.success(request, notice)
    return redirect("definition_detail", version=version)


@login_required
@require_POST
def definition_propose(request: HttpRequest, version: int) -> HttpResponse:
    def propose(row):
        definitions.propose(row, actor=request.user)
        return (
            f"v{row.version} is proposed. It can no longer change; a marketing manager and a "
            "sales manager must now approve it."
        )

    return _act(request, version, propose)


@login_required
@require_POST
def definition_approve(request: HttpRequest, version: int) -> HttpResponse:
    def approve(row):
        done = definitions.approve(
            row, actor=request.user, comment=request.POST.get("comment", "")
        )
        if not done.activated:
            return f"Approved for {done.approval.get_side_display().lower()}. The other side " \
                "must approve it too."
        run = ScoringRun.objects.filter(definition=row, kind=ScoringRun.Kind.RESCORE).first()
        if run and run.status == ScoringRun.Status.DONE:
            rescored = f" {run.leads:,} leads were rescored; {run.qualified:,} moved to MQL."
        else:
            rescored = " Every lead will be rescored by the worker (or `leadflow rescore`)."
        return f"Approved by both sides: v{row.version} is now the active definition." + rescored

    return _act(request, version, approve)


@login_required
@require_POST
def definition_withdraw(request: HttpRequest, version: int) -> HttpResponse:
    def withdraw(row):
        definitions.withdraw(row, actor=request.user)
        return f"v{row.version} is withdrawn (retired without being active)."

    return _act(request, version, withdraw)


@login_required
@require_GET
def definition_export(request: HttpRequest, version: int) -> HttpResponse:
    row = _version(version)
    response = HttpResponse(row.document, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lead-definition-v{version}.yaml"'
    return response


# --- comparing -------------------------------------------------------------------------------


@login_required
@require_GET
def definition_diff(request: HttpRequest, version: int) -> HttpResponse:
    new = _version(version)
    against = request.GET.get("against")
    current = LeadDefinition.active()
    if against and against.isdigit():
        old = _version(int(against))
    elif current is not None and current.pk != new.pk:
        old = current
    else:
        old = _versions().filter(version__lt=version).order_by("-version").first() or new
    return render(
        request,
        "web/definitions/diff.html",
        {
            "definition": new,
            "old": old,
            "diff": definitions.diff(old, new),
            "versions": LeadDefinition.objects.order_by("-version").values_list(
                "version", flat=True
            ),
        },
    )


@login_required
@require_GET
def definition_whatif(request: HttpRequest, version: int) -> HttpResponse:
    """The what-if of this version beside the active one; `?format=csv`: its monthly table."""
    row = _version(version)
    try:
        found = whatif.compare(row, now=timezone.now())
    except DefinitionRefused as refusal:
        found, error = None, _sentence(refusal.message)
    else:
        error = None
    if found is not None and request.GET.get("format") == "csv":
        return _whatif_csv(found)
    context = {"definition": row, "whatif": found, "error": error, **_whatif_tables(found)}
    partial = _is_htmx(request)
    template = "web/definitions/_whatif.html" if partial else "web/definitions/whatif.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _whatif_csv(found: whatif.WhatIf) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"what-if-v{found.proposed.version}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    header = ["month", f"mqls_v{found.proposed.version}"]
    if found.active:
        header.append(f"mqls_v{found.active.version}")
    writer.writerow(header)
    for i, month in enumerate(found.months):
        row = [month, found.proposed.per_month[i]]
        if found.active:
            row.append(found.active.per_month[i])
        writer.writerow(row)
    return response


def _whatif_tables(found: whatif.WhatIf | None) -> dict:
    if found is None:
        return {}
    p, a = found.proposed, found.active
    months = [
        {
            "month": month,
            "proposed": p.per_month[i],
            "active": a.per_month[i] if a else None,
            "change": p.per_month[i] - a.per_month[i] if a else None,
        }
        for i, month in enumerate(found.months)
    ]
    rates = [(f"v{p.version} ({p.status})", p.outcomes)]
    differences = []
    if a:
        rates += [
            (f"v{a.version} (active)", a.outcomes),
            (f"Newly qualified by v{p.version}", found.newly_outcomes),
            (f"Dropped by v{p.version}", found.dropped_outcomes),
        ]
        differences = [
            (f"Would newly qualify under v{p.version}", found.newly_qualified,
             found.newly_listed, "newly-qualified"),
            (f"Would drop out under v{p.version}", found.dropped, found.dropped_listed,
             "dropped"),
        ]
    return {
        "chart": _chart(found),
        "month_rows": months,
        "total_change": p.outcomes.qualified - a.outcomes.qualified if a else None,
        "rate_rows": rates,
        "difference_rows": differences,
    }


def _chart(found: whatif.WhatIf | None) -> dict | None:
    """Bar geometry for the monthly chart (an inline SVG; the table beside it has the data)."""
    if found is None:
        return None
    series = [("proposed", found.proposed)] + ([("active", found.active)] if found.active else [])
    top = max([4, *(n for _, side in series for n in side.per_month)])
    step = 10 ** (len(str(top)) - 1)
    top = -(-top // step) * step
    while top % 4:  # four even gridlines of whole numbers
        top += step // 2 if step > 1 else 1
    width, height, left, bottom = 720, 240, 56, 36
    plot_w, plot_h = width - left - 12, height - bottom - 12
    group = plot_w / len(found.months)
    bar = group * 0.8 / len(series)
    bars = []
    for m, label in enumerate(found.months):
        for s, (name, side) in enumerate(series):
            value = side.per_month[m]
            h = plot_h * value / top
            bars.append(
                {
                    "x": round(left + m * group + group * 0.1 + s * bar, 1),
                    "y": round(12 + plot_h - h, 1),
                    "w": round(bar - 1, 1),
                    "h": round(h, 1),
                    "series": name,
                    "title": f"{label}: {value} MQLs under v{side.version}",
                }
            )
    ticks = [
        {"y": round(12 + plot_h - plot_h * f, 1), "label": f"{int(top * f):,}"}
        for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    months = [
        {"x": round(left + m * group + group / 2, 1), "label": label[2:]}
        for m, label in enumerate(found.months)
    ]
    return {
        "width": width, "height": height, "left": left, "base": 12 + plot_h,
        "bars": bars, "ticks": ticks, "months": months, "right": width - 12,
    }


# Mounted at /definitions/ by leadflow/web/urls.py.
urlpatterns = [
    path("", definition_list, name="definition_list"),
    path("new/", definition_new, name="definition_new"),
    path("import/", definition_import, name="definition_import"),
    path("preview/", definition_preview, name="definition_preview"),
    path("<int:version>/", definition_detail, name="definition_detail"),
    path("<int:version>/propose/", definition_propose, name="definition_propose"),
    path("<int:version>/approve/", definition_approve, name="definition_approve"),
    path("<int:version>/withdraw/", definition_withdraw, name="definition_withdraw"),
    path("<int:version>/export/", definition_export, name="definition_export"),
    path("<int:version>/diff/", definition_diff, name="definition_diff"),
    path("<int:version>/what-if/", definition_whatif, name="definition_whatif"),
]
