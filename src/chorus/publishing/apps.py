from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "chorus.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from django.conf import settings

        from chorus.core import health, scheduler
        from chorus.publishing import dispatch, reconcile, recurrence

        health.register_oldest_due_probe(dispatch.oldest_due)
        health.register_claimed_probe(dispatch.claimed_unstarted)
        scheduler.register_job("publishing-dispatch", dispatch.dispatch_due, every_seconds=0)
        scheduler.register_job(
            "publishing-recover", reconcile.recover_stale, every_seconds=settings.CHORUS_RECOVER_EVERY_SECONDS
        )
        scheduler.register_job(
            "publishing-reconcile",
            reconcile.reconcile_unknown,
            every_seconds=settings.CHORUS_RECOVER_EVERY_SECONDS,
        )
        scheduler.register_job("publishing-recurrence", recurrence.generate_due_occurrences, every_seconds=60)
