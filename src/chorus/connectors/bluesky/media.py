"""Images for Bluesky: read from MEDIA_ROOT, re-encode under the blob size cap, keep the ratio.

Re-encoding also drops EXIF metadata (camera location) before anything leaves the server.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext
from PIL import Image, ImageOps


class MediaError(ValueError):
    """The media item cannot be used (missing file, outside MEDIA_ROOT, not an image)."""


def media_path(item: dict[str, object]) -> Path:
    """The file of a media item {"path": ..., "alt": ...}: MEDIA_ROOT-relative or absolute, but
    always inside MEDIA_ROOT (a post must not be able to attach arbitrary server files)."""
    raw = str(item.get("path") or "")
    if not raw:
        raise MediaError(gettext("The media item has no file."))
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / raw).resolve()
    if not path.is_relative_to(root):
        raise MediaError(gettext("%(file)s is outside the media folder.") % {"file": raw})
    if not path.is_file():
        raise MediaError(gettext("%(file)s does not exist.") % {"file": raw})
    return path


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
