from django.db import migrations

# (kind, code, class, label, disqualifies)
REASONS = [
    ("reject", "wrong-territory", "procedural", "Routed to the wrong territory or team", False),
    ("reject", "wrong-person", "procedural", "Routed to the wrong person", False),
    ("reject", "already-in-deal", "procedural", "Already a customer or in an open deal", False),
    ("reject", "incomplete-record", "clerical", "Record incomplete (no phone, company…)", False),
    ("reject", "wrong-contact-data", "clerical", "Contact data wrong", False),
    ("reject", "below-fit", "definitional", "Does not meet the definition: fit", False),
    ("reject", "no-intent", "definitional", "Does not meet the definition: no intent", False),
    ("reject", "spam", "definitional", "Spam or fake", True),
    ("return", "went-cold", "", "Went cold: no answer after contact attempts", False),
    ("return", "not-ready", "", "Real, but not ready to buy now", False),
    ("return", "not-real", "", "Not a real lead", True),
    ("return", "duplicate", "clerical", "Duplicate of another lead", True),
    ("disqualify", "no-need", "", "No real need", False),
    ("disqualify", "no-authority", "", "No authority and no path to one", False),
    ("disqualify", "competitor", "", "Competitor", False),
    ("disqualify", "student", "", "Student or researcher", False),
    ("disqualify", "duplicate", "", "Duplicate", False),
    ("disqualify", "spam", "", "Spam or fake", False),
    ("nurture", "not-ready", "", "Not ready to buy yet", False),
    ("nurture", "no-budget-yet", "", "Interested, no budget this cycle", False),
    ("loss", "price", "", "Price", False),
    ("loss", "competitor", "", "Went with a competitor", False),
    ("loss", "no-decision", "", "No decision / status quo", False),
    ("loss", "product-fit", "", "Product did not fit", False),
    ("loss", "timing", "", "Timing", False),
]

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
    ReasonCode = apps.get_model("leads", "ReasonCode")
    for kind, code, reason_class, label, disqualifies in REASONS:
        ReasonCode.objects.get_or_create(
            kind=kind,
            code=code,
            defaults={"reason_class": reason_class, "label": label, "disqualifies": disqualifies},
        )
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
