"""System health: database, worker and scheduler heartbeats, oldest due item.

Apps that own due work (publishing) register a probe returning the oldest due time, so core
does not import them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chorus.core.models import Heartbeat

ROLES = ("worker", "scheduler")
OldestDueProbe = Callable[[], dt.datetime | None]
_oldest_due_probes: list[OldestDueProbe] = []


def register_oldest_due_probe(probe: OldestDueProbe) -> None:
    if probe not in _oldest_due_probes:
        _oldest_due_probes.append(probe)


# Extra sections of /health from apps core does not import (listening: stream lag and gaps).
# A section reports; it does not change whether the whole is ok.
Section = Callable[[], dict[str, Any]]
_sections: dict[str, Section] = {}


def register_section(name: str, section: Section) -> None:
    _sections[name] = section


@dataclass
class Health:
    database_ok: bool
    heartbeats: dict[str, float | None] = field(default_factory=dict)  # role -> age in seconds
    oldest_due_at: dt.datetime | None = None
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def stale_roles(self) -> list[str]:
        return _stale(self.heartbeats)

    @property
    def ok(self) -> bool:
        return self.database_ok and not self.stale_roles

    def as_json(self) -> dict[str, Any]:
        now = timezone.now()
        return {
            "ok": self.ok,
            "database": "ok" if self.database_ok else "error",
            "heartbeats": {
                role: {
                    "age_seconds": None if age is None else round(age, 1),
                    "ok": role not in self.stale_roles,
                }
                for role, age in self.heartbeats.items()
            },
            "stale_after_seconds": settings.CHORUS_HEARTBEAT_STALE_SECONDS,
            "oldest_due": (
                None
                if self.oldest_due_at is None
                else {
                    "at": self.oldest_due_at.isoformat(),
                    "late_seconds": round((now - self.oldest_due_at).total_seconds(), 1),
                }
            ),
            **self.sections,
        }


def _heartbeat_ages() -> dict[str, float | None]:
    beats = {hb.name: hb.age_seconds for hb in Heartbeat.objects.filter(name__in=ROLES)}
    return {role: beats.get(role) for role in ROLES}


def _stale(ages: dict[str, float | None]) -> list[str]:
    limit = settings.CHORUS_HEARTBEAT_STALE_SECONDS
    return [role for role, age in ages.items() if age is None or age > limit]


def stale_roles() -> list[str]:
    """Only what the admin banner needs: one query on the heartbeat table, on every page."""
    return _stale(_heartbeat_ages())


def check() -> Health:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database_ok = True
    except Exception:
        return Health(database_ok=False, heartbeats=dict.fromkeys(ROLES))
    dues = [d for d in (probe() for probe in _oldest_due_probes) if d is not None]
    return Health(
        database_ok=database_ok,
        heartbeats=_heartbeat_ages(),
        oldest_due_at=min(dues) if dues else None,
        sections={name: section() for name, section in _sections.items()},
    )
