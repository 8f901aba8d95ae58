"""Fills the dashboard rollup (PostRollup) from the PostMetrics rows already collected."""

from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from chorus.analytics.rollup import rebuild

    metrics = apps.get_model("analytics", "PostMetrics")
    cells = apps.get_model("analytics", "PostRollup")
    for workspace_id in metrics.objects.values_list("workspace_id", flat=True).distinct().order_by():
        rebuild(workspace_id, metrics_model=metrics, rollup_model=cells)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_amplifiers_rollup")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
