"""Files that carry a location, built here byte by byte (no EXIF library): a JPEG with a GPS IFD,
maker notes, a serial number, an embedded thumbnail that has its own GPS EXIF, an XMP packet
with a city and GPS coordinates and an IPTC city; a video with a location atom (ffmpeg)."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

from PIL import Image

SECRET_CITY = b"Zaatari-Block-7"
LAT = ((32, 1), (17, 1), (4200, 100))  # Zaatari camp, roughly
LON = ((36, 1), (19, 1), (1200, 100))
ISO6709 = "+32.2950+036.3200/"


def _ifd(entries: list[tuple[int, int, int, bytes]], offset: int, next_ifd: int = 0) -> bytes:
    """One little-endian TIFF IFD at `offset`, its out-of-line values right after it."""
    data_at = offset + 2 + 12 * len(entries) + 4
    head, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, payload in sorted(entries):
        if len(payload) <= 4:
            value = payload.ljust(4, b"\0")
        else:
            value = struct.pack("<I", data_at + len(data))
            data += payload + (b"\0" if len(payload) % 2 else b"")
        head += struct.pack("<HHI", tag, kind, count) + value
    return head + struct.pack("<I", next_ifd) + data


def _rationals(values: tuple[tuple[int, int], ...]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in values)


def exif_block(*, orientation: int = 1, thumbnail: bytes = b"", maker_note: bool = True) -> bytes:
    """The APP1 payload "Exif\\0\\0" + TIFF with IFD0, Exif IFD, GPS IFD and (optionally) IFD1."""
    gps_entries = [
        (0x0000, 1, 4, b"\x02\x03\x00\x00"),
        (0x0001, 2, 2, b"N\0"),
        (0x0002, 5, 3, _rationals(LAT)),
        (0x0003, 2, 2, b"E\0"),
        (0x0004, 5, 3, _rationals(LON)),
    ]
    exif_entries = [(0xA431, 2, 9, b"SN-12345\0")]
    if maker_note:
        exif_entries.append((0x927C, 7, 24, b"Apple iOS\0\0\x01MM secret!!"[:24].ljust(24, b"\0")))

    def layout(exif_at: int, gps_at: int, ifd1_at: int) -> tuple[bytes, bytes, bytes, bytes]:
        ifd0 = _ifd(
            [
                (0x010F, 2, 6, b"Canon\0"),
                (0x0112, 3, 1, struct.pack("<H", orientation)),
                (0x8769, 4, 1, struct.pack("<I", exif_at)),
                (0x8825, 4, 1, struct.pack("<I", gps_at)),
            ],
            8,
            ifd1_at if thumbnail else 0,
        )
        exif = _ifd(exif_entries, exif_at)
        gps = _ifd(gps_entries, gps_at)
        ifd1 = b""
        if thumbnail:
            thumb_at = ifd1_at + 2 + 12 * 3 + 4
            ifd1 = (
                _ifd(
                    [
                        (0x0103, 3, 1, struct.pack("<H", 6)),
                        (0x0201, 4, 1, struct.pack("<I", thumb_at)),
                        (0x0202, 4, 1, struct.pack("<I", len(thumbnail))),
                    ],
                    ifd1_at,
                )
                + thumbnail
            )
        return ifd0, exif, gps, ifd1

    ifd0, exif, gps, _ = layout(0, 0, 0)
    exif_at = 8 + len(ifd0)
    gps_at = exif_at + len(exif)
    ifd1_at = gps_at + len(gps)
    ifd0, exif, gps, ifd1 = layout(exif_at, gps_at, ifd1_at)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + exif + gps + ifd1


XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'photoshop:City="' + SECRET_CITY + b'" exif:GPSLatitude="32,17.7N" exif:GPSLongitude="36,19.2E">'
    b"<Iptc4xmpExt:PersonInImage><rdf:Bag><rdf:li>Amina K.</rdf:li></rdf:Bag></Iptc4xmpExt:PersonInImage>"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _iptc_block() -> bytes:
    city = b"\x1c\x02\x5a" + struct.pack(">H", len(SECRET_CITY)) + SECRET_CITY  # 2:90 City
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(city)) + city
    return b"Photoshop 3.0\0" + resource


def _plain_jpeg(size: tuple[int, int], color: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.paste("white", (0, 0, size[0] // 4, size[1] // 2))  # a mark to check the orientation by
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def jpeg_with_location(path: Path, *, orientation: int = 1, size: tuple[int, int] = (640, 480)) -> Path:
    """A photo as a phone writes it, plus XMP and IPTC from an editing tool."""
    thumb_raw = _plain_jpeg((160, 120), "navy")
    thumbnail = thumb_raw[:2] + _segment(0xE1, exif_block(maker_note=False)) + thumb_raw[2:]
    main = _plain_jpeg(size, "darkgreen")
    extra = (
        _segment(0xE1, exif_block(orientation=orientation, thumbnail=thumbnail))
        + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + XMP)
        + _segment(0xED, _iptc_block())
        + _segment(0xFE, b"taken at " + SECRET_CITY)
    )
    path.write_bytes(main[:2] + extra + main[2:])
    return path


def png_with_location(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "purple").save(buffer, "PNG")
    raw = buffer.getvalue()

    def chunk(kind: bytes, data: bytes) -> bytes:
        import zlib

        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    extra = chunk(b"eXIf", exif_block()[6:]) + chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + XMP)
    path.write_bytes(raw[:33] + extra + raw[33:])  # after IHDR
    return path


def video_with_location(path: Path) -> Path:
    """One second of MP4 with a QuickTime location atom (©xyz) and a title."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=96x64:rate=10",
         "-c:v", "mpeg4", "-metadata", f"location={ISO6709}", "-metadata", "title=Amina at home",
         "-metadata", "artist=Amina K.", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


def assert_image_has_no_location(data: bytes) -> None:
    """Parses the image: no GPS IFD, no EXIF at all, no embedded thumbnail, no XMP packet, no
    IPTC block, and the secret place name nowhere in the bytes."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert exif.get_ifd(0x8825) == {}, exif.get_ifd(0x8825)
        assert dict(exif) == {}, dict(exif)
        assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info
        assert "exif" not in image.info
    assert b"Exif\x00\x00" not in data
    assert b"<x:xmpmeta" not in data and b"Photoshop 3.0" not in data
    assert SECRET_CITY not in data


def video_tags(data: bytes, directory: Path) -> dict[str, str]:
    path = directory / "probe.mp4"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    import json

    info = json.loads(out)
    tags = {f"format:{k}": v for k, v in info["format"].get("tags", {}).items()}
    for stream in info["streams"]:
        tags |= {f"stream:{k}": v for k, v in stream.get("tags", {}).items()}
    return tags


def assert_video_has_no_location(data: bytes, directory: Path) -> None:
    tags = video_tags(data, directory)
    assert not [k for k in tags if "location" in k.lower()], tags
    assert "format:title" not in tags and "format:artist" not in tags, tags
    assert ISO6709.encode() not in data and b"\xa9xyz" not in data and b"Amina" not in data
