"""Image memory: a small PNG that decodes to hundreds of MB is refused from its header, with
bounded memory; decoding shares one process-wide memory budget, so parallel uploads queue."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from chorus.media import sniff
from chorus.media.actions import upload
from chorus.media.models import MediaAsset
from tests.security.budget import measure


def png_of_zeros(width: int, height: int, *, rgba: bool = True) -> bytes:
    """A valid PNG of transparent black pixels, compressed row by row (the test stays small)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bands = 4 if rgba else 3
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 2, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * bands)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_a_9400_square_rgba_png_is_refused_from_its_header_with_bounded_memory(tmp_path: Path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_of_zeros(9400, 9400))
    assert path.stat().st_size < 512 * 1024  # about 350 KiB on the wire, 337 MB decoded
    result = measure(
        """
from pathlib import Path
from chorus.media import sniff
try:
    sniff.sniff(Path(os.environ["FILE"]))
    report(error="")
except sniff.MediaRejected as exc:
    report(error=exc.reason)
""",
        env={"FILE": str(path)},
    )
    assert "needs 337 MB of memory to process, more than the 256 MB allowed" in result["error"], result
    assert result["peak_mb"] - result["baseline_mb"] < 40, result


@pytest.mark.django_db
def test_the_refused_upload_leaves_nothing(cast, tmp_path: Path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = png_of_zeros(9400, 9400)
    with pytest.raises(sniff.MediaRejected, match="more than the 256 MB allowed"):
        upload(cast.workspace, cast.owner, SimpleUploadedFile("big.png", data))
    assert not MediaAsset.objects.exists()


def test_decoding_waits_for_room_in_the_process_memory_budget(settings):
    settings.CHORUS_MEDIA_DECODE_MEMORY_MB = 100
    budget = sniff._DecodeMemory()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with budget.reserve(80 * sniff.MB):
            first_in.set()
            time.sleep(0.3)
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with budget.reserve(80 * sniff.MB):
            order.append("second decoding")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert order == ["first done", "second decoding"]
    assert budget.in_use == 0


def test_a_busy_budget_refuses_after_waiting_with_a_clear_message(settings):
    settings.CHORUS_MEDIA_DECODE_MEMORY_MB = 100
    budget = sniff._DecodeMemory()
    with (
        budget.reserve(90 * sniff.MB),
        pytest.raises(sniff.MediaRejected, match="busy processing other images"),
        budget.reserve(50 * sniff.MB, wait=0.1),
    ):
        pass


def test_uploads_use_the_shared_budget(monkeypatch, tmp_path: Path):
    """The thumbnail and the check both reserve from the one process-wide budget."""
    reserved: list[int] = []
    original = sniff.decode_memory.reserve

    def spy(amount: int, **kwargs):
        reserved.append(amount)
        return original(amount, **kwargs)

    monkeypatch.setattr(sniff.decode_memory, "reserve", spy)
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), "red").save(buffer, "JPEG")
    path = tmp_path / "photo.jpg"
    path.write_bytes(buffer.getvalue())
    assert sniff.sniff(path).width == 400
    assert reserved == [400 * 300 * 3]
