"""Location and identity metadata removed from every file on its way into the library.

A photo's GPS tag or a video's location atom can say where a storyteller lives. Every file enters
through ``chorus.media.actions.upload``, which calls ``scrub`` before anything is stored, so the
stored file (served by Chorus, read by every connector, resized into variants) carries none of it.

- Images: the EXIF orientation is applied first (nothing turns sideways), then EXIF (GPS, maker
  notes, serial numbers, the embedded thumbnail and its own EXIF), XMP, IPTC/Photoshop blocks,
  comments and secondary images (MPF) are dropped. A JPEG, PNG or WebP that needs no rotation
  keeps its pixels untouched (the metadata segments or chunks are cut out); the others are
  re-encoded by Pillow, which writes no metadata unless asked. The colour profile is kept.
- Videos: ffmpeg rewrites the container without re-encoding (``-c copy``): global, stream and
  chapter metadata dropped (``-map_metadata -1``), data streams (GPS tracks) and cover pictures
  left out.

Then the result is parsed again (``remaining``): a file that still shows location or person
metadata is refused rather than stored.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import ExifTags, Image, ImageOps

from chorus.media.sniff import FFMPEG, FFPROBE, MediaRejected

# What the asset page lists, by code (codes are stored; labels are translated when shown).
LABELS = {
    "gps": gettext_lazy("GPS location"),
    "maker_notes": gettext_lazy("camera maker notes"),
    "device": gettext_lazy("camera owner, serial numbers and software"),
    "exif": gettext_lazy("other EXIF data (camera, dates)"),
    "thumbnail": gettext_lazy("embedded thumbnail with its own metadata"),
    "xmp": gettext_lazy("XMP metadata"),
    "xmp_location": gettext_lazy("XMP location fields"),
    "xmp_people": gettext_lazy("XMP people fields"),
    "iptc": gettext_lazy("IPTC fields (place, people, captions)"),
    "comment": gettext_lazy("comments"),
    "extra_images": gettext_lazy("secondary images (depth maps, previews)"),
    "video_location": gettext_lazy("video location"),
    "video_metadata": gettext_lazy("video container metadata (device, dates, titles)"),
    "data_streams": gettext_lazy("video data tracks (GPS, telemetry)"),
    "orientation": gettext_lazy("orientation applied to the pixels"),
}

_PERSONAL_TAGS = {
    0x013B,  # Artist
    0x8298,  # Copyright
    0x0131,  # Software
    0xA430,  # CameraOwnerName
    0xA431,  # BodySerialNumber
    0xA435,  # LensSerialNumber
    0xA420,  # ImageUniqueID
    0x010F,  # Make
    0x0110,  # Model
}
_XMP_LOCATION = re.compile(
    rb"(GPS(Latitude|Longitude|Altitude)|photoshop:(City|State|Country)|Iptc4xmpCore:(Location|CountryCode)"
    rb"|Iptc4xmpExt:(LocationShown|LocationCreated|City|CountryName|Sublocation)|exif:GPS)",
    re.IGNORECASE,
)
_XMP_PEOPLE = re.compile(
    rb"(Iptc4xmpExt:(PersonInImage|PersonInImageWDetails)|mwg-rs:Regions|MP:RegionInfo|dc:creator"
    rb"|photoshop:AuthorsPosition|Iptc4xmpCore:CreatorContactInfo)",
    re.IGNORECASE,
)
_XMP_MARK = (b"<x:xmpmeta", b"http://ns.adobe.com/xap/1.0/", b"<rdf:RDF")


@dataclass
class Scrubbed:
    """What was removed (codes of LABELS, in a stable order) and the clean file's dimensions."""

    removed: list[str] = field(default_factory=list)
    width: int | None = None
    height: int | None = None

    def add(self, *codes: str) -> None:
        for code in codes:
            if code not in self.removed:
                self.removed.append(code)


def labels(codes: list[str]) -> list[str]:
    return [str(LABELS[c]) for c in codes if c in LABELS]


