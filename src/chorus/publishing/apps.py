import functools
import importlib
from collections.abc import Callable
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "chorus.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from django.conf import settings

        from chorus.core import health, scheduler

        # The jobs import their modules when they first run: loading the apps (a management
        # command, another app's policy) does not load the publishing engine and its actions.
        health.register_oldest_due_probe(_lazy("dispatch", "oldest_due"))
        health.register_claimed_probe(_lazy("dispatch", "claimed_unstarted"))
        scheduler.register_job("publishing-dispatch", _lazy("dispatch", "dispatch_due"), every_seconds=0)
        scheduler.register_job(
            "publishing-recover",
            _lazy("reconcile", "recover_stale"),
            every_seconds=settings.CHORUS_RECOVER_EVERY_SECONDS,
        )
        scheduler.register_job(
            "publishing-release-dead",
            _lazy("reconcile", "release_dead_workers"),
            every_seconds=settings.CHORUS_RELEASE_DEAD_EVERY_SECONDS,
        )
        scheduler.register_job(
            "publishing-reconcile",
            _lazy("reconcile", "reconcile_unknown"),
            every_seconds=settings.CHORUS_RECOVER_EVERY_SECONDS,
        )
        scheduler.register_job("publishing-unreachable", _lazy("unreachable", "probe_due"), every_seconds=1)
        scheduler.register_job(
            "publishing-recurrence", _lazy("recurrence", "generate_due_occurrences"), every_seconds=60
        )


@functools.cache
def _lazy(module: str, name: str) -> Callable[..., Any]:
    """`chorus.publishing.<module>.<name>`, imported on the first call (cached: the health probe
    registry compares probes, so one wrapper per function)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"chorus.publishing.{module}"), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
