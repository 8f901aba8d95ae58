"""The networks we cannot run, through their HTTP fakes (built from their documented requests):
the media bytes each upload request carries are extracted from the recorded request and parsed.
Mastodon (image and video, POST /api/v2/media), X (video, chunked INIT/APPEND/FINALIZE) and
Facebook (photo and video, multipart `source` to the Graph API)."""

from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile

from chorus.channels.actions import connect_channel
from chorus.connectors.mastodon import client as mastodon_client
from chorus.connectors.x import client as x_client
from chorus.media import actions as media
from chorus.media.models import MediaAsset
from tests.connectors.graph_fake import graph, meta_apps  # noqa: F401  (fixtures)
from tests.connectors.mastodon.conftest import (  # noqa: F401  (fixtures)
    INSTANCE,
    Fake,
    _private_urls_and_media,
    fake,
    fake_channel,
    status_json,
)
from tests.connectors.oauth_fakes import fake as oauth_fake  # noqa: F401
from tests.connectors.oauth_fakes import oauth_apps  # noqa: F401
from tests.connectors.x.conftest import x_channel  # noqa: F401
from tests.connectors.x.test_x_against_api_fake import API, TWEETS, ok
from tests.publishing.conftest import make_target
from tests.safety.files import (
    assert_image_has_no_location,
    assert_video_has_no_location,
    jpeg_with_location,
    video_with_location,
)


def file_parts(request: httpx.Request, field: str) -> list[bytes]:
    """The bytes of each multipart part named `field` of a recorded request."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    return [
        part.get_payload(decode=True)  # type: ignore[misc]
        for part in message.iter_parts()  # type: ignore[attr-defined]
        if part.get_param("name", header="content-disposition") == field
    ]


def _asset(cast, path: Path) -> MediaAsset:
    asset, _created = media.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(path.name, path.read_bytes())
    )
    return asset


def _target(cast, channel, asset: MediaAsset):
    target = make_target(cast, channel, text="Hello")
    target.media = [media.as_post_media(asset)]
    target.save()
    return target


def test_mastodon_fake_receives_images_and_videos_without_location(
    cast,
    fake: Fake,  # noqa: F811
    fake_channel,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    monkeypatch.setattr(mastodon_client, "MEDIA_POLL_INTERVAL", 0)
    fake.on("POST", "/api/v2/media", httpx.Response(202, json={"id": "m1", "url": None}))
    fake.on("GET", "/api/v1/media/m1", httpx.Response(200, json={"id": "m1", "url": f"{INSTANCE}/m1"}))
    fake.on("POST", "/api/v1/statuses", httpx.Response(200, json=status_json("9")))
    photo = _asset(cast, jpeg_with_location(tmp_path / "photo.jpg", orientation=8))
    clip = _asset(cast, video_with_location(tmp_path / "clip.mp4"))
    fake_channel.connector().publish(_target(cast, fake_channel, photo))
    fake_channel.connector().publish(_target(cast, fake_channel, clip))
    sent = [file_parts(r, "file") for r in fake.requests_to("POST", "/api/v2/media")]
    assert [len(parts) for parts in sent] == [1, 1]
    assert_image_has_no_location(sent[0][0])
    assert_video_has_no_location(sent[1][0], tmp_path)


def test_x_fake_receives_a_video_without_location(cast, oauth_fake, x_channel, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setattr(x_client.time, "sleep", lambda seconds: None)
    media_id = "1880028106020515840"
    oauth_fake.on("POST", f"{API}/2/media/upload/initialize", ok("media_initialize"))
    oauth_fake.on("POST", f"{API}/2/media/upload/{media_id}/append", httpx.Response(204))
    oauth_fake.on("POST", f"{API}/2/media/upload/{media_id}/finalize", ok("media_finalize_pending"))
    oauth_fake.on("GET", f"{API}/2/media/upload", ok("media_status_succeeded"))
    oauth_fake.on("POST", TWEETS, ok("create_tweet", 201))
    clip = _asset(cast, video_with_location(tmp_path / "clip.mp4"))
    x_channel.connector().publish(_target(cast, x_channel, clip))
    appends = oauth_fake.to("POST", f"{API}/2/media/upload/{media_id}/append")
    sent = b"".join(part for request in appends for part in file_parts(request, "media"))
    assert len(sent) == clip.size
    assert_video_has_no_location(sent, tmp_path)


def test_facebook_graph_fake_receives_a_photo_and_a_video_without_location(cast, graph, meta_apps, tmp_path):  # noqa: F811
    from chorus.connectors.meta.graph import GRAPH_VERSION
    from tests.connectors.graph_fake import fixture as graph_fixture

    here = Path(__file__).parents[1] / "connectors" / "facebook"
    page = connect_channel(
        workspace=cast.workspace, kind="facebook", name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"}, actor=cast.owner,
    )  # fmt: skip
    graph.on(
        "POST",
        f"https://graph.facebook.com/{GRAPH_VERSION}/1111/photos",
        graph_fixture(here, "photo_published.json"),
    )
    graph.on(
        "POST",
        f"https://graph-video.facebook.com/{GRAPH_VERSION}/1111/videos",
        graph_fixture(here, "video.json"),
    )
    photo = _asset(cast, jpeg_with_location(tmp_path / "photo.jpg"))
    clip = _asset(cast, video_with_location(tmp_path / "clip.mp4"))
    page.connector().publish(_target(cast, page, photo))
    page.connector().publish(_target(cast, page, clip))
    [photo_request] = graph.to("POST", f"https://graph.facebook.com/{GRAPH_VERSION}/1111/photos")
    [video_request] = graph.to("POST", f"https://graph-video.facebook.com/{GRAPH_VERSION}/1111/videos")
    [sent_photo] = file_parts(photo_request, "source")
    [sent_video] = file_parts(video_request, "source")
    assert_image_has_no_location(sent_photo)
    assert_video_has_no_location(sent_video, tmp_path)
