from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListeningConfig(AppConfig):
    name = "chorus.listening"
    label = "listening"
    verbose_name = _("Social listening")

    def ready(self) -> None:
        from chorus.core import health
        from chorus.listening import stream

        health.register_section("listening", stream.health_section)
