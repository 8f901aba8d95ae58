"""`chorus backup` / `chorus restore` of the embedded default: a consistent copy made while the
database is being written, with media and keys; after a restore, targets caught mid-send are
read back (unknown), never blindly sent again, and unsent claims are queued again."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tarfile
import threading
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from chorus.content.models import PostTarget
from chorus.core import backup
from tests.publishing.conftest import make_target

S, P = PostTarget.Status, PostTarget.Phase


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_backup_made_while_writing_is_consistent_and_complete(cast, sink_channel, settings, tmp_path: Path):
    if connection.vendor != "sqlite" or connection.settings_dict["NAME"].startswith(("file:", ":memory:")):
        pytest.fail("this test needs the file-based SQLite test database")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    (settings.VAR_DIR / "fernet_keys").write_text("key-one\n")
    default_storage.save("campaign/photo.jpg", ContentFile(b"jpeg bytes"))
    for n in range(30):
        make_target(cast, sink_channel, text=f"post {n}")
    # A few megabytes (over a thousand pages): a copy in slices of pages restarts whenever the
    # writer commits between two slices and, under a steady writer, never finishes.
    pad = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
    pad.executemany(
        "INSERT INTO core_auditevent (action, object_type, object_id, data, at) VALUES ('test.pad', '', '', ?, ?)",
        [(f'{{"pad": "{n:04d}{"x" * 4000}"}}', timezone.now().isoformat()) for n in range(1200)],
    )
    pad.commit()
    pad.close()
    stop = threading.Event()
    written: list[int] = []
    gave_up = threading.Event()

    def writer() -> None:  # another connection keeps writing during the copy, for 60 s at most
        db = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
        deadline = time.monotonic() + 60
        while not stop.is_set():
            if time.monotonic() > deadline:
                gave_up.set()
                break
            db.execute(
                "INSERT INTO core_auditevent (action, object_type, object_id, data, at) "
                "VALUES ('test.write', '', '', '{}', ?)",
                (timezone.now().isoformat(),),
            )
            db.commit()
            written.append(1)
        db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archive = backup.backup(tmp_path)
    finally:
        stop.set()
        thread.join()
    assert written, "the writer never wrote during the backup"
    assert not gave_up.is_set(), "the backup was still copying after 60 s of steady writes"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert {"manifest.json", "db/chorus.sqlite3", "keys/fernet_keys", "media/campaign/photo.jpg"} <= names
        tar.extractall(tmp_path / "out", filter="data")
    copy = sqlite3.connect(tmp_path / "out" / "db" / "chorus.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM content_posttarget").fetchone() == (30,)
    assert (archive.stat().st_mode & 0o777) == 0o600


def test_after_a_restore_in_flight_targets_are_read_back_not_resent(cast, sink_channel):
    due = timezone.now() - dt.timedelta(seconds=5)
    sending, claimed, done = (make_target(cast, sink_channel, text=t, when=due) for t in ("a", "b", "c"))
    PostTarget.objects.filter(pk=sending.pk).update(status=S.PUBLISHING, phase=P.SENDING, sending_at=due)
    PostTarget.objects.filter(pk=claimed.pk).update(status=S.PUBLISHING, phase=P.CLAIMED, claimed_at=due)
    PostTarget.objects.filter(pk=done.pk).update(status=S.PUBLISHED)
    settled = backup.settle_in_flight()
    assert settled == {"unknown": 1, "requeued": 1}
    statuses = dict(PostTarget.objects.values_list("pk", "status"))
    assert statuses[sending.pk] == S.UNKNOWN
    assert statuses[claimed.pk] == S.SCHEDULED
    assert statuses[done.pk] == S.PUBLISHED


def test_postgresql_is_refused_with_a_pointer(settings):
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"},
    }
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.backup(Path("/tmp"))
