"""Tokens at rest: MultiFernet over CHORUS_FERNET_KEYS (newest first), so keys can rotate.

The embedded shape generates one key into var/fernet_keys. Rotation: put a new key first in
the list, run `chorus manage rotate_credentials`, then drop the old key.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from chorus.core.env import env_list, env_secret


class VaultError(Exception):
    pass


def _configured_keys() -> list[str]:
    raw = env_secret("CHORUS_FERNET_KEYS")
    if raw:
        return [k.strip() for k in raw.split(",") if k.strip()]
    key_file = settings.VAR_DIR / "fernet_keys"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode() + "\n")
        key_file.chmod(0o600)
    return [line.strip() for line in key_file.read_text().splitlines() if line.strip()]


@cache
def _fernet() -> MultiFernet:
    keys = _configured_keys() or env_list("CHORUS_FERNET_KEYS")
    if not keys:
        raise VaultError("no encryption key configured (CHORUS_FERNET_KEYS)")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        value: dict[str, Any] = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise VaultError("credentials cannot be decrypted with the configured keys") from None
    return value


def rotate(token: str) -> str:
    """Re-encrypt with the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else token


def rotate_all() -> dict[str, int]:
    """Re-encrypts every encrypted column with the newest key (see module docstring)."""
    from django.apps import apps
    from django.db import transaction

    fields = [
        ("channels.Channel", "credentials_encrypted"),
        ("mastodon.MastodonApp", "client_secret_encrypted"),
    ]
    counts: dict[str, int] = {}
    for label, field in fields:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        n = 0
        with transaction.atomic():
            for pk, token in model.objects.exclude(**{field: ""}).values_list("pk", field).iterator():
                model.objects.filter(pk=pk).update(**{field: rotate(token)})
                n += 1
        counts[model._meta.verbose_name_plural.__str__()] = n
    return counts


def reset_cache() -> None:
    """Forget the loaded keys (after CHORUS_FERNET_KEYS changed, e.g. in tests)."""
    _fernet.cache_clear()
