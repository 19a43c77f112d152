"""Backup and restore of a whole installation, between SQLite and PostgreSQL either way.

A backup is a zip file: `manifest.json` (format version, the migrations applied, each table's
columns and row count) and one JSON Lines file per table (`tables/<app>.<model>.jsonl`, one
row per line, values in column order). It is written and read as a stream: memory holds a page
of rows, whatever the size. Every model is in it - users, teams, lead definitions, leads,
history, activities, the outbox, tokens, sessions, content types and permissions - so a
restore is the installation as it was. The reports' monthly cohort summaries are not: they are
derived from the rows, so a restore empties them and the first read counts them again.

A restore goes into a database migrated to the same migrations (the manifest's must match the
database's exactly), with no users and no leads unless `force`: it empties every table, inserts
the rows as they were (same ids), moves the id sequences past them (PostgreSQL), and commits
once. History rows are inserted, never updated, so the append-only trigger has nothing to say.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from leadflow.reports.models import CohortChange, CohortSummary

# Rebuilt from the other tables when needed: neither backed up nor restored.
DERIVED = (CohortSummary, CohortChange)
FORMAT = "leadflow-backup"
VERSION = 1
PAGE = 5_000


class RestoreRefused(Exception):
    pass


def models_to_copy() -> list:
    """Every table Django manages, many-to-many tables included, in a stable order; not the
    tables derived from the others (`DERIVED`)."""
    found = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
        and m not in DERIVED
    ]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _columns(model) -> list:
    return list(model._meta.concrete_fields)


def _applied() -> list[list[str]]:
    return sorted(
        [app, name] for app, name in MigrationRecorder(connection).applied_migrations()
    )


# --- writing --------------------------------------------------------------------------------


def _encoder(field) -> Callable | None:
    kind = field.get_internal_type()
    if kind in ("DateTimeField", "DateField", "TimeField"):
        return lambda v: v.isoformat()
    if kind == "DecimalField":
        return str
    if kind == "BinaryField":
        return lambda v: base64.b64encode(bytes(v)).decode()
    if kind == "DurationField":
        return lambda v: v.total_seconds()
    if kind == "UUIDField":
        return str
    return None


def _pages(model) -> Iterator[list[tuple]]:
    """All rows of `model`, a page at a time, by primary key (keyset: no long cursor)."""
    fields = _columns(model)
    pk = model._meta.pk.attname
    names = [f.attname for f in fields]
    queryset = model._base_manager.order_by(pk).values_list(*names)
    after = None
    at = names.index(pk)
    while True:
        page = list((queryset.filter(**{f"{pk}__gt": after}) if after is not None
                     else queryset)[:PAGE])
        if not page:
            return
        yield page
        after = page[-1][at]


def backup(path: str | Path, progress: Callable[[str, int], None] | None = None) -> dict:
    """Write the installation to `path`; returns the manifest."""
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().isoformat(),
        "vendor": connection.vendor,
        "migrations": _applied(),
        "tables": [],
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for model in models_to_copy():
            fields = _columns(model)
            encoders = [(i, e) for i, f in enumerate(fields) if (e := _encoder(f)) is not None]
            name = f"tables/{model._meta.label_lower}.jsonl"
            rows = 0
            with zf.open(name, "w", force_zip64=True) as raw:
                out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
                for page in _pages(model):
                    lines = []
                    for row in page:
                        if encoders:
                            row = list(row)
                            for i, encode in encoders:
                                if row[i] is not None:
                                    row[i] = encode(row[i])
                        lines.append(json.dumps(row, ensure_ascii=False, default=str))
                    out.write("\n".join(lines) + "\n")
                    rows += len(page)
                    if progress:
                        progress(model._meta.label, rows)
                out.flush()
                out.detach()
            manifest["tables"].append(
                {
                    "model": model._meta.label_lower,
                    "table": model._meta.db_table,
                    "file": name,
                    "columns": [f.column for f in fields],
                    "rows": rows,
                }
            )
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
    return manifest


# --- reading --------------------------------------------------------------------------------


def _decoder(field) -> Callable | None:
    kind = field.get_internal_type()
    decode = {
        "DateTimeField": datetime.fromisoformat,
        "DateField": date.fromisoformat,
        "TimeField": time.fromisoformat,
        "DecimalField": Decimal,
        "BinaryField": base64.b64decode,
        "DurationField": lambda v: timedelta(seconds=v),
        "UUIDField": UUID,
    }.get(kind)
    needs_prep = kind in decode_kinds_needing_prep
    if decode is None and not needs_prep:
        return None

    def convert(value):
        if decode is not None:
            value = decode(value)
        return field.get_db_prep_save(value, connection)

    return convert


# Values the database adapter needs to see in its own form (JSON, booleans on SQLite are fine).
decode_kinds_needing_prep = frozenset({"JSONField"})


def read_manifest(path: str | Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except KeyError:
            raise RestoreRefused(f"{path} is not a leadflow backup (no manifest)") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise RestoreRefused(
            f"{path} is not a leadflow backup of format version {VERSION} "
            f"(it says {manifest.get('format')} {manifest.get('version')})"
        )
    return manifest


def check_target(manifest: dict, force: bool) -> None:
    """Refuse a database on other migrations, or one already in use (unless `force`)."""
    ours = {tuple(m) for m in _applied()}
    theirs = {tuple(m) for m in manifest["migrations"]}
    if ours != theirs:
        missing = sorted(theirs - ours)
        extra = sorted(ours - theirs)
        parts = []
        if missing:
            parts.append("not applied here: " + ", ".join(f"{a}.{n}" for a, n in missing[:5]))
        if extra:
            parts.append("applied here only: " + ", ".join(f"{a}.{n}" for a, n in extra[:5]))
        raise RestoreRefused(
            "the backup was made at other migrations than this database's ("
            + "; ".join(parts)
            + "): restore into a database migrated by the same leadflow version"
        )
    from leadflow.accounts.models import User
    from leadflow.leads.models import Lead

    if not force and (User.objects.exists() or Lead.objects.exists()):
        raise RestoreRefused(
            "this database already has users or leads: restore into an empty (freshly "
            "migrated) database, or use --force to replace everything in it"
        )


def restore(
    path: str | Path,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Load the backup at `path` into this database; returns the manifest."""
    manifest = read_manifest(path)
    models = {m._meta.label_lower: m for m in models_to_copy()}
    unknown = [t["model"] for t in manifest["tables"] if t["model"] not in models]
    if unknown:
        raise RestoreRefused(f"the backup has tables this leadflow does not: {unknown}")
    with transaction.atomic():
        check_target(manifest, force)
        _empty(list(models.values()))
        with zipfile.ZipFile(path) as zf:
            for entry in manifest["tables"]:
                model = models[entry["model"]]
                _load(zf, entry, model, progress)
        # The loaded rows noted their months as changed; derived tables start empty instead.
        _empty(list(DERIVED))
        statements = connection.ops.sequence_reset_sql(no_style(), list(models.values()))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
    return manifest


