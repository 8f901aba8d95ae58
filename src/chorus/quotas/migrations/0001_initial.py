"""QuotaUsage (from publishing) and QuotaObservation (from the former quotastate app) now belong
here, in the same tables. An existing database keeps its tables and rows: the state moves, and a
table is created only where it is missing (a fresh database, whose quotastate migrations no
longer exist). publishing 0002 takes QuotaUsage out of publishing's state after this."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def create_missing_tables(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ("QuotaUsage", "QuotaObservation"):
        model = apps.get_model("quotas", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("channels", "0001_initial"),
        ("content", "0001_initial"),
        ("publishing", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="QuotaUsage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("bucket", models.CharField(max_length=30)),
                        ("amount", models.PositiveIntegerField(default=1)),
                        ("at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="quota_usage",
                                to="channels.channel",
                            ),
                        ),
                        (
                            "target",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="content.posttarget",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "publishing_quotausage",
                        "indexes": [models.Index(fields=["channel", "bucket", "at"], name="quota_window")],
                    },
                ),
                migrations.CreateModel(
                    name="QuotaObservation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("bucket", models.CharField(max_length=120)),
                        ("remaining", models.IntegerField(blank=True, null=True)),
                        ("limit", models.IntegerField(blank=True, null=True)),
                        ("used_percent", models.FloatField(blank=True, null=True)),
                        ("resets_at", models.DateTimeField(blank=True, null=True)),
                        ("gates_publishing", models.BooleanField(default=True)),
                        ("observed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="channels.channel",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "quotastate_quotaobservation",
                        "verbose_name": "quota observation",
                        "verbose_name_plural": "quota observations",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("channel", "bucket"), name="quota_obs_channel_bucket"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(create_missing_tables, migrations.RunPython.noop),
    ]
