"""TikTok connector against a fake of the Content Posting API (recorded payloads in fixtures/),
asserting the exact requests Chorus sends."""

from __future__ import annotations

import datetime as dt
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
from chorus.connectors.tiktok import client as tiktok_client
from chorus.connectors.tiktok import connector as tiktok_connector
from chorus.connectors.tiktok.client import classify
from chorus.connectors.tiktok.connector import TikTokConnector
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.oauth_fakes import fixture
from tests.publishing.conftest import make_target

API = "https://open.tiktokapis.com/v2"
TOKEN = f"{API}/oauth/token/"
INIT = f"{API}/post/publish/video/init/"
STATUS = f"{API}/post/publish/status/fetch/"
CREATOR = f"{API}/post/publish/creator_info/query/"
UPLOAD = "https://open-upload.tiktokapis.com/video/"
CALLBACK = "https://chorus.example/channels/connect/tiktok/callback"
VIDEO = b"0123456789"


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr(tiktok_connector.time, "sleep", lambda seconds: None)


def ok(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=fixture("tiktok", name))


def video_target(cast, channel, text="Our year #climate", **options):
    default_storage.save("uploads/clip.mp4", ContentFile(VIDEO))
    target = make_target(cast, channel, text=text)
    target.media, target.options = [{"path": "uploads/clip.mp4"}], options
    target.save()
    return target


def answer_publish(fake, *statuses: str):
    fake.on("POST", CREATOR, ok("creator_info"))
    fake.on("POST", INIT, ok("video_init"))
    fake.on("PUT", UPLOAD, httpx.Response(201))
    fake.on("POST", STATUS, *(ok(name) for name in statuses or ("status_complete",)))


def test_it_connects_with_the_client_key_and_records_the_audit_state(fake, oauth_apps, settings):
    redirect = TikTokConnector.begin_connect({}, callback_url=CALLBACK, state="st")
    query = parse_qs(urlsplit(redirect.url).query)
    assert redirect.url.startswith("https://www.tiktok.com/v2/auth/authorize/?")
    assert query["client_key"] == ["tiktok-id"] and query["state"] == ["st"]
    assert "video.publish" in query["scope"][0].split(",")
    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", f"{API}/user/info/", ok("user_info"))
    result = TikTokConnector.finish_connect({"code": "c0de"}, state_data={}, callback_url=CALLBACK)
    assert fake.form(fake.to("POST", TOKEN)[0]) == {
        "client_key": "tiktok-id",
        "client_secret": "tiktok-secret",
        "code": "c0de",
        "grant_type": "authorization_code",
        "redirect_uri": CALLBACK,
    }
    assert result.name == "chorusfoundation" and result.config["audited"] is False
    assert "private" in str(TikTokConnector.setup_steps)


def test_it_direct_posts_init_upload_then_status(cast, fake, tiktok_channel):
    answer_publish(fake, "status_processing", "status_complete")
    result = tiktok_channel.connector().publish(
        video_target(cast, tiktok_channel, privacy="MUTUAL_FOLLOW_FRIENDS")
    )
    init = fake.to("POST", INIT)[0]
    assert init.headers["Authorization"] == "Bearer act.tt-access-1"
    assert fake.body(init) == {
        "post_info": {
            "title": "Our year #climate",
            "privacy_level": "MUTUAL_FOLLOW_FRIENDS",
            "disable_duet": False,
            "disable_comment": False,
            "disable_stitch": False,
            "video_cover_timestamp_ms": 1000,
        },
        "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1},
    }
    put = fake.to("PUT", UPLOAD)[0]
    assert put.url.params["upload_id"] == "67890" and put.content == VIDEO
    assert put.headers["Content-Range"] == "bytes 0-9/10" and put.headers["Content-Type"] == "video/mp4"
    assert "Authorization" not in put.headers
    assert [fake.body(r) for r in fake.to("POST", STATUS)] == [
        {"publish_id": "v_pub_file~v2-1.123456789"}
    ] * 2
    assert result.external_id == "7291234567890123456"
    assert result.url == "https://www.tiktok.com/@chorusfoundation/video/7291234567890123456"


