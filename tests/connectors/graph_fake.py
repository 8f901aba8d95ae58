"""An HTTP fake of Meta's Graph hosts at Chorus's one seam (chorus.core.http): answers by
(method, host + path) with queued responses, recorded payloads from `fixtures/`, and records
every request Chorus sends so tests assert the exact URL, query and body."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from chorus.core import http


def fixture(directory: Path, name: str) -> Any:
    return json.loads((directory / "fixtures" / name).read_text())


@dataclass
class GraphFake:
    routes: dict[tuple[str, str], list[httpx.Response]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, url: str, *answers: httpx.Response | dict[str, Any]) -> None:
        queue = self.routes.setdefault((method, url), [])
        queue.extend(a if isinstance(a, httpx.Response) else httpx.Response(200, json=a) for a in answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        key = (request.method, f"{request.url.scheme}://{request.url.host}{request.url.path}")
        queue = self.routes.get(key)
        if not queue:
            error = {"message": f"Unknown path {key}", "type": "GraphMethodException", "code": 100}
            return httpx.Response(400, json={"error": error})
        return queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer repeats

    def to(self, method: str, url: str) -> list[httpx.Request]:
        return [r for r in self.sent if r.method == method and str(r.url).split("?")[0] == url]

    @staticmethod
    def form(request: httpx.Request) -> dict[str, str]:
        return dict(parse_qsl(request.content.decode()))

    @staticmethod
    def query(request: httpx.Request) -> dict[str, str]:
        return dict(request.url.params)


@pytest.fixture
def graph() -> Iterator[GraphFake]:
    fake = GraphFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    yield fake
    http.set_transport_for_tests(None)


@pytest.fixture
def meta_apps(settings: Any, tmp_path: Path) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHORUS_BASE_URL = "https://chorus.example"
    for net in ("facebook", "instagram", "threads"):
        set_meta_app(settings, net, f"{net}-app", f"{net}-secret", enabled=True)
    return settings


def set_meta_app(settings: Any, network: str, client_id: str, secret: str, *, enabled: bool | None) -> None:
    """One app of settings.CHORUS_OAUTH_APPS (a new dict: the settings fixture restores the old)."""
    app = {"client_id": client_id, "client_secret": secret, "enabled": enabled}
    settings.CHORUS_OAUTH_APPS = {**settings.CHORUS_OAUTH_APPS, network: app}


def graph_error(
    code: int, message: str, subcode: int | None = None, status: int = 400, **headers: str
) -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    if subcode:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)


def jpeg(name: str, size: tuple[int, int] = (1080, 1080)) -> dict[str, Any]:
    """A real JPEG in default storage (Pillow reads its size at validation)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "JPEG")
    default_storage.save(name, ContentFile(buffer.getvalue()))
    return {"path": name, "alt": "A reef"}
