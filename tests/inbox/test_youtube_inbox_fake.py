"""YouTube comments in the inbox against a fake of the Data API v3 (payloads in
tests/connectors/youtube/fixtures, shaped after commentThreads.list and comments.insert in
developers.google.com/youtube/v3/docs): the exact requests of a sweep and a reply, a second sweep
that stops where the first began and stores nothing twice, and each call charged to the 10,000
units a day the channel shares with publishing (1 per page, 50 per reply)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.urls import reverse

from chorus.channels.models import Channel
from chorus.connectors.base import RateLimited
from chorus.connectors.inbox import ReplyKey
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Cursor, InboxItem, Reply
from chorus.quotas.models import QuotaUsage
from tests.conftest import Cast
from tests.connectors.oauth_fakes import Fake, fake, fixture, oauth_apps  # noqa: F401  (fixtures)
from tests.connectors.youtube.conftest import youtube_channel  # noqa: F401  (fixture)
from tests.inbox.conftest import run_enqueued_sends

pytestmark = pytest.mark.django_db

API = "https://www.googleapis.com/youtube/v3"
THREADS = f"{API}/commentThreads"
COMMENTS = f"{API}/comments"
LIST = {
    "part": "snippet,replies",
    "allThreadsRelatedToChannelId": "UC_x5XG1OV2P6uZZ5FSM9Ttw",
    "maxResults": "100",
    "order": "time",
    "textFormat": "plainText",
}


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture("youtube", name))


def units(channel: Channel) -> int:
    return sum(QuotaUsage.objects.filter(channel=channel, bucket="units").values_list("amount", flat=True))


def test_a_sweep_pages_down_then_stops_where_it_began_and_a_reply_goes_under_the_thread(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    fake.on("GET", THREADS, ok("comment_threads_page1"), ok("comment_threads_page2"))
    # Two threads, a fan's reply in one of them (our own reply there is not an item), then one more.
    assert actions.poll(youtube_channel) == 4
    fake.routes[("GET", THREADS)] = [ok("comment_threads_newer")]
    # The newer sweep: one new thread, then a thread already stored; its next page is not asked.
    assert actions.poll(youtube_channel) == 1
    sent = fake.to("GET", THREADS)
    assert [dict(r.url.params) for r in sent] == [LIST, {**LIST, "pageToken": "QURTSl9pMlQ0"}, LIST]
    assert all(r.headers["Authorization"] == "Bearer yt-access-1" for r in sent)
    assert InboxItem.objects.count() == 5  # thread B came twice, stored once
    assert "2026-12-02T08:00:00Z" in Cursor.objects.get(channel=youtube_channel).value
    assert units(youtube_channel) == 3  # one unit per page read

    fan = Conversation.objects.get(author_id="UCfan0000000000000000001", root_id="vidA")
    assert fan.items_count == 2
    item = InboxItem.objects.get(network_id="UgzThreadA.r1")
    assert (item.kind, item.parent_id, item.url) == (
        "reply",
        "UgzThreadA",
        "https://www.youtube.com/watch?v=vidA&lc=UgzThreadA.r1",
    )
    assert InboxItem.objects.get(network_id="UgzThreadB").kind == "comment"

    fake.on("POST", COMMENTS, ok("comment_inserted"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_reply(conversation=fan, actor=cast.members["editor"], text="At noon")
    assert run_enqueued_sends() == ["sent"]
    [post] = fake.to("POST", COMMENTS)
    assert dict(post.url.params) == {"part": "snippet"}
    # Under the top-level comment: a YouTube thread is one level deep.
    assert fake.body(post) == {"snippet": {"parentId": "UgzThreadA", "textOriginal": "At noon"}}
    reply = Reply.objects.get()
    assert (reply.status, reply.network_id) == ("sent", "UgzThreadA.r3")
    assert reply.url == "https://www.youtube.com/watch?v=vidA&lc=UgzThreadA.r3"
    assert units(youtube_channel) == 3 + 50


def test_the_daily_quota_stops_the_poll_and_the_next_window_resumes_from_the_cursor(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    # 9,999 units spent (uploads, earlier polls): one page fits, the next would pass 10,000.
    QuotaUsage.objects.create(channel=youtube_channel, bucket="units", amount=9_999)
    fake.on("GET", THREADS, ok("comment_threads_page1"), ok("comment_threads_page2"))
    assert actions.poll(youtube_channel) == 3
    assert actions.poll(youtube_channel) == 0
    assert len(fake.to("GET", THREADS)) == 1
    assert units(youtube_channel) == 10_000
    # A reply (50 units) does not fit either: refused before anything is sent.
    entry = InboxItem.objects.get(network_id="UgzThreadA.r1").entry()
    with pytest.raises(RateLimited):
        youtube_channel.connector().inbox_reply(entry, "Hi", ReplyKey("k", dt.datetime.now(dt.UTC)))
    assert fake.to("POST", COMMENTS) == []
    # The next day the window has freed: the poll resumes on the page it stopped before.
    QuotaUsage.objects.update(at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    assert actions.poll(youtube_channel) == 1
    assert dict(fake.to("GET", THREADS)[1].url.params)["pageToken"] == "QURTSl9pMlQ0"


def test_the_settings_page_shows_the_units_used_in_the_window(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    fake.on("GET", THREADS, ok("comment_threads_page1"), ok("comment_threads_page2"))
    actions.poll(youtube_channel)
    url = reverse("inbox:settings", args=[cast.workspace.slug])
    page = cast.client_for(cast.members["editor"]).get(url).content.decode()
    assert "Chorus Foundation: 2 of 10000 units used in the last 24 hours" in page
    from chorus.accounts.models import User

    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    french = cast.client_for(cast.owner).get(url).content.decode()
    assert "Chorus Foundation : 2 unités sur 10000 utilisées ces dernières 24 heures" in french


def test_the_scheduled_poll_reads_youtube_every_fifteen_minutes_not_every_minute(
    cast: Cast,
    fake: Fake,  # noqa: F811
    youtube_channel: Channel,  # noqa: F811
) -> None:
    fake.on("GET", THREADS, ok("comment_threads_page2"))
    assert actions.poll_if_due(youtube_channel) == 1
    assert actions.poll_if_due(youtube_channel) == 0  # a minute later: not read
    assert len(fake.to("GET", THREADS)) == 1
    Cursor.objects.update(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    actions.poll_if_due(youtube_channel)
    assert len(fake.to("GET", THREADS)) == 2
    assert units(youtube_channel) == 2
