"""Import and export pages: upload a CSV, map its columns (from a preset) with a preview of the
first rows and their problems, start it; the worker imports it while the page shows progress;
the error file to download at the end. Exports of leads, history and activities, streamed.

Thin: the importer (`leadflow.transfer.importer`) does the work; these pages collect choices.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from leadflow.leads.access import visible_leads
from leadflow.leads.models import Source
from leadflow.reports.periods import MONTH, Span
from leadflow.transfer import export, importer, presets, spend
from leadflow.transfer.access import may_import
from leadflow.transfer.models import ImportJob, ImportPreset
from leadflow.transfer.reader import CsvStream

PREVIEW_ROWS = 10


def _allowed(request: HttpRequest) -> HttpResponse | None:
    if not may_import(request.user):
        return render(request, "web/not_for_you.html", {
            "title": "Import",
            "message": "Importing leads and booking spend is for marketing and administrators.",
        }, status=403)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    if refused := _allowed(request):
        return refused
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV file to import.")
            return redirect("import_home")
        folder = Path(settings.DATA_DIR) / "imports" / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.csv"
        with open(path, "wb") as out:
            for chunk in upload.chunks():  # streamed to disk, never whole in memory
                out.write(chunk)
        try:
            job = importer.prepare(
                path, user=request.user, preset=request.POST.get("preset", ""),
                original_name=upload.name, resume=False, status=ImportJob.Status.DRAFT,
            )
        except (importer.ImportError_, presets.MappingError) as exc:
            path.unlink(missing_ok=True)
            messages.error(request, f"{upload.name}: {exc}")
            return redirect("import_home")
        return redirect("import_job", pk=job.pk)
    return render(request, "transfer/import_home.html", {
        "jobs": ImportJob.objects.select_related("created_by")[:20],
        "presets": [*presets.BUILT_IN, *ImportPreset.objects.values_list("name", flat=True)],
        "exports": export.RECORDS,
    })


def _preview(job: ImportJob) -> tuple[list[dict], str]:
    """The first rows as read and parsed under the job's mapping, with their problems."""
    try:
        parser = importer.Parser(job.header, job.mapping, job.options, timezone.now())
    except (presets.MappingError, importer.Problem) as exc:
        return [], str(exc)
    rows = []
    with open(job.path, "rb") as f:
        stream = CsvStream(f, width=len(job.header))
        for record in stream:
            if record.line == 1:
                continue
            entry = {"line": record.line, "values": record.values or [record.raw], "problem": ""}
            if record.values is None:
                entry["problem"] = record.error
            elif record.blank:
                entry["problem"] = "blank line"
            elif len(record.values) != len(job.header):
                entry["problem"] = f"{len(record.values)} fields"
            else:
                try:
                    parser(record.line, record.raw, record.values)
                except importer.Problem as problem:
                    entry["problem"] = f"{problem.column}: {problem.reason}"
            rows.append(entry)
            if len(rows) >= PREVIEW_ROWS:
                break
    return rows, ""


@login_required
@require_http_methods(["GET", "POST"])
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    if refused := _allowed(request):
        return refused
    job = get_object_or_404(ImportJob, pk=pk)
    problem = ""
    if request.method == "POST" and job.status == ImportJob.Status.DRAFT:
        mapping = {
            column: request.POST.get(f"map-{i}", "")
            for i, column in enumerate(job.header)
        }
        mapping = {c: t for c, t in mapping.items() if t}
        options = {"source": request.POST.get("source", "").strip()}
        if request.POST.get("create_sources"):
            options["create_sources"] = True
        job.mapping, job.options = mapping, {k: v for k, v in options.items() if v}
        try:
            presets.resolve(job.header, job.mapping)
        except presets.MappingError as exc:
            problem = str(exc)
        else:
            job.save(update_fields=["mapping", "options"])
            if name := request.POST.get("save_preset", "").strip():
                ImportPreset.objects.update_or_create(
                    name=name,
                    defaults={"mapping": mapping, "options": job.options,
                              "created_by": request.user},
                )
                messages.success(request, f"Saved the mapping as preset “{name}”.")
            if "start" in request.POST:
                ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
                    status=ImportJob.Status.QUEUED
                )
                messages.success(request, "Import queued: the worker starts it within moments.")
                return redirect("import_job", pk=job.pk)
    if job.status == ImportJob.Status.DRAFT:
        rows, mapping_problem = _preview(job)
        targets = presets.resolve(job.header, job.mapping) if not problem else []
        columns = [
            {"index": i, "name": c,
             "target": job.mapping.get(c) or (targets[i] if targets else ""),
             "auto": presets.target_for(c, {})}
            for i, c in enumerate(job.header)
        ]
        return render(request, "transfer/import_mapping.html", {
            "job": job, "columns": columns, "rows": rows,
            "problem": problem or mapping_problem,
            "targets": [*presets.TARGETS, presets.SKIP],
        })
    return render(request, "transfer/import_job.html", {"job": job})


@login_required
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    if refused := _allowed(request):
        return refused
    job = get_object_or_404(ImportJob, pk=pk)
    return render(request, "transfer/_import_progress.html", {"job": job})


@login_required
@require_GET
def job_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The import's error file, streamed: a file of millions of bad rows is sent a block at a
    time, never read whole into memory."""
    if not may_import(request.user):
        raise Http404
    job = get_object_or_404(ImportJob, pk=pk)
    path = Path(job.error_path)
    if not path.is_file():
        raise Http404
    # The file up to the last committed chunk: what the counts on the page describe.
    size = min(job.error_bytes, path.stat().st_size)
    response = StreamingHttpResponse(_head(path, size), content_type="text/csv; charset=utf-8")
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


def _head(path: Path, size: int, block: int = 1 << 16) -> Iterator[bytes]:
    """The first `size` bytes of the file, `block` bytes at a time."""
    with open(path, "rb") as f:
        while size > 0 and (data := f.read(min(block, size))):
            size -= len(data)
            yield data


@login_required
@require_GET
def export_records(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    """Leads, history or activities as CSV, of the leads the person may see, streamed."""
    if kind not in export.RECORDS:
        raise Http404
    leads = visible_leads(request.user)
    rows = export.records(kind, leads if leads.query.where else None)
    response = StreamingHttpResponse(export.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leadflow-{kind}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def spend_page(request: HttpRequest) -> HttpResponse:
    """Spend per source and campaign per month: a CSV file or one entry at a time, and the
    last twelve months as booked."""
    if refused := _allowed(request):
        return refused
    result, problem = None, None
    if request.method == "POST":
        try:
            if upload := request.FILES.get("file"):
                # A spend file is a few hundred rows: read whole.
                text = upload.read().decode("utf-8-sig", errors="replace")
                result = spend.import_spend(*spend.read_csv(text))
            else:
                fields = ("month", "source", "campaign", "amount", "currency")
                entry = {f: request.POST.get(f, "").strip() for f in fields}
                result = spend.import_spend([(1, entry)])
        except spend.SpendFileError as exc:
            problem = str(exc)
    this_month = Span.containing(timezone.now())
    labels, grid = spend.spend_grid(Span(MONTH, this_month.shifted(-11).first, 12).month_starts())
    return render(request, "transfer/spend.html", {
        "result": result,
        "problem": problem,
        "months": labels,
        "grid": grid,
        "sources": Source.objects.order_by("name").prefetch_related("campaigns"),
        "default_month": f"{this_month.first:%Y-%m}",
    }, status=422 if problem or (result and result.bad) else 200)
