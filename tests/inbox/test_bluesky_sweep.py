"""The Bluesky notification sweep cursor, page by page, without a network: an interrupted sweep
resumes at its page cursor and stops at the previous sweep's newest notification."""

from __future__ import annotations

import json

from chorus.connectors.bluesky.inbox import next_cursor, sweep_page


def note(n: int, reason: str = "reply") -> dict:
    return {
        "uri": f"at://did:plc:fan/app.bsky.feed.post/{n}",
        "cid": f"c{n}",
        "author": {"did": "did:plc:fan", "handle": "fan.test"},
        "reason": reason,
        "record": {
            "text": f"n{n}",
            "reply": {
                "root": {"uri": "at://us/p/1", "cid": "r"},
                "parent": {"uri": "at://us/p/1", "cid": "r"},
            },
        },
        "indexedAt": f"2026-12-01T10:{n:02d}:00.000Z",  # n minutes past ten
    }


def test_a_sweep_walks_down_to_the_previous_one_and_records_its_top() -> None:
    first = sweep_page({"notifications": [note(9), note(8)], "cursor": "page2"}, None)
    assert first.more and [e.network_id[-1] for e in first.entries] == ["9", "8"]
    assert json.loads(first.cursor) == {"done": "", "top": "2026-12-01T10:09:00.000Z", "next": "page2"}
    assert next_cursor(first.cursor) == "page2" and first.seen_at == ""
    last = sweep_page({"notifications": [note(7)]}, first.cursor)  # no further cursor: the end
    assert not last.more and json.loads(last.cursor)["done"] == "2026-12-01T10:09:00.000Z"
    assert last.seen_at == "2026-12-01T10:09:00.001Z"
    # The next sweep starts at the top and stops two minutes below where this one began (the
    # overlap is read again, then dropped as duplicates by the inbox).
    again = sweep_page({"notifications": [note(11), note(9), note(5)], "cursor": "p"}, last.cursor)
    assert not again.more and [e.network_id[-2:] for e in again.entries] == ["11", "/9"]
    assert next_cursor(again.cursor) == "" and json.loads(again.cursor)["done"] == "2026-12-01T10:11:00.000Z"


def test_kinds_and_thread_references() -> None:
    page = sweep_page({"notifications": [note(1), note(2, "like"), note(3, "mention")]}, None)
    reply, like, mention = page.entries
    assert (reply.kind, like.kind, mention.kind) == ("reply", "like", "mention")
    assert like.is_activity and not reply.is_activity
    assert (reply.root_id, reply.parent_id, reply.extra["root_cid"]) == ("at://us/p/1", "at://us/p/1", "r")
    assert reply.conversation_key() == "at://us/p/1|did:plc:fan"


def test_our_own_posts_are_not_inbox_entries_and_links_follow_the_channels_web_address() -> None:
    ours = {**note(2), "author": {"did": "did:plc:us", "handle": "us.test"}}  # a thread's part 2
    page = sweep_page({"notifications": [note(3), ours, note(1)]}, None, web="", own_did="did:plc:us")
    assert [e.network_id for e in page.entries] == [note(3)["uri"], note(1)["uri"]]
    assert page.entries[0].url == note(3)["uri"]  # no web client for this network: the at:// URI
    assert json.loads(page.cursor)["done"] == "2026-12-01T10:03:00.000Z"  # the sweep still covers it
    on_web = sweep_page({"notifications": [note(3)]}, None, web="https://social.example.org")
    assert on_web.entries[0].url == "https://social.example.org/profile/fan.test/post/3"
    assert sweep_page({"notifications": [note(3)]}, None).entries[0].url.startswith("https://bsky.app/")
