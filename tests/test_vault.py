"""Tokens at rest: encrypted, and rotatable to a new key without losing any."""

from __future__ import annotations

import subprocess

from cryptography.fernet import Fernet

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.core import vault


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
        counts = vault.rotate_all()
        assert counts["channels"] == 1
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


def test_the_cli_offers_channel_check_and_key_rotation():
    out = subprocess.run([".venv/bin/chorus", "--help"], capture_output=True, text=True, check=True).stdout
    assert "channel" in out and "rotate-keys" in out
