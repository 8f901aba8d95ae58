"""Hide, delete and like on YouTube, LinkedIn and Threads against fakes of their documented APIs:
the exact requests each action sends, what the conversation page offers on each item (only what
the network allows on it now), YouTube's 50 units per call, the networks' error shapes refused
with their reason and nothing recorded, and our own sent replies deleted.

Requests, from the networks' references: YouTube comments.setModerationStatus (POST, id and
moderationStatus as query parameters, 204, 50 units) and comments.delete (DELETE ?id=, 204, 50
units); LinkedIn Comments API "Delete a Comment" (DELETE socialActions/{target}/comments/{id}
?actor=) and Reactions API "Create a Reaction on a Comment" (POST reactions?actor= with root and
reactionType), checked against learn.microsoft.com/linkedin/marketing/community-management/shares/
{comments-api, reactions-api}: /rest paths, `LinkedIn-Version` and `X-Restli-Protocol-Version:
2.0.0` headers, URNs URL-encoded in the path and in `actor`; Threads reply management (POST /{reply-id}/manage_reply hide=true|false, top-level
replies only) and DELETE /{threads-media-id} for our own posts."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.urls import reverse

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.inbox import InboxEntry
from chorus.core.models import AuditEvent
from chorus.inbox import actions
from chorus.inbox.models import Conversation, InboxItem, Reply
from chorus.quotas.models import QuotaUsage
from tests.conftest import Cast
from tests.connectors.graph_fake import GraphFake, graph, meta_apps  # noqa: F401  (fixtures)
from tests.connectors.linkedin.conftest import linkedin_channel, linkedin_page  # noqa: F401  (fixtures)
from tests.connectors.oauth_fakes import Fake, fake, oauth_apps  # noqa: F401  (fixtures)
from tests.connectors.youtube.conftest import youtube_channel  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
YT = "https://www.googleapis.com/youtube/v3"
REST = "https://api.linkedin.com/rest"
SHARE = "urn:li:share:7001000000000000001"
ORG = "urn:li:organization:2414183"
GT = "https://graph.threads.net/v1.0"


def _store(channel: Channel, *entries: InboxEntry) -> list[InboxItem]:
    actions.ingest(channel=channel, entries=list(entries))
    return [InboxItem.objects.get(channel=channel, network_id=e.network_id) for e in entries]


def _sent_reply(item: InboxItem, network_id: str) -> Reply:
    """A reply Chorus sent earlier (how it was sent is the reply tests' business)."""
    return Reply.objects.create(
        workspace=item.workspace,
        conversation=item.conversation,
        in_reply_to=item,
        text="Thanks!",
        status=Reply.Status.SENT,
        network_id=network_id,
        sent_at=T0,
    )


def _page(cast: Cast, conversation: Conversation, role: str = "editor") -> str:
    url = reverse("inbox:conversation", args=[cast.workspace.slug, conversation.pk])
    return cast.client_for(cast.members[role]).get(url).content.decode()


def _buttons(page: str, item: InboxItem) -> list[str]:
    """The moderation buttons offered on one item of the conversation page."""
    part = page.split(f'data-item="{item.pk}"', 1)[1].split("</li>", 1)[0]
    return [chunk.split('"', 1)[0] for chunk in part.split('name="action" value="')[1:]]


def _units(channel: Channel) -> int:
    return sum(QuotaUsage.objects.filter(channel=channel, bucket="units").values_list("amount", flat=True))


# --- YouTube ----------------------------------------------------------------------------------


def _yt_comment(n: int, thread: str = "") -> InboxEntry:
    network_id = f"{thread}.r{n}" if thread else f"UgzThread{n}"
    return InboxEntry(
        network_id=network_id,
        kind="reply" if thread else "comment",
        author_id="UCfan0000000000000000001",
        author_name="Fan",
        created_at=T0 + dt.timedelta(minutes=n),
        text=f"comment {n}",
        root_id="vidA",
        parent_id=thread or "vidA",
        extra={"thread_id": thread or network_id},
    )


def test_youtube_holds_publishes_and_rejects_a_comment_for_50_units_each(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    [item] = _store(youtube_channel, _yt_comment(1))
    page = _page(cast, item.conversation)
    assert _buttons(page, item) == ["hold", "reject"]  # no like: the Data API cannot like a comment
    fake.on("POST", f"{YT}/comments/setModerationStatus", httpx.Response(204))
    actions.moderate(item=item, action="hold", actor=cast.members["editor"])
    item.refresh_from_db()
    assert _buttons(_page(cast, item.conversation), item) == ["approve", "reject"]
    actions.moderate(item=item, action="approve", actor=cast.members["editor"])
    actions.moderate(item=item, action="reject", actor=cast.members["editor"])
    sent = fake.to("POST", f"{YT}/comments/setModerationStatus")
    assert [dict(r.url.params) for r in sent] == [
        {"id": "UgzThread1", "moderationStatus": status}
        for status in ("heldForReview", "published", "rejected")
    ]
    assert all(r.content == b"" and r.headers["Authorization"] == "Bearer yt-access-1" for r in sent)
    assert _units(youtube_channel) == 150
    item.refresh_from_db()
    assert item.extra["moderation"] == "reject" and item.extra["status"] == "rejected"
    # Rejected is final on YouTube: nothing more is offered, and a forced action is refused unsent.
    page = _page(cast, item.conversation)
    assert _buttons(page, item) == [] and "Rejected" in page
    with pytest.raises(actions.InboxRefused) as refused:
        actions.moderate(item=item, action="approve", actor=cast.members["editor"])
    assert refused.value.code == "unsupported"
    assert len(fake.to("POST", f"{YT}/comments/setModerationStatus")) == 3
    events = AuditEvent.objects.filter(action="inbox.moderated", object_id=str(item.pk))
    assert sorted(e.data["moderation"] for e in events) == ["approve", "hold", "reject"]


def test_youtube_refusals_keep_the_item_as_it_was_and_the_quota_is_checked_first(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    [item] = _store(youtube_channel, _yt_comment(1))
    error = {
        "error": {
            "code": 404,
            "message": "The comment could not be found.",
            "errors": [{"domain": "youtube.comment", "reason": "commentNotFound", "message": "x"}],
        }
    }
    fake.on("POST", f"{YT}/comments/setModerationStatus", httpx.Response(404, json=error))
    with pytest.raises(actions.InboxRefused) as refused:
        actions.moderate(item=item, action="reject", actor=cast.owner)
    assert refused.value.code == "moderation_failed"
    assert refused.value.message == (
        "YouTube refused the change to this comment: The comment could not be found."
    )
    item.refresh_from_db()
    assert "moderation" not in item.extra
    assert not AuditEvent.objects.filter(action="inbox.moderated").exists()
    assert _units(youtube_channel) == 50  # YouTube charges a refused call too
    # 9,951 units used: a 50-unit call does not fit the day; nothing is sent.
    QuotaUsage.objects.create(channel=youtube_channel, bucket="units", amount=9_901)
    with pytest.raises(actions.InboxRefused) as refused:
        actions.moderate(item=item, action="reject", actor=cast.owner)
    assert "quota for the day is used up" in refused.value.message
    assert len(fake.to("POST", f"{YT}/comments/setModerationStatus")) == 1


def test_youtube_deletes_our_own_reply_and_the_page_offers_it_only_on_sent_replies(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    [item] = _store(youtube_channel, _yt_comment(1))
    ours = _sent_reply(item, "UgzThread1.r9")
    waiting = Reply.objects.create(
        workspace=item.workspace,
        conversation=item.conversation,
        in_reply_to=item,
        text="Draft",
        status=Reply.Status.AWAITING_APPROVAL,
    )
    page = _page(cast, item.conversation)
    delete_url = reverse("inbox:delete_reply", args=[cast.workspace.slug, ours.pk])
    assert delete_url in page
    assert reverse("inbox:delete_reply", args=[cast.workspace.slug, waiting.pk]) not in page
    assert delete_url not in _page(cast, item.conversation, role="viewer")
    # A viewer's post is refused by the role, before anything is sent.
    assert cast.client_for(cast.members["viewer"]).post(delete_url).status_code == 403
    assert fake.sent == []

    fake.on("DELETE", f"{YT}/comments", httpx.Response(204))
    response = cast.client_for(cast.members["editor"]).post(delete_url)
    assert response.status_code == 302
    [sent] = fake.to("DELETE", f"{YT}/comments")
    assert dict(sent.url.params) == {"id": "UgzThread1.r9"}
    ours.refresh_from_db()
    assert ours.status == "deleted"
    assert _units(youtube_channel) == 50
    assert AuditEvent.objects.get(action="inbox.reply_deleted").data["network_id"] == "UgzThread1.r9"
    # Deleted once: the button is gone and a second request is refused unsent.
    assert delete_url not in _page(cast, item.conversation)
    with pytest.raises(actions.InboxRefused):
        actions.delete_reply(reply=ours, actor=cast.owner)
    with pytest.raises(actions.InboxRefused):
        actions.delete_reply(reply=waiting, actor=cast.owner)
    assert len(fake.sent) == 1


def test_youtube_refuses_to_delete_someone_elses_comment_and_the_reply_stays_sent(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    [item] = _store(youtube_channel, _yt_comment(1))
    ours = _sent_reply(item, "UgzThread1.r9")
    error = {
        "error": {
            "code": 400,
            "message": "The API server failed to successfully process the request.",
            "errors": [{"domain": "youtube.comment", "reason": "processingFailure"}],
        }
    }
    fake.on("DELETE", f"{YT}/comments", httpx.Response(400, json=error))
    with pytest.raises(actions.InboxRefused) as refused:
        actions.delete_reply(reply=ours, actor=cast.owner)
    assert refused.value.code == "reply_delete_failed"
    assert "failed to successfully process" in refused.value.message
    ours.refresh_from_db()
    assert ours.status == "sent"
    assert not AuditEvent.objects.filter(action="inbox.reply_deleted").exists()


# --- LinkedIn ---------------------------------------------------------------------------------


def _li_comment(n: int, parent: str = "") -> InboxEntry:
    urn = f"urn:li:comment:({SHARE},{6900 + n})"
    return InboxEntry(
        network_id=urn,
        kind="reply" if parent else "comment",
        author_id="urn:li:person:fan0001",
        author_handle="fan0001",
        created_at=T0 + dt.timedelta(minutes=n),
        text=f"comment {n}",
        root_id=SHARE,
        parent_id=parent or SHARE,
        extra={"thread": parent or urn},
    )


def test_linkedin_likes_and_deletes_comments_on_the_organizations_post(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
) -> None:
    top = _li_comment(1)
    nested = _li_comment(3, parent=top.network_id)
    first, second = _store(linkedin_page, top, nested)
    assert _buttons(_page(cast, first.conversation), first) == ["like", "delete"]
    fake.on("POST", f"{REST}/reactions", httpx.Response(201, json={}))
    actions.moderate(item=first, action="like", actor=cast.owner)
    [liked] = fake.to("POST", f"{REST}/reactions")
    # Reactions API, "Create a Reaction on a Comment": POST /rest/reactions?actor={URL-encoded
    # URN} (Rest.li 2.0 reserves ':' in a query), the comment URN as `root`.
    assert liked.url.query == b"actor=urn%3Ali%3Aorganization%3A2414183"
    assert fake.body(liked) == {"root": top.network_id, "reactionType": "LIKE"}
    assert (liked.headers["LinkedIn-Version"], liked.headers["X-Restli-Protocol-Version"]) == (
        "202510",
        "2.0.0",
    )
    first.refresh_from_db()
    assert _buttons(_page(cast, first.conversation), first) == ["delete"]  # liked once

    on_post = f"{REST}/socialActions/urn%3Ali%3Ashare%3A7001000000000000001/comments/6901"
    on_comment = (
        f"{REST}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Ashare%3A7001000000000000001"
        "%2C6901%29/comments/6903"
    )
    fake.on("DELETE", on_post, httpx.Response(204))
    fake.on("DELETE", on_comment, httpx.Response(204))
    actions.moderate(item=first, action="delete", actor=cast.owner)
    # A nested reply is deleted from the comment it is on.
    actions.moderate(item=second, action="delete", actor=cast.owner)
    deletes = fake.to("DELETE", on_post) + fake.to("DELETE", on_comment)
    # Comments API, "Delete a Comment": DELETE /rest/socialActions/{encoded target}/comments/{id}
    # ?actor={encoded URN}, with the versioned API's two headers.
    assert [r.url.query for r in deletes] == [b"actor=urn%3Ali%3Aorganization%3A2414183"] * 2
    assert [(r.headers["LinkedIn-Version"], r.headers["X-Restli-Protocol-Version"]) for r in deletes] == [
        ("202510", "2.0.0")
    ] * 2
    assert AuditEvent.objects.filter(action="inbox.moderated").count() == 3


def test_linkedin_access_denied_is_shown_and_nothing_is_recorded(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
) -> None:
    [item] = _store(linkedin_page, _li_comment(1))
    denied = {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: partnerApiSocialActions.DELETE.20251001",
    }
    url = f"{REST}/socialActions/urn%3Ali%3Ashare%3A7001000000000000001/comments/6901"
    fake.on("DELETE", url, httpx.Response(403, json=denied))
    moderate = reverse("inbox:moderate", args=[cast.workspace.slug, item.pk])
    response = cast.client_for(cast.owner).post(moderate, {"action": "delete"}, follow=True)
    assert "Not enough permissions to access" in response.content.decode()
    item.refresh_from_db()
    assert "moderation" not in item.extra
    assert not AuditEvent.objects.filter(action="inbox.moderated").exists()


def test_linkedin_deletes_our_reply_from_the_thread_it_was_created_on(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
) -> None:
    top = _li_comment(1)
    nested = _li_comment(3, parent=top.network_id)
    _first, second = _store(linkedin_page, top, nested)
    ours = _sent_reply(second, f"urn:li:comment:({SHARE},6920)")
    url = (
        f"{REST}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Ashare%3A7001000000000000001"
        "%2C6901%29/comments/6920"
    )
    fake.on("DELETE", url, httpx.Response(204))
    actions.delete_reply(reply=ours, actor=cast.owner)
    [sent] = fake.to("DELETE", url)
    assert sent.url.query == b"actor=urn%3Ali%3Aorganization%3A2414183"
    assert (sent.headers["LinkedIn-Version"], sent.headers["X-Restli-Protocol-Version"]) == (
        "202510",
        "2.0.0",
    )
    ours.refresh_from_db()
    assert ours.status == "deleted"


def test_a_linkedin_member_channel_offers_no_moderation(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_channel: Channel,  # noqa: F811
) -> None:
    [item] = _store(linkedin_channel, _li_comment(1))
    assert _buttons(_page(cast, item.conversation), item) == []
    with pytest.raises(actions.InboxRefused):
        actions.moderate(item=item, action="like", actor=cast.owner)
    assert fake.sent == []


# --- Threads ----------------------------------------------------------------------------------


@pytest.fixture
def profile(cast: Cast, meta_apps) -> Channel:  # noqa: F811
    return connect_channel(
        workspace=cast.workspace,
        kind="threads",
        name="@seasalive",
        config={"user_id": "2648", "username": "seasalive"},
        credentials={"access_token": "long-threads-token"},
        actor=cast.owner,
    )


def _th_reply(n: int, parent: str = "1801") -> InboxEntry:
    return InboxEntry(
        network_id=str(2900 + n),
        kind="reply",
        author_id="fan",
        author_handle="fan",
        created_at=T0 + dt.timedelta(minutes=n),
        text=f"reply {n}",
        root_id="1801",
        parent_id=parent,
    )


def test_threads_hides_and_shows_a_top_level_reply_and_never_a_nested_one(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    profile: Channel,
) -> None:
    top, nested = _store(profile, _th_reply(2), _th_reply(3, parent="2902"))
    page = _page(cast, top.conversation)
    assert _buttons(page, top) == ["hide"]
    assert _buttons(page, nested) == []  # Threads hides it with the top-level reply
    graph.on("POST", f"{GT}/2902/manage_reply", {"success": True})
    actions.moderate(item=top, action="hide", actor=cast.owner)
    top.refresh_from_db()
    assert _buttons(_page(cast, top.conversation), top) == ["unhide"]
    actions.moderate(item=top, action="unhide", actor=cast.owner)
    sent = graph.to("POST", f"{GT}/2902/manage_reply")
    assert [graph.form(r) for r in sent] == [{"hide": "true"}, {"hide": "false"}]
    assert all(graph.query(r) == {"access_token": "long-threads-token"} for r in sent)
    with pytest.raises(actions.InboxRefused):
        actions.moderate(item=nested, action="hide", actor=cast.owner)
    assert not graph.to("POST", f"{GT}/2903/manage_reply")


def test_threads_deletes_our_reply_and_a_refusal_says_why(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    profile: Channel,
) -> None:
    [item] = _store(profile, _th_reply(2))
    ours = _sent_reply(item, "1234567890")
    other = _sent_reply(item, "1234567891")
    graph.on("DELETE", f"{GT}/1234567890", {"success": True, "deleted_id": "1234567890"})
    refusal = {
        "error": {
            "message": "Application does not have permission for this action",
            "type": "OAuthException",
            "code": 10,
            "fbtrace_id": "AbC",
        }
    }
    graph.on("DELETE", f"{GT}/1234567891", httpx.Response(400, json=refusal))
    actions.delete_reply(reply=ours, actor=cast.owner)
    [sent] = graph.to("DELETE", f"{GT}/1234567890")
    assert dict(sent.url.params) == {"access_token": "long-threads-token"}
    ours.refresh_from_db()
    assert ours.status == "deleted"
    with pytest.raises(actions.InboxRefused) as refused:
        actions.delete_reply(reply=other, actor=cast.owner)
    assert "does not have permission" in refused.value.message
    other.refresh_from_db()
    assert other.status == "sent"
    assert AuditEvent.objects.filter(action="inbox.reply_deleted").count() == 1


def test_the_new_actions_and_states_read_in_french(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    from chorus.accounts.models import User

    [item] = _store(youtube_channel, _yt_comment(1))
    _sent_reply(item, "UgzThread1.r9")
    fake.on("POST", f"{YT}/comments/setModerationStatus", httpx.Response(204))
    actions.moderate(item=item, action="hold", actor=cast.owner)
    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    page = _page(cast, item.conversation, role="owner")
    assert "Retenu pour modération" in page
    assert "Supprimer notre réponse sur le réseau" in page
    assert "Approuver" in page and "Rejeter (définitif)" in page


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deletes_of_our_reply_reach_the_network_once(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
) -> None:
    """Two clicks on "delete our reply" at the same moment (two threads, two database
    connections): the first claims the reply before its network call, the second finds the claim
    taken and is refused without calling LinkedIn; one DELETE, one audit row."""
    import threading

    from django.db import connection

    [item] = _store(linkedin_page, _li_comment(1))
    ours = _sent_reply(item, f"urn:li:comment:({SHARE},6920)")
    url = f"{REST}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Ashare%3A7001000000000000001%2C6901%29/comments/6920"
    in_call, release = threading.Event(), threading.Event()

    def slow_network(request: httpx.Request) -> httpx.Response:
        in_call.set()
        release.wait(timeout=10)  # held open until the other click has run its course
        return httpx.Response(204)

    fake.on("DELETE", url, httpx.Response(204))
    transport = httpx.MockTransport(lambda request: (fake.handler(request), slow_network(request))[1])
    from chorus.core import http as core_http

    core_http.set_transport_for_tests(transport)
    outcomes: dict[str, str] = {}

    # Both requests loaded the reply (as the view does) before either claimed it: both read `sent`.
    loaded = {
        name: Reply.objects.select_related("conversation__channel", "in_reply_to").get(pk=ours.pk)
        for name in ("first", "second")
    }

    def click(name: str) -> None:
        try:
            actions.delete_reply(reply=loaded[name], actor=cast.owner)
            outcomes[name] = "deleted"
        except actions.InboxRefused as refused:
            outcomes[name] = refused.code
        finally:
            connection.close()

    first = threading.Thread(target=click, args=("first",))
    first.start()
    assert in_call.wait(timeout=10)  # the first click is inside its network call, claim committed
    second = threading.Thread(target=click, args=("second",))
    second.start()
    second.join(timeout=10)
    release.set()
    first.join(timeout=10)

    assert outcomes == {"first": "deleted", "second": "reply_delete_taken"}
    assert len(fake.to("DELETE", url)) == 1
    ours.refresh_from_db()
    assert ours.status == Reply.Status.DELETED
    assert AuditEvent.objects.filter(action="inbox.reply_deleted").count() == 1


def test_a_failed_delete_puts_our_reply_back_for_another_try(
    cast: Cast,
    fake: Fake,  # noqa: F811
    linkedin_page: Channel,  # noqa: F811
) -> None:
    [item] = _store(linkedin_page, _li_comment(1))
    ours = _sent_reply(item, f"urn:li:comment:({SHARE},6920)")
    url = f"{REST}/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Ashare%3A7001000000000000001%2C6901%29/comments/6920"
    fake.on(
        "DELETE",
        url,
        httpx.Response(500, json={"message": "Internal error", "status": 500}),
        httpx.Response(204),
    )
    with pytest.raises(actions.InboxRefused) as refused:
        actions.delete_reply(reply=ours, actor=cast.owner)
    assert refused.value.code == "reply_delete_failed"
    ours.refresh_from_db()
    assert ours.status == Reply.Status.SENT  # the claim was released: not stuck in "deleting"
    assert AuditEvent.objects.filter(action="inbox.reply_delete_failed").count() == 1
    actions.delete_reply(reply=ours, actor=cast.owner)
    ours.refresh_from_db()
    assert ours.status == Reply.Status.DELETED and len(fake.to("DELETE", url)) == 2


# --- a delete claim left behind by a crash ------------------------------------------------------


def _crashed_delete(reply: Reply, minutes_ago: float) -> Reply:
    """What a process that died inside the DELETE call leaves: the claim, committed before it."""
    from django.utils import timezone

    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Reply.objects.filter(pk=reply.pk).update(status=Reply.Status.DELETING, deleting_at=when)
    reply.refresh_from_db()
    return reply


def test_a_delete_claim_past_its_lease_is_settled_by_reading_the_network(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    profile: Channel,
) -> None:
    """The sweep enqueues a read-back for claims older than the lease only; the read-back finds
    the first reply gone (deleted, audited) and the second still there (sent again, audited)."""
    from django_tasks_db.models import DBTaskResult

    from chorus.inbox import tasks

    [first, second] = _store(profile, _th_reply(2), _th_reply(3))
    gone = _crashed_delete(_sent_reply(first, "1234567890"), minutes_ago=6)
    kept = _crashed_delete(_sent_reply(second, "1234567891"), minutes_ago=10)
    live = _crashed_delete(_sent_reply(second, "1234567892"), minutes_ago=1)  # a call still running
    tasks.enqueue_polls()
    settling = {
        tuple(row.args_kwargs["args"])
        for row in DBTaskResult.objects.all()
        if row.task_path.endswith("settle_delete_task")
    }
    assert settling == {(gone.pk,), (kept.pk,)}
    # Threads' replies of the account: 1234567891 still answers 2903; 1234567890 is not listed.
    graph.on(
        "GET",
        f"{GT}/2648/replies",
        {
            "data": [
                {
                    "id": "1234567891",
                    "timestamp": "2026-12-08T03:00:00+0000",
                    "permalink": "https://www.threads.net/@seasalive/post/X",
                    "replied_to": {"id": "2903"},
                }
            ]
        },
    )
    assert actions.settle_delete(gone.pk) == "deleted"
    assert actions.settle_delete(kept.pk) == "released"
    assert actions.settle_delete(live.pk) == "skipped"
    assert actions.settle_delete(gone.pk) == "skipped"  # a second run changes and records nothing
    states = dict(Reply.objects.values_list("pk", "status"))
    assert (states[gone.pk], states[kept.pk], states[live.pk]) == ("deleted", "sent", "deleting")
    assert not graph.to("DELETE", f"{GT}/1234567890")  # settled by reading, never by deleting
    (deleted,) = AuditEvent.objects.filter(action="inbox.reply_deleted")
    assert deleted.object_id == str(gone.pk) and deleted.data["checked"] == "gone"
    (released,) = AuditEvent.objects.filter(action="inbox.reply_delete_released")
    assert released.object_id == str(kept.pk) and released.data["checked"] == "present"
    kept.refresh_from_db()
    assert kept.deleting_at is None
    graph.on("DELETE", f"{GT}/1234567891", {"success": True})
    actions.delete_reply(reply=kept, actor=cast.owner)  # released: a person may delete it again
    kept.refresh_from_db()
    assert kept.status == "deleted"


def test_a_delete_claim_whose_read_back_fails_goes_back_to_sent_with_the_reason(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    profile: Channel,
) -> None:
    [item] = _store(profile, _th_reply(2))
    stuck = _crashed_delete(_sent_reply(item, "1234567890"), minutes_ago=30)
    graph.on(
        "GET",
        f"{GT}/2648/replies",
        httpx.Response(
            500, json={"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}
        ),
    )
    assert actions.settle_delete(stuck.pk) == "released"
    stuck.refresh_from_db()
    assert stuck.status == "sent"
    (released,) = AuditEvent.objects.filter(action="inbox.reply_delete_released")
    assert released.data["checked"] == "unchecked" and "unknown error" in released.data["error"]
