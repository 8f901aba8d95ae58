"""Counters every process shares: sign-in throttles (chorus.accounts.throttle) and API rate limits
(chorus.api.ratelimit).

Where they count follows the cache (settings.CACHES, CHORUS_CACHE_URL):
- the scaled shape (Redis cache): in Redis, with INCR on keys that expire with their window, so
  every web process on every machine sees the same counts and no sign-in or API request writes a
  PostgreSQL row;
- the embedded shape (database cache): in the database table `accounts.Throttle`, shared by its
  process group. Never in a process's memory, where each process would count alone.

Keys are `chorus:count:<name>` (counters) and `chorus:lock:<name>` (a throttled key's lockout).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import redis
from django.conf import settings

COUNT_PREFIX = "chorus:count:"
LOCK_PREFIX = "chorus:lock:"


def redis_client() -> redis.Redis | None:
    """The shared cache's Redis when the cache is Redis (the scaled shape); None otherwise."""
    cache: dict[str, Any] = settings.CACHES["default"]
    if not str(cache.get("BACKEND", "")).endswith(".RedisCache"):
        return None
    location = cache["LOCATION"]
    if isinstance(location, list | tuple):  # several servers: Django writes to the first
        location = location[0]
    return _client(str(location))


@functools.cache
def _client(url: str) -> redis.Redis:
    # One connection pool per process and URL (redis-py's client is thread-safe).
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def count(client: redis.Redis, names: list[str], window_seconds: float) -> dict[str, int]:
    """Counts one event on each name, in one round trip; returns each name's count in its window.
    A window starts at a name's first event and lasts `window_seconds` (names that carry their
    window, like `api:token:7:29031977`, get fixed windows). SET NX + INCR in one MULTI: two
    processes counting the same name at once both count."""
    seconds = max(1, math.ceil(window_seconds))
    pipe = client.pipeline(transaction=True)
    for name in names:
        pipe.set(COUNT_PREFIX + name, 0, ex=seconds, nx=True)
        pipe.incr(COUNT_PREFIX + name)
    answers = pipe.execute()
    return {name: int(answers[2 * i + 1]) for i, name in enumerate(names)}


def lock(client: redis.Redis, name: str, until_timestamp: float, seconds: float) -> None:
    client.set(LOCK_PREFIX + name, repr(until_timestamp), ex=max(1, math.ceil(seconds)))


def locked_until(client: redis.Redis, names: list[str]) -> float | None:
    """The latest lockout end (a Unix timestamp) among `names`; None when none is locked."""
    values = [float(v) for v in client.mget([LOCK_PREFIX + n for n in names]) if v is not None]
    return max(values) if values else None


def clear(client: redis.Redis, name: str) -> None:
    client.delete(COUNT_PREFIX + name, LOCK_PREFIX + name)
