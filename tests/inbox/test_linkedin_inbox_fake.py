"""LinkedIn comments in the inbox against a fake of the versioned REST API (payloads in
tests/connectors/linkedin/fixtures, shaped after the Posts API's q=author and the Comments API in
learn.microsoft.com/linkedin): the exact requests of a sweep and a reply (a comment on the
thread's top-level comment with "parentComment"), the next sweep resuming at each post's offset,
a comment arriving twice stored once, and the replies to a comment (LinkedIn lists them apart, at
socialActions/{comment urn}/comments) found through the post's social summary (its reply count
grew: the post's comments are read again and each comment's commentsSummary says where), also a
first reply under a comment that had none."""

from __future__ import annotations

import httpx
import pytest

from chorus.channels.models import Channel
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from tests.conftest import Cast
from tests.connectors.linkedin.conftest import linkedin_channel, linkedin_page  # noqa: F401  (fixtures)
from tests.connectors.oauth_fakes import Fake, fake, fixture, oauth_apps  # noqa: F401  (fixtures)
from tests.inbox.conftest import run_enqueued_sends

pytestmark = pytest.mark.django_db

REST = "https://api.linkedin.com/rest"
POSTS = f"{REST}/posts"
SHARE = "urn:li:share:7001000000000000001"
UGC = "urn:li:ugcPost:7002000000000000002"
SHARE_SUMMARY = f"{REST}/socialActions/urn%3Ali%3Ashare%3A7001000000000000001"
UGC_SUMMARY = f"{REST}/socialActions/urn%3Ali%3AugcPost%3A7002000000000000002"
ON_SHARE = f"{SHARE_SUMMARY}/comments"
ON_UGC = f"{REST}/socialActions/urn%3Ali%3AugcPost%3A7002000000000000002/comments"
FAN_COMMENT = f"urn:li:comment:({SHARE},6901)"
ON_FAN_COMMENT = (
    f"{REST}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Ashare%3A7001000000000000001%2C6901%29/comments"
)


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture("linkedin", name))


