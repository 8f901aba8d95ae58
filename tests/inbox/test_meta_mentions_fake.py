"""Facebook Page and Instagram mentions in the inbox, against a fake of Meta's Graph API, through
both paths: the signed webhook (then the enrichment read) and the polling backstop; the same
mention arriving both ways is stored once, and the exact requests Chorus sends are asserted."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.core import http
from chorus.core.models import AuditEvent
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
SECRET = "fb-app-secret"
IG_SECRET = "ig-app-secret"
PAGE = "1122334455"
IG_USER = "17841400000000000"
V = "/v24.0/"
WHEN = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
GRAPH_TIME = "2026-12-07T09:30:00+0000"


class MentionsFake:
    """A fake of the Graph API's mention reads, each answer shaped like Meta's documentation:

    - GET /{ig-user-id}?fields=mentioned_media.media_id({id}){...} and
      ...mentioned_comment.comment_id({id}){...}: the IG User reference's "Mentioned Media" and
      "Mentioned Comment" samples ({"mentioned_media": {<fields>, "id"}, "id": <ig-user-id>}).
    - GET /{ig-user-id}/tags: a list of IG Media with `data` and cursor `paging` (the documented
      edge names no sample body; built from the IG Media fields and Graph's cursor paging).
    - GET /{page-id}/tagged and GET /{post-id}: the stored "Page Tagged" page names no sample
      body either; built from the Page Post fields (id, message, created_time, from,
      permalink_url), `from` left out as the documented limitation says for others' posts.
    - POST /{ig-user-id}/mentions and POST /{id}/comments: {"id": ...}. An answer to a mention
      is kept as the documented IG Comment (id, text, timestamp, username): under the mentioning
      comment, read back by GET /{comment-id}/replies ({"data": [...]}), or on the media for a
      caption, read back by ...mentioned_media.media_id({id}){comments{...}}. `timeout_once`
      applies the next answer, then lets the connection drop before the response (a timeout).
    - GET /{page-id}/feed and /{ig-user-id}/media (the comments stream), /{page-id}/conversations
      (the messages stream): none.
    Records every request; `fail_reads` answers the next reads with a Graph 500."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.tagged: list[dict[str, Any]] = []
        self.tags_pages: list[list[dict[str, Any]]] = [[]]
        self.posts: dict[str, dict[str, Any]] = {}
        self.ig_media: dict[str, dict[str, Any]] = {}
        self.ig_comments: dict[str, dict[str, Any]] = {}
        self.fail_reads = 0
        self.answers: dict[str, list[dict[str, Any]]] = {}  # mentioning comment or media -> ours
        self.timeout_once = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path.removeprefix(V)
        fields = request.url.params.get("fields", "")
        if request.method == "GET" and self.fail_reads:
            self.fail_reads -= 1
            return httpx.Response(
                500,
                json={"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}},
            )
        if request.method == "GET" and path in (f"{PAGE}/feed", f"{IG_USER}/media", f"{PAGE}/conversations"):
            return httpx.Response(200, json={"data": []})  # the comments stream: none here
        if request.method == "GET" and path == f"{PAGE}/tagged":
            return httpx.Response(200, json={"data": self.tagged})
        if request.method == "GET" and path == f"{IG_USER}/tags":
            index = int(request.url.params.get("after", "0") or 0)
            page = self.tags_pages[index]
            paging: dict[str, Any] = {"cursors": {"before": str(index), "after": str(index + 1)}}
            if index + 1 < len(self.tags_pages):
                paging["next"] = f"https://graph.facebook.com/v24.0/{IG_USER}/tags?after={index + 1}"
            return httpx.Response(200, json={"data": page, "paging": paging})
        if request.method == "GET" and path == IG_USER and "{comments{" in fields:
            media_id = fields.split("(", 1)[1].split(")", 1)[0]
            comments = {"data": self.answers.get(media_id, [])}
            return httpx.Response(200, json={"mentioned_media": {"comments": comments, "id": media_id}})
        if request.method == "GET" and path.endswith("/replies"):
            return httpx.Response(200, json={"data": self.answers.get(path.removesuffix("/replies"), [])})
        if request.method == "GET" and path == IG_USER and fields.startswith("mentioned_media.media_id("):
            media_id = fields.split("(", 1)[1].split(")", 1)[0]
            return httpx.Response(200, json={"mentioned_media": self.ig_media[media_id], "id": IG_USER})
        if request.method == "GET" and path == IG_USER and fields.startswith("mentioned_comment.comment_id("):
            comment_id = fields.split("(", 1)[1].split(")", 1)[0]
            return httpx.Response(
                200, json={"mentioned_comment": self.ig_comments[comment_id], "id": IG_USER}
            )
        if request.method == "GET" and path in self.posts:
            return httpx.Response(200, json=self.posts[path])
        if request.method == "POST" and path == f"{IG_USER}/mentions":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            answer = {
                "id": f"1789000000000{len(self.sent):04d}",
                "text": form["message"],
                "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "username": "ourngo",
            }
            self.answers.setdefault(form.get("comment_id") or form["media_id"], []).append(answer)
            if self.timeout_once:  # applied, then the answer is lost on the way back
                self.timeout_once = False
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            return httpx.Response(200, json={"id": "17890000000000099"})
        if request.method == "POST" and path.endswith("/comments"):
            return httpx.Response(200, json={"id": f"{path.removesuffix('/comments')}_777"})
        return httpx.Response(
            404,
            json={
                "error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}
            },
        )

    def reads(self) -> list[tuple[str, str]]:
        return [
            (r.url.path.removeprefix(V), r.url.params.get("fields", ""))
            for r in self.sent
            if r.method == "GET"
        ]


@pytest.fixture
def meta(settings: Any) -> Iterator[MentionsFake]:
    settings.FACEBOOK_CLIENT_SECRET = SECRET
    settings.INSTAGRAM_CLIENT_SECRET = IG_SECRET
    fake = MentionsFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    yield fake
    http.set_transport_for_tests(None)


@pytest.fixture
def page(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Our Page",
        config={"page_id": PAGE, "page_name": "Our Page"},
        credentials={"access_token": "page-token"},
    )


@pytest.fixture
def instagram(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@ourngo",
        config={"ig_user_id": IG_USER, "username": "ourngo", "page_id": PAGE},
        credentials={"access_token": "ig-token"},
    )


def deliver(body: dict[str, Any], network: str, *, secret: str) -> Any:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return Client().post(
        f"/hooks/meta/{network}/", raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature
    )


def page_change(field: str, value: dict[str, Any]) -> dict[str, Any]:
    stamp = int(WHEN.timestamp())
    return {
        "object": "page",
        "entry": [{"id": PAGE, "time": stamp, "changes": [{"field": field, "value": value}]}],
    }


def ig_mentions(*values: dict[str, Any]) -> dict[str, Any]:
    changes = [{"field": "mentions", "value": value} for value in values]
    return {
        "object": "instagram",
        "entry": [{"id": IG_USER, "time": int(WHEN.timestamp()), "changes": changes}],
    }


POST = f"987654_{PAGE}1"  # a visitor's post, in the {user-id}_{post-id} form


def test_a_facebook_mention_by_webhook_is_read_in_full_and_polling_stores_it_once(
    meta: MentionsFake, page: Channel
) -> None:
    meta.posts[POST] = {
        "id": POST,
        "message": "Thanks @Our Page for the flood relief!",
        "created_time": GRAPH_TIME,
        "permalink_url": f"https://www.facebook.com/{POST}",
    }
    mention = {
        "post_id": POST,
        "sender_name": "Ana Lopez",
        "item": "post",
        "sender_id": "987654",
        "verb": "add",
    }
    answer = deliver(page_change("mention", mention), "facebook", secret=SECRET)
    assert answer.status_code == 200 and answer.json() == {"stored": 1, "duplicate": False}
    # The webhook named the post: one read of it, with the Page token.
    [read] = [r for r in meta.sent if r.method == "GET"]
    assert (read.url.path, dict(read.url.params)) == (
        f"{V}{POST}",
        {"fields": "id,message,created_time,from,permalink_url", "access_token": "page-token"},
    )
    item = InboxItem.objects.get()
    assert (item.kind, item.network_id, item.via, item.author_id, item.author_name) == (
        "mention",
        POST,
        "webhook",
        "987654",
        "Ana Lopez",
    )
    assert item.text == "Thanks @Our Page for the flood relief!" and "enrich" not in item.extra
    assert item.created_at == WHEN and item.url == f"https://www.facebook.com/{POST}"

    # The backstop reads /tagged and finds the same post: nothing new.
    meta.tagged = [{**meta.posts[POST]}]
    assert actions.poll(page) == 0
    tagged = [r for r in meta.sent if r.url.path == f"{V}{PAGE}/tagged"]
    assert [dict(r.url.params) for r in tagged] == [
        {"fields": "id,message,created_time,from,permalink_url", "limit": "25", "access_token": "page-token"}
    ]
    assert InboxItem.objects.count() == 1 and Conversation.objects.count() == 1


def test_a_facebook_mention_polled_first_is_not_stored_or_read_again_by_its_webhook(
    meta: MentionsFake, page: Channel
) -> None:
    meta.tagged = [{"id": POST, "message": "Shout-out to our partners", "created_time": GRAPH_TIME}]
    assert actions.poll(page) == 1
    item = InboxItem.objects.get()
    assert (item.kind, item.via, item.author_id) == ("mention", "poll", "")  # /tagged hides others' `from`
    # The next poll asks only for what is newer than the stored cursor.
    actions.poll(page)
    assert [r.url.params.get("since") for r in meta.sent if r.url.path == f"{V}{PAGE}/tagged"] == [
        None,
        str(int(WHEN.timestamp())),
    ]
    before = len(meta.sent)
    mention = {
        "post_id": POST,
        "sender_name": "Ana Lopez",
        "item": "post",
        "sender_id": "987654",
        "verb": "add",
    }
    assert deliver(page_change("mention", mention), "facebook", secret=SECRET).json() == {
        "stored": 0,
        "duplicate": False,
    }
    assert len(meta.sent) == before  # known already: no read
    assert InboxItem.objects.count() == 1


def test_a_visitors_post_on_the_page_feed_is_a_mention_and_the_pages_own_post_is_not(
    meta: MentionsFake, page: Channel
) -> None:
    visitor = {
        "from": {"id": "24", "name": "Dana"},
        "item": "status",
        "post_id": f"{PAGE}_555",
        "verb": "add",
        "published": 1,
        "created_time": int(WHEN.timestamp()),
        "message": "When is the next volunteer day?",
    }
    own = {**visitor, "from": {"id": PAGE, "name": "Our Page"}, "post_id": f"{PAGE}_556", "message": "Ours"}
    assert deliver(page_change("feed", visitor), "facebook", secret=SECRET).json()["stored"] == 1
    assert deliver(page_change("feed", own), "facebook", secret=SECRET).json()["stored"] == 0
    item = InboxItem.objects.get()
    assert (item.kind, item.network_id, item.text, item.author_name) == (
        "mention",
        f"{PAGE}_555",
        "When is the next volunteer day?",
        "Dana",
    )
    assert meta.sent == []  # the feed change carries the text: nothing to read
    # On someone's post the Page may like, not hide or delete.
    connector = page.connector()
    assert actions.item_moderations(connector, item.entry()) == ("like",)


def test_a_comment_mentioning_the_page_is_read_by_its_comment_id(meta: MentionsFake, page: Channel) -> None:
    comment = f"{POST}_42"
    meta.posts[comment] = {
        "id": comment,
        "message": "@Our Page can you help here?",
        "created_time": GRAPH_TIME,
        "from": {"id": "31", "name": "Sam"},
    }
    value = {
        "post_id": POST,
        "comment_id": comment,
        "sender_name": "Sam",
        "item": "comment",
        "sender_id": "31",
        "verb": "add",
    }
    assert deliver(page_change("mention", value), "facebook", secret=SECRET).json()["stored"] == 1
    assert meta.reads() == [(comment, "id,message,created_time,from,permalink_url")]
    item = InboxItem.objects.get()
    assert (item.network_id, item.root_id, item.text) == (comment, POST, "@Our Page can you help here?")


def test_instagram_caption_and_comment_mentions_are_read_through_the_account(
    meta: MentionsFake, instagram: Channel
) -> None:
    meta.ig_media["17895695668004550"] = {
        "caption": "Great day with @ourngo at the beach clean-up",
        "media_type": "IMAGE",
        "permalink": "https://www.instagram.com/p/Cabc123/",
        "timestamp": GRAPH_TIME,
        "username": "sea.friends",
        "id": "17895695668004550",
    }
    meta.ig_comments["17873440459141021"] = {
        "text": "@ourngo are you coming to Marseille?",
        "timestamp": "2026-12-07T09:31:00+0000",
        "username": "marin.v",
        "media": {"id": "17895695668004551"},
        "id": "17873440459141021",
    }
    body = ig_mentions(
        {"media_id": "17895695668004550"},
        {"media_id": "17895695668004551", "comment_id": "17873440459141021"},
    )
    assert deliver(body, "instagram", secret=IG_SECRET).json() == {"stored": 2, "duplicate": False}
    assert meta.reads() == [
        (
            IG_USER,
            "mentioned_media.media_id(17895695668004550){caption,media_type,permalink,timestamp,username}",
        ),
        (IG_USER, "mentioned_comment.comment_id(17873440459141021){text,timestamp,username,media}"),
    ]
    assert all(r.url.params["access_token"] == "ig-token" for r in meta.sent)
    caption = InboxItem.objects.get(network_id="17895695668004550")
    assert (caption.kind, caption.author_handle, caption.text, caption.url) == (
        "mention",
        "sea.friends",
        "Great day with @ourngo at the beach clean-up",
        "https://www.instagram.com/p/Cabc123/",
    )
    comment = InboxItem.objects.get(network_id="17873440459141021")
    assert (comment.kind, comment.root_id, comment.author_handle, comment.text) == (
        "mention",
        "17895695668004551",
        "marin.v",
        "@ourngo are you coming to Marseille?",
    )
    assert comment.created_at == dt.datetime(2026, 12, 7, 9, 31, tzinfo=dt.UTC)
    assert actions.item_moderations(instagram.connector(), comment.entry()) == ()


def test_instagram_tags_polling_pages_back_and_the_webhook_then_stores_nothing_twice(
    meta: MentionsFake, instagram: Channel
) -> None:
    def media(n: int, minutes: int) -> dict[str, Any]:
        at = (WHEN - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+0000")
        return {
            "id": f"1790000000000000{n}",
            "caption": f"tagged {n}",
            "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/T{n}/",
            "timestamp": at,
            "username": f"friend{n}",
        }

    meta.tags_pages = [[media(1, 1), media(2, 2)], [media(3, 3)]]
    assert actions.poll(instagram) == 3
    tags = [r for r in meta.sent if r.url.path == f"{V}{IG_USER}/tags"]
    assert [dict(r.url.params) for r in tags] == [
        {
            "fields": "id,caption,media_type,permalink,timestamp,username",
            "limit": "25",
            "access_token": "ig-token",
        },
        {
            "fields": "id,caption,media_type,permalink,timestamp,username",
            "limit": "25",
            "access_token": "ig-token",
            "after": "1",
        },
    ]
    assert set(InboxItem.objects.values_list("kind", flat=True)) == {"mention"}
    before = len(meta.sent)
    answer = deliver(ig_mentions({"media_id": "17900000000000001"}), "instagram", secret=IG_SECRET)
    assert answer.json() == {"stored": 0, "duplicate": False}
    assert len(meta.sent) == before  # stored already: no enrichment read
    assert InboxItem.objects.count() == 3
    # A later poll stops at the stored time: nothing new, one page read.
    before = len([r for r in meta.sent if r.url.path == f"{V}{IG_USER}/tags"])
    assert actions.poll(instagram) == 0
    assert len([r for r in meta.sent if r.url.path == f"{V}{IG_USER}/tags"]) == before + 1


def test_a_mention_with_a_bad_signature_is_neither_read_nor_stored(
    meta: MentionsFake, instagram: Channel
) -> None:
    body = ig_mentions({"media_id": "17895695668004550"})
    raw = json.dumps(body).encode()
    forged = Client().post(
        "/hooks/meta/instagram/",
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=" + hmac.new(b"guess", raw, hashlib.sha256).hexdigest(),
    )
    assert forged.status_code == 403
    # Signed with the Facebook app's secret: still not Instagram's.
    assert deliver(body, "instagram", secret=SECRET).status_code == 403
    assert meta.sent == [] and not InboxItem.objects.exists()


def test_an_unreadable_mention_is_kept_bare_and_the_next_poll_completes_it(
    meta: MentionsFake, instagram: Channel
) -> None:
    meta.ig_media["17895695668004550"] = {
        "caption": "Thanks @ourngo",
        "media_type": "IMAGE",
        "permalink": "https://www.instagram.com/p/Cabc123/",
        "timestamp": GRAPH_TIME,
        "username": "sea.friends",
        "id": "17895695668004550",
    }
    meta.fail_reads = 1
    body = ig_mentions({"media_id": "17895695668004550"})
    assert deliver(body, "instagram", secret=IG_SECRET).json() == {"stored": 1, "duplicate": False}
    bare = InboxItem.objects.get()
    assert (bare.kind, bare.text, bare.extra["enrich"]) == ("mention", "", "pending")
    # Meta's retry of the same body is a replay: nothing more.
    assert deliver(body, "instagram", secret=IG_SECRET).json() == {"stored": 0, "duplicate": True}

    actions.poll(instagram)
    bare.refresh_from_db()
    assert (bare.text, bare.author_handle, "enrich" in bare.extra) == ("Thanks @ourngo", "sea.friends", False)
    assert bare.conversation is not None and bare.conversation.author_handle == "sea.friends"
    assert AuditEvent.objects.filter(action="inbox.enriched").count() == 1


def test_an_instagram_mention_is_answered_through_the_mentions_edge(
    cast: Cast, meta: MentionsFake, instagram: Channel
) -> None:
    meta.ig_comments["17873440459141021"] = {
        "text": "@ourngo are you coming to Marseille?",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "username": "marin.v",
        "media": {"id": "17895695668004551"},
        "id": "17873440459141021",
    }
    body = ig_mentions({"media_id": "17895695668004551", "comment_id": "17873440459141021"})
    deliver(body, "instagram", secret=IG_SECRET)
    conversation = Conversation.objects.get()
    reply = actions.request_reply(conversation=conversation, actor=cast.owner, text="Yes, on Saturday!")
    assert actions.send_reply(reply.pk) == "sent"
    sent = meta.sent[-1]
    assert (sent.method, sent.url.path, dict(sent.url.params)) == (
        "POST",
        f"{V}{IG_USER}/mentions",
        {"access_token": "ig-token"},
    )
    assert parse_qs(sent.content.decode()) == {
        "media_id": ["17895695668004551"],
        "comment_id": ["17873440459141021"],
        "message": ["Yes, on Saturday!"],
    }
    reply.refresh_from_db()
    assert (reply.status, reply.network_id) == ("sent", "17890000000000099")


def test_a_facebook_mention_is_answered_with_a_comment_on_the_mentioning_post(
    cast: Cast, meta: MentionsFake, page: Channel
) -> None:
    meta.tagged = [{"id": POST, "message": "Thanks @Our Page", "created_time": GRAPH_TIME}]
    actions.poll(page)
    reply = actions.request_reply(
        conversation=Conversation.objects.get(), actor=cast.owner, text="With pleasure!"
    )
    assert actions.send_reply(reply.pk) == "sent"
    sent = meta.sent[-1]
    assert (sent.method, sent.url.path) == ("POST", f"{V}{POST}/comments")
    assert parse_qs(sent.content.decode()) == {"message": ["With pleasure!"]}


@pytest.mark.parametrize(
    ("value", "read_back"),
    [
        (
            {"media_id": "17895695668004551", "comment_id": "17873440459141021"},
            ("17873440459141021/replies", "id,text,timestamp,username"),
        ),
        (
            {"media_id": "17895695668004551"},
            (
                IG_USER,
                "mentioned_media.media_id(17895695668004551){comments{id,text,timestamp,username}}",
            ),
        ),
    ],
    ids=["comment-mention", "caption-mention"],
)
def test_an_instagram_mention_answer_lost_on_the_way_back_is_read_back_and_not_sent_twice(
    cast: Cast, meta: MentionsFake, instagram: Channel, value: dict[str, str], read_back: tuple[str, str]
) -> None:
    meta.ig_comments["17873440459141021"] = {
        "text": "@ourngo see you there?",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "username": "marin.v",
        "media": {"id": "17895695668004551"},
        "id": "17873440459141021",
    }
    meta.ig_media["17895695668004551"] = {
        "caption": "Thanks @ourngo",
        "media_type": "IMAGE",
        "permalink": "https://www.instagram.com/p/Abc/",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "username": "marin.v",
    }
    deliver(ig_mentions(value), "instagram", secret=IG_SECRET)
    reply = actions.request_reply(
        conversation=Conversation.objects.get(), actor=cast.owner, text="Yes, on Saturday!"
    )
    meta.timeout_once = True
    assert actions.send_reply(reply.pk) == "unknown"
    assert actions.settle_reply(reply.pk) == "sent"
    reply.refresh_from_db()
    (ours,) = meta.answers[value.get("comment_id") or value["media_id"]]
    assert (reply.status, reply.network_id) == ("sent", ours["id"])
    assert meta.reads()[-1] == read_back
    posts = [r for r in meta.sent if r.method == "POST" and r.url.path == f"{V}{IG_USER}/mentions"]
    assert len(posts) == 1
    assert actions.send_reply(reply.pk) == "skipped"  # nothing is queued: no second POST


def test_an_instagram_mention_answer_not_found_on_read_back_is_queued_again(
    cast: Cast, meta: MentionsFake, instagram: Channel
) -> None:
    """Another account's comment with the same text is not ours: the reply was not applied."""
    meta.ig_comments["17873440459141021"] = {
        "text": "@ourngo see you there?",
        "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "username": "marin.v",
        "media": {"id": "17895695668004551"},
        "id": "17873440459141021",
    }
    deliver(
        ig_mentions({"media_id": "17895695668004551", "comment_id": "17873440459141021"}),
        "instagram",
        secret=IG_SECRET,
    )
    reply = actions.request_reply(
        conversation=Conversation.objects.get(), actor=cast.owner, text="Yes, on Saturday!"
    )
    meta.answers["17873440459141021"] = [
        {
            "id": "17890000000000500",
            "text": "Yes, on Saturday!",
            "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "username": "someone.else",
        }
    ]
    Reply.objects.filter(pk=reply.pk).update(status=Reply.Status.UNKNOWN)
    assert actions.settle_reply(reply.pk) == "requeued"
    reply.refresh_from_db()
    assert reply.status == "queued" and reply.network_id == ""
