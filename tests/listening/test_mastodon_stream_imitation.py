"""Mastodon's streaming API (Server-Sent Events) for listening, against PyPI `mastodon_mock` — an
imitation of the Mastodon API on 127.0.0.1, not a real Mastodon server — with the Mastodon 4.2
rule that public and hashtag streams need a user token added to the imitation
(tests/connectors/mastodon/conftest.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from chorus.listening import actions, mastodon, mastodon_stream, notes, stream
from chorus.listening.models import Match, StreamCursor
from tests.connectors.mastodon.conftest import connect_via_oauth

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _private_urls(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the imitation listens on 127.0.0.1


def toot(imitation, text: str, token: str = "bob_token") -> dict:
    answer = httpx.post(
        f"{imitation.base_url}/api/v1/statuses",
        data={"status": text, "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return answer.json()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def tag_query(cast, imitation, workspace=None):
    return actions.create_query(
        workspace or cast.workspace,
        actor=None,
        data={"name": "Tag", "hashtags": ["#chorus"], "mastodon_instance": imitation.base_url},
    )


class Running:
    def __init__(self, consumer: mastodon_stream.MastodonStream) -> None:
        self.consumer = consumer
        self.stop = threading.Event()
        self.thread = threading.Thread(target=consumer.run, kwargs={"stop": self.stop}, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        # Live once the catch-up is done: the lease is held and the stream has answered.
        wait_for(
            lambda: StreamCursor.objects.filter(
                source=self.consumer.source, lease_owner=self.consumer.owner
            ).exists()
        )
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


@pytest.fixture
def streaming(mastodon_imitation) -> Iterator[Callable[..., Running]]:
    def make(token: str = "alice_token", **kwargs) -> Running:
        return Running(mastodon_stream.MastodonStream(mastodon_imitation.base_url, "chorus", token, **kwargs))

    yield make


def test_imitation_hashtag_and_public_streams_need_a_user_token(mastodon_imitation):
    base = mastodon_imitation.base_url
    for path, params in (("/api/v1/streaming/hashtag", {"tag": "chorus"}), ("/api/v1/streaming/public", {})):
        assert httpx.get(f"{base}{path}", params=params).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert httpx.get(f"{base}{path}", params=params, headers=bad).status_code == 401
        good = {"Authorization": "Bearer alice_token"}
        with httpx.stream("GET", f"{base}{path}", params=params, headers=good, timeout=5) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            assert next(answer.iter_raw()).startswith(b":")  # the imitation's ":connected" comment


def test_imitation_a_refused_token_is_noted_and_leaves_the_source_to_the_poll(cast, mastodon_imitation):
    query = tag_query(cast, mastodon_imitation)
    consumer = mastodon_stream.MastodonStream(mastodon_imitation.base_url, "chorus", "not-a-token")
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    wait_for(
        lambda: StreamCursor.objects.filter(source=consumer.source, note__contains='"status": 401').exists()
    )
    row = StreamCursor.objects.get(source=consumer.source)
    assert "refused the token of its Mastodon channel (HTTP 401)" in notes.text(row.note)
    assert row.lease_owner == ""  # released: the poll reads the source meanwhile
    toot(mastodon_imitation, "Polled anyway #chorus")
    assert mastodon.poll(query) == 1
    stop.set()
    thread.join(timeout=10)


def test_imitation_stream_delivers_matches_once_with_the_cursor(cast, mastodon_imitation, streaming):
    query = tag_query(cast, mastodon_imitation)
    other = tag_query(cast, mastodon_imitation, workspace=cast.other_workspace)  # same tag, other workspace
    first = toot(mastodon_imitation, "Avant le flux #chorus")
    with streaming() as running:
        assert Match.objects.filter(query=query, uri=first["uri"]).exists()  # the first page, caught up
        sent = [toot(mastodon_imitation, f"Marche pour le climat {i} #chorus") for i in range(5)]
        toot(mastodon_imitation, "Sans le mot-dièse")
        wait_for(lambda: Match.objects.filter(query=query).count() == 6)
        row = StreamCursor.objects.get(source=running.consumer.source)
        assert row.cursor == sent[-1]["id"]
        assert Match.objects.get(query=query, uri=sent[0]["uri"]).cid == sent[0]["id"]
        assert row.lease_owner == running.consumer.owner
        # A status deleted on the instance leaves the matches (the stream's `delete` event).
        gone = toot(mastodon_imitation, "Supprimé bientôt #chorus")
        wait_for(lambda: Match.objects.filter(uri=gone["uri"]).count() == 2)
        httpx.delete(
            f"{mastodon_imitation.base_url}/api/v1/statuses/{gone['id']}",
            headers={"Authorization": "Bearer bob_token"},
        ).raise_for_status()
        wait_for(lambda: not Match.objects.filter(uri=gone["uri"]).exists())
        # While the stream holds the source, the poll leaves it alone.
        assert mastodon.poll(query) == 0
        status = next(s for s in stream.stream_status() if s["source"] == row.source)
        assert status["running"] and status["lag_seconds"] < 60
    for q in (query, other):
        uris = list(Match.objects.filter(query=q).values_list("uri", flat=True))
        assert sorted(uris) == sorted([first["uri"], *(s["uri"] for s in sent)])  # each once
    match = Match.objects.get(query=query, uri=sent[0]["uri"])
    followers = sent[0]["account"]["followers_count"]  # the seeded bob has a follower
    assert followers > 0
    host = mastodon.host_of(mastodon_imitation.base_url)
    assert (match.network, match.author_handle, match.author_followers) == (
        "mastodon",
        f"bob@{host}",
        followers,
    )


def test_imitation_a_disconnect_mid_stream_loses_nothing(cast, mastodon_imitation, streaming, monkeypatch):
    query = tag_query(cast, mastodon_imitation)
    with streaming():
        before = toot(mastodon_imitation, "Un #chorus")
        wait_for(lambda: Match.objects.filter(uri=before["uri"]).exists())
    # Nobody streams: statuses posted now reach us only through the catch-up by min_id.
    missed = [toot(mastodon_imitation, f"Pendant la coupure {i} #chorus") for i in range(3)]
    # A status event a little over the size of these: the long one below is over the budget.
    budget = len(json.dumps(missed[0], separators=(",", ":"))) + 150
    monkeypatch.setattr(mastodon_stream, "MAX_EVENT_BYTES", budget)
    with streaming() as running:
        wait_for(lambda: Match.objects.filter(query=query).count() == 4)
        # An event over the budget drops the connection mid-stream: the reconnect's catch-up reads
        # that status from the timeline (the REST API's own budget) instead, and the stream goes on.
        long = toot(mastodon_imitation, "Un long message sur le climat " + "très long " * 20 + "#chorus")
        wait_for(lambda: Match.objects.filter(uri=long["uri"]).exists(), seconds=15)
        after = toot(mastodon_imitation, "Après la reconnexion #chorus")
        wait_for(lambda: Match.objects.filter(uri=after["uri"]).exists(), seconds=15)
        assert running.consumer.reconnects >= 1
    uris = [m.uri for m in Match.objects.filter(query=query)]
    assert len(uris) == len(set(uris)) == 6
    assert set(uris) == {before["uri"], *(s["uri"] for s in missed), long["uri"], after["uri"]}


def test_sse_parser_events_heartbeats_and_budget():
    chunks = [b':connected\n\nevent: update\ndata: {"id":', b'"1"}\n\n:thump\n\nevent: delete\ndata: 7\n\n']
    got = list(mastodon_stream.sse_events(iter(chunks)))
    assert got == [
        None,
        mastodon_stream.SseEvent("update", '{"id":"1"}'),
        None,
        mastodon_stream.SseEvent("delete", "7"),
    ]
    with pytest.raises(mastodon_stream.EventTooLarge, match="over 1 KB"):
        list(mastodon_stream.sse_events(iter([b"event: update\ndata: " + b"x" * 2000]), max_bytes=1024))
    with pytest.raises(mastodon_stream.EventTooLarge):
        list(mastodon_stream.sse_events(iter([b"event: update\n", b"data: x\n" * 200]), max_bytes=1024))


def test_imitation_the_stream_token_is_a_channel_on_that_instance(cast, mastodon_imitation):
    query = tag_query(cast, mastodon_imitation)
    source = mastodon.source_for(query.mastodon_instance, "chorus")
    assert mastodon_stream.token_for(source) == ""  # no channel yet: polling only
    connect_via_oauth(cast, mastodon_imitation.base_url)
    token = mastodon_stream.token_for(source)
    assert token
    me = httpx.get(
        f"{mastodon_imitation.base_url}/api/v1/accounts/verify_credentials",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert me.json()["username"] == "alice"
    tag_query(cast, mastodon_imitation, workspace=cast.other_workspace)
    other_source_token = mastodon_stream.token_for(source)
    assert other_source_token == token  # one stream serves both workspaces' queries


def test_imitation_run_all_streams_each_source_with_a_channel_and_notes_the_others(cast, mastodon_imitation):
    """`chorus listen --mastodon`'s loop: a thread per (instance, hashtag) a query names, when the
    workspace has a Mastodon channel there; the other sources are noted as polled only."""
    query = tag_query(cast, mastodon_imitation)
    elsewhere = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Other", "hashtags": ["#vote"], "mastodon_instance": "https://social.example"},
    )
    connect_via_oauth(cast, mastodon_imitation.base_url)
    stop = threading.Event()
    loop = threading.Thread(target=mastodon_stream.run_all, kwargs={"stop": stop, "refresh_seconds": 0.5})
    loop.start()
    try:
        source = mastodon.source_for(query.mastodon_instance, "chorus")
        wait_for(lambda: StreamCursor.objects.filter(source=source).exclude(lease_owner="").exists())
        time.sleep(0.5)
        sent = toot(mastodon_imitation, "En direct #chorus")
        wait_for(lambda: Match.objects.filter(query=query, uri=sent["uri"]).exists())
        other = StreamCursor.objects.get(source=mastodon.source_for(elsewhere.mastodon_instance, "vote"))
        assert "no Mastodon channel on social.example" in notes.text(other.note)
    finally:
        stop.set()
        loop.join(timeout=15)
    assert not loop.is_alive()
    assert StreamCursor.objects.get(source=source).lease_owner == ""  # released on the way out
