"""Location and identity metadata is removed on the way in, from every path a file enters by:
checked by parsing the file Chorus stores and serves (Pillow, the XMP packet, ffprobe)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from chorus.accounts.models import ApiToken
from chorus.approvals import intake
from chorus.core import http
from chorus.media import actions, consent, scrub
from chorus.media.models import MediaAsset, MediaConsent
from tests.conftest import Cast
from tests.safety.files import (
    SECRET_CITY,
    assert_image_has_no_location,
    assert_video_has_no_location,
    jpeg_with_location,
    png_with_location,
    video_tags,
    video_with_location,
)


def _upload(path: Path, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type=content_type)


def _served(cast: Cast, asset: MediaAsset) -> bytes:
    response = cast.client_for(cast.owner).get(reverse("media:file", args=[cast.workspace.slug, asset.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_the_test_files_really_carry_a_location(tmp_path):
    """The fixtures are what a phone and an editing tool write, or the other tests prove nothing."""
    photo = jpeg_with_location(tmp_path / "a.jpg").read_bytes()
    with Image.open(tmp_path / "a.jpg") as image:
        assert image.getexif().get_ifd(0x8825)[2] == (32.0, 17.0, 42.0)
        assert SECRET_CITY in image.info["xmp"]
        thumb_at = photo.find(b"\xff\xd8", 4)  # the embedded thumbnail, itself a JPEG with GPS
    with Image.open(__import__("io").BytesIO(photo[thumb_at:])) as thumbnail:
        assert thumbnail.getexif().get_ifd(0x8825)
    tags = video_tags(video_with_location(tmp_path / "v.mp4").read_bytes(), tmp_path)
    assert tags["format:location"] == "+32.2950+036.3200/"


def test_scrub_removes_every_kind_and_applies_the_orientation_first(tmp_path):
    source = jpeg_with_location(tmp_path / "turned.jpg", orientation=6, size=(640, 480))
    out = tmp_path / "clean.jpg"
    result = scrub.scrub(source, out, "image", "image/jpeg")
    assert {"gps", "maker_notes", "device", "thumbnail", "xmp", "xmp_location", "xmp_people", "iptc",
            "comment", "orientation"} <= set(result.removed)  # fmt: skip
    data = out.read_bytes()
    assert_image_has_no_location(data)
    with Image.open(out) as image:
        assert image.size == (480, 640) == (result.width, result.height)  # upright now
        # The white mark was top-left of the stored pixels; orientation 6 shows it top-right.
        assert image.convert("L").getpixel((470, 10)) > 200 and image.convert("L").getpixel((10, 10)) < 150


def test_an_upright_jpeg_keeps_its_pixels_untouched(tmp_path):
    source = jpeg_with_location(tmp_path / "upright.jpg")
    out = tmp_path / "clean.jpg"
    scrub.scrub(source, out, "image", "image/jpeg")
    with Image.open(source) as before, Image.open(out) as after:
        assert before.tobytes() == after.tobytes()  # only metadata segments were cut
    assert out.stat().st_size < source.stat().st_size


def test_png_exif_and_xmp_chunks_are_removed(tmp_path):
    out = tmp_path / "clean.png"
    result = scrub.scrub(png_with_location(tmp_path / "a.png"), out, "image", "image/png")
    assert {"gps", "xmp_location"} <= set(result.removed)
    assert_image_has_no_location(out.read_bytes())


def test_video_metadata_goes_without_reencoding(tmp_path):
    source = video_with_location(tmp_path / "v.mp4")
    out = tmp_path / "clean.mp4"
    result = scrub.scrub(source, out, "video", "video/mp4")
    assert "video_location" in result.removed
    assert_video_has_no_location(out.read_bytes(), tmp_path)

    def stream_md5(path: Path) -> str:
        return subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "md5", "-"],
            check=True, capture_output=True, timeout=60,
        ).stdout.decode()  # fmt: skip

    assert stream_md5(source) == stream_md5(out)  # the same compressed frames: no re-encoding


def test_library_upload_stores_and_serves_clean_files_and_says_so(cast: Cast, tmp_path):
    client = cast.client_for(cast.owner)
    url = reverse("media:upload", args=[cast.workspace.slug])
    photo = jpeg_with_location(tmp_path / "photo.jpg")
    video = video_with_location(tmp_path / "clip.mp4")
    response = client.post(url, {"files": [_upload(photo), _upload(video)]}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and all(r["ok"] for r in response.json()["results"]), response.json()
    image_asset = MediaAsset.objects.get(kind="image")
    video_asset = MediaAsset.objects.get(kind="video")
    assert_image_has_no_location(_served(cast, image_asset))
    assert_image_has_no_location(default_storage.open(image_asset.path).read())
    assert_video_has_no_location(_served(cast, video_asset), tmp_path)
    assert image_asset.size == default_storage.size(image_asset.path)
    for asset in (image_asset, video_asset):  # the video's poster frame too
        thumb = client.get(reverse("media:thumb", args=[cast.workspace.slug, asset.pk]))
        assert_image_has_no_location(b"".join(thumb.streaming_content))  # type: ignore[attr-defined]
    # A network's resized copy (connectors ask the library for one) comes from the clean file too.
    small = actions.variant(image_asset, max_bytes=20_000, max_side=200, formats=["image/jpeg"])
    assert small != image_asset.path
    assert_image_has_no_location(default_storage.open(small).read())

    page = client.get(reverse("media:detail", args=[cast.workspace.slug, image_asset.pk])).content.decode()
    assert "Location removed" in page and "GPS location" in page and "XMP location fields" in page
    page = client.get(reverse("media:detail", args=[cast.workspace.slug, video_asset.pk])).content.decode()
    assert "Location removed" in page and "video location" in page


def test_contributor_link_upload_is_clean_too(cast: Cast, tmp_path):
    _contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
    photo = jpeg_with_location(tmp_path / "photo.jpg", orientation=3)
    video = video_with_location(tmp_path / "clip.mp4")
    response = Client().post(
        f"/contribute/{raw}/",
        {"title": "Home", "text": "A story.", "consent": "1", "uses_offered": "1", "uses": ["networks", "website"],
         "photos": [_upload(photo), _upload(video)]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:500]
    for asset in MediaAsset.objects.all():
        data = _served(cast, asset)
        if asset.kind == "image":
            assert_image_has_no_location(data)
        else:
            assert_video_has_no_location(data, tmp_path)
    assert [c.uses for c in MediaConsent.objects.all()] == [["networks", "website"]] * 2


def test_api_upload_is_clean(cast: Cast, tmp_path):
    _token, raw = ApiToken.issue(cast.owner, "t")
    response = Client().post(
        f"/api/workspaces/{cast.workspace.slug}/media",
        {"file": _upload(jpeg_with_location(tmp_path / "api.jpg"))},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content
    assert "gps" in MediaAsset.objects.get().metadata_removed
    assert {"gps", "xmp_location", "thumbnail"} <= set(response.json()["asset"]["metadata_removed"])
    assert_image_has_no_location(_served(cast, MediaAsset.objects.get()))


def test_bulk_import_media_urls_are_clean(cast: Cast, tmp_path, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the fake answers for 127.0.0.1
    from chorus.bulk.actions import _fetch_media

    photo = jpeg_with_location(tmp_path / "remote.jpg").read_bytes()
    http.set_transport_for_tests(httpx.MockTransport(lambda request: httpx.Response(200, content=photo)))
    try:
        from chorus.bulk.rows import PlannedRow

        row = PlannedRow(2, [], media_urls=["https://example.org/remote.jpg"])
        _fetch_media(cast.workspace, cast.owner, row)
    finally:
        http.set_transport_for_tests(None)
    assert row.errors == [] and row.media_names == ["remote.jpg"]
    assert_image_has_no_location(_served(cast, MediaAsset.objects.get()))


def test_a_private_original_is_kept_only_when_asked_and_never_served(cast: Cast, tmp_path, settings):
    consent.set_rules(cast.workspace, actor=cast.owner, keep_private_originals=True)
    photo = jpeg_with_location(tmp_path / "photo.jpg")
    asset, _created = actions.upload(cast.workspace, cast.owner, _upload(photo))
    assert asset.private_original
    kept = Path(settings.CHORUS_PRIVATE_ROOT) / asset.private_original
    assert kept.read_bytes() == photo.read_bytes()  # with its metadata, for the workspace's records
    assert not kept.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert_image_has_no_location(_served(cast, asset))
    assert actions.as_post_media(asset)["path"] == asset.path != asset.private_original
    page = cast.client_for(cast.owner).get(reverse("media:detail", args=[cast.workspace.slug, asset.pk]))
    assert "never published" in page.content.decode()


def test_intake_never_changes_an_existing_asset(cast: Cast, tmp_path):
    """Issue 15: the same bytes from a contributor link changed the team's consent and credit."""
    photo = jpeg_with_location(tmp_path / "team.jpg")
    asset, _created = actions.upload(cast.workspace, cast.owner, _upload(photo))
    actions.update_asset(asset, actor=cast.owner, credit="Team photo", consent="none")
    contributor, _raw = intake.invite(cast.workspace, actor=cast.owner, name="Outsider")
    story = intake.submit(
        contributor, title="Mine", text="x", consent=True, credit="Me", photos=[_upload(photo)]
    )
    asset.refresh_from_db()
    assert (asset.credit, asset.consent) == ("Team photo", "none")
    assert list(story.photos.all()) == [asset]
    record = MediaConsent.objects.get()
    assert (record.asset, record.contributor, record.story, record.credit) == (
        asset,
        contributor,
        story,
        "Me",
    )
    assert json.loads(json.dumps(record.uses)) == list(MediaConsent.Use.values)


