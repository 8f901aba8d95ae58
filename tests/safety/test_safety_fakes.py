"""The networks we cannot run, through their HTTP fakes (built from their documented requests):
the media bytes each upload request carries are extracted from the recorded request and parsed,
for a photo and a video that arrived through the library's upload page and through a
contributor's link. Mastodon (image and video, POST /api/v2/media), X (image and video, chunked
INIT/APPEND/FINALIZE), Facebook (photo and video, multipart `source` to the Graph API), LinkedIn
(image and video PUTs), YouTube (resumable PUT), TikTok (chunked PUTs), Pinterest (base64 image),
Instagram and Threads (Meta fetches the URL Chorus gives: the file stored at that URL is parsed)."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chorus.approvals import intake
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.mastodon import client as mastodon_client
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.connectors.x import client as x_client
from chorus.media import actions as media
from chorus.media.models import MediaAsset
from tests.connectors.graph_fake import graph, meta_apps  # noqa: F401  (fixtures)
from tests.connectors.linkedin.conftest import linkedin_page  # noqa: F401
from tests.connectors.mastodon.conftest import (  # noqa: F401  (fixtures)
    INSTANCE,
    Fake,
    _private_urls_and_media,
    fake,
    fake_channel,
    status_json,
)
from tests.connectors.oauth_fakes import fake as oauth_fake  # noqa: F401
from tests.connectors.oauth_fakes import fixture as oauth_fixture
from tests.connectors.oauth_fakes import oauth_apps  # noqa: F401
from tests.connectors.pinterest.conftest import pinterest_channel  # noqa: F401
from tests.connectors.tiktok.conftest import tiktok_channel  # noqa: F401
from tests.connectors.x.conftest import x_channel  # noqa: F401
from tests.connectors.x.test_x_against_api_fake import API, TWEETS, ok
from tests.connectors.youtube.conftest import youtube_channel  # noqa: F401
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


ORIGINS = ["library", "contributor"]


@pytest.fixture(params=ORIGINS)
def origin(request) -> str:
    return str(request.param)


def _pair(cast, tmp_path: Path, origin: str) -> tuple[MediaAsset, MediaAsset]:
    """A photo (GPS, XMP location, GPS-tagged embedded thumbnail; turned 90 degrees) and a video
    (location atom), through the library's upload page or a contributor's link, as people send them. The file Chorus then serves is parsed here too."""
    photo = jpeg_with_location(tmp_path / f"{origin}-photo.jpg", orientation=6)
    clip = video_with_location(tmp_path / f"{origin}-clip.mp4")
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in (photo, clip)]
    if origin == "library":
        response = cast.client_for(cast.owner).post(
            reverse("media:upload", args=[cast.workspace.slug]),
            {"files": files},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 200 and all(r["ok"] for r in response.json()["results"])
    else:
        _contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
        response = Client().post(
            f"/contribute/{raw}/",
            {"title": "Home", "text": "A story.", "consent": "1", "photos": files},
        )
        assert response.status_code == 302, response.content.decode()[:300]
    pair = (
        MediaAsset.objects.get(original_name=photo.name),
        MediaAsset.objects.get(original_name=clip.name),
    )
    for asset in pair:  # the file Chorus serves (to the team, the picker, the composer's preview)
        served = cast.client_for(cast.owner).get(reverse("media:file", args=[cast.workspace.slug, asset.pk]))
        _check(asset, b"".join(served.streaming_content), tmp_path)
    return pair


def _asset(cast, path: Path) -> MediaAsset:
    asset, _created = media.upload(
        cast.workspace, cast.owner, SimpleUploadedFile(path.name, path.read_bytes())
    )
    return asset


def _check(asset: MediaAsset, data: bytes, tmp_path: Path) -> None:
    assert len(data) == asset.size  # the whole stored file went, not some other copy
    if asset.kind == "image":
        assert_image_has_no_location(data)
    else:
        assert_video_has_no_location(data, tmp_path)


def _stored_behind(url: str) -> bytes:
    """The file a network downloads from `url` (Instagram and Threads fetch media themselves):
    the storage path behind Chorus's public media URL."""
    prefix = f"{settings.CHORUS_BASE_URL}{settings.MEDIA_URL}"
    assert url.startswith(prefix), url
    with default_storage.open(url[len(prefix) :]) as handle:
        return bytes(handle.read())


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
    origin,
):
    monkeypatch.setattr(mastodon_client, "MEDIA_POLL_INTERVAL", 0)
    fake.on("POST", "/api/v2/media", httpx.Response(202, json={"id": "m1", "url": None}))
    fake.on("GET", "/api/v1/media/m1", httpx.Response(200, json={"id": "m1", "url": f"{INSTANCE}/m1"}))
    fake.on("POST", "/api/v1/statuses", httpx.Response(200, json=status_json("9")))
    photo, clip = _pair(cast, tmp_path, origin)
    fake_channel.connector().publish(_target(cast, fake_channel, photo))
    fake_channel.connector().publish(_target(cast, fake_channel, clip))
    sent = [file_parts(r, "file") for r in fake.requests_to("POST", "/api/v2/media")]
    assert [len(parts) for parts in sent] == [1, 1]
    _check(photo, sent[0][0], tmp_path)
    _check(clip, sent[1][0], tmp_path)


