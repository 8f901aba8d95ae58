from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0005_retry_horizon"),
    ]

    operations = [
        migrations.AddField(
            model_name="posttarget",
            name="worker",
            field=models.CharField(blank=True, default="", max_length=160),
        ),
    ]