def test_files_stored_before_scrubbing_are_scrubbed_by_the_command(cast: Cast, tmp_path):
    from django.core.management import call_command

    photo = jpeg_with_location(tmp_path / "old.jpg")
    asset, _created = actions.upload(cast.workspace, cast.owner, _upload(photo))
    with default_storage.open(asset.path, "wb") as handle:  # as an upload before this release stored it
        handle.write(photo.read_bytes())
    call_command("scrub_media")
    asset.refresh_from_db()
    assert_image_has_no_location(_served(cast, asset))
    assert asset.size == default_storage.size(asset.path)
    assert actions.rescrub(asset) == []  # a second run leaves it alone


def test_an_outside_reviewer_gets_the_clean_file(cast: Cast, tmp_path):
    """The review link shows the post's media to someone outside the team: the stored, clean file."""
    from chorus.approvals.actions import issue_link
    from chorus.channels.actions import connect_channel
    from chorus.publishing import actions as publishing

    asset, _created = actions.upload(
        cast.workspace, cast.owner, _upload(jpeg_with_location(tmp_path / "r.jpg"))
    )
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    post = publishing.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Look"
    )
    target = post.targets.get()
    publishing.edit(target, actor=cast.owner, media=[actions.as_post_media(asset)])
    _link, raw = issue_link(target, actor=cast.owner, name="Partner")
    response = Client().get(reverse("approvals:outside_media", args=[raw, 0]))
    assert response.status_code == 200
    assert_image_has_no_location(b"".join(response.streaming_content))  # type: ignore[attr-defined]


