"""Instagram against an HTTP fake of the Graph API built from Meta's reference pages:
content publishing https://developers.facebook.com/docs/instagram-platform/content-publishing/ ,
IG Container https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container ,
content_publishing_limit .../reference/ig-user/content_publishing_limit , media insights .../reference/ig-media/insights
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors.base import ContentRejected, RateLimited, Transient
from chorus.connectors.instagram.connector import InstagramConnector
from chorus.connectors.meta import graph as graph_module
from chorus.connectors.meta.graph import GRAPH_VERSION, classify
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.graph_fake import fixture, graph_error, jpeg
from tests.publishing.conftest import make_target

HERE = Path(__file__).parent
FB_HERE = HERE.parent / "facebook"
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
IG = "17841400000000001"
CONTAINER = "17889455560051444"
CALLBACK = "https://chorus.example/channels/connect/instagram/callback/"


@pytest.fixture(autouse=True)
def _instant_polls(monkeypatch):
    monkeypatch.setattr(graph_module, "POLL_INTERVAL", 0)


@pytest.fixture
def account(cast, meta_apps):
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": IG, "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


def target_with(cast, channel, text="Hello reef #ocean", media=(), **options) -> PostTarget:
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def ready(graph, *, limit="publishing_limit.json"):
    graph.on("GET", f"{G}/{IG}/content_publishing_limit", fixture(HERE, limit))
    graph.on("GET", f"{G}/{CONTAINER}", fixture(HERE, "container_finished.json"))
    graph.on("POST", f"{G}/{IG}/media_publish", fixture(HERE, "media_publish.json"))
    graph.on("GET", f"{G}/17920238422030506", fixture(HERE, "media_info.json"))


def test_it_offers_the_instagram_accounts_linked_to_the_shared_pages(graph, meta_apps):
    graph.on("GET", f"{G}/oauth/access_token", fixture(FB_HERE, "oauth_long_lived.json"))
    graph.on("GET", f"{G}/me/accounts", fixture(HERE, "me_accounts_two_accounts.json"))
    redirect = InstagramConnector.begin_connect({}, callback_url=CALLBACK, state="s")
    assert "instagram_content_publish" in redirect.url and "client_id=instagram-app" in redirect.url
    choice = InstagramConnector.finish_connect(
        {"code": "c"}, state_data=redirect.state_data, callback_url=CALLBACK
    )
    assert [(o.key, o.name, o.detail) for o in choice.options] == [
        (IG, "@seasalive", "linked to the Page Seas Alive"),
        ("17841400000000004", "@reefphotos", "linked to the Page Reef Photos"),
    ]  # the Page without an Instagram account is not offered
    assert choice.options[0].picture.endswith("/17841400000000001_n.jpg") and choice.options[1].picture == ""
    result = choice.options[0].result
    assert (result.name, result.config, result.credentials) == (
        "@seasalive",
        {
            "ig_user_id": IG,
            "username": "seasalive",
            "page_id": "1111",
            "missing_permissions": [],
            "webhook_subscription": {},
        },
        {"access_token": "page-token-1111"},
    )
    fields = graph.query(graph.to("GET", f"{G}/me/accounts")[0])["fields"]
    assert fields.endswith("instagram_business_account{id,username,name,profile_picture_url}")


def test_no_linked_instagram_account_says_what_to_do(graph, meta_apps):
    graph.on("GET", f"{G}/oauth/access_token", fixture(FB_HERE, "oauth_long_lived.json"))
    graph.on("GET", f"{G}/me/accounts", fixture(FB_HERE, "me_accounts_one.json"))
    with pytest.raises(ValueError, match=r"Instagram professional account.*link it to a Facebook Page"):
        InstagramConnector.finish_connect({"code": "c"}, state_data={}, callback_url=CALLBACK)


def test_it_publishes_an_image_after_the_container_is_finished_then_comments(cast, graph, account):
    ready(graph)
    graph.on("POST", f"{G}/{IG}/media", fixture(HERE, "container.json"))
    graph.routes[("GET", f"{G}/{CONTAINER}")] = []
    graph.on(
        "GET",
        f"{G}/{CONTAINER}",
        fixture(HERE, "container_in_progress.json"),
        fixture(HERE, "container_finished.json"),
    )
    graph.on("POST", f"{G}/17920238422030506/comments", fixture(HERE, "comment.json"))
    result = account.connector().publish(
        target_with(cast, account, media=[jpeg("a.jpg")], first_comment="#reef #sea")
    )
    assert graph.form(graph.to("POST", f"{G}/{IG}/media")[0]) == {
        "caption": "Hello reef #ocean",
        "image_url": "https://chorus.example/media/a.jpg",
        "alt_text": "A reef",
    }
    assert len(graph.to("GET", f"{G}/{CONTAINER}")) == 2  # polled until FINISHED
    assert graph.form(graph.to("POST", f"{G}/{IG}/media_publish")[0]) == {"creation_id": CONTAINER}
    assert graph.form(graph.to("POST", f"{G}/17920238422030506/comments")[0]) == {"message": "#reef #sea"}
    assert (result.external_id, result.url) == ("17920238422030506", "https://www.instagram.com/p/C1a2b3/")
    assert result.extra == {"first_comment_id": "17870913679156914"}


def test_it_builds_a_carousel_from_children_and_reels_and_stories_by_type(cast, graph, account):
    ready(graph)
    graph.on("POST", f"{G}/{IG}/media", {"id": "c1"}, {"id": "c2"}, {"id": CONTAINER})
    graph.on("GET", f"{G}/c1", {"status_code": "FINISHED"})
    graph.on("GET", f"{G}/c2", {"status_code": "FINISHED"})
    account.connector().publish(target_with(cast, account, media=[jpeg("a.jpg"), jpeg("b.jpg")]))
    bodies = [graph.form(r) for r in graph.to("POST", f"{G}/{IG}/media")]
    assert bodies[0]["is_carousel_item"] == "true" and "caption" not in bodies[0]
    assert bodies[2] == {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Hello reef #ocean"}
    graph.sent.clear()
    graph.on("POST", f"{G}/{IG}/media", {"id": CONTAINER})
    graph.routes[("POST", f"{G}/{IG}/media")] = graph.routes[("POST", f"{G}/{IG}/media")][-1:]
    account.connector().publish(target_with(cast, account, media=[{"path": "r.mp4"}], ig_type="reels"))
    reel = graph.form(graph.to("POST", f"{G}/{IG}/media")[0])
    assert reel == {
        "media_type": "REELS",
        "caption": "Hello reef #ocean",
        "share_to_feed": "true",
        "video_url": "https://chorus.example/media/r.mp4",
    }
    graph.sent.clear()
    account.connector().publish(target_with(cast, account, media=[jpeg("s.jpg")], ig_type="story"))
    assert graph.form(graph.to("POST", f"{G}/{IG}/media")[0]) == {
        "media_type": "STORIES",
        "image_url": "https://chorus.example/media/s.jpg",
    }


def test_a_container_error_rejects_and_a_slow_one_is_transient(cast, graph, account, monkeypatch):
    ready(graph)
    graph.on("POST", f"{G}/{IG}/media", fixture(HERE, "container.json"))
    graph.routes[("GET", f"{G}/{CONTAINER}")] = []
    graph.on("GET", f"{G}/{CONTAINER}", fixture(HERE, "container_error.json"))
    with pytest.raises(ContentRejected, match="2207026"):
        account.connector().publish(target_with(cast, account, media=[jpeg("a.jpg")]))
    graph.routes[("GET", f"{G}/{CONTAINER}")] = []
    graph.on("GET", f"{G}/{CONTAINER}", fixture(HERE, "container_in_progress.json"))
    monkeypatch.setattr(graph_module, "POLL_ATTEMPTS", 3)
    with pytest.raises(Transient):
        account.connector().publish(target_with(cast, account, media=[jpeg("a.jpg")]))
    assert not graph.to("POST", f"{G}/{IG}/media_publish")


def test_a_full_publishing_limit_waits_without_creating_a_container(cast, graph, account):
    ready(graph, limit="publishing_limit_full.json")
    with pytest.raises(RateLimited) as caught:
        account.connector().publish(target_with(cast, account, media=[jpeg("a.jpg")]))
    assert caught.value.retry_after == 3600 and not graph.to("POST", f"{G}/{IG}/media")
    assert graph.query(graph.sent[0])["fields"] == "quota_usage,config"
    daily = classify(graph_error(9, "Application request limit reached", subcode=2207042))
    assert isinstance(daily, RateLimited)


def test_it_reads_insights_and_leaves_missing_metrics_absent(cast, graph, account):
    graph.on("GET", f"{G}/17920238422030506/insights", fixture(HERE, "insights.json"))
    target = target_with(cast, account)
    target.external_id = "17920238422030506"
    assert account.connector().post_metrics(target) == {
        "reach": 1200,
        "likes": 80,
        "comments": 5,
        "saves": 9,
        "views": 2300,
    }
    assert graph.query(graph.sent[0])["metric"] == "reach,likes,comments,saved,shares,views"


def test_validation_checks_caption_type_count_and_aspect_ratio(cast, account):
    wide = jpeg("wide.jpg", size=(2000, 800))
    problems = account.connector().validate(target_with(cast, account, text="x" * 2201, media=[wide]))
    assert {p.code for p in problems} == {"too_long", "aspect_ratio"}
    assert [p.code for p in account.connector().validate(target_with(cast, account))] == ["required"]
    reel = account.connector().validate(target_with(cast, account, media=[jpeg("a.jpg")], ig_type="reels"))
    assert [p.code for p in reel] == ["type"]


def test_the_engine_publishes_to_instagram(cast, graph, account):
    ready(graph)
    graph.on("POST", f"{G}/{IG}/media", fixture(HERE, "container.json"))
    target = make_target(cast, account, "Through the engine")
    target.media = [jpeg("e.jpg")]
    target.save()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert (target.status, target.external_id) == (PostTarget.Status.PUBLISHED, "17920238422030506")
