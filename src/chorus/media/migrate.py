"""`chorus media migrate-storage`: copy every stored file between the local MEDIA_ROOT and the
S3-compatible bucket (CHORUS_S3_BUCKET), under the same names, so the database needs no change.

* Every file is read back from the destination and its SHA-256 compared with the source's; a
  destination file that already matches is skipped, so an interrupted run is resumed by running
  the command again (nothing is copied twice, a partial or different copy is replaced).
* The private originals (CHORUS_PRIVATE_ROOT locally, the bucket's `private/` prefix) move too.
* Sources are deleted only with `delete_source`, and only once their copy was verified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage

CHUNK = 1024 * 1024

Direction = Literal["bucket", "local"]


class StorageNotConfigured(RuntimeError):
    pass


@dataclass
class Outcome:
    copied: int = 0
    already: int = 0
    deleted: int = 0
    mismatched: list[str] = field(default_factory=list)


def _bucket(location: str = "") -> Storage:
    if not settings.CHORUS_S3_BUCKET:
        raise StorageNotConfigured("CHORUS_S3_BUCKET is not set")
    from storages.backends.s3 import S3Storage

    default = cast("dict[str, Any]", settings.STORAGES["default"])
    # Same names on both sides: overwrite a partial or different copy instead of renaming.
    options = {**default.get("OPTIONS", {}), "file_overwrite": True}
    if location:
        options["location"] = location
    return S3Storage(**options)


def _local(root: str) -> Storage:
    return FileSystemStorage(location=root, allow_overwrite=True)


def pairs(to: Direction) -> list[tuple[str, Storage, Storage]]:
    """(label, source, destination) for the media and the private originals."""
    media = (_local(str(settings.MEDIA_ROOT)), _bucket())
    private = (_local(str(settings.CHORUS_PRIVATE_ROOT)), _bucket("private"))
    if to == "local":
        media, private = (media[1], media[0]), (private[1], private[0])
    return [("media", *media), ("private", *private)]


def walk(storage: Storage, prefix: str = "", skip: frozenset[str] = frozenset()) -> Iterator[str]:
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{prefix}{name}"
    for sub in sorted(dirs):
        if sub and f"{prefix}{sub}" not in skip:
            yield from walk(storage, f"{prefix}{sub}/", skip)


def digest(storage: Storage, name: str) -> str | None:
    if not storage.exists(name):
        return None
    sha = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def migrate(
    to: Direction, *, delete_source: bool = False, progress: Callable[[str, str, str], None] | None = None
) -> Outcome:
    """Copies every file to `to` ("bucket" or "local"); `progress(label, name, what)` after each
    file, `what` one of "copied", "already there", "mismatch"."""
    outcome = Outcome()
    for label, source, destination in pairs(to):
        # The bucket keeps private originals under private/: never copied among the served media.
        for name in walk(source, skip=frozenset({"private"}) if label == "media" else frozenset()):
            want = digest(source, name)
            if want is None:
                continue  # removed meanwhile
            if digest(destination, name) == want:
                outcome.already += 1
                what = "already there"
            else:
                with source.open(name, "rb") as handle:
                    saved = destination.save(name, handle)
                if saved != name or digest(destination, name) != want:
                    outcome.mismatched.append(f"{label}:{name}")
                    if progress:
                        progress(label, name, "mismatch")
                    continue
                outcome.copied += 1
                what = "copied"
            if delete_source:
                source.delete(name)
                outcome.deleted += 1
            if progress:
                progress(label, name, what)
    return outcome
