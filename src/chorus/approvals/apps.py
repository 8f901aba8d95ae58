from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "chorus.approvals"
    label = "approvals"
    verbose_name = _("Approvals")

    def ready(self) -> None:
        from chorus.approvals.policy import send_digests
        from chorus.core.scheduler import register_job

        # Every minute: a post not fully approved shortly before its slot is held and its people
        # told. Publishing holds it (it moves the post), asking this app's policy; imported when the
        # job runs, so loading approvals never loads publishing.
        register_job("approvals-hold-unapproved", _hold_unapproved, 60)
        # Hourly: the daily digest goes out once, from 08:00 in each workspace's zone.
        register_job("approvals-daily-digest", send_digests, 3600)
        from chorus.approvals.privacy import apply_retention

        # Hourly: stories never used, past the workspace's retention rule, are erased with their files.
        register_job("approvals-story-retention", apply_retention, 3600)


def _hold_unapproved() -> int:
    from chorus.publishing.actions import hold_unapproved

    return hold_unapproved()
