from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "chorus.media"
    label = "media"
    verbose_name = _("Media library")

    def ready(self) -> None:
        from chorus.core import scheduler
        from chorus.media import actions, consent

        # Catches PostTargets whose media changed through paths that did not call
        # actions.sync_usage (recurrence copies, evergreen re-queues, API edits).
        scheduler.register_job("media-usage", actions.sync_recent_usage, every_seconds=60)
        # Reminders before a consent ends, and withdrawal when it has ended (safe to run often).
        scheduler.register_job("media-consent-terms", consent.remind_and_expire, every_seconds=3600)
