"""Faces in photos: found offline, shown as boxes on the asset page, blurred or pixelated per face.

The detector is OpenCV's frontal-face Haar cascade, which ships inside the
opencv-python-headless wheel (``cv2.data.haarcascades``): no model download, no network, runs on
a CPU in well under a second for a phone photo scaled to DETECT_SIDE. It misses faces in profile
and small faces in crowds, which is why the workspace rule asks a person to review every photo
rather than trusting the detector; the page never claims a photo is face-free.

Blurring writes a new version of the asset's file in place (same name), so every post that uses
the asset, the composer and the picker get the blurred version; its thumbnail and cached
variants are made again. Videos are not analysed.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageFilter

from chorus.accounts.models import User
from chorus.core import audit
from chorus.media.models import MediaAsset, MediaFace
from chorus.media.sniff import MediaRejected

DETECT_SIDE = 1600  # detection runs on a copy at most this large: faces below ~1.5 % are missed
_local = threading.local()  # one classifier per thread: CascadeClassifier is not thread-safe


def _classifier() -> Any:
    import cv2

    found = getattr(_local, "classifier", None)
    if found is None:
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]
        found = cv2.CascadeClassifier(path)
        _local.classifier = found
    return found


def find_faces(image: Image.Image) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) boxes in the image's own pixels, left to right."""
    import numpy as np

    gray = image.convert("L")
    scale = min(1.0, DETECT_SIDE / max(gray.size))
    if scale < 1.0:
        gray = gray.resize((max(1, int(gray.width * scale)), max(1, int(gray.height * scale))))
    boxes = _classifier().detectMultiScale(
        np.asarray(gray), scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)
    )
    return sorted(
        (int(x / scale), int(y / scale), int(w / scale), int(h / scale))
        for x, y, w, h in (boxes if len(boxes) else [])
    )


def detect(asset: MediaAsset) -> list[MediaFace]:
    """Finds the faces of an image asset again; boxes already reviewed are kept."""
    if asset.kind != MediaAsset.Kind.IMAGE:
        return []
    with default_storage.open(asset.path, "rb") as handle, Image.open(handle) as image:
        image.seek(0)
        boxes = find_faces(image)
    with transaction.atomic():
        MediaFace.objects.filter(asset=asset, state=MediaFace.State.PENDING).delete()
        reviewed = [(f.x, f.y, f.w, f.h) for f in MediaFace.objects.filter(asset=asset)]
        fresh = [b for b in boxes if not any(_overlaps(b, r) for r in reviewed)]
        MediaFace.objects.bulk_create(MediaFace(asset=asset, x=x, y=y, w=w, h=h) for x, y, w, h in fresh)
        audit.record("media.faces_detected", workspace=asset.workspace, obj=asset, found=len(boxes))
    return list(MediaFace.objects.filter(asset=asset))


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    inter_w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    inter_h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return inter_w * inter_h > 0.3 * min(aw * ah, bw * bh)


_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def blur(face: MediaFace, *, actor: User, mode: str = "blur") -> MediaAsset:
    """Blurs (or pixelates) one face: a new version of the asset's file, used from now on."""
    asset = MediaAsset.objects.select_related("workspace").get(pk=face.asset_id)
    fmt = _FORMATS.get(asset.mime_type)
    if fmt is None:
        raise MediaRejected(_("Faces can be blurred in JPEG, PNG and WebP images only."))
    with default_storage.open(asset.path, "rb") as handle, Image.open(handle) as source:
        image = source.convert("RGBA" if source.mode in ("RGBA", "LA", "P") and fmt != "JPEG" else "RGB")
        icc = source.info.get("icc_profile")
    pad_w, pad_h = face.w // 8, face.h // 8  # hair and chin too
    box = (
        max(0, face.x - pad_w),
        max(0, face.y - pad_h),
        min(image.width, face.x + face.w + pad_w),
        min(image.height, face.y + face.h + pad_h),
    )
    region = image.crop(box)
    if mode == "pixelate":
        # About 7 blocks across the face: coarse enough that neither people nor the detector see one.
        block = max(1, max(region.size) // 7)
        small = region.resize(
            (max(1, region.width // block), max(1, region.height // block)), Image.Resampling.BOX
        )
        region = small.resize(region.size, Image.Resampling.NEAREST)
    else:
        # Downscale first so no blur radius can be undone by sharpening: detail is gone, not smeared.
        # The radius (a tenth of the face) also removes the face's shape: at a twentieth, a face
        # about 100 px wide still read as a face to the detector (tests/safety/test_faces.py).
        small = region.resize((max(1, region.width // 16), max(1, region.height // 16)), Image.Resampling.BOX)
        region = small.resize(region.size, Image.Resampling.BICUBIC).filter(
            ImageFilter.GaussianBlur(max(2, min(region.size) // 10))
        )
    image.paste(region, box[:2])
    buffer = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = 95
    image.save(buffer, fmt, **options)
    _replace_file(asset, buffer.getvalue())
    with transaction.atomic():
        MediaFace.objects.filter(pk=face.pk).update(
            state=MediaFace.State.BLURRED, reviewed_by=actor, reviewed_at=timezone.now()
        )
        MediaAsset.objects.filter(pk=asset.pk).update(version=asset.version + 1, size=len(buffer.getvalue()))
        audit.record(
            "media.face_blurred", workspace=asset.workspace, actor=actor, obj=asset, face=face.pk,
            mode=mode, version=asset.version + 1,
        )  # fmt: skip
    asset.refresh_from_db()
    return asset


def keep(face: MediaFace, *, actor: User) -> None:
    """The team looked at this face and decided it may be shown (audited)."""
    asset = face.asset
    with transaction.atomic():
        MediaFace.objects.filter(pk=face.pk).update(
            state=MediaFace.State.KEPT, reviewed_by=actor, reviewed_at=timezone.now()
        )
        audit.record("media.face_kept", workspace=asset.workspace, actor=actor, obj=asset, face=face.pk)


def _replace_file(asset: MediaAsset, data: bytes) -> None:
    """The new bytes under the same name; the thumbnail and cached variants are made again."""
    from chorus.media.actions import _base, _make_thumbnail

    default_storage.delete(asset.path)
    saved = default_storage.save(asset.path, ContentFile(data))
    assert saved == asset.path, saved  # the name was just freed
    variants = f"{_base(asset.workspace)}/variants"
    if default_storage.exists(variants):
        _dirs, files = default_storage.listdir(variants)
        for name in files:
            if name.startswith(asset.sha256):
                default_storage.delete(f"{variants}/{name}")
    if asset.thumbnail:
        default_storage.delete(asset.thumbnail)
        import tempfile
        from pathlib import Path

        # From a local copy: on the scaled shape the file is in the bucket, not on this disk.
        with tempfile.TemporaryDirectory(prefix="chorus-face-") as tmpdir:
            local = Path(tmpdir) / Path(asset.path).name
            local.write_bytes(data)
            thumb = _make_thumbnail(asset.workspace, asset.sha256, local, asset.kind)
        if thumb != asset.thumbnail:
            MediaAsset.objects.filter(pk=asset.pk).update(thumbnail=thumb)
