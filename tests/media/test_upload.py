"""Uploading: the content decides the type, bombs and corrupt files are refused, duplicates are
found by hash, thumbnails and per-network variants are made."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from chorus.core.models import AuditEvent
from chorus.media import actions
from chorus.media.models import MediaAsset
from tests.conftest import Cast
from tests.media.conftest import image_bytes, png_header_bomb, upload_file


def test_it_stores_a_png_named_jpg_as_a_png(cast: Cast, media_root: Path):
    asset, created = actions.upload(
        cast.workspace, cast.owner, upload_file("photo.jpg", image_bytes("PNG"), "image/jpeg")
    )
    assert created
    assert asset.mime_type == "image/png" and asset.kind == "image"
    assert (asset.width, asset.height) == (64, 48)
    assert asset.path.startswith(f"workspaces/{cast.workspace.pk}/media/") and asset.path.endswith(".png")
    assert asset.original_name == "photo.jpg"
    with Image.open(media_root / asset.path) as stored:
        assert stored.format == "PNG"
    assert AuditEvent.objects.filter(action="media.uploaded", object_id=str(asset.pk)).exists()


def test_it_refuses_a_text_file_named_png(cast: Cast):
    with pytest.raises(actions.MediaRejected, match="not an image or video we can read"):
        actions.upload(
            cast.workspace, cast.owner, upload_file("cat.png", b"hello, I am not a picture\n" * 10)
        )
    assert not MediaAsset.objects.exists()


def test_a_corrupt_image_is_still_refused_after_a_pdf_report_was_rendered(cast: Cast):
    """WeasyPrint's import turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process: once a
    process (the embedded shape's only one) had rendered a PDF report, damaged uploads passed."""
    from PIL import ImageFile

    from chorus.analytics.reports import _weasyprint_html

    _weasyprint_html()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    truncated = image_bytes("JPEG", (200, 200), noise=True)[:-2000]
    with pytest.raises(actions.MediaRejected, match="damaged"):
        actions.upload(cast.workspace, cast.owner, upload_file("broken.jpg", truncated))


def test_it_refuses_a_decompression_bomb(cast: Cast):
    bomb = png_header_bomb(40_000, 40_000)  # 1.6 gigapixels declared in a ~100-byte file
    assert len(bomb) < 200
    with pytest.raises(actions.MediaRejected, match="too large to process safely"):
        actions.upload(cast.workspace, cast.owner, upload_file("bomb.png", bomb))


def test_it_refuses_an_image_over_the_configured_pixel_limit(cast: Cast, settings):
    settings.CHORUS_MEDIA_MAX_PIXELS = 1_000  # Pillow's warning zone, below its hard error
    with pytest.raises(actions.MediaRejected, match="too large to process safely"):
        actions.upload(cast.workspace, cast.owner, upload_file("big.png", image_bytes("PNG", (100, 100))))


def test_it_refuses_a_corrupt_image_with_a_clear_message(cast: Cast):
    data = image_bytes("JPEG", (200, 200), noise=True)
    truncated = data[: len(data) // 2]
    with pytest.raises(actions.MediaRejected, match="damaged"):
        actions.upload(cast.workspace, cast.owner, upload_file("broken.jpg", truncated))
    assert not MediaAsset.objects.exists()


def test_it_probes_a_video_with_ffprobe_and_makes_a_poster(cast: Cast, tmp_path: Path, media_root: Path):
    video = tmp_path / "clip.bin"
    subprocess.run(
        ["/usr/bin/ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
         "-pix_fmt", "yuv420p", "-f", "mp4", str(video)],
        check=True,
    )  # fmt: skip
    asset, created = actions.upload(cast.workspace, cast.owner, upload_file("clip.bin", video.read_bytes()))
    assert created and asset.kind == "video" and asset.mime_type == "video/mp4"
    assert (asset.width, asset.height) == (160, 120)
    assert asset.duration == pytest.approx(1.0, abs=0.1)
    assert asset.path.endswith(".mp4")
    with Image.open(media_root / asset.thumbnail) as poster:
        assert poster.width <= 320


def test_it_returns_the_existing_asset_for_the_same_bytes(cast: Cast):
    data = image_bytes("PNG")
    first, created = actions.upload(cast.workspace, cast.owner, upload_file("a.png", data))
    again, created_again = actions.upload(
        cast.workspace, cast.members["editor"], upload_file("copy-of-a.png", data)
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert MediaAsset.objects.count() == 1
    # Another workspace gets its own copy: hashes are only compared within a workspace.
    other, created_other = actions.upload(cast.other_workspace, cast.outsider, upload_file("a.png", data))
    assert created_other and other.pk != first.pk and other.path != first.path


def test_it_makes_a_320px_thumbnail(cast: Cast, media_root: Path):
    asset, _ = actions.upload(
        cast.workspace, cast.owner, upload_file("wide.jpg", image_bytes("JPEG", (1600, 900)))
    )
    assert asset.thumbnail
    with Image.open(media_root / asset.thumbnail) as thumb:
        assert thumb.size == (320, 180)


def test_it_makes_a_variant_under_a_byte_cap_and_caches_it(cast: Cast, media_root: Path):
    asset, _ = actions.upload(
        cast.workspace, cast.owner, upload_file("noise.png", image_bytes("PNG", (1200, 1000), noise=True))
    )
    assert asset.size > 200_000
    path = actions.variant(asset, max_bytes=100_000, max_side=1000, formats=["image/jpeg"])
    assert path != asset.path
    assert (media_root / path).stat().st_size <= 100_000
    with Image.open(media_root / path) as copy:
        assert copy.format == "JPEG" and max(copy.size) <= 1000
    mtime = (media_root / path).stat().st_mtime_ns
    assert actions.variant(asset, max_bytes=100_000, max_side=1000, formats=["image/jpeg"]) == path
    assert (media_root / path).stat().st_mtime_ns == mtime


def test_it_returns_the_original_when_it_already_fits(cast: Cast):
    asset, _ = actions.upload(cast.workspace, cast.owner, upload_file("small.png", image_bytes("PNG")))
    assert (
        actions.variant(asset, max_bytes=1_000_000, max_side=2000, formats=["image/png", "image/jpeg"])
        == asset.path
    )


def test_it_removes_the_files_when_an_asset_is_deleted(cast: Cast):
    asset, _ = actions.upload(
        cast.workspace, cast.owner, upload_file("x.png", image_bytes("PNG", (900, 900), noise=True))
    )
    variant = actions.variant(asset, max_bytes=50_000, max_side=400, formats=["image/jpeg"])
    names = [asset.path, asset.thumbnail, variant]
    actions.delete_asset(asset, actor=cast.owner)
    assert not any(default_storage.exists(n) for n in names)


def test_as_post_media_gives_the_composer_item(cast: Cast):
    asset, _ = actions.upload(cast.workspace, cast.owner, upload_file("p.png", image_bytes("PNG")))
    actions.update_asset(asset, actor=cast.owner, alt_text="A red square")
    item = actions.as_post_media(asset)
    assert item["media_id"] == asset.pk and item["path"] == asset.path and item["alt"] == "A red square"
    assert actions.as_post_media(asset, alt="Custom")["alt"] == "Custom"


@pytest.mark.parametrize("in_memory", [False, True], ids=["temporary-file", "memory"])
def test_a_file_past_the_budget_stops_being_stored_while_it_streams_in(
    cast: Cast, settings, monkeypatch, in_memory: bool
):
    """Django's upload handlers store a request's files before the view runs: without a budget
    while streaming, a huge file fills the disk before the view's size check refuses it."""
    from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
    from django.test import Client
    from django.urls import reverse

    settings.CHORUS_MEDIA_MAX_BYTES = 256 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024 if in_memory else 0
    stored: list[int] = []
    storing = MemoryFileUploadHandler if in_memory else TemporaryFileUploadHandler
    real = storing.receive_data_chunk

    def spy(self, raw_data, start):  # type: ignore[no-untyped-def]
        if getattr(self, "activated", True):
            stored.append(len(raw_data))
        return real(self, raw_data, start)

    monkeypatch.setattr(storing, "receive_data_chunk", spy)
    client = Client()
    client.force_login(cast.owner)
    huge = image_bytes("PNG") + b"\0" * (3 * 1024 * 1024)  # 3 MB, twelve times the budget

    response = client.post(
        reverse("media:upload", args=[cast.workspace.slug]),
        {"files": [upload_file("huge.png", huge), upload_file("small.png", image_bytes("PNG"))]},
        headers={"Accept": "application/json"},
    )

    results = {r["name"]: r for r in response.json()["results"]}
    assert results["huge.png"] == {
        "name": "huge.png",
        "ok": False,
        "error": "This file is larger than the 0 MB limit.",
    }
    assert results["small.png"]["ok"]  # the next file of the same request is stored as usual
    assert sum(stored) <= 256 * 1024 + len(image_bytes("PNG")) + 64 * 1024  # not the 3 MB
    assert MediaAsset.objects.count() == 1
