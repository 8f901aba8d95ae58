"""Where media files live: Django's default storage (the local MEDIA_ROOT, or an S3-compatible
bucket when CHORUS_S3_BUCKET is set), read by name from any process on any machine.

Connectors and pages read a post's media through `read_bytes(item_path)`, never through a local
path: on the scaled shape the file is in the bucket, and the worker that publishes it may run on
another host than the web process that received it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage


class NotAMediaFile(ValueError):
    """The name is empty, escapes the media storage, or names no stored file."""


def on_bucket() -> bool:
    return bool(getattr(settings, "CHORUS_S3_BUCKET", ""))


def storage_name(raw: str) -> str:
    """The storage name of a media item's path. A relative name is used as it is (no `..`); an
    absolute path is accepted only inside the local MEDIA_ROOT (files placed there by hand)."""
    raw = str(raw or "").strip()
    if not raw:
        raise NotAMediaFile(raw)
    if Path(raw).is_absolute():
        if on_bucket():
            raise NotAMediaFile(raw)
        root = Path(settings.MEDIA_ROOT).resolve()
        path = Path(raw).resolve()
        if not path.is_relative_to(root):
            raise NotAMediaFile(raw)
        return path.relative_to(root).as_posix()
    name = posixpath.normpath(raw.replace("\\", "/"))
    if name.startswith(("../", "/")) or name in ("..", "."):
        raise NotAMediaFile(raw)
    return name


def exists(raw: str) -> bool:
    try:
        return default_storage.exists(storage_name(raw))
    except NotAMediaFile:
        return False


def read_bytes(raw: str) -> bytes:
    """The bytes of a stored media file; NotAMediaFile when there is none under that name."""
    name = storage_name(raw)
    if not default_storage.exists(name):
        raise NotAMediaFile(raw)
    with default_storage.open(name, "rb") as handle:
        return bytes(handle.read())


def private_storage() -> Storage:
    """Where private originals live (SafetyRules.keep_private_originals): never a name any URL
    or connector reaches. On the bucket, under its own `private/` prefix (every host sees it);
    locally, CHORUS_PRIVATE_ROOT, outside MEDIA_ROOT."""
    if on_bucket():
        from storages.backends.s3 import S3Storage

        default = cast("dict[str, Any]", settings.STORAGES["default"])
        options = dict(default.get("OPTIONS", {}))
        options["location"] = "private"
        return S3Storage(**options)
    return FileSystemStorage(location=str(settings.CHORUS_PRIVATE_ROOT), base_url=None)
