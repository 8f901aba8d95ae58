"""The Bluesky peer is real: accounts, a post under a client-chosen rkey, a like, AppView indexing."""

from __future__ import annotations

import secrets
import time

import pytest
from atproto import Client, models
from atproto_client.exceptions import BadRequestError, RequestErrorBase

from tests.peers.bluesky import BlueskyNetwork

pytestmark = pytest.mark.peer

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def make_tid() -> str:
    """A record key in TID form (13 chars, base32-sortable): microseconds << 10 | random clock id.

    app.bsky.feed.post declares `"key": "tid"`, so a client-chosen rkey for a post must look like this.
    """
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def create_accounts(network: BlueskyNetwork, count: int) -> list[Client]:
    """Fresh accounts on the PDS, each with a logged-in client (`client.me` is its profile)."""
    credentials = []
    for _ in range(count):
        # The PDS wants the part before ".test" to be 3-18 characters.
        handle = f"u{secrets.token_hex(5)}{network.handle_domain}"
        password = secrets.token_urlsafe(12)
        Client(base_url=network.pds_url).com.atproto.server.create_account(
            models.ComAtprotoServerCreateAccount.Data(
                handle=handle, email=f"{handle}@example.org", password=password
            )
        )
        credentials.append((handle, password))
    # login() also fetches the profile (app.bsky.actor.getProfile, proxied by the PDS to the
    # AppView), and the SDK's helpers such as like() and send_post() need it (LoginRequiredError
    # otherwise). Right after createAccount that lookup races the AppView's indexing: index first,
    # as here, or pass login(..., fetch_bsky_profile=False) and write with com.atproto.repo.*.
    network.process_all()
    clients = []
    for handle, password in credentials:
        client = Client(base_url=network.pds_url)
        profile = client.login(handle, password)
        assert profile is not None and profile.handle == handle
        assert profile.did.startswith("did:plc:")
        clients.append(client)
    return clients


def test_post_with_client_rkey_is_idempotent_and_like_counts(bluesky_network: BlueskyNetwork) -> None:
    author, fan = create_accounts(bluesky_network, 2)
    assert author.me is not None
    author_did = author.me.did

    rkey = make_tid()
    record = models.AppBskyFeedPost.Record(text="Hello from Chorus", created_at=author.get_current_time_iso())
    created = author.com.atproto.repo.create_record(
        models.ComAtprotoRepoCreateRecord.Data(
            repo=author_did, collection="app.bsky.feed.post", rkey=rkey, record=record
        )
    )
    assert created.uri == f"at://{author_did}/app.bsky.feed.post/{rkey}"

    # The same rkey again is refused, so a retried publish cannot create a second post. This PDS
    # (0.4.x) answers with a bare 500 InternalServerError (its log says "There is already a value at
    # key: app.bsky.feed.post/<rkey>"), not a 400: a connector must not read a 500 on a retry as
    # "not published" but look the record up with getRecord, as done below.
    with pytest.raises(RequestErrorBase) as refused:
        author.com.atproto.repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=author_did, collection="app.bsky.feed.post", rkey=rkey, record=record
            )
        )
    assert refused.value.response is not None
    assert refused.value.response.status_code in (400, 500)
    listed = author.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=author_did, collection="app.bsky.feed.post")
    )
    assert [r.uri for r in listed.records] == [created.uri]
    found = author.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=author_did, collection="app.bsky.feed.post", rkey=rkey)
    )
    assert found.cid == created.cid

    # A post's rkey must be a TID: anything else is a 400 before anything is written.
    with pytest.raises(BadRequestError, match="Invalid record key"):
        author.com.atproto.repo.create_record(
            models.ComAtprotoRepoCreateRecord.Data(
                repo=author_did, collection="app.bsky.feed.post", rkey="chorus-post-1", record=record
            )
        )

    fan.like(created.uri, created.cid)
    bluesky_network.process_all()

    appview = Client(base_url=bluesky_network.appview_url)
    posts = appview.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=[created.uri])).posts
    assert len(posts) == 1
    assert posts[0].record.text == "Hello from Chorus"
    assert posts[0].like_count == 1
