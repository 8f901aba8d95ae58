"""Tokens at rest: MultiFernet over CHORUS_FERNET_KEYS (newest first), so keys can rotate.

Where the keys come from, first match wins:
- `CHORUS_FERNET_KEYS` (or a file named by `CHORUS_FERNET_KEYS_FILE`): keys separated by commas,
  spaces or new lines, newest first. Every machine of the scaled shape must get the same list
  (`chorus check --deploy` fails with chorus.E005 when it would be generated per machine);
- otherwise the embedded shape generates one key into `var/fernet_keys` (one key per line).

Rotation: put a new key first, run `chorus rotate-keys`, then drop the old key. A running process
notices a changed key file by itself (the file's modification time is part of the cache key); a
changed `CHORUS_FERNET_KEYS` variable needs the processes restarted, as any environment change.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from chorus.core.env import env_secret

KEY_SEPARATORS = re.compile(r"[\s,]+")


class VaultError(Exception):
    pass


def parse_keys(raw: str) -> list[str]:
    """Keys separated by commas, spaces or new lines (a key file may hold one per line)."""
    return [key for key in KEY_SEPARATORS.split(raw) if key]


def keys_from_environment() -> bool:
    """True when the keys are given to the process, False when this machine generates its own."""
    return bool(os.environ.get("CHORUS_FERNET_KEYS", "").strip() or os.environ.get("CHORUS_FERNET_KEYS_FILE"))


def _generated_key_file() -> Path:
    return Path(settings.VAR_DIR) / "fernet_keys"


def _source_signature() -> tuple[str, str, float]:
    """What the keys are read from, cheap to compute on every call: the variable's value, the
    key file's path and its modification time (so an edited file is read again)."""
    path = os.environ.get("CHORUS_FERNET_KEYS_FILE", "")
    if not path and not os.environ.get("CHORUS_FERNET_KEYS", "").strip():
        path = str(_generated_key_file())
    try:
        mtime = os.stat(path).st_mtime if path else 0.0
    except OSError:
        mtime = -1.0
    return os.environ.get("CHORUS_FERNET_KEYS", ""), path, mtime


def _configured_keys() -> list[str]:
    raw = env_secret("CHORUS_FERNET_KEYS")
    if raw.strip():
        return parse_keys(raw)
    key_file = _generated_key_file()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode() + "\n")
        key_file.chmod(0o600)
    return parse_keys(key_file.read_text())


def _build() -> MultiFernet:
    keys = _configured_keys()
    if not keys:
        raise VaultError("no encryption key configured (CHORUS_FERNET_KEYS)")
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:
            raise VaultError(
                f"key {number} of {len(keys)} in CHORUS_FERNET_KEYS is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `chorus generate-key`)"
            ) from None
    return MultiFernet(fernets)


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    signature: tuple[str, str, float] | None = None
    fernet: MultiFernet | None = None


_cache = _Cache()


def _fernet() -> MultiFernet:
    signature = _source_signature()
    with _cache.lock:
        if _cache.fernet is None or _cache.signature != signature:
            _cache.fernet = _build()
            # Read again after building: a generated key file did not exist before.
            _cache.signature = _source_signature()
        return _cache.fernet


def generate_key() -> str:
    return Fernet.generate_key().decode()


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
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise VaultError("credentials cannot be decrypted with the configured keys") from None


# Every encrypted column: (model label, field).
ENCRYPTED_FIELDS = (
    ("channels.Channel", "credentials_encrypted"),
    ("mastodon.MastodonApp", "client_secret_encrypted"),
    ("webhooks.Endpoint", "secret_encrypted"),
    ("accounts.User", "totp_secret_encrypted"),  # two-factor sign-in secrets
)


@dataclass
class RotationReport:
    rotated: dict[str, int] = field(default_factory=dict)
    undecryptable: list[tuple[str, int]] = field(default_factory=list)
    """(model label, primary key) of every secret no configured key opens: left as it was."""


def rotate_all(progress: Callable[[str, int, int], None] | None = None) -> RotationReport:
    """Re-encrypts every encrypted column with the newest key (see module docstring). A row no
    configured key opens is reported and left unchanged; the others are rotated one by one, so
    an interrupted run can simply be run again."""
    from django.apps import apps

    report = RotationReport()
    for label, column in ENCRYPTED_FIELDS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        rows = list(model.objects.exclude(**{column: ""}).values_list("pk", column))
        name = str(model._meta.verbose_name_plural)
        done = 0
        for number, (pk, token) in enumerate(rows, start=1):
            try:
                rotated = rotate(token)
            except VaultError:
                report.undecryptable.append((label, pk))
            else:
                # Only if nobody changed it meanwhile (a reconnect writes new credentials).
                done += model.objects.filter(pk=pk, **{column: token}).update(**{column: rotated})
            if progress is not None:
                progress(name, number, len(rows))
        report.rotated[name] = done
    return report


def reset_cache() -> None:
    """Forget the loaded keys (after CHORUS_FERNET_KEYS changed, e.g. in tests)."""
    with _cache.lock:
        _cache.fernet = None
        _cache.signature = None
