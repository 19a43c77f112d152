from django.db import migrations

from leadflow.leads.defaults import install_reason_codes

SQLITE_TRIGGER = """
CREATE TRIGGER leads_stagechange_append_only BEFORE UPDATE ON leads_stagechange
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
"""
PG_TRIGGER = """
CREATE OR REPLACE FUNCTION leadflow_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'history is append-only'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER leads_stagechange_append_only BEFORE UPDATE ON leads_stagechange
FOR EACH ROW EXECUTE FUNCTION leadflow_append_only();
"""


def forwards(apps, schema_editor):
    install_reason_codes(apps.get_model("leads", "ReasonCode"))
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)
    elif vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER)


def backwards(apps, schema_editor):
    schema_editor.execute("DROP TRIGGER IF EXISTS leads_stagechange_append_only"
                          + (" ON leads_stagechange" if schema_editor.connection.vendor == "postgresql" else ""))


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("accounts", "0002_default_teams")]
    operations = [migrations.RunPython(forwards, backwards)]