def _empty(models: list) -> None:
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            # Foreign keys are checked at commit: by then every referenced row is back.
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _load(zf: zipfile.ZipFile, entry: dict, model, progress) -> None:
    fields = {f.column: f for f in _columns(model)}
    missing = [c for c in entry["columns"] if c not in fields]
    if missing or len(entry["columns"]) != len(fields):
        raise RestoreRefused(
            f"{entry['model']}: the backup's columns {entry['columns']} are not this "
            f"database's {list(fields)}"
        )
    ordered = [fields[c] for c in entry["columns"]]
    decoders = [(i, d) for i, f in enumerate(ordered) if (d := _decoder(f)) is not None]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(entry['table'])} ({', '.join(quote(c) for c in entry['columns'])}) "
        f"VALUES ({', '.join(['%s'] * len(ordered))})"
    )
    columns = ", ".join(quote(c) for c in entry["columns"])
    copy = f"COPY {quote(entry['table'])} ({columns}) FROM STDIN"

    def insert(cursor, rows):
        if connection.vendor == "postgresql":
            # COPY: several times faster than INSERTs, values adapted by psycopg as for them.
            with cursor.cursor.copy(copy) as out:
                for row in rows:
                    out.write_row(row)
        else:
            cursor.executemany(sql, rows)

    loaded = 0
    with zf.open(entry["file"]) as raw, connection.cursor() as cursor:
        batch = []
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            row = json.loads(line)
            for i, decode in decoders:
                if row[i] is not None:
                    row[i] = decode(row[i])
            batch.append(row)
            if len(batch) >= PAGE:
                insert(cursor, batch)
                loaded += len(batch)
                batch = []
                if progress:
                    progress(model._meta.label, loaded)
        if batch:
            insert(cursor, batch)
            loaded += len(batch)
    if loaded != entry["rows"]:
        raise RestoreRefused(
            f"{entry['model']}: the backup holds {loaded} rows where its manifest says "
            f"{entry['rows']}: the file is damaged"
        )
