"""CSV import of leads, with their history, in bulk.

A file is read as a stream (`reader.CsvStream`) and imported `chunk_size` rows at a time. Each
chunk is one transaction that writes its rows and the job's progress (the byte offset and line
after its last row, the counts, the error file's size): after a crash the job continues at the
last committed chunk, so no row is imported twice and none is skipped. Memory holds one chunk.

A row becomes a lead the way `leadflow.leads.actions.create_lead` makes one, then its history
columns are replayed through the declared lifecycle (`qualify`, `accept`, `convert`, `accept`
by field sales, `win`/`lose`) at the moments the columns give, in memory by the demo's
`LeadRun` - `actions.transition` without the queries - and written in bulk. Reports then see
the funnel as it happened. A stage date left blank before a later one is taken to be the later
one's moment (a lead won on 3 May was qualified by then). Offers go where routing sends them at
import time; each is accepted by the rep it was offered to (or the first rep of the team). An
offer the history leaves open (a lead last qualified, or last converted) is made at import time,
with the full SLA ahead of it, so importing old MQLs does not flood the arbiter.

Who a row is: its e-mail key, then its external id (`leadflow.leads.identity`).
- A row for a person already in leadflow is merged into that lead by the merge policy
  (`actions.update_lead`); its history columns are not replayed (the lead has its own).
- A row for the same person as an earlier row of the same file is a bad row: "duplicate of
  line N" (the earlier row won; the file has two versions of one person, and nobody can tell
  which is right). The create history row notes "import #job line N", which is how a duplicate
  of a row committed in an earlier chunk is recognised.
Bad rows go to the error file (line, column, reason, the row as read); the others are imported.
Imports write no outbox events: a million historical leads must not notify anyone.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, models, transaction
from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.demo.memory import LeadRun, MemoryServices
from leadflow.demo.writer import BulkWriter, RowShape
from leadflow.leads import actions, lifecycle, merge
from leadflow.leads.identity import email_key
from leadflow.leads.models import (
    Campaign,
    Decision,
    Handoff,
    Lead,
    Opportunity,
    ReasonCode,
    ReasonKind,
    Source,
    StageChange,
)
from leadflow.reports.periods import company_zone
from leadflow.transfer import presets
from leadflow.transfer.models import ImportJob
from leadflow.transfer.reader import CsvStream

CHUNK_SIZE = 5_000
ERROR_HEADER = ["line", "column", "reason", "row"]
NOT_RECORDED = "(not recorded: imported history)"
_MAX_LENGTH = {f: Lead._meta.get_field(f).max_length for f in presets.LEAD_FIELDS}
_MAX_LENGTH["employee_count"] = None
_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M")
_DAY_FORMATS = ("%m/%d/%Y", "%d.%m.%Y")


class ImportError_(Exception):
    """The import cannot start or go on (not a bad row): the message says why."""


# --- starting a job ---------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_header(path: Path) -> list[str]:
    with open(path, "rb") as f:
        for record in CsvStream(f):
            if record.values is None:
                raise ImportError_(f"line {record.line}: the header is unreadable: {record.error}")
            if record.blank:
                continue
            return [h.strip() for h in record.values]
    raise ImportError_("the file is empty: there is no header line")


def prepare(
    path: str | Path,
    *,
    user: User | None,
    preset: str = "",
    mapping: dict[str, str] | None = None,
    source: str = "",
    create_sources: bool = False,
    errors: str | Path | None = None,
    original_name: str = "",
    resume: bool = True,
    status: str = ImportJob.Status.QUEUED,
) -> ImportJob:
    """An import job for the file, its mapping checked against the header.

    With `resume`, an unfinished job of the same file (same content) with the same mapping
    and options is picked up instead: running an interrupted import again continues it."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ImportError_(f"there is no file {path}")
    digest, size = file_digest(path), path.stat().st_size
    header = read_header(path)
    full, options = {}, {}
    if preset:
        full, options = presets.preset_mapping(preset)
        # A preset names more columns than one file has: keep those of this file.
        full = {c: t for c, t in full.items() if c in header}
    full.update(mapping or {})
    presets.resolve(header, full)
    options.update({k: v for k, v in {"source": source}.items() if v})
    if create_sources:
        options["create_sources"] = True
    if resume:
        # The same file with the same choices, not finished: continue it.
        unfinished = (
            ImportJob.objects.filter(sha256=digest, size=size, mapping=full, options=options)
            .exclude(status__in=[ImportJob.Status.DONE, ImportJob.Status.DRAFT])
            .order_by("-id")
            .first()
        )
        if unfinished is not None:
            return unfinished
    job = ImportJob.objects.create(
        path=str(path),
        original_name=original_name or path.name,
        sha256=digest,
        size=size,
        header=header,
        mapping=full,
        preset=preset,
        options=options,
        created_by=user,
        status=status,
    )
    if errors is None:
        folder = Path(settings.DATA_DIR) / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        errors = folder / f"import-{job.pk}-errors.csv"
    job.error_path = str(Path(errors).resolve())
    job.save(update_fields=["error_path"])
    return job


