"""Room on every page of the tables scoring updates at random (PostgreSQL).

An activity batch rewrites the scores of thousands of random leads and their engagement
states. Filled to 100%, each updated row moves to another page and every index of
`leads_lead` gets a new entry; with free space on the page PostgreSQL updates in place
(a HOT update: no index touched, as no indexed column changes). Only pages written after this
get the room; `VACUUM FULL` or a restore gives it to existing ones. SQLite has no such setting.
"""

from django.db import migrations

TABLES = {"leads_lead": 85, "scoring_leadengagement": 80}


def set_fillfactor(apps, schema_editor, reverse=False):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in TABLES.items():
        setting = "RESET (fillfactor)" if reverse else f"SET (fillfactor = {percent})"
        schema_editor.execute(f"ALTER TABLE {table} {setting}")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0002_activity_columns"),
        ("leads", "0006_lead_email_key"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
