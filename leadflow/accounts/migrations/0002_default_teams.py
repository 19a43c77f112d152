from django.db import migrations

from leadflow.leads.defaults import install_teams


def create_teams(apps, schema_editor):
    install_teams(apps.get_model("accounts", "Team"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_teams, migrations.RunPython.noop)]