def test_it_uploads_large_videos_in_chunks_with_the_remainder_in_the_last(
    cast, fake, tiktok_channel, monkeypatch
):
    monkeypatch.setattr(tiktok_client, "MAX_CHUNK", 4)
    answer_publish(fake)
    tiktok_channel.connector().publish(video_target(cast, tiktok_channel))
    source = fake.body(fake.to("POST", INIT)[0])["source_info"]
    assert source == {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 4, "total_chunk_count": 2}
    puts = fake.to("PUT", UPLOAD)
    assert [r.headers["Content-Range"] for r in puts] == ["bytes 0-3/10", "bytes 4-9/10"]
    assert [r.content for r in puts] == [b"0123", b"456789"]


def test_an_unaudited_app_always_posts_privately(cast, fake, tiktok_channel):
    tiktok_channel.config = {**tiktok_channel.config, "audited": False}
    tiktok_channel.save()
    answer_publish(fake, "status_complete_private")
    result = tiktok_channel.connector().publish(
        video_target(cast, tiktok_channel, privacy="PUBLIC_TO_EVERYONE")
    )
    assert fake.body(fake.to("POST", INIT)[0])["post_info"]["privacy_level"] == "SELF_ONLY"
    assert result.external_id == "v_pub_file~v2-1.123456789" and result.url == ""
    assert result.extra["privacy"] == "SELF_ONLY"


def test_a_failed_processing_is_a_rejection_and_an_init_timeout_an_unknown_outcome(
    cast, fake, tiktok_channel
):
    answer_publish(fake, "status_failed")
    with pytest.raises(ContentRejected, match="file_format_check_failed"):
        tiktok_channel.connector().publish(video_target(cast, tiktok_channel))
    fake.routes[("POST", INIT)] = [httpx.ReadTimeout("slow")]
    with pytest.raises(OutcomeUnknown):
        tiktok_channel.connector().publish(video_target(cast, tiktok_channel))


def test_it_classifies_tiktok_errors():
    assert classify(ok("video_init")) is None
    assert isinstance(classify(ok("error_token_invalid", 401)), AuthExpired)
    assert isinstance(classify(ok("error_scope", 401)), ReauthRequired)
    rate = classify(ok("error_rate", 429))
    assert isinstance(rate, RateLimited) and rate.retry_after == 60
    spam = classify(ok("error_spam", 403))
    assert isinstance(spam, RateLimited) and spam.retry_after == 86400
    unaudited = classify(ok("error_unaudited", 403))
    assert isinstance(unaudited, ContentRejected) and "private account" in unaudited.message
    assert isinstance(classify(httpx.Response(503, text="")), Transient)


def test_it_refreshes_and_stores_the_rotated_refresh_token(fake, tiktok_channel):
    fake.on("POST", TOKEN, ok("token_refreshed"))
    tiktok_channel.connector().refresh_credentials()
    assert fake.form(fake.to("POST", TOKEN)[0])["grant_type"] == "refresh_token"
    tiktok_channel.refresh_from_db()
    assert tiktok_channel.credentials["refresh_token"] == "rft.tt-refresh-2"
    fake.routes.clear()
    fake.on("POST", TOKEN, httpx.Response(400, json=fixture("tiktok", "token_refused")))
    with pytest.raises(ReauthRequired):
        tiktok_channel.connector().refresh_credentials()


def test_it_reads_video_metrics_and_leaves_missing_ones_absent(cast, fake, tiktok_channel):
    fake.on("POST", f"{API}/video/query/", ok("video_query"))
    target = video_target(cast, tiktok_channel)
    target.external_id = "7291234567890123456"
    assert tiktok_channel.connector().post_metrics(target) == {"views": 4300, "likes": 210, "comments": 12}
    assert fake.body(fake.sent[0]) == {"filters": {"video_ids": ["7291234567890123456"]}}
    target.external_id = "v_pub_file~v2-1.123456789"
    assert tiktok_channel.connector().post_metrics(target) == {}


def test_validation_requires_one_video(cast, tiktok_channel):
    connector = tiktok_channel.connector()
    target = video_target(cast, tiktok_channel)
    assert connector.validate(target) == []
    target.media = [{"path": "uploads/a.png"}]
    target.options = {"privacy": "EVERYONE"}
    assert [p.code for p in connector.validate(target)] == ["privacy", "video"]


def test_it_publishes_end_to_end_through_the_engine(cast, fake, tiktok_channel):
    answer_publish(fake)
    target = video_target(cast, tiktok_channel)
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk] and engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED and target.external_id == "7291234567890123456"
