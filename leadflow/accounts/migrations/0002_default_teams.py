from django.db import migrations

DEFAULT_TEAMS = [
    ("Marketing", "marketing"),
    ("Inside sales", "inside_sales"),
    ("Field sales", "field_sales"),
    ("Arbiter", "arbiter"),
]


def create_teams(apps, schema_editor):
    Team = apps.get_model("accounts", "Team")
    for name, side in DEFAULT_TEAMS:
        if not Team.objects.filter(side=side).exists():
            Team.objects.create(name=name, side=side)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_teams, migrations.RunPython.noop)]
