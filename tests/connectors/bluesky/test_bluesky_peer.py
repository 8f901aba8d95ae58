"""The connector against a real local Bluesky network (PDS + AppView from @atproto/dev-env)."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone
from PIL import Image

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.bluesky.connector import BlueskyConnector, record_key
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.conftest import Cast
from tests.peers.bluesky import BlueskyNetwork

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


@dataclass
class Account:
    handle: str
    password: str
    did: str
    access: str


def create_account(network: BlueskyNetwork) -> Account:
    handle = f"u{secrets.token_hex(5)}{network.handle_domain}"
    password = secrets.token_urlsafe(12)
    response = httpx.post(
        f"{network.pds_url}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@example.org", "password": password},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    return Account(handle, password, body["did"], body["accessJwt"])


def write_record(network: BlueskyNetwork, account: Account, collection: str, record: dict[str, Any]) -> None:
    response = httpx.post(
        f"{network.pds_url}/xrpc/com.atproto.repo.createRecord",
        headers={"Authorization": f"Bearer {account.access}"},
        json={"repo": account.did, "collection": collection, "record": record},
        timeout=30,
    )
    response.raise_for_status()


def appview_get(network: BlueskyNetwork, nsid: str, **params: Any) -> Any:
    response = httpx.get(f"{network.appview_url}/xrpc/{nsid}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def peer_settings(settings: Any, tmp_path: Path) -> Path:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def author(bluesky_network: BlueskyNetwork) -> Account:
    return create_account(bluesky_network)


@pytest.fixture
def channel(cast: Cast, bluesky_network: BlueskyNetwork, author: Account, peer_settings: Path) -> Channel:
    result = BlueskyConnector.begin_connect(
        {
            "handle": f"@{author.handle}",
            "app_password": author.password,
            "service": bluesky_network.pds_url,
            "appview": bluesky_network.appview_url,
        },
        callback_url="",
        state="",
    )
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


def make_target(cast: Cast, channel: Channel, text: str, **fields: Any) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text
    )
    target = post.targets.get()
    for name, value in fields.items():
        setattr(target, name, value)
    target.save()
    return PostTarget.objects.select_related("channel", "workspace").get(pk=target.pk)


def png(path: Path, size: tuple[int, int], color: str) -> None:
    Image.new("RGB", size, color).save(path, "PNG")


@pytest.fixture
def link_page() -> Iterator[str]:
    """A page with OpenGraph tags and its picture, served on 127.0.0.1."""
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), "teal").save(buffer, "PNG")
    picture = buffer.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/card.png":
                body, kind = picture, "image/png"
            else:
                body = (
                    b"<html><head><title>Fallback</title>"
                    b'<meta property="og:title" content="March for the climate">'
                    b'<meta property="og:description" content="Saturday, 14:00, Place de la R\xc3\xa9publique">'
                    b'<meta property="og:image" content="/card.png"></head><body>Hi</body></html>'
                )
                kind = "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/march"
    finally:
        server.shutdown()
        server.server_close()


def test_it_connects_once_and_checks_the_session(channel: Channel, author: Account) -> None:
    assert channel.name == f"@{author.handle}"
    assert channel.config["did"] == author.did
    assert set(channel.credentials) == {"accessJwt", "refreshJwt", "appPassword"}
    assert channel.connector().check() == f"Connected as @{author.handle}"


def test_it_publishes_text_with_facets_and_metrics_follow(
    cast: Cast, channel: Channel, author: Account, bluesky_network: BlueskyNetwork
) -> None:
    fan = create_account(bluesky_network)
    bluesky_network.process_all()
    text = f"Été 🌍 avec @{fan.handle} #Climat https://example.org/é"
    target = make_target(cast, channel, text, options={"langs": ["fr"]})
    connector = channel.connector()
    assert connector.validate(target) == []

    result = connector.publish(target)
    assert result.external_id == f"at://{author.did}/app.bsky.feed.post/{record_key(target)}"
    # This network does not federate with bsky.app and no web address is set: the at:// URI.
    assert result.url == result.external_id
    record = httpx.get(
        f"{bluesky_network.pds_url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": author.did, "collection": "app.bsky.feed.post", "rkey": record_key(target)},
        timeout=30,
    ).json()
    assert record["value"]["text"] == target.text
    bluesky_network.process_all()

    post = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[result.external_id])["posts"][0]
    record = post["record"]
    assert record["text"] == text and record["langs"] == ["fr"]
    data = text.encode()
    spans = {
        f["features"][0]["$type"]: data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode()
        for f in record["facets"]
    }
    assert spans == {
        "app.bsky.richtext.facet#mention": f"@{fan.handle}",
        "app.bsky.richtext.facet#tag": "#Climat",
        "app.bsky.richtext.facet#link": "https://example.org/é",
    }

    strong_ref = {"uri": post["uri"], "cid": post["cid"]}
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    write_record(bluesky_network, fan, "app.bsky.feed.like", {"subject": strong_ref, "createdAt": now})
    write_record(bluesky_network, fan, "app.bsky.feed.repost", {"subject": strong_ref, "createdAt": now})
    bluesky_network.process_all()
    target.external_id = result.external_id
    assert connector.post_metrics(target) == {"likes": 1, "reposts": 1, "replies": 0, "quotes": 0}
    assert connector.account_metrics()["posts"] == 1


def test_a_retried_publish_collides_instead_of_duplicating(
    cast: Cast, channel: Channel, author: Account, bluesky_network: BlueskyNetwork
) -> None:
    target = make_target(cast, channel, "Only once, please.")
    connector = channel.connector()
    assert connector.lookup(target) is None
    first = connector.publish(target)
    second = connector.publish(target)  # the worker died after sending: the same target again
    assert second == first
    assert connector.lookup(target) == first
    bluesky_network.process_all()
    feed = appview_get(bluesky_network, "app.bsky.feed.getAuthorFeed", actor=author.did)["feed"]
    assert [item["post"]["uri"] for item in feed] == [first.external_id]

    connector.delete(target)
    assert connector.lookup(target) is None


def test_it_uploads_images_with_alt_text_under_the_size_cap(
    cast: Cast, channel: Channel, bluesky_network: BlueskyNetwork, peer_settings: Path
) -> None:
    noisy = Image.effect_noise((3000, 1500), 100).convert("RGB")  # ~13 MB raw: must be shrunk
    noisy.save(peer_settings / "big.png", "PNG")
    png(peer_settings / "small.png", (400, 300), "orange")
    media = [
        {"path": "big.png", "alt": "Marchers on the bridge"},
        {"path": str(peer_settings / "small.png"), "alt": "Logo"},
    ]
    target = make_target(cast, channel, "Photos 📷", media=media)
    result = channel.connector().publish(target)
    bluesky_network.process_all()

    post = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[result.external_id])["posts"][0]
    images = post["embed"]["images"]
    assert [image["alt"] for image in images] == ["Marchers on the bridge", "Logo"]
    assert images[0]["aspectRatio"]["width"] == 2 * images[0]["aspectRatio"]["height"]
    blobs = [image["image"] for image in post["record"]["embed"]["images"]]
    assert all(blob["size"] <= BlueskyConnector.max_image_bytes for blob in blobs)


def test_it_attaches_a_link_card_with_its_picture(
    cast: Cast, channel: Channel, bluesky_network: BlueskyNetwork, link_page: str
) -> None:
    target = make_target(cast, channel, "Join us", options={"link_card": link_page})
    result = channel.connector().publish(target)
    bluesky_network.process_all()

    post = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[result.external_id])["posts"][0]
    external = post["record"]["embed"]["external"]
    assert external["uri"] == link_page
    assert external["title"] == "March for the climate"
    assert external["description"] == "Saturday, 14:00, Place de la République"
    assert external["thumb"]["mimeType"] == "image/jpeg"


def test_it_publishes_a_long_text_as_a_thread(
    cast: Cast, channel: Channel, author: Account, bluesky_network: BlueskyNetwork
) -> None:
    text = "Nous marchons ensemble pour le climat 🌍. " * 20
    target = make_target(cast, channel, text, options={"thread": True})
    connector = channel.connector()
    assert connector.quota_cost(target) == {"write_points": 9}
    result = connector.publish(target)
    bluesky_network.process_all()

    thread = appview_get(bluesky_network, "app.bsky.feed.getPostThread", uri=result.external_id)["thread"]
    first_reply = thread["replies"][0]
    second_reply = first_reply["replies"][0]
    assert second_reply["post"]["record"]["reply"]["root"]["uri"] == result.external_id
    assert second_reply["post"]["record"]["reply"]["parent"]["uri"] == first_reply["post"]["uri"]
    assert second_reply["post"]["uri"].endswith(record_key(target, 2))

    connector.delete(target)
    bluesky_network.process_all()
    feed = appview_get(bluesky_network, "app.bsky.feed.getAuthorFeed", actor=author.did)["feed"]
    assert feed == []


def test_a_thread_cut_short_by_a_crash_reads_as_absent_and_is_completed_without_duplicates(
    cast: Cast, channel: Channel, author: Account, bluesky_network: BlueskyNetwork, monkeypatch
) -> None:
    text = "Nous marchons ensemble pour le climat 🌍. " * 20
    target = make_target(cast, channel, text, options={"thread": True})
    connector = channel.connector()
    real_create = type(connector)._create
    created: list[str] = []

    def create_then_die(self, pds, rkey, record):  # the worker dies after the first part
        if created:
            raise SystemExit("worker killed")
        created.append(rkey)
        return real_create(self, pds, rkey, record)

    monkeypatch.setattr(type(connector), "_create", create_then_die)
    with pytest.raises(SystemExit):
        connector.publish(target)
    monkeypatch.setattr(type(connector), "_create", real_create)
    assert created == [record_key(target, 0)]
    assert connector.lookup(target) is None  # the first part alone is not the post

    result = connector.publish(target)  # what reconciliation's "not found" leads to
    assert connector.lookup(target) == result
    bluesky_network.process_all()
    feed = appview_get(bluesky_network, "app.bsky.feed.getAuthorFeed", actor=author.did)["feed"]
    uris = sorted(item["post"]["uri"] for item in feed)
    assert uris == sorted(f"at://{author.did}/app.bsky.feed.post/{record_key(target, i)}" for i in range(3))


def test_the_engine_publishes_a_due_target(
    cast: Cast, channel: Channel, bluesky_network: BlueskyNetwork
) -> None:
    target = make_target(cast, channel, "Scheduled by Chorus 🗓️")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, claimed = dispatch.claim_due()
    assert claimed == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED
    assert target.external_url == f"at://{channel.config['did']}/app.bsky.feed.post/{record_key(target)}"


def test_it_refreshes_an_expired_session_and_keeps_the_refresh_token(channel: Channel) -> None:
    old = channel.credentials
    connector = channel.connector()
    connector.refresh_credentials()
    channel.refresh_from_db()
    new = channel.credentials
    # The refresh token rotates (it carries a fresh id); access tokens minted in the same second as
    # the login can be byte-identical, so they are not compared.
    assert new["accessJwt"] and new["refreshJwt"] and new["refreshJwt"] != old["refreshJwt"]
    assert new["appPassword"] == old["appPassword"]
    assert channel.connector().check().startswith("Connected as @")


def create_post(network: BlueskyNetwork, account: Account, record: dict[str, Any]) -> dict[str, str]:
    response = httpx.post(
        f"{network.pds_url}/xrpc/com.atproto.repo.createRecord",
        headers={"Authorization": f"Bearer {account.access}"},
        json={"repo": account.did, "collection": "app.bsky.feed.post", "record": record},
        timeout=30,
    )
    response.raise_for_status()
    return {"uri": response.json()["uri"], "cid": response.json()["cid"]}


def test_it_replies_to_and_quotes_another_accounts_post_found_on_the_appview(
    cast: Cast, channel: Channel, bluesky_network: BlueskyNetwork
) -> None:
    fan = create_account(bluesky_network)
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    root = create_post(bluesky_network, fan, {"text": "Marche samedi #climat", "createdAt": now})
    child = create_post(
        bluesky_network,
        fan,
        {"text": "Départ à 14 h", "createdAt": now, "reply": {"root": root, "parent": root}},
    )
    bluesky_network.process_all()

    reply = make_target(cast, channel, "Nous y serons", options={"reply_to": child["uri"]})
    replied = channel.connector().publish(reply)
    quote = make_target(cast, channel, "À lire", options={"quote": child["uri"]})
    quoted = channel.connector().publish(quote)
    bluesky_network.process_all()
    posts = {
        p["uri"]: p
        for p in appview_get(
            bluesky_network, "app.bsky.feed.getPosts", uris=[replied.external_id, quoted.external_id]
        )["posts"]
    }
    # The reply names the post it answers and that post's thread root, both by URI and CID.
    assert posts[replied.external_id]["record"]["reply"] == {"root": root, "parent": child}
    embed = posts[quoted.external_id]["record"]["embed"]
    assert embed == {"$type": "app.bsky.embed.record", "record": child}
    thread = appview_get(bluesky_network, "app.bsky.feed.getPostThread", uri=child["uri"])["thread"]
    assert [r["post"]["uri"] for r in thread.get("replies", [])] == [replied.external_id]
