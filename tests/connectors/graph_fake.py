"""An HTTP fake of Meta's Graph hosts at Chorus's one seam (chorus.core.http): answers by
(method, host + path) with queued responses, recorded payloads from `fixtures/`, and records
every request Chorus sends so tests assert the exact URL, query and body."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from chorus.core import http


def fixture(directory: Path, name: str) -> Any:
    return json.loads((directory / "fixtures" / name).read_text())


Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class GraphFake:
    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, url: str, *answers: Answer | dict[str, Any]) -> None:
        """Queued answers for (method, URL); an answer may be a function of the request (a
        stateful edge, e.g. `SubscribedAppsFake`)."""
        queue = self.routes.setdefault((method, url), [])
        queue.extend(a if not isinstance(a, dict) else httpx.Response(200, json=a) for a in answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        key = (request.method, f"{request.url.scheme}://{request.url.host}{request.url.path}")
        queue = self.routes.get(key)
        if not queue:
            error = {"message": f"Unknown path {key}", "type": "GraphMethodException", "code": 100}
            return httpx.Response(400, json={"error": error})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer repeats
        return answer if isinstance(answer, httpx.Response) else answer(request)

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


class SubscribedAppsFake:
    """A fake of the Graph API's Page Subscribed Apps edge, from its reference page
    (developers.facebook.com/docs/graph-api/reference/page/subscribed_apps), mounted on a
    `GraphFake` for one Page:

    - POST /{page-id}/subscribed_apps with `subscribed_fields` (comma-separated) and the Page
      token: {"success": true}; the app's fields are then the ones sent.
    - GET /{page-id}/subscribed_apps: {"data": [{"name", "id", "subscribed_fields": [...]}]}, one
      entry per app installed on the Page (another app's entry is listed too).
    - `refuse`: the error Meta answers instead, e.g. `permission_error(200)` for a token without
      pages_manage_metadata ("(#200) ... pages_manage_metadata").
    The requests themselves stay in the GraphFake's log (`graph.to(...)`)."""

    def __init__(self, graph: GraphFake, url: str, *, app_id: str, app_name: str = "Chorus") -> None:
        self.app_id, self.app_name = app_id, app_name
        self.fields: list[str] | None = None  # None: our app is not installed on the Page
        self.refuse: httpx.Response | None = None
        graph.on("POST", url, self._post)
        graph.on("GET", url, self._get)

    def _post(self, request: httpx.Request) -> httpx.Response:
        if self.refuse is not None:
            return self.refuse
        self.fields = GraphFake.form(request)["subscribed_fields"].split(",")
        return httpx.Response(200, json={"success": True})

    def _get(self, request: httpx.Request) -> httpx.Response:
        if self.refuse is not None:
            return self.refuse
        apps = [{"name": "Another tool", "id": "999000", "subscribed_fields": ["feed"]}]
        if self.fields is not None:
            apps.append({"name": self.app_name, "id": self.app_id, "subscribed_fields": self.fields})
        return httpx.Response(200, json={"data": apps})


def permission_error(code: int, permission: str = "pages_manage_metadata") -> httpx.Response:
    """Meta's answer to a call whose token lacks a permission: (#200) or (#10), OAuthException."""
    text = {
        200: f"(#200) The user hasn't authorized the application to perform this action: {permission}",
        10: f"(#10) This endpoint requires the '{permission}' permission.",
    }[code]
    return graph_error(code, text, status=403 if code == 200 else 400)
