"""Pinterest connector against a fake of the API v5 (recorded payloads in fixtures/), asserting
the exact requests Chorus sends."""

from __future__ import annotations

import base64
import datetime as dt
import time
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
from chorus.connectors.pinterest.client import classify
from chorus.connectors.pinterest.connector import PinterestConnector
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.oauth_fakes import fixture
from tests.publishing.conftest import make_target

API = "https://api.pinterest.com/v5"
PINS = f"{API}/pins"
TOKEN = f"{API}/oauth/token"
CALLBACK = "https://chorus.example/channels/connect/pinterest/callback"
BASIC = "Basic " + base64.b64encode(b"pinterest-id:pinterest-secret").decode()


def ok(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=fixture("pinterest", name), headers=headers)


def pin_target(
    cast, channel, text="Read our report", media=({"path": "uploads/p.png", "alt": "Cover"},), **options
):
    default_storage.save("uploads/p.png", ContentFile(b"\x89PNG"))
    target = make_target(cast, channel, text=text)
    target.media = list(media)
    target.options = {"board_id": "549755885175", **options}
    target.save()
    return target


def test_it_connects_and_lists_the_boards_across_pages(fake, oauth_apps):
    redirect = PinterestConnector.begin_connect({}, callback_url=CALLBACK, state="st")
    query = parse_qs(urlsplit(redirect.url).query)
    assert redirect.url.startswith("https://www.pinterest.com/oauth/?")
    assert query["scope"] == ["boards:read,pins:read,pins:write,user_accounts:read"] and query["state"] == [
        "st"
    ]
    fake.on("POST", TOKEN, ok("token"))
    fake.on("GET", f"{API}/user_account", ok("user_account"))
    fake.on("GET", f"{API}/boards", ok("boards_page1"), ok("boards_page2"))
    result = PinterestConnector.finish_connect({"code": "c0de"}, state_data={}, callback_url=CALLBACK)
    exchange = fake.to("POST", TOKEN)[0]
    assert exchange.headers["Authorization"] == BASIC
    assert fake.form(exchange) == {
        "grant_type": "authorization_code",
        "code": "c0de",
        "redirect_uri": CALLBACK,
    }
    assert fake.to("GET", f"{API}/boards")[1].url.params["bookmark"] == "Y2JVSG81V2sxcmNHRlpWM1J5"
    assert result.name == "chorusfoundation"
    assert result.config["boards"] == [
        {"id": "549755885175", "name": "Campaigns"},
        {"id": "549755885176", "name": "Field stories"},
    ]


def test_it_creates_a_pin_on_the_chosen_board_with_a_base64_image(cast, fake, pinterest_channel):
    fake.on("POST", PINS, ok("pin_created", 201))
    target = pin_target(cast, pinterest_channel, title="Report 2026", link="https://chorus.example/report")
    result = pinterest_channel.connector().publish(target)
    request = fake.to("POST", PINS)[0]
    assert request.headers["Authorization"] == "Bearer pina_access-1"
    assert fake.body(request) == {
        "board_id": "549755885175",
        "description": "Read our report",
        "title": "Report 2026",
        "link": "https://chorus.example/report",
        "media_source": {
            "source_type": "image_base64",
            "content_type": "image/png",
            "data": base64.b64encode(b"\x89PNG").decode(),
        },
        "alt_text": "Cover",
    }
    assert (
        result.external_id == "813744226420795884"
        and result.url == "https://www.pinterest.com/pin/813744226420795884/"
    )


def test_it_pins_an_image_url_checked_by_the_ssrf_guard(cast, fake, pinterest_channel, settings):
    fake.on("POST", PINS, ok("pin_created", 201))
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # no DNS in tests
    target = pin_target(cast, pinterest_channel, media=(), image_url="https://chorus.example/cover.jpg")
    pinterest_channel.connector().publish(target)
    assert fake.body(fake.to("POST", PINS)[0])["media_source"] == {
        "source_type": "image_url",
        "url": "https://chorus.example/cover.jpg",
    }
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    local = pin_target(cast, pinterest_channel, media=(), image_url="http://127.0.0.1/admin.png")
    with pytest.raises(ContentRejected):
        pinterest_channel.connector().publish(local)
    assert len(fake.to("POST", PINS)) == 1


def test_validation_requires_a_board_of_the_account_and_one_image(cast, pinterest_channel):
    connector = pinterest_channel.connector()
    target = pin_target(cast, pinterest_channel)
    assert connector.validate(target) == []
    target.options = {}
    assert [p.code for p in connector.validate(target)] == ["required"]
    target.options = {"board_id": "1", "link": "ftp://x"}
    target.media = []
    assert [p.code for p in connector.validate(target)] == ["board", "link", "image"]


def test_it_classifies_pinterest_errors():
    assert isinstance(classify(ok("error_401", 401)), AuthExpired)
    reset = str(int(time.time()) + 30)
    limited = classify(ok("error_429", 429, **{"x-ratelimit-reset": reset}))
    assert isinstance(limited, RateLimited) and 10 < limited.retry_after <= 31
    board = classify(ok("error_board", 404))
    assert isinstance(board, ContentRejected) and "Board not found" in board.message
    assert isinstance(classify(httpx.Response(500)), Transient)


def test_a_timeout_after_creating_is_an_unknown_outcome(cast, fake, pinterest_channel):
    fake.on("POST", PINS, httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        pinterest_channel.connector().publish(pin_target(cast, pinterest_channel))


def test_it_refreshes_with_basic_auth_and_keeps_the_refresh_token(fake, pinterest_channel):
    fake.on("POST", TOKEN, ok("token_refreshed"))
    pinterest_channel.connector().refresh_credentials()
    request = fake.to("POST", TOKEN)[0]
    assert request.headers["Authorization"] == BASIC
    assert fake.form(request) == {"grant_type": "refresh_token", "refresh_token": "pinr_refresh-1"}
    pinterest_channel.refresh_from_db()
    assert pinterest_channel.credentials["access_token"] == "pina_access-2"
    assert pinterest_channel.credentials["refresh_token"] == "pinr_refresh-1"
    fake.routes.clear()
    fake.on("POST", TOKEN, httpx.Response(400, json=fixture("pinterest", "token_refused")))
    with pytest.raises(ReauthRequired):
        pinterest_channel.connector().refresh_credentials()


def test_it_reads_pin_analytics_leaving_unreported_metrics_absent(cast, fake, pinterest_channel):
    fake.on("GET", f"{PINS}/813744226420795884/analytics", ok("pin_analytics"))
    target = pin_target(cast, pinterest_channel)
    target.external_id = "813744226420795884"
    assert pinterest_channel.connector().post_metrics(target) == {"impressions": 120, "saves": 4, "clicks": 9}
    params = fake.sent[0].url.params
    assert (
        params["metric_types"] == "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK"
        and params["start_date"] < params["end_date"]
    )


def test_it_publishes_end_to_end_through_the_engine(cast, fake, pinterest_channel):
    fake.on("POST", PINS, ok("pin_created", 201))
    target = pin_target(cast, pinterest_channel)
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, ids = dispatch.claim_due()
    assert ids == [target.pk] and engine.publish_one(target.pk, attempt_id) == "published"
    target.refresh_from_db()
    assert target.status == PostTarget.Status.PUBLISHED and target.external_id == "813744226420795884"
