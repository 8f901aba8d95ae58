"""Images for Bluesky: read from the media storage, re-encode under the blob size cap, keep the ratio.

Re-encoding also drops EXIF metadata (camera location) before anything leaves the server.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext
from PIL import Image, ImageOps

from chorus.media import storage


class MediaError(ValueError):
    """The media item cannot be used (missing file, outside MEDIA_ROOT, not an image)."""


def media_name(item: dict[str, object]) -> str:
    """The stored file of a media item {"path": ..., "alt": ...}: a media storage name (or an
    absolute path inside the local MEDIA_ROOT), never an arbitrary server file. The storage is
    the bucket on the scaled shape: the worker reads it wherever the upload happened."""
    raw = str(item.get("path") or "")
    if not raw:
        raise MediaError(gettext("The media item has no file."))
    try:
        name = storage.storage_name(raw)
    except storage.NotAMediaFile:
        raise MediaError(gettext("%(file)s is outside the media folder.") % {"file": raw}) from None
    if not storage.exists(name):
        raise MediaError(gettext("%(file)s does not exist.") % {"file": raw})
    return name


def media_bytes(item: dict[str, object]) -> bytes:
    try:
        return storage.read_bytes(media_name(item))
    except storage.NotAMediaFile:
        raise MediaError(gettext("%(file)s does not exist.") % {"file": item.get("path")}) from None


def fit_image(data: bytes, max_bytes: int, max_side: int = 2000) -> tuple[bytes, str, tuple[int, int]]:
    """Returns (bytes, mime type, (width, height)) of the image re-encoded under `max_bytes`."""
    try:
        opened = Image.open(io.BytesIO(data))
        image: Image.Image = ImageOps.exif_transpose(opened)
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(gettext("The file is not a readable image (%(error)s).") % {"error": exc}) from exc
    alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if alpha else "RGB")
    image.thumbnail((max_side, max_side))
    while True:
        for quality in (90, 80, 70, 60):
            buffer = io.BytesIO()
            if alpha:
                image.save(buffer, "PNG", optimize=True)
            else:
                image.save(buffer, "JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue(), "image/png" if alpha else "image/jpeg", image.size
            if alpha:
                break
        if min(image.size) <= 64:
            raise MediaError(gettext("The image cannot be made small enough."))
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))
