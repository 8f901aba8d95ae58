from django.db import migrations, models


def fill_role(apps, schema_editor):
    Heartbeat = apps.get_model("core", "Heartbeat")
    for beat in Heartbeat.objects.all():
        beat.role = beat.name.split("@", 1)[0]
        beat.save(update_fields=["role"])


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_ip")]

    operations = [
        migrations.AlterField(
            model_name="heartbeat",
            name="name",
            field=models.CharField(max_length=200, primary_key=True, serialize=False),
        ),
        migrations.AddField(
            model_name="heartbeat",
            name="role",
            field=models.CharField(db_index=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="heartbeat",
            name="process",
            field=models.CharField(blank=True, default="", max_length=160),
        ),
        migrations.RunPython(fill_role, migrations.RunPython.noop),
    ]