def test_x_fake_receives_an_image_and_a_video_without_location(
    cast,
    oauth_fake,  # noqa: F811
    x_channel,  # noqa: F811
    monkeypatch,
    tmp_path,
    origin,
):
    monkeypatch.setattr(x_client.time, "sleep", lambda seconds: None)
    media_id = "1880028106020515840"
    oauth_fake.on("POST", f"{API}/2/media/upload/initialize", ok("media_initialize"))
    oauth_fake.on("POST", f"{API}/2/media/upload/{media_id}/append", httpx.Response(204))
    oauth_fake.on("POST", f"{API}/2/media/upload/{media_id}/finalize", ok("media_finalize_pending"))
    oauth_fake.on("GET", f"{API}/2/media/upload", ok("media_status_succeeded"))
    oauth_fake.on("POST", TWEETS, ok("create_tweet", 201))
    photo, clip = _pair(cast, tmp_path, origin)
    for asset in (photo, clip):
        oauth_fake.sent.clear()
        x_channel.connector().publish(_target(cast, x_channel, asset))
        appends = oauth_fake.to("POST", f"{API}/2/media/upload/{media_id}/append")
        _check(
            asset, b"".join(part for request in appends for part in file_parts(request, "media")), tmp_path
        )


def test_facebook_graph_fake_receives_a_photo_and_a_video_without_location(
    cast,
    graph,  # noqa: F811
    meta_apps,  # noqa: F811
    tmp_path,
    origin,
):
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
    photo, clip = _pair(cast, tmp_path, origin)
    page.connector().publish(_target(cast, page, photo))
    page.connector().publish(_target(cast, page, clip))
    [photo_request] = graph.to("POST", f"https://graph.facebook.com/{GRAPH_VERSION}/1111/photos")
    [video_request] = graph.to("POST", f"https://graph-video.facebook.com/{GRAPH_VERSION}/1111/videos")
    [sent_photo] = file_parts(photo_request, "source")
    [sent_video] = file_parts(video_request, "source")
    _check(photo, sent_photo, tmp_path)
    _check(clip, sent_video, tmp_path)


LINKEDIN = "https://api.linkedin.com/rest"


def test_linkedin_fake_receives_an_image_and_a_video_without_location(
    cast,
    oauth_fake,  # noqa: F811
    tmp_path,
    linkedin_page,  # noqa: F811
    origin,
):
    channel = linkedin_page
    photo, clip = _pair(cast, tmp_path, origin)
    image_put = "https://www.linkedin.com/dms-uploads/sp/C4E10AQFoyyAjHPMQuQ/uploaded-image/0"
    video_put = "https://www.linkedin.com/dms-uploads/sp/C5F10AQGKQg_6y2a4sQ/uploadedVideo/part0"
    oauth_fake.on(
        "POST", f"{LINKEDIN}/images", httpx.Response(200, json=oauth_fixture("linkedin", "images_initialize"))
    )
    oauth_fake.on(
        "POST",
        f"{LINKEDIN}/videos",
        # LinkedIn answers with the byte ranges to send; one part covering the whole file.
        httpx.Response(200, json={"value": {
            "video": "urn:li:video:C5F10AQGKQg_6y2a4sQ", "uploadToken": "",
            "uploadInstructions": [{"uploadUrl": video_put, "firstByte": 0, "lastByte": clip.size - 1}],
        }}),
        httpx.Response(200),
    )  # fmt: skip
    oauth_fake.on("PUT", image_put, httpx.Response(201))
    oauth_fake.on("PUT", video_put, httpx.Response(200, headers={"etag": "etag-0"}))
    oauth_fake.on("POST", f"{LINKEDIN}/posts", httpx.Response(201, headers={"x-restli-id": "urn:li:share:1"}))
    channel.connector().publish(_target(cast, channel, photo))
    channel.connector().publish(_target(cast, channel, clip))
    _check(photo, oauth_fake.to("PUT", image_put)[0].content, tmp_path)
    _check(clip, oauth_fake.to("PUT", video_put)[0].content, tmp_path)


