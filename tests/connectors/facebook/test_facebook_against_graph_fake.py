"""Facebook Pages against an HTTP fake of the Graph API built from Meta's reference pages:
- OAuth: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow/ and
  .../access-tokens/get-long-lived/; pages: https://developers.facebook.com/docs/graph-api/reference/user/accounts/
- Posts: https://developers.facebook.com/docs/pages-api/posts/ ; video: .../docs/video-api/guides/publishing/
- Errors: https://developers.facebook.com/docs/graph-api/guides/error-handling/
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors import registry
from chorus.connectors.base import AuthExpired, ContentRejected, RateLimited, ReauthRequired, Transient
from chorus.connectors.facebook.connector import FacebookConnector
from chorus.connectors.meta.graph import GRAPH_VERSION, classify
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.graph_fake import fixture, graph_error, jpeg, set_meta_app
from tests.publishing.conftest import make_target

HERE = Path(__file__).parent
G = f"https://graph.facebook.com/{GRAPH_VERSION}"
CALLBACK = "https://chorus.example/channels/connect/facebook/callback/"


@pytest.fixture
def page(cast, meta_apps):
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


def target_with(cast, channel, text="Hello seas", media=(), **options) -> PostTarget:
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def test_it_builds_the_oauth_url_with_the_page_scopes(meta_apps):
    redirect = FacebookConnector.begin_connect({"page": ""}, callback_url=CALLBACK, state="st4te")
    url = urlsplit(redirect.url)
    assert (
        f"{url.scheme}://{url.netloc}{url.path}" == f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"
    )
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {
        "client_id": "facebook-app",
        "redirect_uri": CALLBACK,
        "state": "st4te",
        "response_type": "code",
        "scope": "pages_show_list,pages_read_engagement,pages_manage_posts,read_insights,"
        "pages_read_user_content,pages_manage_engagement,pages_messaging,pages_manage_metadata",
    }


def test_it_exchanges_the_code_for_a_long_lived_token_and_offers_every_page(graph, meta_apps):
    graph.on(
        "GET",
        f"{G}/oauth/access_token",
        fixture(HERE, "oauth_access_token.json"),
        fixture(HERE, "oauth_long_lived.json"),
    )
    graph.on("GET", f"{G}/me/accounts", fixture(HERE, "me_accounts.json"))
    choice = FacebookConnector.finish_connect(
        {"code": "c0de", "state": "st4te"}, state_data={}, callback_url=CALLBACK
    )
    assert [(o.key, o.name, o.detail) for o in choice.options] == [
        ("1111", "Seas Alive", "Nonprofit Organization"),
        ("2222", "Seas Alive Kids", "Community"),
    ]
    assert choice.options[0].picture == "https://scontent.xx.fbcdn.net/v/t39.30808-1/1111_n.jpg"
    kids = choice.options[1].result
    assert (kids.name, kids.config, kids.credentials) == (
        "Seas Alive Kids",
        # /me/permissions is not answered here: the grants are unknown, nothing is marked missing.
        {
            "page_id": "2222",
            "page_name": "Seas Alive Kids",
            "missing_permissions": [],
            "webhook_subscription": {},
        },
        {"access_token": "page-token-2222"},
    )
    short, long = (graph.query(r) for r in graph.to("GET", f"{G}/oauth/access_token"))
    assert short == {
        "client_id": "facebook-app",
        "client_secret": "facebook-secret",
        "redirect_uri": CALLBACK,
        "code": "c0de",
    }
    assert long == {
        "grant_type": "fb_exchange_token",
        "client_id": "facebook-app",
        "client_secret": "facebook-secret",
        "fb_exchange_token": "short-user-token",
    }
    assert graph.query(graph.to("GET", f"{G}/me/accounts")[0]) == {
        "access_token": "long-user-token",
        "fields": "id,name,category,picture{url},access_token,tasks,"
        "instagram_business_account{id,username,name,profile_picture_url}",
        "limit": "100",
    }


def test_it_follows_the_pages_cursor_until_there_is_no_next_page(graph, meta_apps):
    graph.on("GET", f"{G}/oauth/access_token", fixture(HERE, "oauth_long_lived.json"))
    graph.on(
        "GET",
        f"{G}/me/accounts",
        fixture(HERE, "me_accounts_first_of_two.json"),
        fixture(HERE, "me_accounts.json"),
    )
    choice = FacebookConnector.finish_connect({"code": "c"}, state_data={}, callback_url=CALLBACK)
    assert [o.key for o in choice.options] == ["3333", "1111", "2222"]
    first, second = (graph.query(r) for r in graph.to("GET", f"{G}/me/accounts"))
    assert "after" not in first and second["after"] == "QVFIUb"


def test_no_page_shared_says_what_to_do(graph, meta_apps):
    graph.on("GET", f"{G}/oauth/access_token", fixture(HERE, "oauth_long_lived.json"))
    graph.on("GET", f"{G}/me/accounts", fixture(HERE, "me_accounts_none.json"))
    with pytest.raises(ValueError, match=r"shared no Page with Chorus\. Create a Page"):
        FacebookConnector.finish_connect({"code": "c"}, state_data={}, callback_url=CALLBACK)


def test_it_posts_text_with_a_link_to_the_page_feed(cast, graph, page):
    graph.on("POST", f"{G}/1111/feed", fixture(HERE, "feed_post.json"))
    result = page.connector().publish(target_with(cast, page, link="https://seas.example/story"))
    sent = graph.to("POST", f"{G}/1111/feed")[0]
    assert graph.form(sent) == {"message": "Hello seas", "link": "https://seas.example/story"}
    assert graph.query(sent) == {"access_token": "page-token-1111"}
    assert (result.external_id, result.url) == ("1111_555", "https://www.facebook.com/1111_555")


def test_it_posts_one_photo_with_its_caption(cast, graph, page):
    graph.on("POST", f"{G}/1111/photos", fixture(HERE, "photo_published.json"))
    result = page.connector().publish(target_with(cast, page, media=[jpeg("a.jpg")]))
    sent = graph.to("POST", f"{G}/1111/photos")[0]
    assert (
        b'name="caption"\r\n\r\nHello seas' in sent.content
        and b'name="source"; filename="a.jpg"' in sent.content
    )
    assert result.external_id == "1111_778"


def test_it_posts_several_photos_as_unpublished_uploads_attached_to_one_feed_post(cast, graph, page):
    graph.on("POST", f"{G}/1111/photos", {"id": "p1"}, {"id": "p2"})
    graph.on("POST", f"{G}/1111/feed", fixture(HERE, "feed_post.json"))
    page.connector().publish(target_with(cast, page, media=[jpeg("a.jpg"), jpeg("b.jpg")]))
    uploads = graph.to("POST", f"{G}/1111/photos")
    assert len(uploads) == 2 and all(b'name="published"\r\n\r\nfalse' in r.content for r in uploads)
    assert graph.form(graph.to("POST", f"{G}/1111/feed")[0]) == {
        "message": "Hello seas",
        "attached_media[0]": json.dumps({"media_fbid": "p1"}),
        "attached_media[1]": json.dumps({"media_fbid": "p2"}),
    }


def test_it_uploads_a_video_to_the_video_host_and_schedules_natively(cast, graph, page):
    default_storage.save("v.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"))
    graph.on(
        "POST", f"https://graph-video.facebook.com/{GRAPH_VERSION}/1111/videos", fixture(HERE, "video.json")
    )
    target = target_with(cast, page, media=[{"path": "v.mp4"}], native_schedule=True)
    target.scheduled_at = timezone.now() + dt.timedelta(hours=2)
    result = page.connector().publish(target)
    sent = graph.sent[0]
    assert sent.url.host == "graph-video.facebook.com"
    assert b'name="published"\r\n\r\nfalse' in sent.content
    assert (
        f'name="scheduled_publish_time"\r\n\r\n{int(target.scheduled_at.timestamp())}'.encode()
        in sent.content
    )
    assert result.external_id == "9001"


def test_it_reads_reactions_comments_shares_and_followers(cast, graph, page):
    graph.on("GET", f"{G}/1111_555", fixture(HERE, "post_metrics.json"))
    graph.on("GET", f"{G}/1111", {"followers_count": 1500, "id": "1111"})
    target = target_with(cast, page)
    target.external_id = "1111_555"
    assert page.connector().post_metrics(target) == {"reactions": 42, "comments": 7, "shares": 3}
    assert page.connector().account_metrics() == {"followers": 1500}  # fan_count not given: absent


def test_lookup_finds_the_post_by_exact_text_after_the_attempt_began(cast, graph, page):
    graph.on("GET", f"{G}/1111/posts", fixture(HERE, "page_posts.json"))
    found = page.connector().lookup(target_with(cast, page, text="Hello seas"))
    assert found is not None and found.external_id == "1111_555"
    assert page.connector().lookup(target_with(cast, page, text="Other")) is None


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (graph_error(190, "Session has expired", subcode=463, status=401), AuthExpired),
        (
            graph_error(190, "Error validating access token: password changed", subcode=460, status=401),
            ReauthRequired,
        ),
        (graph_error(100, "Invalid parameter"), ContentRejected),
        (graph_error(2, "Service temporarily unavailable", status=503), Transient),
        (graph_error(1, "An unknown error occurred", status=500), Transient),
        (graph_error(10, "Permission denied", status=403), ReauthRequired),
    ],
)
def test_it_classifies_graph_errors(answer, error):
    assert isinstance(classify(answer), error)


def test_a_rate_limit_waits_as_long_as_the_business_use_case_header_says():
    usage = {
        "1111": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 12,
            }
        ]
    }
    error = classify(
        graph_error(32, "Page request limit reached", **{"X-Business-Use-Case-Usage": json.dumps(usage)})
    )
    assert isinstance(error, RateLimited) and error.retry_after == 12 * 60
    app = classify(
        graph_error(
            4,
            "Application request limit reached",
            **{"X-App-Usage": '{"call_count": 100, "total_time": 5, "total_cputime": 5}'},
        )
    )
    assert isinstance(app, RateLimited) and app.retry_after == 3600
    for code in (17, 613):
        assert isinstance(classify(graph_error(code, "limit")), RateLimited)


def test_validation_names_each_problem(cast, page):
    default_storage.save("doc.pdf", ContentFile(b"%PDF"))
    target = target_with(
        cast, page, text="", media=[{"path": "doc.pdf"}, {"path": "missing.jpg"}], native_schedule=True
    )
    target.scheduled_at = timezone.now() + dt.timedelta(minutes=2)
    codes = {(p.field, p.code) for p in page.connector().validate(target)}
    assert codes == {("media[0]", "type"), ("media[1]", "missing"), ("options", "schedule")}
    assert page.connector().validate(target_with(cast, page, text="", media=[]))[0].code == "empty"


def test_the_channels_page_shows_an_unconfigured_network_with_its_setup_steps(
    cast, settings, owner_client, monkeypatch
):
    # Only the kinds whose package exists in this checkout (others land in parallel).
    present = {k: v for k, v in registry.CONNECTORS.items() if importlib.util.find_spec(v.rsplit(".", 1)[0])}
    monkeypatch.setattr(registry, "CONNECTORS", present)
    set_meta_app(settings, "facebook", "", "", enabled=True)
    set_meta_app(settings, "instagram", "i", "s", enabled=True)
    page = owner_client.get(reverse("channels:list", kwargs={"slug": cast.workspace.slug})).content.decode()
    facebook = page.split('data-network="facebook"')[1].split("</li>")[0]
    assert "not configured" in facebook and "FACEBOOK_CLIENT_ID" in facebook and "href" not in facebook
    instagram = page.split('data-network="instagram"')[1].split("</li>")[0]
    assert reverse("channels:connect", kwargs={"slug": cast.workspace.slug, "kind": "instagram"}) in instagram
    warnings = {m.id: m.msg for m in run_checks() if m.id.startswith("chorus.W10")}
    assert "FACEBOOK_CLIENT_ID, FACEBOOK_CLIENT_SECRET" in warnings["chorus.W101"]
    assert "chorus.W102" not in warnings


def test_the_engine_publishes_to_a_facebook_page(cast, graph, page):
    graph.on("POST", f"{G}/1111/feed", fixture(HERE, "feed_post.json"))
    target = make_target(cast, page, "Through the engine")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert (target.status, target.external_id) == (PostTarget.Status.PUBLISHED, "1111_555")
    assert graph.form(graph.sent[0]) == {"message": "Through the engine"}


# Deleting (a consent withdrawal asks for it): https://developers.facebook.com/docs/pages-api/posts/
# ("DELETE /{page-post-id}"), the post's attachments from
# https://developers.facebook.com/docs/graph-api/reference/story-attachment/ and the video node's
# DELETE from https://developers.facebook.com/docs/graph-api/reference/video/.
DELETED = {"success": True}


def test_delete_removes_each_photo_of_the_post_and_then_the_post(cast, graph, page):
    graph.on("GET", f"{G}/1111_555", fixture(HERE, "post_attachments_album.json"))
    for node in ("p1", "p2", "1111_555"):
        graph.on("DELETE", f"{G}/{node}", DELETED)
    target = target_with(cast, page, media=[jpeg("a.jpg"), jpeg("b.jpg")])
    target.external_id = "1111_555"
    page.connector().delete(target)
    deletes = [r for r in graph.sent if r.method == "DELETE"]
    assert [r.url.path for r in deletes] == [
        f"/{GRAPH_VERSION}/p1",
        f"/{GRAPH_VERSION}/p2",
        f"/{GRAPH_VERSION}/1111_555",
    ]
    assert all(graph.query(r)["access_token"] == "page-token-1111" for r in deletes)
    assert "attachments" in graph.query(graph.to("GET", f"{G}/1111_555")[0])["fields"]


def test_delete_of_one_photo_post_removes_the_photo_too(cast, graph, page):
    graph.on("GET", f"{G}/1111_778", fixture(HERE, "post_attachments_photo.json"))
    graph.on("DELETE", f"{G}/777", DELETED)
    graph.on("DELETE", f"{G}/1111_778", DELETED)
    target = target_with(cast, page, media=[jpeg("a.jpg")])
    target.external_id = "1111_778"
    page.connector().delete(target)
    assert [r.url.path for r in graph.sent if r.method == "DELETE"] == [
        f"/{GRAPH_VERSION}/777",
        f"/{GRAPH_VERSION}/1111_778",
    ]


def test_delete_of_a_video_post_deletes_the_video_node(cast, graph, page):
    default_storage.save("v.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"))
    graph.on("DELETE", f"{G}/9001", DELETED)
    target = target_with(cast, page, media=[{"path": "v.mp4", "kind": "video", "mime_type": "video/mp4"}])
    target.external_id = "9001"
    page.connector().delete(target)
    assert [(r.method, r.url.path) for r in graph.sent] == [("DELETE", f"/{GRAPH_VERSION}/9001")]


def test_a_refused_delete_is_an_error_the_team_sees(cast, graph, page):
    graph.on("GET", f"{G}/1111_555", {"id": "1111_555"})
    graph.on("DELETE", f"{G}/1111_555", graph_error(200, "(#200) Permissions error"))
    target = target_with(cast, page)
    target.external_id = "1111_555"
    with pytest.raises((ContentRejected, ReauthRequired, AuthExpired)):
        page.connector().delete(target)
