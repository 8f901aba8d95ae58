"""X connector against a fake of the X API v2 (recorded payloads in fixtures/), asserting the
exact requests Chorus sends."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from chorus.connectors.base import (
    AuthExpired,
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    ReauthRequired,
    Transient,
)
from chorus.connectors.x import client as x_client
from chorus.connectors.x.client import classify
from chorus.connectors.x.connector import XConnector
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine
from tests.connectors.oauth_fakes import fixture
from tests.publishing.conftest import make_target

API = "https://api.x.com"
TWEETS = f"{API}/2/tweets"
TOKEN = f"{API}/2/oauth2/token"
CALLBACK = "https://chorus.example/channels/connect/x/callback"


def ok(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=fixture("x", name), headers=headers)


def target_with(cast, channel, text="Hello world!", media=(), **options):
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def test_it_connects_with_pkce_and_exchanges_the_code(fake, oauth_apps):
    redirect = XConnector.begin_connect({}, callback_url=CALLBACK, state="st4te")
    query = parse_qs(urlsplit(redirect.url).query)
    assert redirect.url.startswith("https://x.com/i/oauth2/authorize?")
    assert query["state"] == ["st4te"] and query["client_id"] == ["x-id"]
    assert query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [CALLBACK]
    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", f"{API}/2/users/me", ok("users_me"))
    result = XConnector.finish_connect(
        {"code": "c0de", "state": "st4te"}, state_data=redirect.state_data, callback_url=CALLBACK
    )
    exchange = fake.to("POST", TOKEN)[0]
    assert fake.form(exchange) == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": CALLBACK,
        "code_verifier": redirect.state_data["code_verifier"],
        "client_id": "x-id",
    }
    assert exchange.headers["Authorization"].startswith("Basic ")
    assert fake.to("GET", f"{API}/2/users/me")[0].headers["Authorization"] == "Bearer x-access-1"
    assert result.name == "@chorusteam" and result.config == {
        "user_id": "2244994945",
        "username": "chorusteam",
    }
    assert result.credentials["refresh_token"] == "x-refresh-1"
    assert result.credentials["expires_at"] == pytest.approx(time.time() + 7200, abs=5)


def test_it_is_not_configured_without_client_id_and_secret(settings):
    settings.CHORUS_OAUTH_APPS = {"x": {"client_id": "id", "client_secret": "", "enabled": None}}
    assert not XConnector.configured()
    with pytest.raises(ValueError, match="not configured"):
        XConnector.begin_connect({}, callback_url=CALLBACK, state="s")
    settings.CHORUS_OAUTH_APPS = {"x": {"client_id": "id", "client_secret": "s", "enabled": None}}
    assert XConnector.configured() and "X_CLIENT_ID" in str(XConnector.setup_steps)


def test_it_posts_a_thread_as_replies(cast, fake, x_channel):
    fake.on("POST", TWEETS, ok("create_tweet", 201), ok("create_reply", 201))
    target = target_with(cast, x_channel, text=" ".join(["word"] * 80), thread=True)
    result = x_channel.connector().publish(target)
    bodies = [fake.body(r) for r in fake.to("POST", TWEETS)]
    assert len(bodies) == 2 and "reply" not in bodies[0]
    assert bodies[1]["reply"] == {"in_reply_to_tweet_id": "1445880548472328192"}
    assert " ".join([bodies[0]["text"], bodies[1]["text"]]) == target.text
    assert result.external_id == "1445880548472328192"
    assert result.url == "https://x.com/chorusteam/status/1445880548472328192"
    assert fake.to("POST", TWEETS)[0].headers["Authorization"] == "Bearer x-access-1"


def test_it_uploads_video_in_chunks_and_waits_for_processing(cast, fake, x_channel, monkeypatch):
    monkeypatch.setattr(x_client, "CHUNK_SIZE", 4)
    monkeypatch.setattr(x_client.time, "sleep", lambda seconds: None)
    default_storage.save("uploads/clip.mp4", ContentFile(b"0123456789"))
    media_id = "1880028106020515840"
    fake.on("POST", f"{API}/2/media/upload/initialize", ok("media_initialize"))
    fake.on("POST", f"{API}/2/media/upload/{media_id}/append", httpx.Response(204))
    fake.on("POST", f"{API}/2/media/upload/{media_id}/finalize", ok("media_finalize_pending"))
    fake.on("GET", f"{API}/2/media/upload", ok("media_status_succeeded"))
    fake.on("POST", TWEETS, ok("create_tweet", 201))
    target = target_with(cast, x_channel, text="Watch", media=[{"path": "uploads/clip.mp4", "alt": ""}])
    x_channel.connector().publish(target)
    assert fake.body(fake.to("POST", f"{API}/2/media/upload/initialize")[0]) == {
        "media_type": "video/mp4",
        "total_bytes": 10,
        "media_category": "tweet_video",
    }
    appends = fake.to("POST", f"{API}/2/media/upload/{media_id}/append")
    assert len(appends) == 3  # 4 + 4 + 2 bytes
    assert [b'name="segment_index"\r\n\r\n%d' % i in r.content for i, r in enumerate(appends)] == [True] * 3
    assert b"0123" in appends[0].content and b"89" in appends[2].content
    status = fake.to("GET", f"{API}/2/media/upload")[0]
    assert status.url.params["command"] == "STATUS" and status.url.params["media_id"] == media_id
    assert fake.body(fake.to("POST", TWEETS)[0]) == {"text": "Watch", "media": {"media_ids": [media_id]}}


def test_it_refreshes_an_expiring_token_before_publishing(cast, fake, x_channel):
    x_channel.credentials = {**x_channel.credentials, "expires_at": int(time.time()) + 60}
    x_channel.save()
    fake.on("POST", TOKEN, ok("token_refreshed"))
    fake.on("POST", TWEETS, ok("create_tweet", 201))
    x_channel.connector().publish(target_with(cast, x_channel))
    assert fake.form(fake.to("POST", TOKEN)[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": "x-refresh-1",
        "client_id": "x-id",
    }
    assert fake.to("POST", TWEETS)[0].headers["Authorization"] == "Bearer x-access-2"
    x_channel.refresh_from_db()
    assert x_channel.credentials["access_token"] == "x-access-2"
    assert x_channel.credentials["refresh_token"] == "x-refresh-2"


def test_a_refused_refresh_needs_a_reconnect_but_a_token_server_outage_does_not(fake, x_channel):
    fake.on("POST", TOKEN, httpx.Response(400, json=fixture("x", "token_invalid")))
    with pytest.raises(ReauthRequired):
        x_channel.connector().refresh_credentials()
    fake.routes.clear()
    fake.on("POST", TOKEN, httpx.Response(503, text="busy"))
    with pytest.raises(Transient):
        x_channel.connector().refresh_credentials()
    x_channel.refresh_from_db()
    assert x_channel.credentials["refresh_token"] == "x-refresh-1"


def test_it_classifies_x_errors():
    assert isinstance(classify(ok("error_401", 401)), AuthExpired)
    reset = str(int(time.time()) + 120)
    limited = classify(ok("error_429", 429, **{"x-rate-limit-reset": reset}))
    assert isinstance(limited, RateLimited) and 100 < limited.retry_after <= 121
    duplicate = classify(ok("error_duplicate", 403))
    assert isinstance(duplicate, ContentRejected) and "duplicate content" in duplicate.message
    invalid = classify(ok("error_400", 400))
    assert isinstance(invalid, ContentRejected) and "too long" in invalid.message
    assert isinstance(classify(httpx.Response(503)), Transient)
    assert classify(ok("create_tweet", 201)) is None


def test_a_read_timeout_after_creating_is_an_unknown_outcome(cast, fake, x_channel):
    fake.on("POST", TWEETS, httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        x_channel.connector().publish(target_with(cast, x_channel))


def test_lookup_finds_the_post_among_recent_tweets_ignoring_tco_links(cast, fake, x_channel):
    fake.on("GET", f"{API}/2/users/2244994945/tweets", ok("user_tweets"))
    target = target_with(cast, x_channel, text="Our report is out https://example.org/report-2026")
    found = x_channel.connector().lookup(target)
    assert found is not None and found.external_id == "1445880548472328192"
    request = fake.to("GET", f"{API}/2/users/2244994945/tweets")[0]
    assert request.url.params["exclude"] == "retweets" and request.url.params["start_time"].endswith("Z")
    assert x_channel.connector().lookup(target_with(cast, x_channel, text="Never posted")) is None


def test_it_reads_public_metrics_without_inventing_zeros(cast, fake, x_channel):
    payload = fixture("x", "tweet_metrics")
    del payload["data"]["public_metrics"]["impression_count"]
    fake.on("GET", f"{TWEETS}/1445880548472328192", httpx.Response(200, json=payload))
    target = target_with(cast, x_channel)
    target.external_id = "1445880548472328192"
    metrics = x_channel.connector().post_metrics(target)
    assert metrics == {"likes": 31, "reposts": 4, "replies": 2, "quotes": 1, "bookmarks": 3}
    assert fake.sent[0].url.params["tweet.fields"] == "public_metrics,created_at"


def test_it_estimates_the_pay_per_use_cost_higher_with_a_link(cast, x_channel):
    assert XConnector.estimated_cost(target_with(cast, x_channel, text="Hi")) == Decimal("0.015")
    assert XConnector.estimated_cost(target_with(cast, x_channel, text="See https://a.org")) == Decimal(
        "0.200"
    )


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("日本語のテキスト", 16),  # CJK weighs 2
        ("😀", 2),
        ("👨‍👩‍👧‍👦", 2),  # a ZWJ family is one emoji
        ("👍🏽", 2),
        ("🇫🇷", 2),
        ("é", 1),  # NFC: e + combining accent is one character
        ("read https://example.org/a/very/long/path/indeed?with=query", 28),
        ("visit example.com.", 30),
        ("“quotes” – dash…", 17),  # 8208–8223 (quotes, dash) weigh 1; … (8230) weighs 2
    ],
)
def test_it_weighs_text_as_x_counts_it(text, length):
    from chorus.connectors.x.text import weighted_length

    assert weighted_length(text) == length


def test_validation_counts_weighted_length_and_media_rules(cast, x_channel):
    connector = x_channel.connector()
    assert [p.code for p in connector.validate(target_with(cast, x_channel, text="字" * 141))] == ["too_long"]
    assert connector.validate(target_with(cast, x_channel, text="a" * 280)) == []
    images = [{"path": f"uploads/{n}.png", "alt": ""} for n in range(5)]
    assert "too_many" in [p.code for p in connector.validate(target_with(cast, x_channel, media=images))]
    mixed = [{"path": "uploads/a.png"}, {"path": "uploads/b.mp4"}]
    assert "too_many" in [p.code for p in connector.validate(target_with(cast, x_channel, media=mixed))]
    pdf = [{"path": "uploads/a.pdf"}]
    assert [p.code for p in connector.validate(target_with(cast, x_channel, media=pdf))] == ["type"]


def test_it_publishes_end_to_end_through_the_engine(cast, fake, x_channel):
    fake.on("POST", TWEETS, ok("create_tweet", 201))
    target = make_target(cast, x_channel, text="Hello world!", when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk]
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED and target.external_id == "1445880548472328192"


def test_the_engine_refreshes_once_on_auth_expired(cast, fake, x_channel):
    fake.on("POST", TWEETS, ok("error_401", 401), ok("create_tweet", 201))
    fake.on("POST", TOKEN, ok("token_refreshed"))
    target = make_target(cast, x_channel, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "published"
    assert [r.headers["Authorization"] for r in fake.to("POST", TWEETS)] == [
        "Bearer x-access-1",
        "Bearer x-access-2",
    ]


def test_validation_reads_video_duration_and_aspect_ratio_with_ffprobe(cast, x_channel, settings):
    import subprocess

    path = default_storage.path("uploads/wide.mp4")
    default_storage.save("uploads/placeholder", ContentFile(b""))  # creates the folder
    subprocess.run(
        [
            "/usr/bin/ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=400x100:d=0.3",
            "-c:v",
            "mpeg4",
            "-y",
            path,
        ],
        check=True,
        timeout=60,
    )
    target = target_with(cast, x_channel, text="Clip", media=[{"path": "uploads/wide.mp4"}])
    assert sorted(p.code for p in x_channel.connector().validate(target)) == ["aspect", "duration"]
