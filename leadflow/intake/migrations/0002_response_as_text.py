from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="idempotencykey", name="response"),
        migrations.AddField(
            model_name="idempotencykey",
            name="response",
            field=models.TextField(blank=True, default=""),
        ),
    ]
