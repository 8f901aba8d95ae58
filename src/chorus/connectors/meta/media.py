"""Media facts the Meta networks check at save time (size, type, dimensions, duration) and the
public URL their servers fetch media from (Instagram and Threads "cURL" the file: it must be
reachable from the internet when the post goes out)."""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from chorus.connectors.base import Problem, megabytes, number

FFPROBE = "/usr/bin/ffprobe"
# Host names that only mean something on a local network (mDNS, home routers, RFC 6761/8375,
# ICANN's private-use .internal): no server on the internet can resolve them.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")


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


def private_media_origin() -> str:
    """'' when Meta's servers can fetch our media; otherwise the origin they would be sent to
    (http://127.0.0.1:8000): a loopback, private or link-local address, or a local-only name.
    Judged from the URL alone, without a DNS lookup: this runs on every composer check."""
    parts = urlsplit(public_url("chorus.jpg"))
    host = (parts.hostname or "").lower().rstrip(".")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else settings.CHORUS_BASE_URL
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        local = not host or "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES)
        return origin if local else ""
    return "" if address.is_global and not address.is_multicast else origin


def private_media_warning(network: str) -> str:
    """What to tell the team when `network` downloads media from a private address ('' if not)."""
    origin = private_media_origin()
    if not origin:
        return ""
    return gettext(
        "%(network)s cannot fetch media from %(origin)s: it is a private address, not reachable "
        "from the internet. Set CHORUS_BASE_URL to the public https address of this server (or "
        "keep media on public storage) and restart."
    ) % {"network": network, "origin": origin}


class FetchesMediaByURL:
    """Mixed into Instagram and Threads, whose servers download each file from our URL: the
    channels page, `chorus channel check` and the composer say so when they cannot."""

    label: ClassVar[str]

    @classmethod
    def setup_warning(cls) -> str:
        return private_media_warning(cls.label)

    def media_problems(self, target_media: list[dict[str, Any]]) -> list[Problem]:
        warning = self.setup_warning() if target_media else ""
        return [Problem("media", warning, "private_url")] if warning else []


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
        return [Problem(name, gettext("The file is missing."), "missing")]
    allowed = image_types + video_types
    if found.content_type not in allowed:
        kinds = ", ".join(sorted({t.split("/")[1].upper() for t in allowed}))
        message = gettext("%(network)s accepts %(types)s files only.") % {"network": network, "types": kinds}
        return [Problem(name, message, "type")]
    problems = []
    cap = max_video_bytes if found.is_video else max_image_bytes
    if found.size > cap:
        message = gettext("The file is larger than %(network)s's %(size)s MB.")
        problems.append(Problem(name, message % {"network": network, "size": megabytes(cap)}, "too_big"))
    if ratio and found.ratio and not ratio[0] - 0.01 <= found.ratio <= ratio[1] + 0.01:
        message = gettext(
            "The aspect ratio %(width)sx%(height)s is outside %(network)s's %(low)s to %(high)s."
        )
        words = {
            "width": found.width,
            "height": found.height,
            "network": network,
            "low": _ratio_text(ratio[0]),
            "high": _ratio_text(ratio[1]),
        }
        problems.append(Problem(name, message % words, "aspect_ratio"))
    if duration and found.is_video and found.duration is not None:
        low, high = duration
        if not low <= found.duration <= high:
            message = gettext("The video lasts %(seconds)s s; %(network)s allows %(low)s to %(high)s s.")
            words = {
                "seconds": number(round(found.duration)),
                "network": network,
                "low": number(low),
                "high": number(high),
            }
            problems.append(Problem(name, message % words, "duration"))
    return problems


def _ratio_text(value: float) -> str:
    known = {0.8: "4:5", 1.91: "1.91:1", 0.5625: "9:16", 1.7778: "16:9"}
    for known_ratio, text in known.items():
        if abs(known_ratio - value) < 0.005:
            return text
    return f"{value:g}:1"
