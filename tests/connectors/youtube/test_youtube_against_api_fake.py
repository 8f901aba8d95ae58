"""YouTube connector against a fake of the Data API v3 and Google OAuth (recorded payloads in
fixtures/), asserting the exact requests Chorus sends."""

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
from chorus.connectors.youtube.client import classify
from chorus.connectors.youtube.connector import YouTubeConnector
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine
from tests.connectors.oauth_fakes import fixture
from tests.publishing.conftest import make_target

UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
SESSION = "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id=xa298sd_f"
TOKEN = "https://oauth2.googleapis.com/token"
API = "https://www.googleapis.com/youtube/v3"
CALLBACK = "https://chorus.example/channels/connect/youtube/callback"


def ok(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=fixture("youtube", name))


def video_target(cast, channel, text="Thanks", **options):
    default_storage.save("uploads/year.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42video"))
    target = make_target(cast, channel, text=text)
    target.media = [{"path": "uploads/year.mp4", "alt": ""}]
    target.options = {"title": "Our year", **options}
    target.save()
    return target


def answer_upload(fake):
    fake.on("POST", UPLOAD, httpx.Response(200, headers={"Location": SESSION}))
    fake.on("PUT", UPLOAD, ok("video_inserted", 201))


def test_it_connects_with_offline_access(fake, oauth_apps):
    redirect = YouTubeConnector.begin_connect({}, callback_url=CALLBACK, state="st")
    query = parse_qs(urlsplit(redirect.url).query)
    assert redirect.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"] and query["state"] == ["st"]
    assert "https://www.googleapis.com/auth/youtube.upload" in query["scope"][0].split()
    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", f"{API}/channels", ok("channels_mine"))
    result = YouTubeConnector.finish_connect({"code": "c0de"}, state_data={}, callback_url=CALLBACK)
    assert fake.form(fake.to("POST", TOKEN)[0])["grant_type"] == "authorization_code"
    assert dict(fake.to("GET", f"{API}/channels")[0].url.params) == {
        "part": "snippet,statistics",
        "mine": "true",
    }
    assert result.name == "Chorus Foundation" and result.config["channel_id"] == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert result.credentials["refresh_token"] == "yt-refresh-1"


def test_it_uploads_resumably_with_title_description_and_privacy(cast, fake, youtube_channel):
    answer_upload(fake)
    target = video_target(cast, youtube_channel, privacy="unlisted", tags=["climate"])
    result = youtube_channel.connector().publish(target)
    session = fake.to("POST", UPLOAD)[0]
    assert dict(session.url.params) == {"uploadType": "resumable", "part": "snippet,status"}
    assert session.headers["X-Upload-Content-Length"] == str(len(b"\x00\x00\x00\x18ftypmp42video"))
    assert session.headers["X-Upload-Content-Type"] == "video/mp4"
    assert session.headers["Authorization"] == "Bearer yt-access-1"
    assert fake.body(session) == {
        "snippet": {"title": "Our year", "description": "Thanks", "tags": ["climate"], "categoryId": "22"},
        "status": {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False},
    }
    put = fake.to("PUT", UPLOAD)[0]
    assert str(put.url) == SESSION and put.content == b"\x00\x00\x00\x18ftypmp42video"
    assert result.external_id == "dQw4w9WgXcQ" and result.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_a_scheduled_publish_time_uploads_private_with_publish_at(cast, fake, youtube_channel):
    answer_upload(fake)
    when = dt.datetime(2030, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    youtube_channel.connector().publish(
        video_target(cast, youtube_channel, privacy="public", publish_at=when.isoformat())
    )
    status = fake.body(fake.to("POST", UPLOAD)[0])["status"]
    assert status == {
        "privacyStatus": "private",
        "selfDeclaredMadeForKids": False,
        "publishAt": "2030-12-01T09:00:00Z",
    }


def test_a_timeout_while_sending_the_bytes_is_an_unknown_outcome(cast, fake, youtube_channel):
    fake.on("POST", UPLOAD, httpx.Response(200, headers={"Location": SESSION}))
    fake.on("PUT", UPLOAD, httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        youtube_channel.connector().publish(video_target(cast, youtube_channel))


def test_a_refresh_keeps_the_stored_refresh_token_google_does_not_resend(fake, youtube_channel):
    fake.on("POST", TOKEN, ok("token_refreshed"))
    youtube_channel.connector().refresh_credentials()
    assert fake.form(fake.to("POST", TOKEN)[0]) == {
        "client_id": "youtube-id",
        "client_secret": "youtube-secret",
        "refresh_token": "yt-refresh-1",
        "grant_type": "refresh_token",
    }
    youtube_channel.refresh_from_db()
    assert youtube_channel.credentials["access_token"] == "yt-access-2"
    assert youtube_channel.credentials["refresh_token"] == "yt-refresh-1"
    fake.routes.clear()
    fake.on("POST", TOKEN, httpx.Response(400, json=fixture("youtube", "token_revoked")))
    with pytest.raises(ReauthRequired):
        youtube_channel.connector().refresh_credentials()


def test_it_classifies_youtube_errors():
    assert isinstance(classify(ok("error_401", 401)), AuthExpired)
    quota = classify(ok("error_quota", 403))
    assert isinstance(quota, RateLimited) and 0 < quota.retry_after <= 25 * 3600
    title = classify(ok("error_invalid_title", 400))
    assert isinstance(title, ContentRejected) and "invalid video title" in title.message
    assert isinstance(classify(ok("error_forbidden", 403)), ReauthRequired)
    assert isinstance(classify(httpx.Response(503)), Transient)


def test_validation_requires_a_title_and_one_video(cast, youtube_channel):
    connector = youtube_channel.connector()
    target = video_target(cast, youtube_channel)
    assert connector.validate(target) == []
    target.options = {"title": ""}
    assert [p.code for p in connector.validate(target)] == ["required"]
    target.options = {"title": "t", "privacy": "friends", "publish_at": "2001-01-01T00:00:00Z"}
    assert [p.code for p in connector.validate(target)] == ["privacy", "publish_at"]
    target.media = [{"path": "uploads/a.png"}]
    target.options = {"title": "t"}
    assert [p.code for p in connector.validate(target)] == ["video"]


def test_it_reads_video_and_channel_statistics(cast, fake, youtube_channel):
    fake.on("GET", f"{API}/videos", ok("video_statistics"))
    fake.on("GET", f"{API}/channels", ok("channels_mine"))
    target = video_target(cast, youtube_channel)
    target.external_id = "dQw4w9WgXcQ"
    assert youtube_channel.connector().post_metrics(target) == {"views": 1520, "likes": 88, "comments": 9}
    assert youtube_channel.connector().account_metrics() == {"views": 120034, "videos": 87, "followers": 2300}


def test_it_publishes_end_to_end_through_the_engine(cast, fake, youtube_channel):
    answer_upload(fake)
    target = video_target(cast, youtube_channel)
    from chorus.publishing import actions

    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk] and engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED and target.external_id == "dQw4w9WgXcQ"
