"""Follower counts of Bluesky authors from the AppView's app.bsky.actor.getProfiles (a fake built
from its documented request and response: `actors` repeated, at most 25; `profiles` with `did`,
`handle`, `followersCount`), batched and cached; Mastodon's come with each status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from chorus.core import http
from chorus.listening import actions, profiles
from chorus.listening.models import Match

pytestmark = pytest.mark.django_db


@pytest.fixture
def appview() -> Iterator[list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        actors = request.url.params.get_list("actors")
        found = [
            {"did": did, "handle": f"{did.rsplit(':', 1)[-1]}.test", "followersCount": 1000 + int(did[-2:])}
            for did in actors
            if not did.endswith("99")  # a deleted account: not in the answer
        ]
        return httpx.Response(200, json={"profiles": found})

    cache.clear()
    http.set_transport_for_tests(httpx.MockTransport(answer))
    yield sent
    http.set_transport_for_tests(None)
    cache.clear()


def test_fake_bluesky_followers_are_read_in_batches_of_25_and_cached(cast, appview):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "climat"})
    dids = [f"did:plc:a{n:02d}" for n in range(30)] + ["did:plc:a99"]
    for n, did in enumerate(dids):
        for copy in range(2):  # two matches of each author: one lookup
            Match.objects.create(
                workspace=cast.workspace,
                query=query,
                network="bluesky",
                uri=f"at://{did}/app.bsky.feed.post/{copy}",
                author_id=did,
                text="climat",
                posted_at=timezone.now() - dt.timedelta(minutes=n),
            )
    assert profiles.fill_bluesky_followers("https://appview.test") == 60
    assert [len(r.url.params.get_list("actors")) for r in appview] == [25, 6]
    assert all(r.url.path == "/xrpc/app.bsky.actor.getProfiles" for r in appview)
    five = Match.objects.filter(author_id="did:plc:a05")
    assert {(m.author_followers, m.author_handle) for m in five} == {(1005, "a05.test")}
    assert list(Match.objects.filter(author_id="did:plc:a99").values_list("author_followers", flat=True)) == [
        None,
        None,
    ]  # "unknown", not 0
    # Cached: the unknown author is not asked again, a new match of a known author needs no request.
    Match.objects.create(
        workspace=cast.workspace,
        query=query,
        network="bluesky",
        uri="at://did:plc:a05/app.bsky.feed.post/9",
        author_id="did:plc:a05",
        text="climat",
        posted_at=timezone.now(),
    )
    appview.clear()
    assert profiles.fill_bluesky_followers("https://appview.test") == 1
    assert appview == []
    assert Match.objects.get(uri="at://did:plc:a05/app.bsky.feed.post/9").author_followers == 1005


def test_fake_an_appview_failure_leaves_the_counts_unknown(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "climat"})
    Match.objects.create(
        workspace=cast.workspace,
        query=query,
        network="bluesky",
        uri="at://did:plc:x/app.bsky.feed.post/1",
        author_id="did:plc:x",
        text="climat",
        posted_at=timezone.now(),
    )
    cache.clear()
    http.set_transport_for_tests(httpx.MockTransport(lambda r: httpx.Response(502)))
    try:
        assert profiles.fill_bluesky_followers("https://appview.test") == 0
    finally:
        http.set_transport_for_tests(None)
    assert Match.objects.get().author_followers is None
    assert cache.get("listening:bsky-followers:did:plc:x") is None  # asked again next run
