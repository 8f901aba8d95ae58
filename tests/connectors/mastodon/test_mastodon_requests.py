"""The exact requests Chorus sends to Mastodon, and how answers become errors: an httpx
MockTransport at chorus.core.http (the one seam) records each request."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from chorus.connectors.base import ContentRejected, OutcomeUnknown, RateLimited, ReauthRequired, Transient
from chorus.connectors.mastodon import client as mastodon_client
from chorus.connectors.mastodon.client import MastodonAPI
from chorus.connectors.mastodon.connector import MastodonConnector
from chorus.connectors.mastodon.rules import limits_from_instance
from tests.connectors.mastodon.conftest import INSTANCE, status_json
from tests.publishing.conftest import make_target

POST, STATUSES = "POST", "/api/v1/statuses"


def target_with(cast, channel, text="Hello", media=(), **options):
    target = make_target(cast, channel, text=text)
    target.media, target.options = list(media), options
    target.save()
    return target


def test_the_idempotency_key_is_identical_across_retries_of_the_same_target(cast, fake, fake_channel):
    fake.on(POST, STATUSES, httpx.Response(503), httpx.Response(200, json=status_json("7")))
    target = target_with(cast, fake_channel)
    connector = fake_channel.connector()
    with pytest.raises(Transient):
        connector.publish(target)
    assert connector.publish(target).external_id == "7"
    keys = [r.headers["Idempotency-Key"] for r in fake.requests_to(POST, STATUSES)]
    assert keys == [f"chorus-{target.uid}"] * 2
    other = target_with(cast, fake_channel)
    connector.publish(other)
    assert fake.requests_to(POST, STATUSES)[-1].headers["Idempotency-Key"] == f"chorus-{other.uid}"
    assert fake.requests_to(POST, STATUSES)[0].headers["Authorization"] == "Bearer tok"


def test_thread_parts_reply_to_each_other_with_one_key_per_part(cast, fake, fake_channel):
    fake_channel.config["limits"] = {"max_characters": 20}
    fake.on(POST, STATUSES, *(httpx.Response(200, json=status_json(str(n))) for n in (1, 2, 3)))
    target = target_with(
        cast, fake_channel, text="one two three four five six seven eight", thread=True, visibility="unlisted"
    )
    fake_channel.connector().publish(target)
    sent = fake.requests_to(POST, STATUSES)
    bodies = [fake.body(r) for r in sent]
    assert [b["status"] for b in bodies] == ["one two three four", "five six seven eight"]
    assert [b.get("in_reply_to_id") for b in bodies] == [None, "1"]
    assert all(b["visibility"] == "unlisted" for b in bodies)
    key = f"chorus-{target.uid}"
    assert [r.headers["Idempotency-Key"] for r in sent] == [key, f"{key}-1"]


def test_it_sends_media_alt_focus_poll_and_options_as_mastodon_expects(cast, fake, fake_channel, monkeypatch):
    default_storage.save("uploads/a.png", ContentFile(b"png"))
    fake.on(POST, "/api/v2/media", httpx.Response(202, json={"id": "m1", "url": None}))
    fake.on("GET", "/api/v1/media/m1", httpx.Response(200, json={"id": "m1", "url": f"{INSTANCE}/m1.png"}))
    fake.on(POST, STATUSES, httpx.Response(200, json=status_json("9")))
    monkeypatch.setattr(mastodon_client, "MEDIA_POLL_INTERVAL", 0)  # processing is instant in the fake
    target = target_with(
        cast,
        fake_channel,
        media=[{"path": "uploads/a.png", "alt": "Alt", "focus": [0, 1]}],
        spoiler_text="CW",
        language="de",
        visibility="private",
    )
    fake_channel.connector().publish(target)
    upload = fake.requests_to(POST, "/api/v2/media")[0]
    assert (
        b'name="description"\r\n\r\nAlt' in upload.content
        and b'name="focus"\r\n\r\n0.0,1.0' in upload.content
    )
    assert b'filename="a.png"' in upload.content and b"image/png" in upload.content
    body = fake.body(fake.requests_to(POST, STATUSES)[0])
    assert body == {
        "status": "Hello",
        "media_ids": ["m1"],
        "spoiler_text": "CW",
        "language": "de",
        "visibility": "private",
    }

    poll = target_with(cast, fake_channel, text="?", poll={"options": ["a", "b"], "expires_in": 600})
    fake_channel.connector().publish(poll)
    assert fake.body(fake.requests_to(POST, STATUSES)[-1])["poll"] == {
        "options": ["a", "b"],
        "expires_in": 600,
        "multiple": False,
    }


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(401, json={"error": "The access token was revoked"}), ReauthRequired),
        (
            httpx.Response(422, json={"error": "Validation failed: Text character limit of 500 exceeded"}),
            ContentRejected,
        ),
        (httpx.Response(500), Transient),
        (httpx.ConnectError("refused"), Transient),
        (httpx.ReadTimeout("slow"), OutcomeUnknown),
    ],
)
def test_errors_are_classified(cast, fake, fake_channel, answer, error):
    fake.on(POST, STATUSES, answer)
    with pytest.raises(error) as caught:
        fake_channel.connector().publish(target_with(cast, fake_channel))
    if error is ContentRejected:
        assert "character limit of 500" in caught.value.message


def test_a_rate_limit_waits_until_x_ratelimit_reset(cast, fake, fake_channel):
    reset = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)).isoformat()
    fake.on(
        POST,
        STATUSES,
        httpx.Response(429, json={"error": "Too many requests"}, headers={"X-RateLimit-Reset": reset}),
    )
    with pytest.raises(RateLimited) as caught:
        fake_channel.connector().publish(target_with(cast, fake_channel))
    assert 100 < caught.value.retry_after <= 120


def test_a_read_timeout_on_a_read_is_only_transient(fake, fake_channel):
    fake.on("GET", "/api/v1/accounts/verify_credentials", httpx.ReadTimeout("slow"))
    with pytest.raises(Transient):
        fake_channel.connector().account_metrics()


def test_limits_come_from_the_instance_v2_then_v1_then_defaults(fake):
    v2 = {
        "configuration": {
            "statuses": {"max_characters": 5000, "max_media_attachments": 8},
            "media_attachments": {"image_size_limit": 16, "video_size_limit": 99},
        }
    }
    fake.on("GET", "/api/v2/instance", httpx.Response(200, json=v2))
    limits = limits_from_instance(MastodonAPI(INSTANCE))
    assert (limits["max_characters"], limits["max_media_attachments"], limits["image_size_limit"]) == (
        5000,
        8,
        16,
    )
    fake.routes.clear()
    fake.on("GET", "/api/v1/instance", httpx.Response(200, json={"max_toot_chars": 1000}))
    assert limits_from_instance(MastodonAPI(INSTANCE))["max_characters"] == 1000
    fake.routes.clear()
    fake.on("GET", "/api/v1/instance", httpx.Response(200, json={}))
    limits = limits_from_instance(MastodonAPI(INSTANCE))
    assert (limits["max_characters"], limits["max_media_attachments"]) == (500, 4)


def test_validate_uses_the_instance_limits_and_counts_urls_as_23(cast, fake_channel):
    fake_channel.config["limits"] = {"max_characters": 1000, "max_media_attachments": 2}
    connector = fake_channel.connector()
    assert connector.validate(target_with(cast, fake_channel, text="x" * 900)) == []
    [problem] = connector.validate(target_with(cast, fake_channel, text="x" * 1001))
    assert problem.code == "too_long" and "1000" in problem.message
    long_url = "https://example.org/" + "a" * 2000
    assert connector.validate(target_with(cast, fake_channel, text=f"see {long_url}")) == []
    assert connector.count(f"see {long_url} @bob@other.example") == 4 + 23 + 5
    default_storage.save("uploads/b.png", ContentFile(b"png"))
    media = [{"path": "uploads/b.png"}] * 3
    codes = {
        p.code
        for p in connector.validate(target_with(cast, fake_channel, media=media, visibility="everyone"))
    }
    assert codes == {"too_many", "visibility"}
    codes = {
        p.code for p in connector.validate(target_with(cast, fake_channel, poll={"options": ["only one"]}))
    }
    assert codes == {"poll"}


def test_quota_cost_counts_requests_and_media(cast, fake_channel):
    default_storage.save("uploads/c.png", ContentFile(b"png"))
    target = target_with(cast, fake_channel, media=[{"path": "uploads/c.png"}] * 2)
    assert fake_channel.connector().quota_cost(target) == {"requests": 3, "media": 2}
    assert {q.bucket: (q.limit, q.window) for q in MastodonConnector.quotas} == {
        "requests": (300, dt.timedelta(minutes=5)),
        "media": (30, dt.timedelta(minutes=30)),
    }


def test_begin_connect_refuses_a_private_instance_url(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    from chorus.core.http import UnsafeURL

    with pytest.raises(UnsafeURL):
        MastodonConnector.begin_connect(
            {"instance": "http://127.0.0.1:8080"}, callback_url="https://c/cb", state="s"
        )


def test_publishing_to_an_instance_that_now_resolves_privately_pauses_instead_of_sending(
    cast, fake, fake_channel, settings
):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    fake_channel.config["instance"] = "http://127.0.0.1:3000"
    with pytest.raises(ReauthRequired, match="will not contact"):
        fake_channel.connector().publish(target_with(cast, fake_channel))
    assert fake.sent == []


def test_a_refused_authorization_or_code_exchange_needs_a_new_connection(fake):
    state = {"instance": INSTANCE, "client_id": "cid", "client_secret": "cs"}
    with pytest.raises(ReauthRequired, match="access_denied"):
        MastodonConnector.finish_connect(
            {"error": "access_denied"}, state_data=state, callback_url="https://c/cb"
        )
    fake.on(POST, "/oauth/token", httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(ReauthRequired):
        MastodonConnector.finish_connect({"code": "x"}, state_data=state, callback_url="https://c/cb")
    [exchange] = fake.sent
    assert dict(httpx.QueryParams(exchange.content.decode())) == {
        "grant_type": "authorization_code",
        "code": "x",
        "client_id": "cid",
        "client_secret": "cs",
        "redirect_uri": "https://c/cb",
        "scope": "read write",
    }


def test_lookup_matches_mastodon_html_with_shortened_links(cast, fake, fake_channel):
    target = target_with(
        cast, fake_channel, text="Read this:\nhttps://example.org/a/very/long/path?x=1 #news"
    )
    target.sending_at = dt.datetime(2026, 11, 26, 4, 58, tzinfo=dt.UTC)
    content = (
        '<p>Read this:<br /><a href="https://example.org/a/very/long/path?x=1" rel="nofollow noopener" '
        'target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.org/a/very/'
        'long</span><span class="invisible">/path?x=1</span></a> <a href="https://social.example/tags/news" '
        'class="mention hashtag" rel="tag">#<span>news</span></a></p>'
    )
    older = status_json("1", created_at="2026-11-26T04:00:00.000Z")
    statuses = [status_json("3", "Something else"), status_json("2", content=content), older]
    fake.on("GET", "/api/v1/accounts/1/statuses", httpx.Response(200, json=statuses))
    found = fake_channel.connector().lookup(target)
    assert found is not None and found.external_id == "2"
    assert fake.sent[0].url.params["exclude_reblogs"] == "true"
    target.text = "Not posted"
    assert fake_channel.connector().lookup(target) is None
