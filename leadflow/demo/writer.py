"""Writing the demo's rows in bulk: COPY on PostgreSQL, executemany on SQLite.

Values are converted the way Django's backends convert them (`adapt_datetimefield_value`,
`adapt_json_value`, the Decimal adapter), so a bulk-written row is the row the ORM would have
written; tests/test_demo.py compares them. Rows are plain tuples of str/int/float/None: cheap to
pickle from the process that simulates to the one that writes. Primary keys are assigned in
memory, and the sequences are moved past them at the end.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter

from django.core.management.color import no_style
from django.db import models

from leadflow.leads.models import Account, Activity, Handoff, Lead, Opportunity, StageChange

UTC = UTC
TABLES = (Account, Lead, Opportunity, Handoff, StageChange, Activity)
ACTIVITY_COLUMNS = [
    "id",
    "lead_id",
    "kind",
    "occurred_at",
    "url",
    "campaign_id",
    "source_system",
    "actor_id",
    "detail",
]


def next_ids() -> dict[str, int]:
    """The first free primary key of each table the demo writes."""
    names = {
        Account: "account",
        Lead: "lead",
        Opportunity: "opportunity",
        Handoff: "handoff",
        StageChange: "history",
        Activity: "activity",
    }
    return {
        name: (model.objects.aggregate(m=models.Max("id"))["m"] or 0) + 1
        for model, name in names.items()
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_datetime(value: datetime) -> str:
    # DatabaseOperations.adapt_datetimefield_value: str() of the naive UTC time, which is the
    # aware UTC time's isoformat without its "+00:00".
    return _utc(value).isoformat(" ")[:-6]


def _pg_datetime(value: datetime) -> str:
    return _utc(value).isoformat(" ")


def _json(value) -> str:
    return "{}" if value == {} else json.dumps(value)


def _decimal(value) -> str:
    return str(Decimal(value))


def _text(value) -> str:
    # TextChoices members are str subclasses; send plain str.
    return value if type(value) is str else str(value)


class RowShape:
    """How to turn a model instance into the tuple of its columns, for one database vendor."""

    def __init__(self, vendor: str) -> None:
        if vendor not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"the demo writes to SQLite or PostgreSQL, not {vendor}")
        self.vendor = vendor
        self.datetime = _sqlite_datetime if vendor == "sqlite" else _pg_datetime
        self.columns: dict[type, list[str]] = {}
        self._getters = {}
        self._conversions = {}
        for model in TABLES:
            fields = model._meta.concrete_fields
            self.columns[model] = [f.column for f in fields]
            self._getters[model] = itemgetter(*[f.attname for f in fields])
            conversions = []
            for index, f in enumerate(fields):
                kind = f.get_internal_type()
                if kind == "DateTimeField":
                    conversions.append((index, self.datetime))
                elif kind == "DateField":
                    conversions.append((index, date.isoformat))
                elif kind == "DecimalField":
                    conversions.append((index, _decimal))
                elif kind == "JSONField":
                    conversions.append((index, _json))
                elif f.choices:
                    conversions.append((index, _text))
            self._conversions[model] = conversions
        if self.columns[Activity] != ACTIVITY_COLUMNS:  # activities are built as tuples
            raise RuntimeError(f"leads_activity columns changed: {self.columns[Activity]}")

    def row(self, model, obj) -> list:
        row = list(self._getters[model](obj.__dict__))
        for index, convert in self._conversions[model]:
            value = row[index]
            if value is not None:
                row[index] = convert(value)
        return row

    def rows(self, model, objects) -> list[list]:
        get, conversions = self._getters[model], self._conversions[model]
        out = []
        for obj in objects:
            row = list(get(obj.__dict__))
            for index, convert in conversions:
                value = row[index]
                if value is not None:
                    row[index] = convert(value)
            out.append(row)
        return out

    @staticmethod
    def activity_rows(runs, ids) -> list[tuple]:
        """The runs' activities, kept as column values but the ids; `ids` gives the keys."""
        return [(next(ids), run.lead.pk, *activity) for run in runs for activity in run.activities]


class BulkWriter:
    def __init__(self, connection, shape: RowShape) -> None:
        self.connection, self.shape = connection, shape
        connection.ensure_connection()
        if shape.vendor == "sqlite":
            # A bigger page cache keeps index pages in memory while millions of rows go in.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")

    @contextmanager
    def bulk_load(self):
        """Into empty tables: drop their secondary indexes (and, on PostgreSQL, their foreign
        keys) and build them again at the end - the usual bulk-load move.

        Building an index once over sorted data costs far less than growing it row by row, and
        PostgreSQL validates a foreign key with one join instead of a trigger per row. Use it
        inside one transaction: should the load fail, the rollback restores the indexes and
        constraints too (DDL is transactional on both databases).
        """
        dropped = self._drop()
        yield
        with self.connection.cursor() as cursor:
            for sql in dropped:
                cursor.execute(sql)

    def _drop(self) -> list[str]:
        """Drop what slows a bulk load; return the statements that restore it."""
        tables = [m._meta.db_table for m in TABLES]
        restore = []
        with self.connection.cursor() as cursor:
            if self.shape.vendor == "sqlite":
                marks = ", ".join(["%s"] * len(tables))
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    f"AND sql IS NOT NULL AND tbl_name IN ({marks})",
                    tables,
                )
                for name, sql in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
                    restore.append(sql)
                return restore
            # Foreign keys are deferred to commit: check the rows written so far in this
            # transaction now, or PostgreSQL refuses to alter a table with pending checks.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            # Indexes that back a constraint (primary keys, unique) stay.
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s) "
                "AND schemaname = current_schema() AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [tables],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                restore.append(definition)
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                [tables],
            )
            for table, name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return restore

    def insert(self, model, rows) -> int:
        if not rows:
            return 0
        columns = ", ".join(self.shape.columns[model])
        table = model._meta.db_table
        raw = self.connection.connection
        if self.shape.vendor == "sqlite":
            marks = ", ".join("?" * len(self.shape.columns[model]))
            raw.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)
        else:
            with raw.cursor() as cursor:
                with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        return len(rows)

    def finish(self) -> None:
        """Move the id sequences past the preassigned keys (PostgreSQL; SQLite needs nothing)."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(TABLES))
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