def test_youtube_fake_receives_a_video_without_location(
    cast,
    oauth_fake,  # noqa: F811
    tmp_path,
    youtube_channel,  # noqa: F811
    origin,
):
    channel = youtube_channel
    upload = "https://www.googleapis.com/upload/youtube/v3/videos"
    session = f"{upload}?uploadType=resumable&upload_id=xa298sd_f"
    oauth_fake.on("POST", upload, httpx.Response(200, headers={"Location": session}))
    oauth_fake.on("PUT", upload, httpx.Response(201, json=oauth_fixture("youtube", "video_inserted")))
    _photo, clip = _pair(cast, tmp_path, origin)
    target = _target(cast, channel, clip)
    target.options = {"title": "Our year"}
    target.save()
    channel.connector().publish(target)
    _check(clip, oauth_fake.to("PUT", upload)[0].content, tmp_path)


def test_tiktok_fake_receives_a_video_without_location(
    cast,
    oauth_fake,  # noqa: F811
    monkeypatch,
    tmp_path,
    tiktok_channel,  # noqa: F811
    origin,
):
    from chorus.connectors.tiktok import connector as tiktok_connector

    channel = tiktok_channel

    monkeypatch.setattr(tiktok_connector.time, "sleep", lambda seconds: None)
    api, upload = "https://open.tiktokapis.com/v2", "https://open-upload.tiktokapis.com/video/"
    oauth_fake.on(
        "POST",
        f"{api}/post/publish/creator_info/query/",
        httpx.Response(200, json=oauth_fixture("tiktok", "creator_info")),
    )
    oauth_fake.on(
        "POST",
        f"{api}/post/publish/video/init/",
        httpx.Response(200, json=oauth_fixture("tiktok", "video_init")),
    )
    oauth_fake.on("PUT", upload, httpx.Response(201))
    oauth_fake.on(
        "POST",
        f"{api}/post/publish/status/fetch/",
        httpx.Response(200, json=oauth_fixture("tiktok", "status_complete")),
    )
    _photo, clip = _pair(cast, tmp_path, origin)
    channel.connector().publish(_target(cast, channel, clip))
    _check(clip, b"".join(r.content for r in oauth_fake.to("PUT", upload)), tmp_path)


def test_pinterest_fake_receives_an_image_without_location(
    cast,
    oauth_fake,  # noqa: F811
    tmp_path,
    pinterest_channel,  # noqa: F811
    origin,
):
    channel = pinterest_channel
    pins = "https://api.pinterest.com/v5/pins"
    oauth_fake.on("POST", pins, httpx.Response(201, json=oauth_fixture("pinterest", "pin_created")))
    photo, _clip = _pair(cast, tmp_path, origin)
    target = _target(cast, channel, photo)
    target.options = {"board_id": "549755885175"}
    target.save()
    channel.connector().publish(target)
    source = json.loads(oauth_fake.to("POST", pins)[0].content)["media_source"]
    assert source["source_type"] == "image_base64"
    _check(photo, base64.b64decode(source["data"]), tmp_path)


def test_instagram_and_threads_are_given_the_url_of_a_clean_file(
    cast,
    graph,  # noqa: F811
    meta_apps,  # noqa: F811
    monkeypatch,
    tmp_path,
    origin,
):
    """Meta's servers download the file from the URL in the container request: the file stored
    behind that URL (what Chorus serves there) is parsed, for a photo and a video on each network."""
    instagram, threads = _meta_channels(cast, graph, monkeypatch)
    g, ig, t = (
        f"https://graph.facebook.com/{GRAPH_VERSION}",
        "17841400000000001",
        "https://graph.threads.net/v1.0",
    )
    photo, clip = _pair(cast, tmp_path, origin)
    for channel, containers in ((instagram, f"{g}/{ig}/media"), (threads, f"{t}/2648/threads")):
        for asset in (photo, clip):
            graph.sent.clear()
            channel.connector().publish(_target(cast, channel, asset))
            [request] = graph.to("POST", containers)
            form = graph.form(request)
            url = form["image_url"] if asset.kind == "image" else form["video_url"]
            _check(asset, _stored_behind(url), tmp_path)


