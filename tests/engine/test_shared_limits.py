"""Sign-in throttles and API rate limits count in Redis when the cache is Redis (the scaled shape):
every process on every machine sees the same counts, and no sign-in or API request writes a table
row. The embedded shape's table is tested in tests/security/test_accounts_hardening.py and
tests/test_api_tokens.py."""

from __future__ import annotations

import subprocess

import pytest
import redis
from django.test import Client

from chorus.accounts import actions
from chorus.accounts.models import Throttle
from chorus.accounts.permissions import Scope
from chorus.core import shared_counts
from tests.conftest import PASSWORD, Cast
from tests.engine.test_shared_cache import claimed_redis_url  # noqa: F401
from tests.engine_fixtures import CHORUS, REPO_DIR, engine_env  # noqa: F401

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

LOGIN = "/accounts/login/"


@pytest.fixture
def redis_cache(settings, claimed_redis_url: str) -> redis.Redis:  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": claimed_redis_url,
            "KEY_PREFIX": "chorus",
        }
    }
    settings.CHORUS_LOGIN_FAILURES_PER_ACCOUNT = 5
    client = shared_counts.redis_client()
    assert client is not None
    return client


def _login(client: Client, email: str, password: str, address: str = "198.51.100.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_a_locked_account_is_locked_in_redis_and_no_row_is_written(cast: Cast, redis_cache: redis.Redis):
    email = cast.owner.email
    for attempt in range(5):
        _login(Client(), email, f"wrong {attempt}", address=f"198.51.100.{attempt + 1}")

    refused = _login(Client(), email, PASSWORD, address="203.0.113.99")

    assert "Too many failed sign-ins. Try again in 15 minutes." in refused.content.decode()
    assert Throttle.objects.count() == 0
    lock = f"chorus:lock:login:account:{email.lower()}"
    assert 14 * 60 < redis_cache.ttl(lock) <= 15 * 60  # it ends by itself with the lockout
    assert int(redis_cache.get(f"chorus:count:login:account:{email.lower()}")) == 5


def test_a_success_clears_the_account_count_in_redis(cast: Cast, redis_cache: redis.Redis):
    for n in range(4):
        _login(Client(), cast.owner.email, f"wrong {n}")
    assert redis_cache.exists(f"chorus:count:login:account:{cast.owner.email.lower()}")

    assert _login(Client(), cast.owner.email, PASSWORD).status_code == 302

    assert not redis_cache.exists(f"chorus:count:login:account:{cast.owner.email.lower()}")
    for n in range(4):
        _login(Client(), cast.owner.email, f"wrong again {n}")
    assert _login(Client(), cast.owner.email, PASSWORD).status_code == 302


def test_a_lockout_counted_by_another_process_holds_here(
    cast: Cast,
    redis_cache: redis.Redis,
    engine_env: dict[str, str],  # noqa: F811
    claimed_redis_url: str,  # noqa: F811
):
    """Five failures counted by a separate `chorus` process (another machine's web process, with
    its own memory) lock the account for this one."""
    code = (
        "from chorus.accounts import throttle; "
        f"rule = throttle.login_rules()[0]; key = throttle.account_key('login', {cast.owner.email!r}); "
        "print([throttle.hit(key, rule) for _ in range(5)])"
    )
    env = {**engine_env, "CHORUS_CACHE_URL": claimed_redis_url, "CHORUS_LOGIN_FAILURES_PER_ACCOUNT": "5"}
    done = subprocess.run(
        [str(CHORUS), "manage", "shell", "-c", code],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[False, False, False, False, True]"

    refused = _login(Client(), cast.owner.email, PASSWORD, address="203.0.113.5")

    assert "Too many failed sign-ins" in refused.content.decode()
    assert Throttle.objects.count() == 0


def test_api_rate_limits_count_in_redis(cast: Cast, redis_cache: redis.Redis, settings):
    settings.CHORUS_API_RATE_PER_TOKEN = 2
    _token, raw = actions.issue_api_token(user=cast.owner, name="limits", scope=Scope.READ)
    url = f"/api/workspaces/{cast.workspace.slug}/campaigns"

    answers = [Client().get(url, headers={"Authorization": f"Bearer {raw}"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1]["RateLimit-Remaining"] == "0"
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert Throttle.objects.count() == 0
    keys = sorted(k.decode() for k in redis_cache.scan_iter("chorus:count:api:*"))
    assert [k.rsplit(":", 1)[0] for k in keys] == [
        "chorus:count:api:address:127.0.0.1",
        f"chorus:count:api:token:{_token.pk}",
    ]
    assert all(0 < redis_cache.ttl(k) <= 120 for k in keys)  # gone with the next window


def test_the_database_cache_keeps_counting_in_the_table(cast: Cast, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "chorus_cache"}
    }
    assert shared_counts.redis_client() is None
    _login(Client(), cast.owner.email, "wrong")

    assert Throttle.objects.filter(key=f"login:account:{cast.owner.email.lower()}").get().hits == 1
