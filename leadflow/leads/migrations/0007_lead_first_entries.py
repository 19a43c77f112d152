"""When each lead first entered the later waterfall stages (Lead.first_mql_at … won_at), filled
from the history, and the index the funnel reports answer from."""

from django.db import migrations, models

# (column, history entity, stage entered): as leadflow.leads.lifecycle.first_entries sets them.
ENTRIES = (
    ("first_mql_at", "lead", "mql"),
    ("first_sal_at", "lead", "sal"),
    ("first_sql_at", "lead", "sql"),
    ("first_opportunity_at", "opportunity", "discovery"),
    ("won_at", "lead", "won"),
)


def fill_first_entries(apps, schema_editor):
    """One UPDATE … FROM over the history grouped by lead (PostgreSQL, SQLite ≥ 3.33)."""
    Lead = apps.get_model("leads", "Lead")
    StageChange = apps.get_model("leads", "StageChange")
    qn = schema_editor.connection.ops.quote_name
    leads, history = qn(Lead._meta.db_table), qn(StageChange._meta.db_table)
    firsts = ", ".join(
        f"MIN(at) FILTER (WHERE entity = '{entity}' AND to_stage = '{stage}') AS {column}"
        for column, entity, stage in ENTRIES
    )
    entering = " OR ".join(
        f"(entity = '{entity}' AND to_stage = '{stage}')" for _, entity, stage in ENTRIES
    )
    assignments = ", ".join(f"{column} = f.{column}" for column, _, _ in ENTRIES)
    schema_editor.execute(
        f"UPDATE {leads} SET {assignments} FROM ("
        f"SELECT lead_id, {firsts} FROM {history} WHERE {entering} GROUP BY lead_id"
        f") AS f WHERE {leads}.id = f.lead_id"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0006_lead_email_key"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="lead",
                name=column,
                field=models.DateTimeField(blank=True, editable=False, null=True),
            )
            for column, _, _ in ENTRIES
        ),
        migrations.RunPython(fill_first_entries, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=[
                    "created_at", "source", "campaign", "first_mql_at", "first_sal_at",
                    "first_sql_at", "first_opportunity_at", "won_at",
                ],
                name="lead_cohort",
            ),
        ),
    ]
