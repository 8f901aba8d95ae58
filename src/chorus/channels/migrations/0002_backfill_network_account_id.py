"""Gives channels connected before reconnection existed their `network_account_id` (see
chorus.channels.actions.ACCOUNT_KEY), read from the config each connector already stored, so
connecting such an account again (a channel paused for ReauthRequired) reconnects it."""

from typing import Any

from django.db import migrations


def _joined(base: str, ident: Any) -> str:
    return f"{base}#{ident}" if base and ident not in (None, "") else ""


# kind -> the account id as the connector's ConnectResult gives it, from the stored config
# (a frozen copy: connectors may change, this migration must not).
FROM_CONFIG = {
    "bluesky": lambda c: c.get("did"),
    "mastodon": lambda c: _joined(str(c.get("instance") or ""), c.get("account_id")),
    "facebook": lambda c: c.get("page_id"),
    "instagram": lambda c: c.get("ig_user_id"),
    "threads": lambda c: c.get("user_id"),
    "linkedin": lambda c: c.get("author"),
    "x": lambda c: c.get("user_id"),
    "youtube": lambda c: c.get("channel_id"),
    "tiktok": lambda c: c.get("open_id"),
    "pinterest": lambda c: c.get("username"),
    "wordpress": lambda c: _joined(str(c.get("site_url") or ""), c.get("user_id")),
}


def backfill(apps: Any, schema_editor: Any) -> None:
    Channel = apps.get_model("channels", "Channel")
    for channel in Channel.objects.filter(kind__in=FROM_CONFIG).iterator():
        config = channel.config if isinstance(channel.config, dict) else {}
        if config.get("network_account_id"):
            continue
        account_id = FROM_CONFIG[channel.kind](config)
        if account_id not in (None, ""):
            channel.config = {**config, "network_account_id": str(account_id)}
            channel.save(update_fields=["config"])


class Migration(migrations.Migration):
    dependencies = [("channels", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