def test_a_sweep_reads_each_posts_comments_then_resumes_at_their_offsets_and_a_reply_nests(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    fake.on("GET", POSTS, ok("inbox_posts"))
    # Summaries without comment counts: each post is read (from its offset) every sweep.
    fake.on("GET", SHARE_SUMMARY, httpx.Response(200, json={}))
    fake.on("GET", UGC_SUMMARY, httpx.Response(200, json={}))
    fake.on(
        "GET", ON_SHARE, ok("comments_share_page1"), ok("comments_share_page2"), ok("comments_share_rest")
    )
    fake.on("GET", ON_UGC, ok("comments_ugc"), ok("comments_ugc_again"))
    # The fan's comment and reply, the ally's comment; our own comment is not an item.
    assert actions.poll(linkedin_page) == 3
    # The next sweep asks from where each post stopped; the ally's comment comes again (stored once).
    assert actions.poll(linkedin_page) == 1
    assert fake.calls() == [
        f"GET {POSTS}",
        f"GET {SHARE_SUMMARY}",
        f"GET {UGC_SUMMARY}",
        f"GET {ON_SHARE}",
        f"GET {ON_SHARE}",
        f"GET {ON_UGC}",
        f"GET {POSTS}",
        f"GET {SHARE_SUMMARY}",
        f"GET {UGC_SUMMARY}",
        f"GET {ON_SHARE}",
        f"GET {ON_UGC}",
    ]
    [listed, _] = fake.to("GET", POSTS)
    assert dict(listed.url.params) == {
        "q": "author",
        "author": "urn:li:organization:2414183",
        "count": "10",
        "sortBy": "LAST_MODIFIED",
    }
    names = {ON_SHARE: "share", ON_UGC: "ugc"}
    comments = [r for r in fake.sent if str(r.url.copy_with(query=None)) in names]
    starts = [(names[str(r.url.copy_with(query=None))], r.url.params["start"]) for r in comments]
    assert starts == [("share", "0"), ("share", "2"), ("ugc", "0"), ("share", "3"), ("ugc", "1")]
    assert all(r.url.params["count"] == "100" for r in comments)
    assert all(
        (r.headers["Authorization"], r.headers["LinkedIn-Version"], r.headers["X-Restli-Protocol-Version"])
        == ("Bearer li-access-1", "202510", "2.0.0")
        for r in fake.sent
    )
    assert InboxItem.objects.count() == 4
    fan = Conversation.objects.get(author_id="urn:li:person:fan0001", root_id=SHARE)
    assert fan.items_count == 2
    reply_item = InboxItem.objects.get(network_id=f"urn:li:comment:({SHARE},6903)")
    assert (reply_item.kind, reply_item.parent_id) == ("reply", FAN_COMMENT)

    fake.on("POST", ON_FAN_COMMENT, httpx.Response(201, json=fixture("linkedin", "comment_created")))
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_reply(conversation=fan, actor=cast.members["editor"], text="At noon")
    assert run_enqueued_sends() == ["sent"]
    [post] = fake.to("POST", ON_FAN_COMMENT)
    # Answering the fan's reply nests under the thread's top-level comment (one level only).
    assert fake.body(post) == {
        "actor": "urn:li:organization:2414183",
        "object": SHARE,
        "message": {"text": "At noon"},
        "parentComment": FAN_COMMENT,
    }
    reply = Reply.objects.get()
    assert (reply.status, reply.network_id) == ("sent", f"urn:li:comment:({SHARE},6920)")
    assert reply.url == f"https://www.linkedin.com/feed/update/{SHARE}/"


def test_a_member_channel_reads_no_comments(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_channel: Channel,  # noqa: F811
) -> None:
    # A member's posts' comments need the restricted r_member_social: nothing is asked.
    assert actions.poll(linkedin_channel) == 0
    assert fake.sent == []


def _comment(n: int, actor: str, text: str, *, parent: str = "", replies: int | None = None) -> dict:
    """A comment as the Comments API returns it (commentsSummary on comments that have replies)."""
    urn = f"urn:li:comment:({SHARE},{n})"
    comment = {
        "actor": actor,
        "agent": actor,
        "commentUrn": urn,
        "$URN": urn,
        "id": str(n),
        "created": {"actor": actor, "time": 1764579600000 + n * 1000},
        "message": {"text": text, "attributes": []},
        "object": SHARE,
    }
    if parent:
        comment["parentComment"] = parent
    if replies is not None:
        comment["commentsSummary"] = {"totalFirstLevelComments": replies, "aggregatedTotalComments": replies}
    return comment


def _page(total: int, *elements: dict) -> httpx.Response:
    return httpx.Response(200, json={"paging": {"start": 0, "count": 100, "total": total}, "elements": list(elements)})  # fmt: skip


def _summary(first: int, everything: int) -> httpx.Response:
    counts = {"totalFirstLevelComments": first, "aggregatedTotalComments": everything}
    return httpx.Response(200, json={"commentsSummary": counts, "target": SHARE})


ON_FRIEND_COMMENT = ON_FAN_COMMENT.replace("6901", "6902")


def test_replies_to_comments_are_read_from_each_comment_and_later_ones_are_found(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    fan, friend, org = "urn:li:person:fan0001", "urn:li:person:friend02", "urn:li:organization:2414183"
    friend_comment = f"urn:li:comment:({SHARE},6902)"
    fake.on("GET", POSTS, httpx.Response(200, json={"elements": [{"id": SHARE}]}))
    # The post's summary each sweep: 2 top-level comments and 2, 2, 3 then 4 replies under them.
    fake.on("GET", SHARE_SUMMARY, _summary(2, 4), _summary(2, 4), _summary(2, 5), _summary(2, 6))
    # The post lists its top-level comments only, each with the replies it has.
    fake.on(
        "GET",
        ON_SHARE,
        _page(
            2,
            _comment(6901, fan, "Where do we meet?", replies=2),
            _comment(6902, friend, "Count me in", replies=0),
        ),
        _page(
            2,
            _comment(6901, fan, "Where do we meet?", replies=3),
            _comment(6902, friend, "Count me in", replies=0),
        ),
        _page(
            2,
            _comment(6901, fan, "Where do we meet?", replies=3),
            _comment(6902, friend, "Count me in", replies=1),
        ),
    )
    fake.on(
        "GET",
        ON_FAN_COMMENT,
        _page(
            2,
            _comment(6903, friend, "Same question", parent=FAN_COMMENT),
            _comment(6904, org, "At noon", parent=FAN_COMMENT),
        ),
        _page(3, _comment(6905, fan, "Thanks!", parent=FAN_COMMENT)),
    )
    fake.on("GET", ON_FRIEND_COMMENT, _page(1, _comment(6906, fan, "See you there", parent=friend_comment)))
    assert (
        actions.poll(linkedin_page) == 3
    )  # two top-level comments and the friend's reply; ours is not an item
    nested = InboxItem.objects.get(network_id=f"urn:li:comment:({SHARE},6903)")
    assert (nested.kind, nested.root_id, nested.parent_id, nested.extra["thread"]) == (
        "reply",
        SHARE,
        FAN_COMMENT,
        FAN_COMMENT,
    )
    assert nested.conversation.key == f"{SHARE}|{friend}"
    # Nothing new by the summary: only the summary is asked.
    assert actions.poll(linkedin_page) == 0
    # One more reply: the post's comments are read again to see where, then that thread from its offset.
    assert actions.poll(linkedin_page) == 1
    later = InboxItem.objects.get(network_id=f"urn:li:comment:({SHARE},6905)")
    assert later.conversation.key == f"{SHARE}|{fan}" and later.conversation.items_count == 2
    # A first reply under a comment that had none is found the same way.
    assert actions.poll(linkedin_page) == 1
    assert InboxItem.objects.get(network_id=f"urn:li:comment:({SHARE},6906)").parent_id == friend_comment
    assert fake.calls() == [
        *(f"GET {POSTS}", f"GET {SHARE_SUMMARY}", f"GET {ON_SHARE}", f"GET {ON_FAN_COMMENT}"),
        *(f"GET {POSTS}", f"GET {SHARE_SUMMARY}"),
        *(f"GET {POSTS}", f"GET {SHARE_SUMMARY}", f"GET {ON_SHARE}", f"GET {ON_FAN_COMMENT}"),
        *(f"GET {POSTS}", f"GET {SHARE_SUMMARY}", f"GET {ON_SHARE}", f"GET {ON_FRIEND_COMMENT}"),
    ]
    starts = [r.url.params["start"] for r in fake.sent if r.url.path.endswith("/comments")]
    assert starts == ["0", "0", "0", "2", "0", "0"]
    assert InboxItem.objects.count() == 5  # the re-read top-level comments were stored once

    # Answering the friend's nested reply goes to the thread it is in.
    fake.on("POST", ON_FAN_COMMENT, httpx.Response(201, json=fixture("linkedin", "comment_created")))
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_reply(conversation=nested.conversation, actor=cast.members["editor"], text="Noon")
    assert run_enqueued_sends() == ["sent"]
    [post] = fake.to("POST", ON_FAN_COMMENT)
    assert fake.body(post)["parentComment"] == FAN_COMMENT
