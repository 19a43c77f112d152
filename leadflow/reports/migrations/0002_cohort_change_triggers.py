"""Triggers that note, in reports_cohortchange, the month of every lead whose cohort figures
may have changed (see leadflow/reports/summaries.py for how the notes are read).

A lead's cohort figures change when the lead is added, deleted, or changes its creation
moment, source, campaign or first entry into a stage; when one of its hand-offs is offered,
deleted, decided, given another reason or returned; when one of its opportunities is opened,
deleted, changes stage or amount; and when a return's history row is written (it holds the
return's reason). The note is the UTC month of the creation moment a day before and a day
after: whatever the company's zone, its month is among them.

SQLite: row triggers that add a note only if the month has none (one writer at a time, so a
note seen is a note that will be read). PostgreSQL: notes are always added, never skipped
(see summaries.py: a refresh deletes only the notes its snapshot saw); insertions and
deletions note each statement's distinct months once, through transition tables, so a bulk
load adds a handful of notes, not one per row; updates fire per row, only when a column that
matters changed.
"""

from django.db import migrations

LEAD_COLUMNS = (
    "created_at", "source_id", "campaign_id",
    "first_mql_at", "first_sal_at", "first_sql_at", "first_opportunity_at", "won_at",
)
WATCHED = {
    # table: (columns whose change matters, is the table the lead itself)
    "leads_lead": (LEAD_COLUMNS, True),
    "leads_handoff": (("lead_id", "decision", "reason_id", "returned_at"), False),
    "leads_opportunity": (("lead_id", "stage", "amount"), False),
}
RETURN_ROWS = "leads_stagechange"  # only the history rows of returns matter


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_note(moment: str) -> str:
    return (
        "INSERT INTO reports_cohortchange (month) SELECT m FROM ("
        f"SELECT strftime('%Y-%m', {moment}, '-1 day') AS m "
        f"UNION SELECT strftime('%Y-%m', {moment}, '+1 day')) "
        "WHERE m IS NOT NULL AND m NOT IN (SELECT month FROM reports_cohortchange);"
    )


def _sqlite_moment(row: str, is_lead: bool) -> str:
    if is_lead:
        return f"{row}.created_at"
    return f"(SELECT created_at FROM leads_lead WHERE id = {row}.lead_id)"


def sqlite_triggers() -> list[str]:
    statements = []
    for table, (columns, is_lead) in WATCHED.items():
        new, old = _sqlite_moment("NEW", is_lead), _sqlite_moment("OLD", is_lead)
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        statements += [
            f"CREATE TRIGGER reports_note_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {_sqlite_note(new)} END",
            f"CREATE TRIGGER reports_note_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {_sqlite_note(old)} END",
            f"CREATE TRIGGER reports_note_{table}_update AFTER UPDATE ON {table} "
            f"WHEN {changed} BEGIN {_sqlite_note(old)} {_sqlite_note(new)} END",
        ]
    statements.append(
        f"CREATE TRIGGER reports_note_{RETURN_ROWS}_insert AFTER INSERT ON {RETURN_ROWS} "
        f"WHEN NEW.transition = 'return' BEGIN {_sqlite_note(_sqlite_moment('NEW', False))} END"
    )
    return statements


# --- PostgreSQL ----------------------------------------------------------------------------


def _pg_months(moments: str) -> str:
    """INSERT of the distinct note months of `moments` (a query with a created_at column)."""
    return (
        "INSERT INTO reports_cohortchange (month) "
        "SELECT DISTINCT to_char((m.created_at AT TIME ZONE 'UTC') + d.shift, 'YYYY-MM') "
        f"FROM ({moments}) AS m, (VALUES (interval '-1 day'), (interval '1 day')) AS d(shift) "
        "WHERE m.created_at IS NOT NULL;"
    )


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def postgresql_triggers() -> list[str]:
    statements = []
    for table, (columns, is_lead) in WATCHED.items():
        of_rows = (
            "SELECT created_at FROM changed_rows" if is_lead
            else "SELECT l.created_at FROM changed_rows r JOIN leads_lead l ON l.id = r.lead_id"
        )
        row_moment = (
            "SELECT {row}.created_at" if is_lead
            else "SELECT created_at FROM leads_lead WHERE id = {row}.lead_id"
        )
        statements += [
            _pg_function(f"reports_note_{table}_rows", _pg_months(of_rows)),
            _pg_function(
                f"reports_note_{table}_update",
                _pg_months(row_moment.format(row="OLD")) + _pg_months(row_moment.format(row="NEW")),
            ),
            f"CREATE TRIGGER reports_note_{table}_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION reports_note_{table}_rows()",
            f"CREATE TRIGGER reports_note_{table}_delete AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION reports_note_{table}_rows()",
            f"CREATE TRIGGER reports_note_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in columns)}) "
            f"EXECUTE FUNCTION reports_note_{table}_update()",
        ]
    statements += [
        _pg_function(
            f"reports_note_{RETURN_ROWS}_rows",
            _pg_months(
                "SELECT l.created_at FROM changed_rows r JOIN leads_lead l ON l.id = r.lead_id "
                "WHERE r.transition = 'return'"
            ),
        ),
        f"CREATE TRIGGER reports_note_{RETURN_ROWS}_insert AFTER INSERT ON {RETURN_ROWS} "
        "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION reports_note_{RETURN_ROWS}_rows()",
    ]
    return statements


def _tables():
    return [*WATCHED, RETURN_ROWS]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": sqlite_triggers, "postgresql": postgresql_triggers}[vendor]()
    for statement in statements:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for table in _tables():
        for event in ("insert", "delete", "update"):
            name = f"reports_note_{table}_{event}"
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgres
                else f"DROP TRIGGER IF EXISTS {name}"
            )
        if postgres:
            for kind in ("rows", "update"):
                schema_editor.execute(f"DROP FUNCTION IF EXISTS reports_note_{table}_{kind}()")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("leads", "0007_lead_first_entries"),
    ]

    operations = [migrations.RunPython(create, drop)]
