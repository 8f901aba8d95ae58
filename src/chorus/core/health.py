"""System health: database, worker and scheduler heartbeats (per role and per process), the
oldest due item and work claimed but not started.

A role is healthy while at least one of its processes beat within CHORUS_HEARTBEAT_STALE_SECONDS;
each process is listed with its own age, so a dead one of two schedulers shows as stale while the
role stays healthy. Apps that own due work (publishing) register probes returning the oldest due
time and their claimed-but-unstarted work, so core does not import them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from chorus.core.models import Heartbeat

ROLES = ("worker", "scheduler")
# Processes that beat when they run but that a deployment may go without (`chorus listen`): listed
# with their age once seen, never turning /health red (the stream's own lag says more).
OPTIONAL_ROLES = ("listener",)
OldestDueProbe = Callable[[], dt.datetime | None]
_oldest_due_probes: list[OldestDueProbe] = []
ClaimedProbe = Callable[[], tuple[int, dt.datetime | None]]  # (count, oldest claimed at)
_claimed_probes: list[ClaimedProbe] = []


def register_claimed_probe(probe: ClaimedProbe) -> None:
    if probe not in _claimed_probes:
        _claimed_probes.append(probe)


@dataclass
class ProcessBeat:
    role: str
    process: str  # "host:pid"; "" for a role-wide beat
    age: float


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
    processes: list[ProcessBeat] = field(default_factory=list)
    claimed_count: int = 0
    oldest_claimed_at: dt.datetime | None = None

    @property
    def stale_roles(self) -> list[str]:
        return _stale(self.heartbeats)

    @property
    def ok(self) -> bool:
        return self.database_ok and not self.stale_roles

    def as_json(self) -> dict[str, Any]:
        now = timezone.now()
        limit = settings.CHORUS_HEARTBEAT_STALE_SECONDS
        return {
            "ok": self.ok,
            "database": "ok" if self.database_ok else "error",
            "heartbeats": {
                role: {
                    "age_seconds": None if age is None else round(age, 1),
                    "ok": role not in self.stale_roles,
                    "processes": [
                        {"process": p.process, "age_seconds": round(p.age, 1), "ok": p.age <= limit}
                        for p in self.processes
                        if p.role == role
                    ],
                }
                for role, age in self.heartbeats.items()
            }
            | {
                role: {
                    "age_seconds": round(min(p.age for p in seen), 1),
                    "ok": min(p.age for p in seen) <= limit,
                    "required": False,
                    "processes": [
                        {"process": p.process, "age_seconds": round(p.age, 1), "ok": p.age <= limit}
                        for p in seen
                    ],
                }
                for role in OPTIONAL_ROLES
                if (seen := [p for p in self.processes if p.role == role])
            },
            "stale_after_seconds": limit,
            "expire_after_seconds": settings.CHORUS_HEARTBEAT_EXPIRE_SECONDS,
            "oldest_due": (
                None
                if self.oldest_due_at is None
                else {
                    "at": self.oldest_due_at.isoformat(),
                    "late_seconds": round((now - self.oldest_due_at).total_seconds(), 1),
                }
            ),
            **self.sections,
            "claimed_unstarted": {
                "count": self.claimed_count,
                "oldest_age_seconds": (
                    None
                    if self.oldest_claimed_at is None
                    else round((now - self.oldest_claimed_at).total_seconds(), 1)
                ),
            },
        }


def _heartbeat_ages() -> dict[str, float | None]:
    """Per role, the age of its youngest beat (None: never seen): one grouped query."""
    now = timezone.now()
    rows = Heartbeat.objects.filter(role__in=ROLES).values("role").annotate(last=Max("beat_at"))
    beats = {row["role"]: (now - row["last"]).total_seconds() for row in rows}
    return {role: beats.get(role) for role in ROLES}


def _process_beats() -> list[ProcessBeat]:
    """Every process that beat within CHORUS_HEARTBEAT_EXPIRE_SECONDS, youngest first."""
    now = timezone.now()
    since = now - dt.timedelta(seconds=settings.CHORUS_HEARTBEAT_EXPIRE_SECONDS)
    rows = Heartbeat.objects.filter(role__in=ROLES + OPTIONAL_ROLES, beat_at__gte=since).order_by(
        "role", "-beat_at"
    )
    return [ProcessBeat(hb.role, hb.process, (now - hb.beat_at).total_seconds()) for hb in rows]


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
    claims = [probe() for probe in _claimed_probes]
    claimed_at = [at for _count, at in claims if at is not None]
    return Health(
        database_ok=database_ok,
        heartbeats=_heartbeat_ages(),
        oldest_due_at=min(dues) if dues else None,
        sections={name: section() for name, section in _sections.items()},
        processes=_process_beats(),
        claimed_count=sum(count for count, _at in claims),
        oldest_claimed_at=min(claimed_at) if claimed_at else None,
    )
