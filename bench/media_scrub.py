"""What removing location and identity metadata costs per upload (chorus.media.scrub).

A 12-megapixel photo (4000 × 3000 JPEG with a GPS IFD, the way phones write them) is scrubbed
REPEAT times; the value is the median. The baseline, measured in the same run, is what every
upload already paid before scrubbing: sniff_image (Pillow verify + decoding every pixel).

- `upright`: no rotation needed, so the metadata segments are cut out and the pixels untouched.
  Goal: ratio <= 0.5 (less than half the decode every upload already pays).
- `rotated`: EXIF orientation 6, so the photo is turned and re-encoded (quality 95).
  Goal: ratio <= 4.
- `video`: a 10-second 720p MP4 with a location atom rewritten by ffmpeg without re-encoding;
  baseline: sniff_video (one ffprobe). Goal: ratio <= 10 (two ffprobes and one stream copy).

Run: `.venv/bin/python -m bench --quick media_scrub` (quick = full).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPEAT = 7


def _median_ms(func: Callable[[], object]) -> float:
    func()  # warm-up
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _photo(path: Path, orientation: int) -> None:
    from PIL import Image

    base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    image = Image.blend(base, noise, 0.3)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Canon"
    exif[0x8825] = {1: "N", 2: (32.0, 17.0, 42.0), 3: "E", 4: (36.0, 19.0, 12.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())


def run(full: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")
    import django

    django.setup()
    from chorus.media import scrub, sniff

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scrub-") as tmp:
        work = Path(tmp)
        for name, orientation, goal in (("upright", 1, 0.5), ("rotated", 6, 4.0)):
            source, out = work / f"{name}.jpg", work / f"{name}-clean.jpg"
            _photo(source, orientation)
            value = _median_ms(lambda: scrub.scrub(source, out, "image", "image/jpeg"))  # noqa: B023
            baseline = _median_ms(lambda: sniff.sniff_image(source))  # noqa: B023
            assert scrub.remaining(out, "image") == []
            results.append(
                {"bench": "media_scrub", "run": name, "value": round(value, 1), "unit": "ms",
                 "baseline": round(baseline, 1), "ratio": round(value / baseline, 3), "goal": f"ratio <= {goal}",
                 "ok": value / baseline <= goal, "bytes_in": source.stat().st_size, "bytes_out": out.stat().st_size}
            )  # fmt: skip
        video, clean = work / "clip.mp4", work / "clip-clean.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=10:size=1280x720:rate=30",
             "-c:v", "mpeg4", "-q:v", "5", "-metadata", "location=+32.2950+036.3200/", str(video)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        value = _median_ms(lambda: scrub.scrub(video, clean, "video", "video/mp4"))
        baseline = _median_ms(lambda: sniff.sniff_video(video))
        results.append(
            {"bench": "media_scrub", "run": "video", "value": round(value, 1), "unit": "ms",
             "baseline": round(baseline, 1), "ratio": round(value / baseline, 3), "goal": "ratio <= 10",
             "ok": value / baseline <= 10, "bytes_in": video.stat().st_size, "bytes_out": clean.stat().st_size}
        )  # fmt: skip
    return results