def _meta_channels(cast, fake_graph, monkeypatch) -> tuple[Channel, Channel]:
    """An Instagram and a Threads channel, and the Graph fake's answers to publish on each."""
    from chorus.connectors.meta import graph as graph_module

    monkeypatch.setattr(graph_module, "POLL_INTERVAL", 0)
    g, ig, t = (
        f"https://graph.facebook.com/{GRAPH_VERSION}",
        "17841400000000001",
        "https://graph.threads.net/v1.0",
    )
    limit = {"data": [{"quota_usage": 0, "config": {"quota_total": 100, "quota_duration": 86400}}]}
    fake_graph.on("GET", f"{g}/{ig}/content_publishing_limit", limit)
    fake_graph.on("POST", f"{g}/{ig}/media", {"id": "c1"})
    fake_graph.on("GET", f"{g}/c1", {"status_code": "FINISHED"})
    fake_graph.on("POST", f"{g}/{ig}/media_publish", {"id": "m1"})
    fake_graph.on(
        "GET",
        f"{g}/m1",
        {"permalink": "https://www.instagram.com/p/x/", "timestamp": "2026-01-01T00:00:00+0000"},
    )
    fake_graph.on("GET", f"{t}/2648/threads_publishing_limit", limit)
    fake_graph.on("POST", f"{t}/2648/threads", {"id": "c2"})
    fake_graph.on("GET", f"{t}/c2", {"status": "FINISHED"})
    fake_graph.on("POST", f"{t}/2648/threads_publish", {"id": "p1"})
    fake_graph.on(
        "GET",
        f"{t}/p1",
        {"permalink": "https://www.threads.net/@seasalive/post/x", "timestamp": "2026-01-01T00:00:00+0000"},
    )
    instagram = connect_channel(
        workspace=cast.workspace, kind="instagram", name="@seasalive",
        config={"ig_user_id": ig, "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-1111"}, actor=cast.owner,
    )  # fmt: skip
    threads = connect_channel(
        workspace=cast.workspace, kind="threads", name="@seasalive",
        config={"user_id": "2648", "username": "seasalive"},
        credentials={"access_token": "long-threads-token"}, actor=cast.owner,
    )  # fmt: skip
    return instagram, threads


