"""Login and password-reset throttling, per account and per address.

Why our own small table and not django-axes: axes (MIT, well kept) needs the request in every
`authenticate()` call (the test client, the CLI and the API call it without one), brings
django-ipware and three tables of its own, and does not throttle password-reset requests. Chorus
needs one rule for both, keyed by the account and by the proxy-aware client address
(`core.middleware.client_ip`, the one the audit log uses), shared by every process of the
embedded default — which Django's default per-process cache is not.

A key counts failures in a fixed window; at the limit it is locked for the lockout time, and a
locked key refuses even the right password. A successful sign-in clears the account's key.

Where the counts live (chorus.core.shared_counts): Redis in the scaled shape, so every web process
on every machine shares them; the table in the embedded shape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chorus.accounts.models import Throttle
from chorus.core import shared_counts


@dataclass(frozen=True)
class Rule:
    limit: int
    window: dt.timedelta
    lockout: dt.timedelta


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def login_rules() -> tuple[Rule, Rule]:
    """(per account, per address)."""
    minutes = dt.timedelta(minutes=_setting("CHORUS_LOGIN_LOCKOUT_MINUTES", 15))
    return (
        Rule(_setting("CHORUS_LOGIN_FAILURES_PER_ACCOUNT", 5), minutes, minutes),
        Rule(_setting("CHORUS_LOGIN_FAILURES_PER_ADDRESS", 20), minutes, minutes),
    )


def reset_rule() -> Rule:
    hour = dt.timedelta(hours=1)
    return Rule(_setting("CHORUS_PASSWORD_RESETS_PER_HOUR", 5), hour, hour)


def locked_for(*keys: str) -> dt.timedelta | None:
    """How long the most locked of `keys` stays locked; None when none is."""
    now = timezone.now()
    client = shared_counts.redis_client()
    if client is not None:
        stamp = shared_counts.locked_until(client, [key[:200] for key in keys])
        left = dt.timedelta(seconds=stamp - now.timestamp()) if stamp is not None else None
        return left if left is not None and left > dt.timedelta(0) else None
    until = (
        Throttle.objects.filter(key__in=keys, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return until - now if until else None


def hit(key: str, rule: Rule) -> bool:
    """Counts one event on `key`; True when that event reached the limit (the key is now locked)."""
    now = timezone.now()
    client = shared_counts.redis_client()
    if client is not None:
        hits = shared_counts.count(client, [key[:200]], rule.window.total_seconds())[key[:200]]
        if hits >= rule.limit:
            until = now + rule.lockout
            shared_counts.lock(client, key[:200], until.timestamp(), rule.lockout.total_seconds())
            return True
        return False
    with transaction.atomic():
        row, _created = Throttle.objects.get_or_create(key=key[:200], defaults={"window_start": now})
        if row.window_start + rule.window < now:
            Throttle.objects.filter(pk=row.pk).update(hits=1, window_start=now, locked_until=None)
            return rule.limit <= 1
        Throttle.objects.filter(pk=row.pk).update(hits=F("hits") + 1)
        row.refresh_from_db(fields=["hits"])
        if row.hits >= rule.limit:
            Throttle.objects.filter(pk=row.pk).update(locked_until=now + rule.lockout)
            return True
    return False


def clear(key: str) -> None:
    client = shared_counts.redis_client()
    if client is not None:
        shared_counts.clear(client, key[:200])
        return
    Throttle.objects.filter(key=key[:200]).delete()


def account_key(scope: str, email: str) -> str:
    return f"{scope}:account:{email.strip().lower()}"


def address_key(scope: str, address: str | None) -> str:
    return f"{scope}:address:{address or 'unknown'}"


def minutes(left: dt.timedelta) -> int:
    return max(1, int(left.total_seconds() + 59) // 60)
