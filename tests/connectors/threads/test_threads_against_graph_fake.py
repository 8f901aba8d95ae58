"""Threads against an HTTP fake of graph.threads.net built from Meta's reference pages:
posts https://developers.facebook.com/docs/threads/posts , replies .../threads/reply-management ,
tokens .../threads/get-started/get-access-tokens-and-permissions , limits .../threads/overview#rate-limiting ,
insights .../threads/insights
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors.base import RateLimited
from chorus.connectors.meta import graph as graph_module
from chorus.connectors.threads.connector import ThreadsConnector
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.graph_fake import fixture, jpeg
from tests.publishing.conftest import make_target

HERE = Path(__file__).parent
T = "https://graph.threads.net/v1.0"
CALLBACK = "https://chorus.example/channels/connect/threads/callback/"


@pytest.fixture(autouse=True)
def _instant_polls(monkeypatch):
    monkeypatch.setattr(graph_module, "POLL_INTERVAL", 0)


@pytest.fixture
def profile(cast, meta_apps):
    return connect_channel(
        workspace=cast.workspace,
        kind="threads",
        name="@seasalive",
        config={"user_id": "2648", "username": "seasalive"},
        credentials={"access_token": "long-threads-token"},
        actor=cast.owner,
    )


def ready(graph, limit=None):
    graph.on("GET", f"{T}/2648/threads_publishing_limit", limit or fixture(HERE, "publishing_limit.json"))
    graph.on("POST", f"{T}/2648/threads", fixture(HERE, "container.json"))
    graph.on("GET", f"{T}/1234567", fixture(HERE, "container_finished.json"))
    graph.on("POST", f"{T}/2648/threads_publish", fixture(HERE, "publish.json"))
    graph.on("GET", f"{T}/1234567890", fixture(HERE, "post_info.json"))


def target_with(cast, channel, text="Hello threads", media=(), **options) -> PostTarget:
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def test_it_authorizes_exchanges_for_a_long_lived_token_and_refreshes(graph, meta_apps, profile):
    redirect = ThreadsConnector.begin_connect({}, callback_url=CALLBACK, state="s")
    assert redirect.url.startswith("https://threads.net/oauth/authorize?client_id=threads-app&")
    assert "scope=threads_basic%2Cthreads_content_publish" in redirect.url and "state=s" in redirect.url
    graph.on("POST", "https://graph.threads.net/oauth/access_token", fixture(HERE, "oauth_access_token.json"))
    graph.on("GET", "https://graph.threads.net/access_token", fixture(HERE, "long_lived.json"))
    graph.on("GET", f"{T}/me", fixture(HERE, "me.json"))
    result = ThreadsConnector.finish_connect({"code": "c"}, state_data={}, callback_url=CALLBACK)
    assert (result.name, result.config["user_id"], result.credentials) == (
        "@seasalive",
        "2648",
        {"access_token": "long-threads-token"},
    )
    assert graph.form(graph.sent[0]) == {
        "client_id": "threads-app",
        "client_secret": "threads-secret",
        "grant_type": "authorization_code",
        "redirect_uri": CALLBACK,
        "code": "c",
    }
    assert graph.query(graph.sent[1]) == {
        "grant_type": "th_exchange_token",
        "client_secret": "threads-secret",
        "access_token": "short-threads-token",
    }
    graph.on(
        "GET",
        "https://graph.threads.net/refresh_access_token",
        {"access_token": "fresh", "expires_in": 5183944},
    )
    profile.connector().refresh_credentials()
    profile.refresh_from_db()
    assert profile.credentials["access_token"] == "fresh"


def test_it_creates_a_text_container_then_publishes_it(cast, graph, profile):
    ready(graph)
    result = profile.connector().publish(target_with(cast, profile))
    assert graph.form(graph.to("POST", f"{T}/2648/threads")[0]) == {
        "media_type": "TEXT",
        "text": "Hello threads",
    }
    assert graph.form(graph.to("POST", f"{T}/2648/threads_publish")[0]) == {"creation_id": "1234567"}
    assert (result.external_id, result.url) == ("1234567890", "https://www.threads.net/@seasalive/post/abC")


def test_a_long_text_becomes_a_thread_of_replies_and_an_image_polls_its_container(cast, graph, profile):
    ready(graph)
    graph.routes[("POST", f"{T}/2648/threads_publish")] = []
    graph.on("POST", f"{T}/2648/threads_publish", {"id": "1234567890"}, {"id": "1234567891"})
    text = " ".join(["word"] * 150)  # 749 characters: two parts
    profile.connector().publish(target_with(cast, profile, text=text, media=[jpeg("a.jpg")], thread=True))
    first, second = (graph.form(r) for r in graph.to("POST", f"{T}/2648/threads"))
    assert first["media_type"] == "IMAGE" and first["image_url"] == "https://chorus.example/media/a.jpg"
    assert second["media_type"] == "TEXT" and second["reply_to_id"] == "1234567890"
    assert len(first["text"]) <= 500 and first["text"] + " " + second["text"] == text
    assert graph.query(graph.to("GET", f"{T}/1234567")[0])["fields"] == "status,error_message"


def test_a_reply_goes_to_the_given_post_and_a_full_limit_waits(cast, graph, profile):
    ready(graph)
    profile.connector().publish(target_with(cast, profile, reply_to_id="999"))
    assert graph.form(graph.to("POST", f"{T}/2648/threads")[0])["reply_to_id"] == "999"
    graph.routes[("GET", f"{T}/2648/threads_publishing_limit")] = []
    graph.on(
        "GET",
        f"{T}/2648/threads_publishing_limit",
        {"data": [{"quota_usage": 250, "config": {"quota_total": 250, "quota_duration": 86400}}]},
    )
    with pytest.raises(RateLimited):
        profile.connector().publish(target_with(cast, profile))


def test_it_reads_views_likes_replies_reposts_quotes_and_followers(cast, graph, profile):
    graph.on("GET", f"{T}/1234567890/insights", fixture(HERE, "insights.json"))
    graph.on("GET", f"{T}/2648/threads_insights", fixture(HERE, "followers.json"))
    target = target_with(cast, profile)
    target.external_id = "1234567890"
    metrics = profile.connector().post_metrics(target)
    assert metrics == {
        "views": 310,
        "likes": 12,
        "replies": 3,
        "reposts": 1,
        "quotes": 0,
    }  # no shares: absent
    assert profile.connector().account_metrics() == {"followers": 845}


def test_validation_counts_500_characters(cast, profile):
    problems = profile.connector().validate(target_with(cast, profile, text="x" * 501))
    assert [p.code for p in problems] == ["too_long"]
    assert profile.connector().validate(target_with(cast, profile, text="x " * 400, thread=True)) == []


def test_the_engine_publishes_to_threads(cast, graph, profile):
    ready(graph)
    target = make_target(cast, profile, "Through the engine")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert (target.status, target.external_id) == (PostTarget.Status.PUBLISHED, "1234567890")


def test_delete_removes_the_post_that_holds_the_media(cast, graph, profile):
    """https://developers.facebook.com/docs/threads/posts/delete-posts: DELETE /{threads-media-id}
    answers {"success": true, "deleted_id": ...}; the permission is threads_delete."""
    assert "threads_delete" in ThreadsConnector.begin_connect({}, callback_url=CALLBACK, state="s").url
    graph.on("DELETE", f"{T}/1790", {"success": True, "deleted_id": "1790"})
    target = target_with(cast, profile)
    target.external_id = "1790"
    profile.connector().delete(target)
    [sent] = graph.sent
    assert (sent.method, str(sent.url).split("?")[0]) == ("DELETE", f"{T}/1790")
    assert graph.query(sent) == {"access_token": "long-threads-token"}
