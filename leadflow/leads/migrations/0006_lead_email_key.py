"""Leads are matched on a normalised e-mail key (leadflow.leads.identity)."""

from django.conf import settings
from django.db import migrations, models

from leadflow.leads.identity import email_key


def fill_email_keys(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    batch = []
    for pk, email in Lead.objects.exclude(email="").values_list("pk", "email").iterator(5000):
        batch.append(Lead(pk=pk, email_key=email_key(email)))
        if len(batch) == 5000:
            Lead.objects.bulk_update(batch, ["email_key"])
            batch = []
    Lead.objects.bulk_update(batch, ["email_key"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_sla_routing_outbox'),
        ('leads', '0005_definition_signoff'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_email',
        ),
        migrations.AddField(
            model_name='lead',
            name='email_key',
            field=models.CharField(blank=True, editable=False, max_length=254),
        ),
        migrations.RunPython(fill_email_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['email_key'], name='lead_email_key'),
        ),
    ]