def scrub(source: Path, dest: Path, kind: str, mime_type: str) -> Scrubbed:
    """Writes a clean copy of `source` to `dest`; raises MediaRejected when it cannot be made clean."""
    result = scrub_image(source, dest, mime_type) if kind == "image" else scrub_video(source, dest)
    left = remaining(dest, kind)
    if left:
        raise MediaRejected(
            _("Chorus could not remove %(what)s from this file, so it was not stored.")
            % {"what": ", ".join(labels(left))}
        )
    return result


# --- images -----------------------------------------------------------------------------------


def image_findings(image: Image.Image, raw: bytes) -> list[str]:
    """Codes of the location and identity metadata present in an image (opened from `raw`)."""
    found: list[str] = []
    exif = image.getexif()
    if exif:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            found.append("gps")
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        if 0x927C in sub:
            found.append("maker_notes")
        if any(tag in exif or tag in sub for tag in _PERSONAL_TAGS):
            found.append("device")
        if exif.get_ifd(ExifTags.IFD.IFD1) or _has_exif_thumbnail(raw):
            found.append("thumbnail")
        if set(exif) - {ExifTags.Base.Orientation}:
            found.append("exif")
    xmp = _xmp_bytes(image, raw)
    if xmp:
        found.append("xmp")
        if _XMP_LOCATION.search(xmp):
            found.append("xmp_location")
        if _XMP_PEOPLE.search(xmp):
            found.append("xmp_people")
    if b"Photoshop 3.0\x00" in raw or image.info.get("photoshop") or _iptc(image):
        found.append("iptc")
    if image.info.get("comment") or image.info.get("Comment"):
        found.append("comment")
    if image.format == "JPEG" and (b"MPF\x00" in raw or _jpeg_trailing(raw)):
        found.append("extra_images")
    return found


def _iptc(image: Image.Image) -> bool:
    try:
        from PIL import IptcImagePlugin

        return bool(IptcImagePlugin.getiptcinfo(image))  # type: ignore[arg-type]
    except Exception:  # a malformed block is still a block we drop
        return False


def _xmp_bytes(image: Image.Image, raw: bytes) -> bytes:
    value = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if isinstance(value, str):
        value = value.encode("utf-8", "replace")
    if not value and any(mark in raw for mark in _XMP_MARK):
        value = raw  # a packet Pillow did not surface (e.g. in a GIF application block)
    return bytes(value)


def _has_exif_thumbnail(raw: bytes) -> bool:
    """True when the file's EXIF carries an IFD1 (the embedded thumbnail)."""
    start = raw.find(b"Exif\x00\x00")
    if start < 0:
        return False
    tiff = raw[start + 6 :]
    try:
        order = "<" if tiff[:2] == b"II" else ">"
        (ifd0,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd0 : ifd0 + 2])
        (next_ifd,) = struct.unpack(order + "I", tiff[ifd0 + 2 + 12 * count : ifd0 + 6 + 12 * count])
    except (struct.error, IndexError):
        return False
    return next_ifd != 0


def _jpeg_trailing(raw: bytes) -> bool:
    end = _jpeg_end(raw)
    return end is not None and len(raw[end:].strip(b"\x00")) > 0


def scrub_image(source: Path, dest: Path, mime_type: str) -> Scrubbed:
    raw = source.read_bytes()
    with Image.open(io.BytesIO(raw)) as image:
        result = Scrubbed(removed=image_findings(image, raw))
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        animated = getattr(image, "n_frames", 1) > 1
        clean: bytes | None = None
        if orientation in (None, 1) or animated:
            if mime_type == "image/jpeg":
                clean = strip_jpeg(raw)
            elif mime_type == "image/png":
                clean = strip_png(raw)
            elif mime_type == "image/webp" and not animated:
                clean = strip_webp(raw)
        if clean is None:
            clean = _reencode(image, mime_type)
            if orientation not in (None, 1):
                result.add("orientation")
    dest.write_bytes(clean)
    with Image.open(dest) as done:
        result.width, result.height = done.size
    return result


