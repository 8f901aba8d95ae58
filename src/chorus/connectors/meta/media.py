"""Media facts the Meta networks check at save time (size, type, dimensions, duration) and the
public URL their servers fetch media from (Instagram and Threads "cURL" the file: it must be
reachable from the internet when the post goes out)."""

from __future__ import annotations

import json
import mimetypes
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from chorus.connectors.base import Problem

FFPROBE = "/usr/bin/ffprobe"


@dataclass(frozen=True)
class MediaFacts:
    path: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds, videos only, None when ffprobe is absent

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    @property
    def ratio(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


def content_type(item: dict[str, Any]) -> str:
    guessed = mimetypes.guess_type(str(item.get("path", "")))[0]
    return str(item.get("content_type") or guessed or "application/octet-stream")


def is_video(item: dict[str, Any]) -> bool:
    return content_type(item).startswith("video/")


def facts(item: dict[str, Any]) -> MediaFacts | None:
    """None when the file is missing."""
    path = item.get("path") or ""
    if not path or not default_storage.exists(path):
        return None
    kind = content_type(item)
    size = default_storage.size(path)
    if kind.startswith("image/"):
        try:
            with default_storage.open(path, "rb") as handle, Image.open(handle) as image:
                return MediaFacts(path, kind, size, image.width, image.height)
        except (UnidentifiedImageError, OSError):
            return MediaFacts(path, "application/octet-stream", size)
    if kind.startswith("video/"):
        return MediaFacts(path, kind, size, *_probe(path))
    return MediaFacts(path, kind, size)


def _probe(path: str) -> tuple[int | None, int | None, float | None]:
    """(width, height, duration) from ffprobe, or Nones when ffprobe is not installed."""
    ffprobe = FFPROBE if shutil.which(FFPROBE) else None
    try:
        local = default_storage.path(path)
    except NotImplementedError:  # remote storage: no local file to probe
        return None, None, None
    if ffprobe is None:
        return None, None, None
    command = [
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height:format=duration",
        "-of",
        "json",
        local,
    ]
    try:
        output = subprocess.run(command, capture_output=True, check=True, timeout=30, text=True).stdout
        data = json.loads(output)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None, None, None
    stream = (data.get("streams") or [{}])[0]
    duration = (data.get("format") or {}).get("duration")
    return stream.get("width"), stream.get("height"), float(duration) if duration else None


def public_url(path: str) -> str:
    """The absolute URL Meta's servers download the file from."""
    url = default_storage.url(path)
    return url if "://" in url else f"{settings.CHORUS_BASE_URL}{url}"


def read_bytes(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        data: bytes = handle.read()
    return data


def check(
    index: int,
    item: dict[str, Any],
    *,
    network: str,
    image_types: tuple[str, ...],
    video_types: tuple[str, ...],
    max_image_bytes: int,
    max_video_bytes: int,
    ratio: tuple[float, float] | None = None,
    duration: tuple[float, float] | None = None,
) -> list[Problem]:
    """Problems of one media item against a network's rules."""
    name = f"media[{index}]"
    found = facts(item)
    if found is None:
        return [Problem(name, "The file is missing.", "missing")]
    allowed = image_types + video_types
    if found.content_type not in allowed:
        kinds = ", ".join(sorted({t.split("/")[1].upper() for t in allowed}))
        return [Problem(name, f"{network} accepts {kinds} files only.", "type")]
    problems = []
    cap = max_video_bytes if found.is_video else max_image_bytes
    if found.size > cap:
        problems.append(Problem(name, f"The file is larger than {network}'s {cap / 2**20:g} MB.", "too_big"))
    if ratio and found.ratio and not ratio[0] - 0.01 <= found.ratio <= ratio[1] + 0.01:
        problems.append(
            Problem(
                name,
                f"The aspect ratio {found.width}x{found.height} is outside {network}'s "
                f"{_ratio_text(ratio[0])} to {_ratio_text(ratio[1])}.",
                "aspect_ratio",
            )
        )
    if duration and found.is_video and found.duration is not None:
        low, high = duration
        if not low <= found.duration <= high:
            problems.append(
                Problem(
                    name,
                    f"The video lasts {found.duration:.0f} s; {network} allows {low:g} to {high:g} s.",
                    "duration",
                )
            )
    return problems


def _ratio_text(value: float) -> str:
    known = {0.8: "4:5", 1.91: "1.91:1", 0.5625: "9:16", 1.7778: "16:9"}
    for number, text in known.items():
        if abs(number - value) < 0.005:
            return text
    return f"{value:g}:1"
