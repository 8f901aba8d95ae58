"""On SQLite the sink's tables live in a database file of their own (`DATABASES["sink"]`, set
in tests/settings.py): the sink stands for a remote network, and SQLite has one write lock per
file, so sink writes in the engine's file would make the engine wait for its own stand-in
network. On PostgreSQL (row locks, no file lock) the sink stays in the default database."""

from __future__ import annotations

from typing import Any

from django.conf import settings

ALIAS = "sink"


def _enabled() -> bool:
    return ALIAS in settings.DATABASES


class SinkRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return ALIAS if _enabled() and model._meta.app_label == "sink" else None

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if not _enabled():
            return None
        if db == ALIAS:
            return app_label == "sink"
        return False if app_label == "sink" else None