def test_a_withdrawal_deletes_on_facebook_and_threads_and_lists_instagram_for_a_hand_delete(
    cast,
    graph,  # noqa: F811
    meta_apps,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    """A Page and a Threads profile delete their posts through the Graph API; Chorus has no
    delete for Instagram, so the withdrawal lists Instagram's post to delete by hand, and one click per post deletes the others on the network (the DELETE each fake received)."""
    from chorus.core.models import AuditEvent
    from chorus.media import consent
    from chorus.media.models import MediaConsent, WithdrawalStep
    from tests.connectors.graph_fake import fixture as graph_fixture

    g = f"https://graph.facebook.com/{GRAPH_VERSION}"
    here = Path(__file__).parents[1] / "connectors" / "facebook"
    instagram, threads = _meta_channels(cast, graph, monkeypatch)
    page = connect_channel(
        workspace=cast.workspace, kind="facebook", name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"}, actor=cast.owner,
    )  # fmt: skip
    graph.on("POST", f"{g}/1111/photos", graph_fixture(here, "photo_published.json"))
    photo, _clip = _pair(cast, tmp_path, "contributor")
    published = {}
    for channel in (page, instagram, threads):
        target = _target(cast, channel, photo)
        result = channel.connector().publish(target)
        target.status, target.external_id = "published", result.external_id
        target.save()
        media.sync_usage(target)
        published[channel.kind] = target
    graph.on("GET", f"{g}/1111_778", graph_fixture(here, "post_attachments_photo.json"))
    graph.on("DELETE", f"{g}/777", {"success": True})
    graph.on("DELETE", f"{g}/1111_778", {"success": True})
    graph.on("DELETE", "https://graph.threads.net/v1.0/p1", {"success": True, "deleted_id": "p1"})

    record = MediaConsent.objects.get(asset=photo)
    steps = {s.target_id: s for s in consent.withdraw(record, actor=cast.owner, reason="asked")}
    assert {kind: steps[t.pk].step for kind, t in published.items()} == {
        "facebook": "to_delete", "instagram": "manual", "threads": "to_delete",
    }  # fmt: skip
    graph.sent.clear()
    client = cast.client_for(cast.members["editor"])
    for kind in ("facebook", "threads"):
        response = client.post(
            reverse("media:consent", args=[cast.workspace.slug, photo.pk]),
            {"action": "delete_post", "step": steps[published[kind].pk].pk},
        )
        assert response.status_code == 302
        assert WithdrawalStep.objects.get(pk=steps[published[kind].pk].pk).step == "deleted"
    assert [
        (r.method, r.url.host, r.url.path.rsplit("/", 1)[-1]) for r in graph.sent if r.method == "DELETE"
    ] == [
        ("DELETE", "graph.facebook.com", "777"),
        ("DELETE", "graph.facebook.com", "1111_778"),
        ("DELETE", "graph.threads.net", "p1"),
    ]
    page_html = client.get(reverse("media:detail", args=[cast.workspace.slug, photo.pk])).content.decode()
    assert "delete it on the network by hand" in page_html
    assert AuditEvent.objects.filter(action="media.withdrawal_deleted").count() == 2
    assert AuditEvent.objects.filter(action="media.withdrawal_manual").count() == 1


def test_a_withdrawal_deletes_on_x_linkedin_youtube_and_pinterest(
    cast,
    oauth_fake,  # noqa: F811
    x_channel,  # noqa: F811
    linkedin_page,  # noqa: F811
    youtube_channel,  # noqa: F811
    pinterest_channel,  # noqa: F811
    tmp_path,
):
    """One click per published post sends each network's documented delete (X: DELETE
    /2/tweets/:id; LinkedIn: DELETE /rest/posts/{urn}; YouTube: DELETE /youtube/v3/videos?id=;
    Pinterest: DELETE /v5/pins/{id}); a route the fake does not know answers 404, which fails."""
    from chorus.media import consent
    from chorus.media.models import MediaConsent, WithdrawalStep

    photo, clip = _pair(cast, tmp_path, "contributor")
    urn = "urn:li:share:7000000000000000001"
    cases = [
        (x_channel, photo, "1880028106020515841", f"{API}/2/tweets/1880028106020515841",
         httpx.Response(200, json={"data": {"deleted": True}})),
        (linkedin_page, photo, urn, f"{LINKEDIN}/posts/urn%3Ali%3Ashare%3A7000000000000000001", httpx.Response(204)),
        (youtube_channel, clip, "Ks-_Mh1QhMc", "https://www.googleapis.com/youtube/v3/videos", httpx.Response(204)),
        (pinterest_channel, photo, "813744226420795884", "https://api.pinterest.com/v5/pins/813744226420795884",
         httpx.Response(204)),
    ]  # fmt: skip
    targets = []
    for channel, asset, external_id, url, answer in cases:
        target = _target(cast, channel, asset)
        target.status, target.external_id = "published", external_id
        target.save()
        media.sync_usage(target)
        targets.append(target)
        oauth_fake.on("DELETE", url, answer)
    steps = []
    for asset in (photo, clip):
        steps += consent.withdraw(MediaConsent.objects.get(asset=asset), actor=cast.owner, reason="asked")
    by_target = {s.target_id: s for s in steps}
    assert {by_target[t.pk].step for t in targets} == {"to_delete"}
    oauth_fake.sent.clear()
    client = cast.client_for(cast.members["editor"])
    for target, (_channel, asset, _id, url, _answer) in zip(targets, cases, strict=True):
        client.post(
            reverse("media:consent", args=[cast.workspace.slug, asset.pk]),
            {"action": "delete_post", "step": by_target[target.pk].pk},
        )
        step = WithdrawalStep.objects.get(pk=by_target[target.pk].pk)
        assert (step.step, step.detail) == ("deleted", ""), (url, step.detail)
        assert len(oauth_fake.to("DELETE", url)) == 1
    [youtube_delete] = oauth_fake.to("DELETE", "https://www.googleapis.com/youtube/v3/videos")
    assert youtube_delete.url.params["id"] == "Ks-_Mh1QhMc"
