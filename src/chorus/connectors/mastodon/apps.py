from django.apps import AppConfig


class MastodonConfig(AppConfig):
    name = "chorus.connectors.mastodon"
    label = "mastodon"
    verbose_name = "Mastodon connector"
