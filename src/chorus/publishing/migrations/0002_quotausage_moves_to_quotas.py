"""QuotaUsage now belongs to the quotas app (its table, publishing_quotausage, stays as it is)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0001_initial"),
        ("quotas", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="QuotaUsage")],
            database_operations=[],
        ),
    ]