def test_the_shared_media_readers_of_every_other_connector_read_the_clean_file(cast: Cast, tmp_path):
    """LinkedIn, YouTube, TikTok, Pinterest and X read a media item's bytes through
    connectors.oauth2.media_bytes; Facebook through meta.media.read_bytes; Instagram and Threads
    hand Meta the URL of the same stored path (meta.media.public_url). All read the stored file."""
    from chorus.connectors.meta.media import public_url, read_bytes
    from chorus.connectors.oauth2 import media_bytes

    photo, _created = actions.upload(
        cast.workspace, cast.owner, _upload(jpeg_with_location(tmp_path / "p.jpg"))
    )
    clip, _created = actions.upload(
        cast.workspace, cast.owner, _upload(video_with_location(tmp_path / "v.mp4"))
    )
    for asset in (photo, clip):
        item = actions.as_post_media(asset)
        for data in (media_bytes(item), read_bytes(item["path"])):
            if asset.kind == "image":
                assert_image_has_no_location(data)
            else:
                assert_video_has_no_location(data, tmp_path)
        assert public_url(item["path"]).endswith(asset.path)  # the URL Meta fetches: the same stored file


def test_the_report_logo_embedded_in_reports_is_the_clean_file(cast: Cast, tmp_path):
    """Reports (web, PDF, e-mailed) embed the workspace's logo as a data URI read from storage."""
    import base64

    from chorus.analytics.models import AnalyticsSettings
    from chorus.analytics.reports import logo_data_uri

    asset, _created = actions.upload(
        cast.workspace, cast.owner, _upload(jpeg_with_location(tmp_path / "logo.jpg"))
    )
    AnalyticsSettings.objects.update_or_create(workspace=cast.workspace, defaults={"report_logo": asset})
    uri = logo_data_uri(cast.workspace)
    assert uri.startswith("data:image/jpeg;base64,")
    assert_image_has_no_location(base64.b64decode(uri.split(",", 1)[1]))


def test_the_report_logo_follows_its_consent(cast: Cast, tmp_path):
    """An image people consented for appears in reports only when a consent in force covers
    reports, and never once withdrawn."""
    from chorus.analytics.models import AnalyticsSettings
    from chorus.analytics.reports import logo_data_uri

    asset, _created = actions.upload(
        cast.workspace, cast.owner, _upload(jpeg_with_location(tmp_path / "group.jpg"))
    )
    AnalyticsSettings.objects.update_or_create(workspace=cast.workspace, defaults={"report_logo": asset})
    assert logo_data_uri(cast.workspace).startswith("data:image/jpeg")  # the team's own image
    consent.record(asset, actor=cast.owner, person="Amina", uses=["networks"], evidence="written")
    assert logo_data_uri(cast.workspace) == ""
    reports = consent.record(asset, actor=cast.owner, person="Amina", uses=["reports"], evidence="written")
    assert logo_data_uri(cast.workspace).startswith("data:image/jpeg")
    consent.withdraw(reports, actor=cast.owner, reason="asked")
    asset.refresh_from_db()
    assert logo_data_uri(cast.workspace) == ""
