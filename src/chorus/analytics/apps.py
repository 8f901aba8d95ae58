from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "chorus.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from chorus.analytics import collect, reports, rollup
        from chorus.core import scheduler

        rollup.connect_signals()  # deleted metrics rows and tag changes refresh the rollup
        # Both jobs claim rows with conditional updates, so several schedulers may run them.
        scheduler.register_job("analytics-collect", collect.enqueue_due, every_seconds=60)
        scheduler.register_job("analytics-reports", reports.enqueue_due_reports, every_seconds=300)
