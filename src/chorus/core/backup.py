"""`chorus backup` / `chorus restore` for the embedded default (SQLite in the var dir).

A backup is one .tar.gz: the database copied with SQLite's online backup API (consistent while
Chorus runs and writes), the media files, and the keys (the secret key and the token vault's
Fernet keys — without them the stored network tokens cannot be read). The scaled shape
(PostgreSQL) backs up with pg_dump and its own storage tools instead.

After a restore, publishing resumes as after a crash, only more cautiously: a target caught
mid-send in the copy may have reached the network, so it becomes "unknown" and is read back
(`publishing.reconcile`) instead of being sent again; a claim that had not started sending
goes back to the queue.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

KEY_FILES = ("secret_key", "fernet_keys")


class BackupError(Exception):
    pass


def _database_path() -> Path:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        raise BackupError(
            "chorus backup covers the embedded SQLite default; back up PostgreSQL with pg_dump."
        )
    return Path(db["NAME"])


def copy_database(dest: Path, alias: str = "default") -> None:
    """A consistent copy of the live database while others keep writing.

    One backup step over every page (`pages=-1`): it reads inside one read transaction, which in
    WAL mode never blocks the writers and is never invalidated by them. Copying in slices of pages
    restarts from the first page whenever another connection writes between two slices, so under
    a steady writer a large database was never done (the suite saw a 60 MB database copied for
    10 minutes, its WAL growing to 186 MB)."""
    connection = connections[alias]
    connection.ensure_connection()
    source: sqlite3.Connection = connection.connection  # type: ignore[assignment]
    with sqlite3.connect(dest) as target:
        source.backup(target, pages=-1)
    target.close()


def backup(output: Path) -> Path:
    """Writes the archive (a directory `output` gets a timestamped file name); returns its path."""
    _database_path()
    if output.is_dir():
        output = output / f"chorus-backup-{timezone.now():%Y%m%d-%H%M%S}.tar.gz"
    var = Path(settings.VAR_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        db_copy = Path(tmp) / "chorus.sqlite3"
        copy_database(db_copy)
        manifest = {"format": 1, "made_at": timezone.now().isoformat(), "keys": [], "media": True}
        with tarfile.open(output, "w:gz") as archive:
            archive.add(db_copy, arcname="db/chorus.sqlite3")
            for name in KEY_FILES:
                if (var / name).exists():
                    archive.add(var / name, arcname=f"keys/{name}")
                    manifest["keys"].append(name)  # type: ignore[attr-defined]
            media = Path(settings.MEDIA_ROOT)
            if media.exists():
                archive.add(media, arcname="media")
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    output.chmod(0o600)  # it holds the keys
    return output


def restore(archive_path: Path) -> dict[str, int]:
    """Puts an archive's database, media and keys in place (Chorus stopped), then settles the
    targets that were in flight when the copy was made."""
    database = _database_path()
    var = Path(settings.VAR_DIR)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(tmp, filter="data")
        root = Path(tmp)
        if not (root / "manifest.json").exists() or not (root / "db" / "chorus.sqlite3").exists():
            raise BackupError(f"{archive_path} is not a Chorus backup.")
        connections.close_all()
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(root / "db" / "chorus.sqlite3", database)
        for name in KEY_FILES:
            if (root / "keys" / name).exists():
                shutil.copyfile(root / "keys" / name, var / name)
                (var / name).chmod(0o600)
        if (root / "media").exists():
            shutil.copytree(root / "media", Path(settings.MEDIA_ROOT), dirs_exist_ok=True)
    return settle_in_flight()


def settle_in_flight(now: dt.datetime | None = None) -> dict[str, int]:
    """Targets the copy caught publishing: mid-send → unknown (read back, never blindly resent);
    claimed but not sending → queued again. Audited through the publishing actions."""
    from chorus.content.models import PostTarget
    from chorus.publishing import actions

    now = now or timezone.now()
    S, P = PostTarget.Status, PostTarget.Phase
    unknown = requeued = 0
    for target in PostTarget.objects.select_related("workspace").filter(status=S.PUBLISHING, phase=P.SENDING):
        try:
            actions.mark_unknown(
                target, message="Restored from a backup while sending; checking with the network.",
                only_if_sending=True,
            )  # fmt: skip
            unknown += 1
        except actions.TransitionRefused:
            pass
    for target in PostTarget.objects.select_related("workspace").filter(status=S.PUBLISHING, phase=P.CLAIMED):
        try:
            actions.retry_later(
                target, when=now, code="restored", message="Restored from a backup before sending; queued again.",
                count_attempt=False, only_if_unsent=True,
            )  # fmt: skip
            requeued += 1
        except actions.TransitionRefused:
            pass
    return {"unknown": unknown, "requeued": requeued}
