"""Imports and exports: start an import of a CSV file (multipart upload), follow its job, and
stream leads, history or activities as CSV. Marketing and admins may import (as on the Import
page); exports give the leads the caller may see."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from leadflow.api.problems import Problem, invalid
from leadflow.api.schemas import ProblemOut
from leadflow.leads.access import visible_leads
from leadflow.transfer import export, importer, presets
from leadflow.transfer.access import may_import
from leadflow.transfer.models import ImportJob

router = Router(tags=["import and export"])


class ImportJobOut(Schema):
    id: int
    file: str
    status: str
    message: str
    size: int
    offset: int
    line: int
    rows: int
    created: int
    merged: int
    failed: int
    mapping: dict
    options: dict


def _out(job: ImportJob) -> dict:
    return {
        "id": job.pk, "file": job.original_name, "status": job.status, "message": job.message,
        "size": job.size, "offset": job.offset, "line": job.line, "rows": job.rows_done,
        "created": job.created, "merged": job.merged, "failed": job.failed,
        "mapping": job.mapping, "options": job.options,
    }


def _importer(request: HttpRequest) -> None:
    if not may_import(request.auth):
        raise Problem(403, "forbidden", "importing leads is for marketing and administrators")


@router.post("/imports", response={202: ImportJobOut, 403: ProblemOut, 422: ProblemOut},
             url_name="import-start")
def start_import(
    request: HttpRequest,
    file: File[UploadedFile],
    preset: Form[str] = "",
    mapping: Form[str] = "",
    source: Form[str] = "",
    create_sources: Form[bool] = False,
):
    """Upload a CSV file and queue its import; the worker runs it. `mapping`: JSON object
    column -> target (see the README); `preset`: salesforce-leads, hubspot-contacts or a
    saved preset. Follow it at /api/imports/{id}."""
    _importer(request)
    try:
        columns = json.loads(mapping) if mapping else {}
        if not isinstance(columns, dict):
            raise ValueError
    except ValueError:
        raise invalid("mapping", "a JSON object: {\"CSV column\": \"target\"}") from None
    folder = Path(settings.DATA_DIR) / "imports" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    with open(path, "wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    try:
        job = importer.prepare(
            path, user=request.auth, preset=preset, mapping=columns, source=source,
            create_sources=create_sources, original_name=file.name, resume=False,
        )
    except (importer.ImportError_, presets.MappingError) as exc:
        path.unlink(missing_ok=True)
        raise invalid("mapping" if isinstance(exc, presets.MappingError) else "file",
                      str(exc)) from None
    return Status(202, _out(job))


@router.get("/imports/{job_id}", response={200: ImportJobOut, 403: ProblemOut, 404: ProblemOut},
            url_name="import-status")
def import_status(request: HttpRequest, job_id: int):
    """An import's progress: bytes read (`offset` of `size`), rows, leads created, merged,
    bad rows."""
    _importer(request)
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise Problem(404, "not-found", f"import {job_id} not found")
    return _out(job)


@router.get("/export/{kind}", response={200: None, 404: ProblemOut}, url_name="export")
def export_records(request: HttpRequest, kind: str):
    """`leads`, `history` or `activities` as CSV (streamed), of the leads the caller may see."""
    if kind not in export.RECORDS:
        raise Problem(404, "not-found", f"export one of {', '.join(export.RECORDS)}")
    leads = visible_leads(request.auth)
    rows = export.records(kind, leads if leads.query.where else None)
    response = StreamingHttpResponse(export.csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leadflow-{kind}.csv"'
    return response
