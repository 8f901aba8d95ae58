"""Tokens at rest: encrypted, and rotatable to a new key without losing any."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from cryptography.fernet import Fernet

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.core import vault
from tests.engine_fixtures import *  # noqa: F403
from tests.engine_fixtures import CHORUS


def test_it_rotates_every_channel_secret_to_the_newest_key(cast, monkeypatch):
    old_key = Fernet.generate_key().decode()
    monkeypatch.setenv("CHORUS_FERNET_KEYS", old_key)
    vault.reset_cache()
    try:
        channel = connect_channel(
            workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={"token": "s3cret"}
        )
        new_key = Fernet.generate_key().decode()
        monkeypatch.setenv("CHORUS_FERNET_KEYS", f"{new_key},{old_key}")
        vault.reset_cache()
        report = vault.rotate_all()
        assert report.rotated["channels"] == 1
        assert report.undecryptable == []
        # Only the new key is needed from now on.
        monkeypatch.setenv("CHORUS_FERNET_KEYS", new_key)
        vault.reset_cache()
        assert Channel.objects.get(pk=channel.pk).credentials == {"token": "s3cret"}
        monkeypatch.setenv("CHORUS_FERNET_KEYS", old_key)
        vault.reset_cache()
        try:
            Channel.objects.get(pk=channel.pk).credentials  # noqa: B018
        except vault.VaultError as exc:
            assert "cannot be decrypted" in str(exc)
        else:
            raise AssertionError("the old key alone must no longer decrypt rotated secrets")
    finally:
        vault.reset_cache()


def test_the_cli_offers_channel_check_key_rotation_and_storage_migration():
    # The interpreter's own `chorus` (a worktree has no .venv of its own).
    out = subprocess.run([str(CHORUS), "--help"], capture_output=True, text=True, check=True).stdout
    assert "channel" in out and "rotate-keys" in out and "media" in out


def test_a_key_file_may_hold_one_key_per_line(cast, monkeypatch, tmp_path):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    key_file = tmp_path / "keys"
    key_file.write_text(f"{old_key}\n")
    monkeypatch.delenv("CHORUS_FERNET_KEYS", raising=False)
    monkeypatch.setenv("CHORUS_FERNET_KEYS_FILE", str(key_file))
    vault.reset_cache()
    try:
        token = vault.encrypt({"token": "s3cret"})
        # A new key on its own line, first: read again without a restart (the file changed),
        # and both keys are used (the old one still opens what it saved).
        key_file.write_text(f"{new_key}\n{old_key}\n")
        os.utime(key_file, (time.time() + 5, time.time() + 5))
        assert vault.decrypt(token) == {"token": "s3cret"}
        assert Fernet(new_key.encode()).decrypt(vault.encrypt({"a": 1}).encode()) == b'{"a":1}'
    finally:
        vault.reset_cache()


def test_a_malformed_key_is_named_by_its_position(monkeypatch):
    monkeypatch.setenv("CHORUS_FERNET_KEYS", f"{Fernet.generate_key().decode()}, not-a-key")
    vault.reset_cache()
    try:
        with pytest.raises(vault.VaultError, match="key 2 of 2 in CHORUS_FERNET_KEYS is not a Fernet key"):
            vault.encrypt({})
    finally:
        vault.reset_cache()


def test_rotation_reports_a_secret_no_key_opens_and_rotates_the_others(cast, monkeypatch):
    lost_key, old_key, new_key = (Fernet.generate_key().decode() for _ in range(3))
    monkeypatch.setenv("CHORUS_FERNET_KEYS", lost_key)
    vault.reset_cache()
    try:
        lost = connect_channel(
            workspace=cast.workspace, kind="sink", name="Lost", config={}, credentials={"t": "1"}
        )
        monkeypatch.setenv("CHORUS_FERNET_KEYS", old_key)
        kept = connect_channel(
            workspace=cast.workspace, kind="sink", name="Kept", config={}, credentials={"t": "2"}
        )
        monkeypatch.setenv("CHORUS_FERNET_KEYS", f"{new_key},{old_key}")
        seen: list[tuple[str, int, int]] = []

        report = vault.rotate_all(progress=lambda what, done, total: seen.append((what, done, total)))

        assert report.rotated["channels"] == 1
        assert report.undecryptable == [("channels.Channel", lost.pk)]
        assert seen[-1][1:] == (2, 2)
        monkeypatch.setenv("CHORUS_FERNET_KEYS", new_key)
        assert Channel.objects.get(pk=kept.pk).credentials == {"t": "2"}
    finally:
        vault.reset_cache()


@pytest.mark.django_db(transaction=True)
def test_the_cli_reports_an_undecryptable_channel_without_a_traceback(cast, engine_env):
    channel = connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={"t": "1"}
    )
    env = {**engine_env, "CHORUS_FERNET_KEYS": Fernet.generate_key().decode()}

    check = subprocess.run(
        [str(CHORUS), "channel", "check", str(channel.pk)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    rotation = subprocess.run(
        [str(CHORUS), "rotate-keys"], env=env, capture_output=True, text=True, timeout=60
    )

    assert check.returncode == 1
    assert "cannot be decrypted with the configured keys" in check.stderr
    assert "Traceback" not in check.stderr + check.stdout
    assert rotation.returncode == 1
    assert f"channels.Channel #{channel.pk}" in rotation.stderr
    assert "Traceback" not in rotation.stderr + rotation.stdout
