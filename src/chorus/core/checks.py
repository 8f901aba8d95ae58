"""System checks with stable ids for misconfiguration (`chorus check`, `chorus check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def check_task_backend(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if settings.CHORUS_TASK_BACKEND not in {"db", "celery"}:
        problems.append(
            Error(
                f"CHORUS_TASK_BACKEND={settings.CHORUS_TASK_BACKEND!r} is not a known task engine.",
                hint="Use 'db' (the embedded default) or 'celery' (the scaled shape, needs REDIS_URL).",
                id="chorus.E001",
            )
        )
    if settings.CHORUS_TASK_BACKEND == "celery" and not settings.REDIS_URL.startswith(
        ("redis://", "rediss://")
    ):
        problems.append(
            Error(
                "CHORUS_TASK_BACKEND=celery needs REDIS_URL (redis://host:6379/0).",
                id="chorus.E002",
            )
        )
    return problems


@register(Tags.security, deploy=True)
def check_deploy_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    if not settings.SECRET_KEY_FROM_ENV:
        problems.append(
            Warning(
                "SECRET_KEY is generated into var/secret_key (fine for one machine).",
                hint="Set SECRET_KEY or SECRET_KEY_FILE when several machines serve Chorus.",
                id="chorus.W001",
            )
        )
    if (
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        and settings.CHORUS_TASK_BACKEND == "celery"
    ):
        problems.append(
            Error(
                "The Celery engine runs workers on other machines; they cannot share a SQLite file.",
                hint="Set DATABASE_URL to PostgreSQL for the scaled shape.",
                id="chorus.E003",
            )
        )
    if settings.DEBUG:
        problems.append(Error("DEBUG is on in a deployment.", hint="Unset DEBUG.", id="chorus.E004"))
    return problems
