from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.wordpress.connector import WordPressConnector
from chorus.content.models import PostTarget
from chorus.core import http
from chorus.publishing import actions
from tests.conftest import Cast
from tests.peers.wordpress import WordPressSite, wordpress_site  # noqa: F401


@pytest.fixture
def fake_network():
    """Routes every request through `handler` (httpx.MockTransport at the core.http seam)."""

    def install(handler) -> list[httpx.Request]:
        sent: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return handler(request)

        http.set_transport_for_tests(httpx.MockTransport(record))
        return sent

    yield install
    http.set_transport_for_tests(None)


@pytest.fixture
def local_urls(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True


def connect_data(site: WordPressSite, **overrides: Any) -> dict[str, Any]:
    return {
        "site_url": site.url,
        "username": site.username,
        "application_password": site.application_password,
        **overrides,
    }


@pytest.fixture
def wp_channel(cast: Cast, wordpress_site: WordPressSite, local_urls) -> Channel:  # noqa: F811
    result = WordPressConnector.begin_connect(connect_data(wordpress_site), callback_url="", state="")
    assert not hasattr(result, "url")
    return connect_channel(
        workspace=cast.workspace,
        kind="wordpress",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


def make_target(
    cast: Cast, channel: Channel, text: str, *, title: str = "", media=None, options=None
) -> PostTarget:
    post = actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text=text, title=title
    )
    target = post.targets.get()
    if media is not None or options is not None:
        actions.edit(target, actor=cast.owner, media=media, options=options)
    return PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)


def png_file(directory: Path, name: str = "cover.png") -> Path:
    path = directory / name
    Image.new("RGB", (64, 48), (30, 120, 200)).save(path, format="PNG")
    return path


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def admin(site: WordPressSite) -> httpx.Client:
    return site.client()