def _reencode(image: Image.Image, mime_type: str) -> bytes:
    """Pillow writes no EXIF, XMP or IPTC unless given them: only the colour profile is passed on."""
    fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}[mime_type]
    icc = image.info.get("icc_profile")
    buffer = io.BytesIO()
    if fmt == "GIF" and getattr(image, "n_frames", 1) > 1:
        image.save(
            buffer, "GIF", save_all=True, loop=image.info.get("loop", 0), duration=image.info.get("duration")
        )
        return buffer.getvalue()
    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    upright.info = {}  # exif_transpose keeps a copy of the (now fixed) EXIF: none of it goes out
    options: dict[str, object] = {"icc_profile": icc} if icc and fmt != "GIF" else {}
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=95, subsampling="keep" if image.format == "JPEG" else 0)
        try:
            upright.save(buffer, fmt, **options)
        except (ValueError, OSError):  # "keep" needs a JPEG source; the image is now a new one
            options["subsampling"] = 0
            buffer = io.BytesIO()
            upright.save(buffer, fmt, **options)
    elif fmt == "WEBP":
        upright.save(buffer, fmt, quality=95, **options)
    else:
        upright.save(buffer, fmt, **options)
    return buffer.getvalue()


def _segments(raw: bytes) -> list[tuple[int, int, int]] | None:
    """(marker, start, end) of each JPEG segment up to the first SOS; None when not well formed."""
    if raw[:2] != b"\xff\xd8":
        return None
    out, pos = [], 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            return None
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            out.append((marker, pos, len(raw)))
            return out
        (length,) = struct.unpack(">H", raw[pos + 2 : pos + 4])
        out.append((marker, pos, pos + 2 + length))
        pos += 2 + length
    return None


def _jpeg_end(raw: bytes) -> int | None:
    """The offset just after the first image's EOI (what follows is an appended image: MPF)."""
    segments = _segments(raw)
    if not segments:
        return None
    pos = segments[-1][1]
    while True:
        pos = raw.find(b"\xff", pos + 1)
        if pos < 0 or pos + 1 >= len(raw):
            return None
        marker = raw[pos + 1]
        if marker == 0xD9:
            return pos + 2
        if marker in (0x00, 0xFF) or 0xD0 <= marker <= 0xD7:
            continue  # stuffed byte, fill or restart marker inside entropy-coded data
        if marker == 0xDA or 0xC0 <= marker <= 0xFE:
            # Another segment between scans (progressive JPEG): skip over its length.
            if pos + 4 > len(raw):
                return None
            (length,) = struct.unpack(">H", raw[pos + 2 : pos + 4])
            if marker != 0xDA:
                pos += 1 + length
            else:
                pos += 1 + length  # the next scan's data follows its header


def _keep_jpeg_segment(marker: int, body: bytes) -> bool:
    if marker == 0xE0:  # APP0: JFIF / JFXX (JFXX may hold a thumbnail: keep only JFIF)
        return body.startswith(b"JFIF\x00")
    if marker == 0xE2:  # APP2: keep the ICC profile, drop FlashPix and MPF (secondary images)
        return body.startswith(b"ICC_PROFILE\x00")
    if marker == 0xEE:  # APP14 Adobe: colour transform, needed to decode CMYK right
        return body.startswith(b"Adobe")
    return not (0xE0 <= marker <= 0xEF or marker == 0xFE)  # other APPn and comments go


def strip_jpeg(raw: bytes) -> bytes | None:
    """The JPEG without its APPn (except JFIF, ICC, Adobe) and COM segments, and without anything
    after the first image's end (MPF secondary images); None when the structure is unusual."""
    segments = _segments(raw)
    end = _jpeg_end(raw)
    if not segments or end is None:
        return None
    out = bytearray(b"\xff\xd8")
    for marker, start, stop in segments[:-1]:
        if _keep_jpeg_segment(marker, raw[start + 4 : stop]):
            out += raw[start:stop]
    scan_start = segments[-1][1]
    data = raw[scan_start:end]
    if re.search(rb"\xff[\xe1-\xef\xfe]", data.replace(b"\xff\x00", b"")):
        return None  # metadata between scans: let Pillow rewrite the whole file
    out += data
    return bytes(out)


_PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT", b"cICP",
}  # fmt: skip


def strip_png(raw: bytes) -> bytes | None:
    """The PNG without eXIf, text chunks (XMP lives in iTXt), tIME and any private chunk."""
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    out, pos = bytearray(raw[:8]), 8
    while pos + 12 <= len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > len(raw):
            return None
        if kind in _PNG_KEEP:
            out += raw[pos:stop]
        pos = stop
        if kind == b"IEND":
            return bytes(out)
    return None


def strip_webp(raw: bytes) -> bytes | None:
    """The WebP without its EXIF and XMP chunks (and their flags in VP8X)."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WEBP":
        return None
    chunks, pos = [], 12
    while pos + 8 <= len(raw):
        kind = raw[pos : pos + 4]
        (length,) = struct.unpack("<I", raw[pos + 4 : pos + 8])
        stop = pos + 8 + length + (length & 1)
        if pos + 8 + length > len(raw):
            return None
        chunk = bytearray(raw[pos:stop])
        if kind == b"VP8X":
            chunk[8] &= ~0x0C & 0xFF  # clear the EXIF (0x08) and XMP (0x04) flags
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(bytes(chunk))
        pos = stop
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- videos -----------------------------------------------------------------------------------


def probe(path: Path) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             "-show_chapters", str(path)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        return dict(json.loads(proc.stdout or b"{}")) if proc.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}


_BENIGN_TAGS = {"major_brand", "minor_version", "compatible_brands", "handler_name", "vendor_id",
                "language", "encoder", "duration"}  # fmt: skip


def video_findings(info: dict[str, Any]) -> list[str]:
    found: list[str] = []
    fmt = info.get("format") or {}
    tags = {str(k).lower(): v for k, v in (fmt.get("tags") or {}).items()} if isinstance(fmt, dict) else {}
    streams = info.get("streams") or []
    assert isinstance(streams, list)
    for stream in streams:
        tags |= {f"stream:{str(k).lower()}": v for k, v in (stream.get("tags") or {}).items()}
    if any("location" in key or "xyz" in key or "gps" in key for key in tags):
        found.append("video_location")
    if any(key.split(":")[-1] not in _BENIGN_TAGS for key in tags) or info.get("chapters"):
        found.append("video_metadata")
    if any(s.get("codec_type") in ("data", "subtitle", "attachment") for s in streams):
        found.append("data_streams")
    return found


def scrub_video(source: Path, dest: Path) -> Scrubbed:
    result = Scrubbed(removed=video_findings(probe(source)))
    suffix = dest.suffix.lstrip(".") or "mp4"
    command = [
        FFMPEG, "-v", "error", "-y", "-i", str(source),
        "-map", "0:V?", "-map", "0:a?",  # video (no cover pictures) and audio; no data tracks
        "-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1",
        "-c", "copy", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-f", {"mov": "mov", "webm": "webm"}.get(suffix, "mp4"), str(dest),
    ]  # fmt: skip
    try:
        proc = subprocess.run(command, capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired):
        raise MediaRejected(_("This video could not be rewritten without its metadata.")) from None
    if proc.returncode != 0 or not dest.exists() or dest.stat().st_size == 0:
        raise MediaRejected(_("This video could not be rewritten without its metadata."))
    info = probe(dest)
    videos = [s for s in info.get("streams") or [] if isinstance(s, dict) and s.get("codec_type") == "video"]
    if videos:
        result.width = int(videos[0].get("width") or 0) or None
        result.height = int(videos[0].get("height") or 0) or None
    return result


# --- the check after the fact -----------------------------------------------------------------


def remaining(path: Path, kind: str) -> list[str]:
    """Location or person metadata still found in a file (empty for a clean one)."""
    if kind == "video":
        left = video_findings(probe(path))
        return [c for c in left if c in ("video_location", "data_streams")]
    raw = path.read_bytes()
    with Image.open(io.BytesIO(raw)) as image:
        found = image_findings(image, raw)
    return [c for c in found if c in ("gps", "maker_notes", "thumbnail", "xmp", "iptc", "device", "exif")]
