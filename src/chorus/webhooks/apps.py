from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "chorus.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from chorus.core import scheduler
        from chorus.webhooks import actions

        # Retries and deliveries whose task was lost (a worker died): claimed by conditional
        # updates, so any number of schedulers may run this.
        scheduler.register_job("webhooks-due", actions.enqueue_due, every_seconds=15)
