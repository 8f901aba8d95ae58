"""Joins the two branches that each added a 0003 (API token scopes, two-factor sign-in)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_token_scope"),
        ("accounts", "0003_two_factor"),
    ]

    operations = []