# --- reading rows ---------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    line: int
    raw: str
    fields: dict
    custom: dict
    stages: dict  # target -> moment
    amount: Decimal | None = None
    reason: ReasonCode | None = None
    evidence: dict = field(default_factory=dict)
    source: Source | None = None
    campaign: Campaign | None = None
    created_at: datetime | None = None


class Problem(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


class Parser:
    """Turns a record's values into a `Row`, or raises `Problem` naming the column."""

    def __init__(self, header: list[str], mapping: dict[str, str], options: dict, now: datetime):
        self.header = header
        self.targets = presets.resolve(header, mapping)
        self.plan = [
            (i, t, header[i]) for i, t in enumerate(self.targets) if t != presets.SKIP
        ]
        self.zone = company_zone()
        self.now = now
        self.create_sources = bool(options.get("create_sources"))
        self.sources = {s.name.casefold(): s for s in Source.objects.all()}
        self.default_source = None
        if options.get("source"):
            self.default_source = self.source(options["source"], "source option")
        self.campaigns = {
            (c.source_id, c.name.casefold()): c for c in Campaign.objects.all()
        }
        self.loss_reasons = {}
        for reason in ReasonCode.objects.filter(kind=ReasonKind.LOSS, active=True):
            self.loss_reasons[reason.code.casefold()] = reason
            self.loss_reasons[reason.label.casefold()] = reason
        self.has_source = "source" in self.targets

    def source(self, name: str, column: str) -> Source:
        found = self.sources.get(name.casefold())
        if found is None:
            if not self.create_sources:
                raise Problem(column, f"unknown source {name!r} (create it first, or import "
                              "with the option to create sources)")
            found = Source.objects.create(name=name[:100])
            self.sources[name.casefold()] = found
        return found

    def moment(self, value: str, column: str) -> tuple[datetime, bool]:
        """A moment, and whether only its day was given. Naive times are company time."""
        text = value.strip()
        parsed = None
        day_only = False
        try:
            if len(text) == 10 and text[4] == "-":
                parsed, day_only = datetime.combine(
                    datetime.strptime(text, "%Y-%m-%d").date(), clock()
                ), True
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DAY_FORMATS:
                try:
                    parsed, day_only = datetime.strptime(text, fmt), True
                    break
                except ValueError:
                    pass
            else:
                for fmt in _DATE_FORMATS:
                    try:
                        parsed = datetime.strptime(text, fmt)
                        break
                    except ValueError:
                        pass
        if parsed is None:
            raise Problem(column, f"{value!r} is not a date (use 2024-03-31 or "
                          "2024-03-31 14:05, or 03/31/2024)")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        if parsed > self.now:
            raise Problem(column, f"{value!r} is in the future")
        return parsed, day_only

    def __call__(self, line: int, raw: str, values: list[str]) -> Row:
        fields: dict = {}
        custom: dict = {}
        stages: dict = {}
        days: set[str] = set()
        row = Row(line, raw, fields, custom, stages)
        source_name = campaign_name = ""
        for index, target, column in self.plan:
            value = values[index].strip()
            if not value:
                continue
            if target in _MAX_LENGTH:
                if target == "email":
                    try:
                        validate_email(value)
                    except ValidationError:
                        raise Problem(column, f"{value!r} is not an e-mail address") from None
                elif target == "employee_count":
                    try:
                        value = int(value.replace(",", ""))
                        if value < 0:
                            raise ValueError
                    except ValueError:
                        raise Problem(column, f"{value!r} is not a whole number") from None
                elif target == "country" and len(value) != 2:
                    # A country name, not a code: kept as a custom attribute, not lost.
                    custom["country"] = value
                    continue
                elif target == "country":
                    value = value.upper()
                limit = _MAX_LENGTH[target]
                if limit and len(value) > limit:
                    raise Problem(column, f"longer than {limit} characters")
                fields[target] = value
            elif target.startswith(presets.CUSTOM):
                custom[target[len(presets.CUSTOM):]] = value
            elif target == "source":
                source_name = value
            elif target == "campaign":
                campaign_name = value
            elif target == "created_at":
                row.created_at, _ = self.moment(value, column)
            elif target in presets.STAGE_DATES:
                stages[target], day_only = self.moment(value, column)
                if day_only:
                    days.add(target)
            elif target == "amount":
                try:
                    row.amount = Decimal(value.replace(",", "").lstrip("$€£"))
                    if row.amount < 0 or row.amount.as_tuple().exponent < -2:
                        raise InvalidOperation
                except InvalidOperation:
                    raise Problem(column, f"{value!r} is not an amount") from None
            elif target == "outcome_reason":
                row.reason = self.loss_reasons.get(value.casefold())
                if row.reason is None:
                    codes = sorted({r.code for r in self.loss_reasons.values()})
                    raise Problem(column, f"unknown loss reason {value!r} "
                                  f"(one of {', '.join(codes)})")
            elif target in presets.EVIDENCE_FIELDS:
                row.evidence[target] = value
        if source_name:
            row.source = self.source(source_name, self._column("source"))
        elif self.default_source is not None:
            row.source = self.default_source
        else:
            raise Problem(self._column("source") if self.has_source else "source",
                          "no source: give the row one, or import with a default source")
        if campaign_name:
            key = (row.source.pk, campaign_name.casefold())
            row.campaign = self.campaigns.get(key)
            if row.campaign is None:
                if not self.create_sources:
                    raise Problem(self._column("campaign"),
                                  f"unknown campaign {campaign_name!r} of {row.source.name}")
                row.campaign = Campaign.objects.create(source=row.source, name=campaign_name)
                self.campaigns[key] = row.campaign
        if custom:
            fields["custom"] = custom
        if stages:
            self._order(row, days)
        return row

    def _column(self, target: str) -> str:
        return self.header[self.targets.index(target)]

    def _order(self, row: Row, days: set[str]) -> None:
        """Stage dates in lifecycle order; a blank one before a given one takes its moment."""
        stages = row.stages
        if "won_date" in stages and "lost_date" in stages:
            raise Problem(self._column("lost_date"), "a lead is won or lost, not both")
        if "lost_date" in stages and row.reason is None:
            raise Problem(self._column("lost_date"), "a lost deal needs its outcome_reason")
        path = [*presets.STAGE_DATES[:4], "lost_date" if "lost_date" in stages else "won_date"]
        order = path[: max(i for i, name in enumerate(path) if name in stages) + 1]
        later = None
        for name in reversed(order):
            if name in stages:
                later = stages[name]
            else:
                stages[name] = later
        previous, previous_name = row.created_at, "created_at"
        for name in order:
            at = stages[name]
            if previous is not None and at < previous:
                same_day = at.astimezone(self.zone).date() == previous.astimezone(self.zone).date()
                if name in days and same_day:
                    stages[name] = at = previous  # a day only: not before what came first
                else:
                    raise Problem(self._column(name) if name in self.targets else name,
                                  f"{at:%Y-%m-%d %H:%M} is before {previous_name} "
                                  f"({previous:%Y-%m-%d %H:%M})")
            previous, previous_name = at, name
        row.stages = {name: stages[name] for name in order}


# --- writing rows ---------------------------------------------------------------------------


class _Ids:
    """Primary keys for the rows a chunk writes: from the sequences on PostgreSQL (safe beside
    other writers), after the largest id on SQLite (whose writers take turns anyway)."""

    TABLES = {"lead": Lead, "handoff": Handoff, "opportunity": Opportunity, "history": StageChange}

    def __init__(self) -> None:
        for name, model in self.TABLES.items():
            setattr(self, name, self._ids(model))

    @staticmethod
    def _ids(model) -> Iterator[int]:
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
            block = 64
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, block]
                    )
                    yield from (row[0] for row in cursor.fetchall())
                block = min(block * 4, 16_384)
        next_id = (model.objects.aggregate(m=models.Max("id"))["m"] or 0) + 1
        while True:
            yield next_id
            next_id += 1


