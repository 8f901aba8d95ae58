"""A fake of the OAuth 2 networks at Chorus's one HTTP seam (chorus.core.http): answers by
(method, URL without query) from queued responses and records every request Chorus sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from chorus.core import http


def fixture(network: str, name: str) -> Any:
    """A recorded payload from tests/connectors/<network>/fixtures/<name>.json."""
    return json.loads((Path(__file__).parent / network / "fixtures" / f"{name}.json").read_text())


@dataclass
class Fake:
    routes: dict[tuple[str, str], list[httpx.Response | Exception]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, url: str, *answers: httpx.Response | Exception) -> None:
        self.routes.setdefault((method, url), []).extend(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        url = str(request.url.copy_with(query=None))
        queue = self.routes.get((request.method, url))
        if not queue:
            return httpx.Response(404, json={"message": f"no fake route for {request.method} {url}"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer repeats
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, method: str, url: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.method == method and str(r.url.copy_with(query=None)) == url]

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.copy_with(query=None)}" for r in self.sent]

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content)

    @staticmethod
    def form(request: httpx.Request) -> dict[str, str]:
        return dict(httpx.QueryParams(request.content.decode()))


@pytest.fixture
def fake() -> Iterator[Fake]:
    recorder = Fake()
    http.set_transport_for_tests(httpx.MockTransport(recorder.handler))
    yield recorder
    http.set_transport_for_tests(None)


@pytest.fixture
def oauth_apps(settings: Any) -> dict[str, Any]:
    settings.CHORUS_OAUTH_APPS = {
        net: {"client_id": f"{net}-id", "client_secret": f"{net}-secret", "enabled": None}
        for net in ("linkedin", "x", "youtube", "tiktok", "pinterest")
    }
    return dict(settings.CHORUS_OAUTH_APPS)


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
