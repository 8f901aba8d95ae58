from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _copy_saved(sender: Any, instance: Any, update_fields: Any = None, raw: bool = False, **_kw: Any) -> None:
    if raw or (update_fields is not None and "scheduled_at" not in update_fields):
        return
    from chorus.content.models import refresh_first_at

    refresh_first_at([instance.post_id])


def _copy_deleted(sender: Any, instance: Any, **_kw: Any) -> None:
    from chorus.content.models import refresh_first_at

    refresh_first_at([instance.post_id])


class ContentConfig(AppConfig):
    name = "chorus.content"
    label = "content"
    verbose_name = _("Content")

    def ready(self) -> None:
        # A copy saved or deleted one by one (create_post, a channel's copies going with it, the
        # admin, fixtures) keeps its post's `first_at`; the actions layer's UPDATEs and bulk
        # inserts call `refresh_first_at` themselves (signals do not fire for them).
        from chorus.content.models import PostTarget

        post_save.connect(_copy_saved, sender=PostTarget, dispatch_uid="content.first_at.saved")
        post_delete.connect(_copy_deleted, sender=PostTarget, dispatch_uid="content.first_at.deleted")