@dataclass
class Outcome:
    rows: int = 0
    created: int = 0
    merged: int = 0
    failed: int = 0
    seconds: float = 0.0


class Importer:
    def __init__(
        self,
        job: ImportJob,
        *,
        chunk_size: int = CHUNK_SIZE,
        progress: Callable[[str, int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.job, self.chunk_size = job, chunk_size
        self.progress, self.should_stop = progress, should_stop
        user = job.created_by
        # Rows are created (and marketing's history written) by the importing person when
        # marketing may create leads, else by leadflow itself.
        self.actor = user if user and lifecycle.actor_roles(user) & actions.CREATE_ROLES else None
        self.tag = f"import #{job.pk} line "
        self.shape = RowShape(connection.vendor)
        self.seconds = 0.0
        self.phases = {"read": 0.0, "match": 0.0, "replay": 0.0, "write": 0.0, "commit": 0.0}

    def run(self) -> ImportJob:
        """Import from the job's committed offset to the end of the file (or until asked to
        stop between chunks). Refused if the file changed since the job began."""
        job = self.job
        path = Path(job.path)
        if not path.is_file() or path.stat().st_size != job.size:
            return self._fail(f"the file {path} is gone or changed since the import began")
        started = time.perf_counter()
        now = timezone.now()
        try:
            self.parser = Parser(job.header, job.mapping, job.options, now)
        except (presets.MappingError, Problem) as exc:
            return self._fail(str(exc))
        self.services = MemoryServices.from_database()
        self.writer = BulkWriter(connection, self.shape)
        if connection.vendor == "sqlite":
            # The bulk writer's 256 MB page cache, capped: memory stays flat however big the
            # file, once the cache is full.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -65536")
        errors = self._errors_file()
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
        try:
            with open(path, "rb") as f:
                stream = CsvStream(f, offset=job.offset, line=job.line, width=len(job.header))
                self._chunks(stream, errors)
        except Exception as exc:
            errors.close()
            self._fail(f"{type(exc).__name__}: {exc}")
            raise
        errors.close()
        job.refresh_from_db()
        if job.offset >= job.size:
            job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
        else:  # stopped between chunks: the worker takes it up again
            job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["status", "finished_at"])
        self.seconds = time.perf_counter() - started
        self.phases["read"] += self.seconds
        return job

    def _fail(self, message: str) -> ImportJob:
        ImportJob.objects.filter(pk=self.job.pk).update(
            status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
        )
        self.job.refresh_from_db()
        return self.job

    def _errors_file(self):
        """The error file, cut back to what the last committed chunk wrote."""
        path = Path(self.job.error_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+b")  # noqa: SIM115 - closed by run()
        f.truncate(self.job.error_bytes)
        f.seek(self.job.error_bytes)
        if self.job.error_bytes == 0:
            f.write(_csv_line(ERROR_HEADER))
        return f

    def _chunks(self, stream: CsvStream, errors) -> None:
        rows: list[Row] = []
        bad: list[tuple[int, str, str, str]] = []
        count = 0
        first = self.job.line == 0
        for record in stream:
            if first:  # the header, after any blank lines (as read_header reads it)
                if not record.blank:
                    first = False
                    self._done_header(record)
                continue
            count += 1
            if record.values is None:
                bad.append((record.line, "", record.error, record.raw))
            elif record.blank:
                bad.append((record.line, "", "blank line", record.raw))
            elif len(record.values) != len(self.job.header):
                bad.append((record.line, "", f"{len(record.values)} fields where the header "
                            f"has {len(self.job.header)}", record.raw))
            else:
                try:
                    rows.append(self.parser(record.line, record.raw, record.values))
                except Problem as problem:
                    bad.append((record.line, problem.column, problem.reason, record.raw))
            if count >= self.chunk_size:
                self._commit(rows, bad, count, record.end, record.end_line, errors)
                rows, bad, count = [], [], 0
                if self.should_stop():
                    return
        self._commit(rows, bad, count, self.job.size, stream.line, errors)

    def _done_header(self, record) -> None:
        ImportJob.objects.filter(pk=self.job.pk).update(offset=record.end, line=record.end_line)
        self.job.offset, self.job.line = record.end, record.end_line

    def _commit(self, rows, bad, count, offset, line, errors) -> None:
        job = self.job
        t = time.perf_counter()
        with transaction.atomic():
            created, merged, more_bad = self._write(rows)
            bad += more_bad
            bad.sort()
            for problem in bad:
                errors.write(_csv_line(problem))
            errors.flush()
            os.fsync(errors.fileno())
            failed = len({b[0] for b in bad})
            ImportJob.objects.filter(pk=job.pk).update(
                offset=offset,
                line=line,
                rows_done=models.F("rows_done") + count,
                created=models.F("created") + created,
                merged=models.F("merged") + merged,
                failed=models.F("failed") + failed,
                error_bytes=errors.tell(),
                heartbeat_at=timezone.now(),
            )
            c = time.perf_counter()
        self.phases["commit"] += time.perf_counter() - c
        self.phases["read"] -= time.perf_counter() - t  # `read` is the rest of the time
        job.offset, job.line = offset, line
        job.error_bytes = errors.tell()
        if self.progress:
            self.progress("import", offset, job.size)

    def _write(self, rows: list[Row]) -> tuple[int, int, list]:
        """Merge known people, replay and bulk-insert new ones; returns counts and bad rows."""
        bad = []
        t = time.perf_counter()
        fresh, known = self._match(rows, bad)
        merged = 0
        # The merge policy decides in bulk what would change; only leads that change go
        # through the action (a re-imported file changes nothing, and costs one query).
        names = (*merge.FOUND_BY, *merge.NEWEST_WINS, "custom")
        current = {
            values[0]: dict(zip(names, values[1:], strict=True))
            for values in Lead.objects.filter(pk__in=[k[1] for k in known]).values_list(
                "pk", *names
            )
        }
        for row, lead_id in known:
            incoming = {k: v for k, v in row.fields.items() if k in actions.LEAD_FIELDS}
            if not merge.changes(current[lead_id], incoming):
                merged += 1
                continue
            try:
                actions.update_lead(lead_id, actor=self.actor, fields=incoming)
            except (ValidationError, lifecycle.TransitionError) as exc:
                bad.append((row.line, "", f"merging into lead {lead_id}: {exc}", row.raw))
                continue
            merged += 1
        ids = _Ids()
        r = time.perf_counter()
        self.phases["match"] += r - t
        turns = {u.pk: u.last_offered_at for reps in self.services.reps.values() for u in reps}
        runs = []
        for row in fresh:
            run = LeadRun(row.line, self.services, ids, self.history_row, self.shape.datetime,
                          None)
            try:
                self._replay(run, row)
            except lifecycle.TransitionError as exc:
                self._undo_offer(run)
                bad.append((row.line, getattr(exc, "column", ""), str(exc), row.raw))
                continue
            runs.append(run)
        w = time.perf_counter()
        self.phases["replay"] += w - r
        writer = self.writer
        writer.insert(Lead, self.shape.rows(Lead, (r.lead for r in runs)))
        writer.insert(Opportunity, self.shape.rows(Opportunity, (o for r in runs for o in r.opps)))
        writer.insert(Handoff, self.shape.rows(Handoff, (h for r in runs for h in r.offers)))
        writer.insert(StageChange, [h for r in runs for h in r.history])
        for reps in self.services.reps.values():
            for user in reps:
                if user.last_offered_at != turns[user.pk]:
                    User.objects.filter(pk=user.pk).update(last_offered_at=user.last_offered_at)
        self.phases["write"] += time.perf_counter() - w
        return len(runs), merged, bad

    def history_row(self, entry: StageChange) -> list:
        return self.shape.row(StageChange, entry)

    def _match(self, rows: list[Row], bad: list) -> tuple[list[Row], list[tuple[Row, int]]]:
        """Split rows into new people and known ones (lead id); duplicates go to `bad`."""
        first_line: dict[tuple[str, str], int] = {}
        unique = []
        for row in rows:
            keys = []
            key = email_key(row.fields.get("email"))
            if key:
                keys.append(("email", key))
            if row.fields.get("external_id"):
                keys.append(("external_id", row.fields["external_id"]))
            earlier = next(((k, first_line[k]) for k in keys if k in first_line), None)
            if earlier is not None:
                (column, _), line = earlier
                bad.append((row.line, self._header_of(column), f"duplicate of line {line}",
                            row.raw))
                continue
            for k in keys:
                first_line[k] = row.line
            unique.append((row, keys))
        by_email = _lookup("email_key", [v for _, ks in unique for c, v in ks if c == "email"])
        by_ext = _lookup("external_id",
                         [v for _, ks in unique for c, v in ks if c == "external_id"])
        fresh, known = [], []
        for row, keys in unique:
            lead_id = None
            for column, value in keys:
                lead_id = (by_email if column == "email" else by_ext).get(value)
                if lead_id is not None:
                    break
            if lead_id is None:
                fresh.append(row)
            else:
                known.append((row, lead_id, column))
        # A known person whose lead this job created: a duplicate of that earlier line.
        mine = {}
        if known:
            for lead_id, comment in StageChange.objects.filter(
                lead_id__in=[k[1] for k in known],
                transition="create",
                comment__startswith=self.tag,
            ).values_list("lead_id", "comment"):
                mine[lead_id] = comment.removeprefix(self.tag)
        out = []
        for row, lead_id, column in known:
            if lead_id in mine:
                bad.append((row.line, self._header_of(column),
                            f"duplicate of line {mine[lead_id]}", row.raw))
            else:
                out.append((row, lead_id))
        return fresh, out

    def _header_of(self, target: str) -> str:
        targets = self.parser.targets
        return self.job.header[targets.index(target)] if target in targets else target

    # -- the lifecycle, replayed ------------------------------------------------------------
    def _replay(self, run: LeadRun, row: Row) -> None:
        created = row.created_at or self.parser.now
        fields = dict(row.fields)
        if row.campaign is not None:
            fields["campaign_id"] = row.campaign.pk
        lead = run.create(actor=self.actor, source_id=row.source.pk, now=created,
                          comment=f"{self.tag}{row.line}", **fields)
        if self.services.rules:  # routing rules may look at the source or campaign
            lead.source, lead.campaign = row.source, row.campaign
        stages = row.stages
        if not stages:
            return
        step = "mql_date"
        try:
            run.transition("qualify", actor=self.actor, now=stages["mql_date"])
            if "sal_date" in stages:
                step = "sal_date"
                rep = self._decider(run, Role.INSIDE_SALES)
                run.transition("accept", actor=rep, now=stages["sal_date"])
            if "sql_date" in stages:
                step = "sql_date"
                evidence = {k: row.evidence.get(k) or NOT_RECORDED
                            for k in presets.EVIDENCE_FIELDS}
                run.transition("convert", actor=rep, now=stages["sql_date"], evidence=evidence)
            if "opportunity_date" in stages:
                step = "opportunity_date"
                ae = self._decider(run, Role.FIELD_SALES)
                run.transition("accept", actor=ae, now=stages["opportunity_date"],
                               amount=row.amount or Decimal(0))
            if "won_date" in stages:
                step = "won_date"
                run.transition("win", actor=ae, now=stages["won_date"])
            elif "lost_date" in stages:
                step = "lost_date"
                run.transition("lose", actor=ae, now=stages["lost_date"], reason=row.reason,
                               comment="")
        except lifecycle.TransitionError as exc:
            exc.column = self._header_of(step)
            raise
        self._offer_now(run)

    def _offer_now(self, run: LeadRun) -> None:
        """An offer the history leaves open is made at import time, with the SLA's full time
        to decide: offered at its historical moment it would be long overdue, and the first
        sweep would escalate every imported MQL to the arbiter at once. The stage keeps its
        historical entry (the history row and `first_*_at`)."""
        offer = run.offers[-1] if run.offers else None
        now = self.parser.now
        if offer is None or offer.decision != Decision.PENDING or offer.offered_at >= now:
            return
        offer.offered_at = now
        offer.accept_by = self.services.accept_by(
            offer.offered_to_team, now, offer.kind, run.lead.priority
        )

    def _decider(self, run: LeadRun, role: str):
        """Who decides the open offer: the rep it was offered to, else the team's first rep."""
        offer = run.offers[-1]
        if offer.offered_to_id is not None:
            return offer.offered_to
        reps = self.services.reps.get((offer.offered_to_team_id, role), [])
        if not reps:
            raise lifecycle.NotAllowed(
                f"{offer.offered_to_team} has no active {Role(role).label} rep to accept the "
                "offer: add one, then import again"
            )
        return reps[0]

    def _undo_offer(self, run: LeadRun) -> None:
        """A row that failed half-way leaves no open offer counted against a rep."""
        last = run.offers[-1] if run.offers else None
        if last is not None and last.decision == Decision.PENDING and last.offered_to_id:
            self.services.offer_moved(last.offered_to_id, None)


def _lookup(column: str, values: list[str]) -> dict[str, int]:
    """Lead id by `column` value, the earliest lead where several share one."""
    found: dict[str, int] = {}
    for start in range(0, len(values), 500):
        batch = values[start : start + 500]
        for value, lead_id in (
            Lead.objects.filter(**{f"{column}__in": batch})
            .order_by("-id")
            .values_list(column, "id")
        ):
            found[value] = lead_id
    return found


class _Line:
    """A file-like that keeps the last line csv.writer wrote."""

    def write(self, text: str) -> None:
        self.text = text


_LINE = _Line()
_WRITER = csv.writer(_LINE)


def _csv_line(values) -> bytes:
    _WRITER.writerow(values)
    return _LINE.text.encode()

