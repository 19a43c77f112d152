"""Bulk writes for scoring, at the speed of the driver rather than the ORM.

Django's bulk_create/bulk_update top out near 30k rows/s here (docs/CEILINGS); activity batches
and rescoring write hundreds of thousands of rows, so these use COPY and array UNNEST on
PostgreSQL and executemany on SQLite. Each writes exactly the columns the models declare.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection

from leadflow.leads.models import Activity, Lead
from leadflow.scoring.models import LeadEngagement

CHUNK = 50_000

ACTIVITY_COLUMNS = (
    "lead_id", "kind", "occurred_at", "url", "campaign_id", "source_system", "actor_id", "detail"
)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def insert_activities(rows: Sequence[tuple]) -> None:
    """Insert activities, each a tuple in ACTIVITY_COLUMNS order (occurred_at aware)."""
    if not rows:
        return
    table = Activity._meta.db_table
    columns = ", ".join(ACTIVITY_COLUMNS)
    with connection.cursor() as cursor:
        if _postgres():
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        marks = ", ".join(["%s"] * len(ACTIVITY_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",
            [(r[0], r[1], adapt(r[2]), *r[3:]) for r in rows],
        )


def update_lead_scores(rows: Sequence[tuple[int, float, float]]) -> None:
    """Set (lead id, fit score, engagement score)."""
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if _postgres():
                ids, fits, engagements = (list(c) for c in zip(*chunk, strict=True))
                cursor.execute(
                    f"UPDATE {table} AS l SET fit_score = v.fit, engagement_score = v.eng "
                    "FROM unnest(%s::integer[], %s::float8[], %s::float8[]) AS v(id, fit, eng) "
                    "WHERE l.id = v.id",
                    [ids, fits, engagements],
                )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET fit_score = %s, engagement_score = %s WHERE id = %s",
                    [(fit, eng, pk) for pk, fit, eng in chunk],
                )


def update_engagement_scores(rows: Sequence[tuple[int, float]]) -> None:
    """Set (lead id, engagement score): the periodic decay."""
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if _postgres():
                ids, engagements = (list(c) for c in zip(*chunk, strict=True))
                cursor.execute(
                    f"UPDATE {table} AS l SET engagement_score = v.eng "
                    "FROM unnest(%s::integer[], %s::float8[]) AS v(id, eng) WHERE l.id = v.id",
                    [ids, engagements],
                )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET engagement_score = %s WHERE id = %s",
                    [(eng, pk) for pk, eng in chunk],
                )


def upsert_engagement(rows: Sequence[tuple[int, int, float, bytes]]) -> None:
    """Write (lead id, definition id, reference, sums) states, replacing any there."""
    table = LeadEngagement._meta.db_table
    update = (
        "ON CONFLICT (lead_id) DO UPDATE SET definition_id = excluded.definition_id, "
        "reference = excluded.reference, sums = excluded.sums"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if _postgres():
                columns = [list(c) for c in zip(*chunk, strict=True)]
                cursor.execute(
                    f"INSERT INTO {table} (lead_id, definition_id, reference, sums) "
                    "SELECT * FROM unnest(%s::integer[], %s::integer[], %s::float8[], "
                    f"%s::bytea[]) {update}",
                    columns,
                )
            else:
                cursor.executemany(
                    f"INSERT INTO {table} (lead_id, definition_id, reference, sums) "
                    f"VALUES (%s, %s, %s, %s) {update}",
                    chunk,
                )


def replace_all_engagement(rows: Sequence[tuple[int, int, float, bytes]]) -> None:
    """Replace every lead's engagement state (a full rescore)."""
    table = LeadEngagement._meta.db_table
    with connection.cursor() as cursor:
        # TRUNCATE (PostgreSQL) rather than a million-row DELETE; it holds the table until
        # the rescore commits, so activity batches wait for it rather than interleave.
        if _postgres():
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks left behind
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's default again
        else:
            cursor.execute(f"DELETE FROM {table}")
        if not rows:
            return
        if _postgres():
            with cursor.cursor.copy(
                f"COPY {table} (lead_id, definition_id, reference, sums) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(
                f"INSERT INTO {table} (lead_id, definition_id, reference, sums) "
                "VALUES (%s, %s, %s, %s)",
                rows[start : start + CHUNK],
            )


def any_of(column: str, values: Sequence) -> tuple[str, list]:
    """`column` among `values` as one parameter, however many (the ORM's `__in` spends a few
    microseconds per value and SQLite allows 32,766 parameters)."""
    if _postgres():
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]


def rows(sql: str, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
