"""On the real local peers (Bluesky's PDS + AppView, WordPress): the bytes that reach the network
carry no location, and a withdrawal holds the scheduled posts and deletes the published ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.approvals import intake
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.base import ContentRejected
from chorus.connectors.bluesky.connector import BlueskyConnector
from chorus.connectors.wordpress.connector import WordPressConnector
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.media import actions as media
from chorus.media.models import MediaAsset, MediaConsent, WithdrawalStep
from chorus.publishing import actions, dispatch, engine
from tests.conftest import Cast
from tests.connectors.bluesky.test_bluesky_peer import Account, appview_get, create_account
from tests.peers.bluesky import BlueskyNetwork
from tests.peers.wordpress import WordPressSite, wordpress_site  # noqa: F401
from tests.safety.files import (
    assert_image_has_no_location,
    assert_video_has_no_location,
    jpeg_with_location,
    video_with_location,
)

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


@pytest.fixture
def peers_ok(settings) -> None:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def author(bluesky_network: BlueskyNetwork) -> Account:
    return create_account(bluesky_network)


@pytest.fixture
def bsky(cast: Cast, bluesky_network: BlueskyNetwork, author: Account, peers_ok) -> Channel:
    result = BlueskyConnector.begin_connect(
        {"handle": f"@{author.handle}", "app_password": author.password, "service": bluesky_network.pds_url,
         "appview": bluesky_network.appview_url},
        callback_url="", state="",
    )  # fmt: skip
    return connect_channel(
        workspace=cast.workspace, kind="bluesky", name=result.name, config=result.config,
        credentials=result.credentials, actor=cast.owner,
    )  # fmt: skip


@pytest.fixture
def wp(cast: Cast, wordpress_site: WordPressSite, peers_ok) -> Channel:  # noqa: F811
    result = WordPressConnector.begin_connect(
        {"site_url": wordpress_site.url, "username": wordpress_site.username,
         "application_password": wordpress_site.application_password},
        callback_url="", state="",
    )  # fmt: skip
    return connect_channel(
        workspace=cast.workspace, kind="wordpress", name=result.name, config=result.config,
        credentials=result.credentials, actor=cast.owner,
    )  # fmt: skip


def _library_asset(cast: Cast, path: Path) -> MediaAsset:
    response = cast.client_for(cast.owner).post(
        reverse("media:upload", args=[cast.workspace.slug]),
        {"files": [SimpleUploadedFile(path.name, path.read_bytes())]},
        HTTP_ACCEPT="application/json",
    )
    return MediaAsset.objects.get(pk=response.json()["results"][0]["id"])


def _contributor_asset(cast: Cast, path: Path) -> MediaAsset:
    _contributor, raw = intake.invite(cast.workspace, actor=cast.owner, name="Amina")
    response = Client().post(
        f"/contribute/{raw}/",
        {"title": "Home", "text": "A story.", "consent": "1", "photos": [SimpleUploadedFile(path.name, path.read_bytes())]},
    )  # fmt: skip
    assert response.status_code == 302
    return MediaAsset.objects.filter(original_name=path.name).get()


def _target(cast: Cast, channel: Channel, asset: MediaAsset, text: str) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text, title=text
    )
    target = post.targets.get()
    actions.edit(target, actor=cast.owner, media=[media.as_post_media(asset, alt="A photo")])
    return PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)


def _bluesky_blob(network: BlueskyNetwork, author: Account, uri: str) -> bytes:
    network.process_all()
    post = appview_get(network, "app.bsky.feed.getPosts", uris=[uri])["posts"][0]
    cid = post["record"]["embed"]["images"][0]["image"]["ref"]["$link"]
    response = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.sync.getBlob", params={"did": author.did, "cid": cid}, timeout=30
    )
    response.raise_for_status()
    return response.content


def _wordpress_media(site: WordPressSite, post_id: str) -> dict:
    with site.client() as client:
        post = client.get(f"{site.url}/wp-json/wp/v2/posts/{post_id}", params={"context": "edit"}).json()
        item: dict = client.get(f"{site.url}/wp-json/wp/v2/media/{post['featured_media']}").json()
    return item


def _wordpress_image(site: WordPressSite, post_id: str) -> bytes:
    return httpx.get(_wordpress_media(site, post_id)["source_url"], timeout=30).content


@pytest.mark.parametrize("path", ["library", "contributor"])
def test_what_reaches_bluesky_and_wordpress_has_no_location(
    cast: Cast, bsky: Channel, wp: Channel, bluesky_network: BlueskyNetwork,
    wordpress_site: WordPressSite, author: Account, tmp_path: Path, path: str,  # noqa: F811
) -> None:  # fmt: skip
    photo = jpeg_with_location(tmp_path / f"{path}.jpg", orientation=6)
    asset = _library_asset(cast, photo) if path == "library" else _contributor_asset(cast, photo)

    on_bluesky = bsky.connector().publish(_target(cast, bsky, asset, "Bluesky"))
    assert_image_has_no_location(_bluesky_blob(bluesky_network, author, on_bluesky.external_id))

    on_wordpress = wp.connector().publish(_target(cast, wp, asset, "WordPress"))
    sent = _wordpress_image(wordpress_site, on_wordpress.external_id)
    assert_image_has_no_location(sent)
    assert sent == Path(media.default_storage.path(asset.path)).read_bytes()  # WordPress keeps our bytes
    assert_image_has_no_location(_served(cast, asset))

    # A video with a location atom, by the same path: the file Chorus serves is clean, and neither
    # connector sends a video (the composer says so; a publish forced past it uploads nothing).
    clip_path = video_with_location(tmp_path / f"{path}.mp4")
    clip = _library_asset(cast, clip_path) if path == "library" else _contributor_asset(cast, clip_path)
    assert_video_has_no_location(_served(cast, clip), tmp_path)
    blobs_before, media_before = (
        _bluesky_blobs(bluesky_network, author),
        _wordpress_media_count(wordpress_site),
    )
    for channel in (bsky, wp):
        target = _target(cast, channel, clip, "A video")
        assert [p.field for p in channel.connector().validate(target)] == ["media"]
        with pytest.raises(ContentRejected):
            channel.connector().publish(target)
    assert _bluesky_blobs(bluesky_network, author) == blobs_before
    assert _wordpress_media_count(wordpress_site) == media_before


def _served(cast: Cast, asset: MediaAsset) -> bytes:
    response = cast.client_for(cast.owner).get(reverse("media:file", args=[cast.workspace.slug, asset.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def _bluesky_blobs(network: BlueskyNetwork, author: Account) -> list[str]:
    response = httpx.get(
        f"{network.pds_url}/xrpc/com.atproto.sync.listBlobs",
        params={"did": author.did, "limit": 1000},
        timeout=30,
    )
    response.raise_for_status()
    return sorted(response.json()["cids"])


def _wordpress_media_count(site: WordPressSite) -> int:
    with site.client() as client:
        answer = client.get(f"{site.url}/wp-json/wp/v2/media", params={"per_page": 1, "context": "edit"})
    answer.raise_for_status()
    return int(answer.headers["X-WP-Total"])


def _publish_now(cast: Cast, target: PostTarget) -> PostTarget:
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, claimed = dispatch.claim_due()
    assert claimed == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    return target


def test_withdrawal_holds_scheduled_posts_and_deletes_published_ones(
    cast: Cast, bsky: Channel, wp: Channel, bluesky_network: BlueskyNetwork,
    wordpress_site: WordPressSite, author: Account, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    asset = _contributor_asset(cast, jpeg_with_location(tmp_path / "amina.jpg"))
    published_bsky = _publish_now(cast, _target(cast, bsky, asset, "Out on Bluesky"))
    published_wp = _publish_now(cast, _target(cast, wp, asset, "Out on WordPress"))
    later = timezone.now() + dt.timedelta(days=3)
    scheduled = [
        _target(cast, bsky, asset, "Later on Bluesky"),
        _target(cast, wp, asset, "Later on WordPress"),
    ]
    for target in scheduled:
        actions.schedule(target, actor=cast.owner, when=later)
    bluesky_network.process_all()
    assert appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[published_bsky.external_id])["posts"]
    # Where the photo itself is served from on each network, to check it is gone afterwards.
    assert_image_has_no_location(_bluesky_blob(bluesky_network, author, published_bsky.external_id))
    blob = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[published_bsky.external_id])
    cid = blob["posts"][0]["record"]["embed"]["images"][0]["image"]["ref"]["$link"]
    wp_media = _wordpress_media(wordpress_site, published_wp.external_id)
    assert httpx.get(wp_media["source_url"], timeout=30).status_code == 200

    # The contributor withdraws (the action behind their link's button; the browser test clicks it).
    record = MediaConsent.objects.get(asset=asset)
    assert intake.withdraw_story(record.contributor, record.story, reason="My family asked me to.") == 1
    home = cast.client_for(cast.members["viewer"]).get(reverse("workspace_home", args=[cast.workspace.slug]))
    assert "Consent withdrawn" in home.content.decode() and "My family asked me to." in home.content.decode()

    for target in scheduled:
        target.refresh_from_db()
        assert (target.status, target.hold_reason) == ("scheduled", "consent_withdrawn")
    steps = {s.target_id: s for s in WithdrawalStep.objects.filter(consent=record)}
    assert {steps[t.pk].step for t in scheduled} == {"held"}
    assert {steps[published_bsky.pk].step, steps[published_wp.pk].step} == {"to_delete"}
    asset.refresh_from_db()
    assert asset.withdrawn_at is not None
    picker = cast.client_for(cast.owner).get(reverse("media:picker", args=[cast.workspace.slug]))
    assert f'data-media-id="{asset.pk}"' not in picker.content.decode()

    # One click per published post, from the asset page.
    client = cast.client_for(cast.members["editor"])
    for target in (published_bsky, published_wp):
        response = client.post(
            reverse("media:consent", args=[cast.workspace.slug, asset.pk]),
            {"action": "delete_post", "step": steps[target.pk].pk},
        )
        assert response.status_code == 302
        assert WithdrawalStep.objects.get(pk=steps[target.pk].pk).step == "deleted"
    bluesky_network.process_all()
    assert (
        appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[published_bsky.external_id])["posts"]
        == []
    )
    with wordpress_site.client() as wp_client:
        gone = wp_client.get(f"{wordpress_site.url}/wp-json/wp/v2/posts/{published_wp.external_id}")
    assert gone.status_code == 404
    # The photo too, not only the post: WordPress keeps a deleted post's attachment (and serves
    # its file) unless it is deleted itself; the PDS drops a blob no record refers to any more.
    with wordpress_site.client() as wp_client:
        media_gone = wp_client.get(f"{wordpress_site.url}/wp-json/wp/v2/media/{wp_media['id']}")
    assert media_gone.status_code == 404
    assert httpx.get(wp_media["source_url"], timeout=30).status_code == 404
    blob_gone = httpx.get(
        f"{bluesky_network.pds_url}/xrpc/com.atproto.sync.getBlob", params={"did": author.did, "cid": cid},
        timeout=30,
    )  # fmt: skip
    assert blob_gone.status_code in (400, 404), blob_gone.status_code

    trail = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    first = trail.index("media.consent_withdrawn")
    after = trail[first:]
    assert after[:2] == ["media.consent_withdrawn", "media.hidden"]
    assert after.count("target.held") == 2 and after.count("media.withdrawal_held") == 2
    assert after.count("media.withdrawal_to_delete") == 2 and after.count("media.withdrawal_deleted") == 2
    assert after.count("media.withdrawal_delete_requested") == 2 and "story.consent_withdrawn" in after
