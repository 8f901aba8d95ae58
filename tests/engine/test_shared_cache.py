"""The cache is shared by every process (throttles and rate limits must hold across them): a value
set through one `chorus` process is read by another. The database cache on the embedded shape,
Redis on the scaled shape or whenever CHORUS_CACHE_URL is set."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from tests.engine_fixtures import CHORUS, REDIS_CLAIM_KEY, REPO_DIR

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def _shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [str(CHORUS), "manage", "shell", "-c", code],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]  # after the shell's "N objects imported" line


def _write_then_read_in_another_process(env: dict[str, str]) -> tuple[str, str]:
    """(the cache backend, what a second process read): it must be what the first one wrote."""
    key = f"shared-{uuid.uuid4().hex}"
    backend = _shell(
        env,
        "from django.core.cache import cache; from django.conf import settings; "
        f"cache.set({key!r}, 'set-by-' + str(__import__('os').getpid()), 60); "
        "print(settings.CACHES['default']['BACKEND'])",
    )
    read = _shell(
        env, f"from django.core.cache import cache; print(cache.get({key!r}), __import__('os').getpid())"
    )
    value, reader_pid = read.split()
    assert value != f"set-by-{reader_pid}"
    return backend, value


@pytest.fixture
def claimed_redis_url() -> Iterator[str]:
    """A Redis database index of our own (1-14), claimed like tests.engine_fixtures does."""
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    claim = f"{socket.gethostname()}:{os.getpid()}:cache"
    for index in range(14, 0, -1):
        client = redis.Redis.from_url(f"{base}/{index}")
        if client.set(REDIS_CLAIM_KEY, claim, nx=True, ex=600):
            break
        client.close()
    else:
        pytest.fail("every Redis database 1-14 is claimed")
    try:
        yield f"{base}/{index}"
    finally:
        client.flushdb()
        client.close()


def test_the_shape_default_cache_is_shared_between_processes(engine_env):
    backend, read = _write_then_read_in_another_process(engine_env)

    expected = (
        "django.core.cache.backends.redis.RedisCache"
        if settings.CHORUS_TASK_BACKEND == "celery"
        else "django.core.cache.backends.db.DatabaseCache"
    )
    assert backend == expected
    assert read.startswith("set-by-")


def test_chorus_cache_url_puts_the_cache_in_redis_shared_between_processes(engine_env, claimed_redis_url):
    env = {**engine_env, "CHORUS_CACHE_URL": claimed_redis_url}

    backend, read = _write_then_read_in_another_process(env)

    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert read.startswith("set-by-")
    # It really is in that Redis database (Django's key: prefix:version:key).
    assert any(k.startswith(b"chorus:1:shared-") for k in redis.Redis.from_url(claimed_redis_url).scan_iter())
