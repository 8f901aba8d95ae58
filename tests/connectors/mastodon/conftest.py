"""Fixtures for the Mastodon connector.

Two kinds of peer: `mastodon_imitation` is PyPI `mastodon_mock` (a stateful imitation of the
Mastodon API, not Mastodon itself) served by uvicorn on 127.0.0.1 for the session; `fake` is an
httpx MockTransport at Chorus's one HTTP seam that records every request Chorus sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import httpx
import pytest
from mastodon_mock.testing.server import MockServer

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.mastodon.connector import MastodonConnector
from chorus.core import http
from tests.conftest import Cast

CALLBACK = "https://chorus.example/channels/connect/mastodon/callback"
INSTANCE = "https://social.example"


@pytest.fixture(autouse=True)
def _private_urls_and_media(settings, tmp_path):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # the imitation listens on 127.0.0.1
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def _imitation_server() -> Iterator[MockServer]:
    import mastodon_mock.app

    from tests.connectors.mastodon.imitation_streams import require_user_token_on_public_streams

    # The imitation's app with the Mastodon 4.2 rule on public and hashtag streams (see there).
    create_app = mastodon_mock.app.create_app
    with mock.patch.object(
        mastodon_mock.app,
        "create_app",
        lambda config: require_user_token_on_public_streams(create_app(config)),
    ):
        server = MockServer().start()  # builds its app now, with the routes above
    # Statuses and accounts name the address the imitation answers on (as a real instance names
    # its own domain), not its default "mock.local": a status's URL leads back to the instance.
    server.config.domain = f"127.0.0.1:{server.port}"
    server.config.url_scheme = "http"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mastodon_imitation(_imitation_server: MockServer) -> MockServer:
    httpx.post(f"{_imitation_server.base_url}/api/v1/_mock/reset").raise_for_status()
    return _imitation_server


def authorize_as(username: str, redirect: Any) -> dict[str, str]:
    """What the user's browser does on the imitation's account picker: returns the callback's
    query parameters (code, state)."""
    url = httpx.URL(redirect.url)
    page = httpx.get(url)
    assert page.status_code == 200
    form = {
        "username": username,
        "client_id": url.params["client_id"],
        "redirect_uri": url.params["redirect_uri"],
        "scope": url.params["scope"],
        "state": url.params["state"],
    }
    answer = httpx.post(url.copy_with(query=None), data=form)
    assert answer.status_code == 302
    return dict(httpx.URL(answer.headers["location"]).params)


def connect_via_oauth(cast: Cast, instance: str, username: str = "alice", state: str = "st4te") -> Channel:
    redirect = MastodonConnector.begin_connect({"instance": instance}, callback_url=CALLBACK, state=state)
    params = authorize_as(username, redirect)
    result = MastodonConnector.finish_connect(params, state_data=redirect.state_data, callback_url=CALLBACK)
    return connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


@pytest.fixture
def imitation_channel(cast: Cast, mastodon_imitation: MockServer) -> Channel:
    return connect_via_oauth(cast, mastodon_imitation.base_url)


@dataclass
class Fake:
    """Answers by (method, path) with queued responses; records what Chorus sent."""

    routes: dict[tuple[str, str], list[httpx.Response | Exception]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: httpx.Response | Exception) -> None:
        self.routes.setdefault((method, path), []).extend(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"error": "Record not found"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer repeats
        if isinstance(answer, Exception):
            raise answer
        return answer

    def requests_to(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.method == method and r.url.path == path]

    @staticmethod
    def body(request: httpx.Request) -> dict[str, Any]:
        return dict(json.loads(request.content))


@pytest.fixture
def fake() -> Iterator[Fake]:
    recorder = Fake()
    http.set_transport_for_tests(httpx.MockTransport(recorder.handler))
    yield recorder
    http.set_transport_for_tests(None)


def status_json(status_id: str, text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "id": status_id,
        "url": f"{INSTANCE}/@alice/{status_id}",
        "uri": f"{INSTANCE}/users/alice/statuses/{status_id}",
        "created_at": "2026-11-26T05:00:00.000Z",
        "content": f"<p>{text}</p>",
        "spoiler_text": "",
        "media_attachments": [],
        "in_reply_to_id": None,
        "favourites_count": 0,
        "reblogs_count": 0,
        "replies_count": 0,
        **extra,
    }


@pytest.fixture
def fake_channel(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="@alice@social.example",
        config={"instance": INSTANCE, "account_id": "1", "username": "alice", "limits": {}},
        credentials={"access_token": "tok", "client_id": "cid", "client_secret": "csecret"},
        actor=cast.owner,
    )


MakeTarget = Callable[..., Any]
