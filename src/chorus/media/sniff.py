"""What a file really is: Pillow for images, ffprobe for videos. The name is never trusted."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, UnidentifiedImageError

from chorus.core.refusals import Invalid

FFPROBE = "/usr/bin/ffprobe"
FFMPEG = "/usr/bin/ffmpeg"
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


class MediaRejected(Invalid):
    """A file we refuse, with a reason a person can act on (`reason`: the message)."""

    code = "media_rejected"

    @property
    def reason(self) -> str:
        return self.message


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "image" | "video"
    mime_type: str
    width: int | None
    height: int | None
    duration: float | None = None

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.mime_type]


def max_pixels() -> int:
    return int(getattr(settings, "CHORUS_MEDIA_MAX_PIXELS", 90_000_000))


MB = 1024 * 1024


def decode_budget() -> int:
    """Bytes one image may take once decoded (pixels × bands), checked from its header."""
    return int(getattr(settings, "CHORUS_MEDIA_DECODE_BUDGET_MB", 256)) * MB


def memory_budget() -> int:
    """Bytes every image decoded at once in this process may take together."""
    return int(getattr(settings, "CHORUS_MEDIA_DECODE_MEMORY_MB", 640)) * MB


class _DecodeMemory:
    """A process-wide semaphore counted in bytes: parallel uploads wait for each other instead
    of decoding more images at once than the memory budget allows."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.in_use = 0

    @contextmanager
    def reserve(self, amount: int, *, wait: float = 120.0) -> Iterator[None]:
        amount = min(amount, memory_budget())  # one image alone always fits (decode_budget caps it)
        deadline = time.monotonic() + wait
        with self._lock:
            while self.in_use and self.in_use + amount > memory_budget():
                left = deadline - time.monotonic()
                if left <= 0 or not self._lock.wait(left):
                    raise MediaRejected(
                        _("The server is busy processing other images; try again in a minute.")
                    )
            self.in_use += amount
        try:
            yield
        finally:
            with self._lock:
                self.in_use -= amount
                self._lock.notify_all()


decode_memory = _DecodeMemory()


def decoded_bytes(image: Image.Image) -> int:
    """What decoding `image` costs, from its header: pixels × bands (RGBA = 4 bytes a pixel)."""
    width, height = image.size
    return width * height * max(len(image.getbands()), 1)


def _too_big(cost: int) -> MediaRejected:
    return MediaRejected(
        _("This image needs %(need)s MB of memory to process, more than the %(max)s MB allowed.")
        % {"need": cost // MB, "max": decode_budget() // MB}
    )


def sniff_image(path: Path) -> Sniffed | None:
    """The image's real type and size; None when Pillow does not recognise it at all. Nothing is
    decoded before the header's pixels × bands fit the decode budget; decoding waits for room in
    the process's memory budget; JPEGs are checked through reduced (1/8) decoding."""
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; both refuse here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt, (width, height) = image.format, image.size
                if width * height > limit:
                    raise Image.DecompressionBombError(f"{width}x{height}")
                if fmt not in IMAGE_FORMATS:
                    raise MediaRejected(
                        _("%(format)s images are not supported; use JPEG, PNG, GIF or WebP.")
                        % {"format": fmt}
                    )
                cost = decoded_bytes(image)
                if cost > decode_budget():
                    raise _too_big(cost)
                image.verify()  # structure and checksums
            with decode_memory.reserve(cost), Image.open(path) as image:
                if fmt == "JPEG":
                    image.draft(image.mode, (max(width // 8, 1), max(height // 8, 1)))
                image.load()  # decodes every pixel: truncated or corrupt data fails here
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        megapixels = limit // 1_000_000
        raise MediaRejected(
            ngettext(
                "This image is too large to process safely (more than %(mp)s megapixel).",
                "This image is too large to process safely (more than %(mp)s megapixels).",
                megapixels,
            )
            % {"mp": megapixels}
        ) from None
    except MediaRejected:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected(
            _("This image is damaged and cannot be read (%(detail)s).") % {"detail": exc}
        ) from None
    return Sniffed("image", IMAGE_FORMATS[fmt], width, height)


def sniff_video(path: Path) -> Sniffed | None:
    """ffprobe's view of the file; None when it is not a video container we accept."""
    try:
        proc = subprocess.run(
            [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        return None
    fmt = info.get("format", {})
    names = set(str(fmt.get("format_name", "")).split(","))
    videos = [
        s
        for s in info.get("streams", [])
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    duration = float(fmt.get("duration") or 0)
    if not videos or duration <= 0:
        return None
    if "mp4" in names or "mov" in names:
        brand = str(fmt.get("tags", {}).get("major_brand", "")).strip()
        mime = "video/quicktime" if brand == "qt" else "video/mp4"
    elif "webm" in names:
        mime = "video/webm"
    else:
        return None
    stream = videos[0]
    return Sniffed(
        "video", mime, int(stream.get("width") or 0) or None, int(stream.get("height") or 0) or None, duration
    )


def sniff(path: Path) -> Sniffed:
    found = sniff_image(path) or sniff_video(path)
    if found is None:
        raise MediaRejected(
            _("This file is not an image or video we can read (JPEG, PNG, GIF, WebP, MP4, MOV, WebM).")
        )
    return found


def video_frame(path: Path, out: Path, width: int) -> bool:
    """A JPEG of the first frame, `width` pixels wide; False when ffmpeg cannot make one."""
    try:
        proc = subprocess.run(
            [
                FFMPEG,
                "-v",
                "error",
                "-y",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-vf",
                f"scale={width}:-2",
                str(out),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and out.exists() and out.stat().st_size > 0
