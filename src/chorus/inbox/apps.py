from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "chorus.inbox"
    label = "inbox"
    verbose_name = _("Engagement inbox")

    def ready(self) -> None:
        from chorus.core import scheduler
        from chorus.inbox import tasks

        scheduler.register_job("inbox-poll", tasks.enqueue_polls, every_seconds=60)
        scheduler.register_job("inbox-overdue", tasks.notify_overdue, every_seconds=300)
