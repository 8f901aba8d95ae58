"""Firehose frames -> decoded events -> matches stored with the cursor in one transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from bench._firehose_frames import commit_frame, error_frame, frame, post_record, stream
from django.utils import timezone

from chorus.core import health
from chorus.listening import actions
from chorus.listening.models import Match, StreamCursor
from chorus.listening.stream import (
    MAX_FRAME_BYTES,
    Consumer,
    Enricher,
    StreamError,
    claim,
    decode_frame,
    load_matcher,
    process,
    store,
)

ALICE = "did:plc:alice0000000000000000000"


def test_decode_commit_keeps_only_posts_and_their_deletes():
    raw = commit_frame(
        7,
        ALICE,
        [
            ("create", "app.bsky.feed.post/3kaaa", post_record("Hello #chorus", tags=("chorus",))),
            ("create", "app.bsky.feed.like/3kbbb", {"$type": "app.bsky.feed.like", "subject": {}}),
            ("delete", "app.bsky.feed.post/3kccc", None),
        ],
        time="2026-12-07T06:00:01.500Z",
    )
    event = decode_frame(raw)
    assert event.seq == 7 and event.kind == "commit" and event.repo == ALICE
    assert [path for path, _record in event.posts] == ["app.bsky.feed.post/3kaaa"]
    assert event.posts[0][1]["text"] == "Hello #chorus"
    assert event.deletes == ["app.bsky.feed.post/3kccc"]
    assert event.time == dt.datetime(2026, 12, 7, 6, 0, 1, 500000, tzinfo=dt.UTC)


def test_error_undecodable_and_oversized_frames_are_clear_errors():
    with pytest.raises(StreamError, match="FutureCursor: cursor in the future"):
        decode_frame(error_frame("FutureCursor", "cursor in the future"))
    with pytest.raises(StreamError, match="undecodable"):
        decode_frame(b"\xff\x00garbage")
    with pytest.raises(StreamError, match="byte budget"):
        decode_frame(b"\x00" * (MAX_FRAME_BYTES + 1))


def test_outdated_cursor_info_is_seen():
    event = decode_frame(frame("info", {"name": "OutdatedCursor", "message": "too old"}))
    assert event.kind == "info" and event.info == "OutdatedCursor"


@pytest.mark.django_db
def test_process_and_store_commit_matches_and_cursor_together(cast):
    query = actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "climat"})
    other = actions.create_query(
        cast.other_workspace, actor=None, data={"name": "Q2", "hashtags": ["chorus"], "languages": ["en"]}
    )
    frames = [
        commit_frame(
            1,
            ALICE,
            [("create", "app.bsky.feed.post/3kaaa", post_record("Marche pour le climat, bravo à tous !"))],
        ),
        commit_frame(
            2,
            ALICE,
            [
                (
                    "create",
                    "app.bsky.feed.post/3kbbb",
                    post_record("Great day for the #chorus", tags=("chorus",)),
                )
            ],
        ),
        commit_frame(3, ALICE, [("create", "app.bsky.feed.post/3kccc", post_record("Nothing to see here"))]),
    ]
    batch = process([decode_frame(f) for f in frames], load_matcher("bluesky"), Enricher())
    StreamCursor.objects.create(source="bluesky:test")
    assert claim("bluesky:test", "me") is not None
    assert store("bluesky:test", batch, owner="me") == 2
    fr = Match.objects.get(query=query)
    assert (fr.language, fr.sentiment, fr.workspace_id) == ("fr", "positive", cast.workspace.pk)
    assert fr.uri == f"at://{ALICE}/app.bsky.feed.post/3kaaa"
    assert fr.url == f"https://bsky.app/profile/{ALICE}/post/3kaaa"
    en = Match.objects.get(query=other)
    assert en.hashtags == ["chorus"] and en.language == "en" and en.workspace_id == cast.other_workspace.pk
    row = StreamCursor.objects.get(source="bluesky:test")
    assert row.cursor == "3" and row.events == 3

    # Replaying the same events (a restart before the cursor moved) stores nothing twice.
    store(
        "bluesky:test",
        process([decode_frame(f) for f in frames], load_matcher("bluesky"), Enricher()),
        owner="me",
    )
    assert Match.objects.count() == 2

    # A delete of a matched post removes its matches.
    gone = commit_frame(4, ALICE, [("delete", "app.bsky.feed.post/3kaaa", None)])
    store("bluesky:test", process([decode_frame(gone)], load_matcher("bluesky"), Enricher()), owner="me")
    assert not Match.objects.filter(query=query).exists()
    assert StreamCursor.objects.get(source="bluesky:test").cursor == "4"


@pytest.mark.django_db
def test_a_consumer_without_the_lease_writes_nothing(cast):
    actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "climat"})
    StreamCursor.objects.create(source="bluesky:test")
    assert claim("bluesky:test", "first") is not None
    assert claim("bluesky:test", "second") is None  # the first holds it
    raw = commit_frame(1, ALICE, [("create", "app.bsky.feed.post/3kaaa", post_record("le climat"))])
    batch = process([decode_frame(raw)], load_matcher("bluesky"), Enricher())
    with pytest.raises(StreamError, match="lost the lease"):
        store("bluesky:test", batch, owner="second")
    assert not Match.objects.exists()
    assert StreamCursor.objects.get(source="bluesky:test").cursor == ""


@pytest.mark.django_db
def test_lag_and_gap_reach_health(cast):
    consumer = Consumer("http://127.0.0.1:1")
    row = claim(consumer.source, consumer.owner)
    old = timezone.now() - dt.timedelta(hours=80)
    StreamCursor.objects.filter(pk=row.pk).update(cursor="10", event_time=old)
    consumer._check_replay_window(StreamCursor.objects.get(pk=row.pk))
    events = [decode_frame(f) for f in stream(40, seed=3)]
    for event in events:
        event.time = timezone.now() - dt.timedelta(seconds=120)
    events[0].time = timezone.now() - dt.timedelta(seconds=140)
    consumer.flush(events)
    section = health.check().as_json()["listening"]["streams"][0]
    assert section["source"] == "bluesky:127.0.0.1:1"
    assert 119 <= section["lag_seconds"] <= 130
    assert section["lag_events"] > 0  # 40 events over 20 s of event time, 120 s behind: ~240
    assert section["gap"]["from"] == old.isoformat()
    assert section["running"] is True


@pytest.mark.django_db
def test_a_match_keeps_what_a_reply_to_it_needs(cast):
    """The post's CID and, for a reply, its thread's root: the inbox answers a match with them."""
    import libipld

    actions.create_query(cast.workspace, actor=None, data={"name": "Q", "expression": "climat"})
    root = {"uri": f"at://{ALICE}/app.bsky.feed.post/3kroot", "cid": "bafyreiroot"}
    record = post_record("Et la marche pour le climat ?")
    record["reply"] = {"root": root, "parent": root}
    frame = commit_frame(1, ALICE, [("create", "app.bsky.feed.post/3kddd", record)])
    StreamCursor.objects.create(source="bluesky:test")
    assert claim("bluesky:test", "me") is not None
    store("bluesky:test", process([decode_frame(frame)], load_matcher("bluesky"), Enricher()), owner="me")
    match = Match.objects.get()
    sent_cid = libipld.decode_dag_cbor_multi(frame)[1]["ops"][0]["cid"]
    assert match.cid == libipld.encode_cid(sent_cid) and match.cid.startswith("bafyrei")
    assert (match.root_uri, match.root_cid) == (root["uri"], "bafyreiroot")
