from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_throttle_token_expiry"),
    ]

    operations = [
        # Existing tokens could do everything their owner may: they keep that (admin).
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("write", "Read and write"),
                    ("admin", "Read, write and administer"),
                ],
                default="admin",
                max_length=10,
                verbose_name="scope",
            ),
        ),
    ]
