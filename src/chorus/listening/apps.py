from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListeningConfig(AppConfig):
    name = "chorus.listening"
    label = "listening"
    verbose_name = _("Social listening")

    def ready(self) -> None:
        from chorus.core import health, scheduler
        from chorus.listening import stream, tasks

        health.register_section("listening", stream.health_section)
        scheduler.register_job("listening-due", tasks.enqueue_due, every_seconds=60)
        scheduler.register_job("listening-retention", tasks.purge_expired.enqueue, every_seconds=3600)
