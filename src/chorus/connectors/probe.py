"""Video and image facts for save-time validation, read with ffprobe (/usr/bin/ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage

FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"


@dataclass(frozen=True)
class MediaFacts:
    width: int | None
    height: int | None
    duration: float | None  # seconds; None for a still image

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


def probe(path: str) -> MediaFacts | None:
    """Facts of a stored file, or None when ffprobe cannot read it (no local path, not media)."""
    try:
        local = default_storage.path(path)
    except NotImplementedError:
        return None
    try:
        done = subprocess.run(
            [FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", local],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout or b"{}")
    video: dict[str, Any] = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), {})
    raw_duration = data.get("format", {}).get("duration") or video.get("duration")
    duration = float(raw_duration) if raw_duration not in (None, "N/A") else None
    return MediaFacts(width=video.get("width"), height=video.get("height"), duration=duration)
