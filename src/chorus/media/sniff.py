"""What a file really is: Pillow for images, ffprobe for videos. The name is never trusted."""

from __future__ import annotations

import json
import subprocess
import warnings
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


def sniff_image(path: Path) -> Sniffed | None:
    """The image's real type and size; None when Pillow does not recognise it at all."""
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
                image.verify()  # structure and checksums
            with Image.open(path) as image:
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
