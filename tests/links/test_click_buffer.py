"""Clicks are written off the request path: the redirect buffers, a background thread writes every
CHORUS_CLICK_FLUSH_SECONDS, a normal exit writes the rest (test_cli.py stops `chorus run` right
after a click and finds it in the database)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.test import Client

from chorus.links import clicks
from chorus.links.models import Click, ShortLink
from tests.conftest import Cast

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def _link(cast: Cast, code: str) -> ShortLink:
    return ShortLink.objects.create(workspace=cast.workspace, code=code, target_url="https://example.org/")


@pytest.fixture
def background_writer(settings, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """This process's buffer with the product's background writer, every 0.2 s."""
    settings.CHORUS_CLICK_FLUSH_SECONDS = 0.2
    monkeypatch.setattr(clicks, "_buffer", None)
    yield
    buffer = clicks._buffer
    if buffer is not None:
        buffer.stop.set()


@pytest.mark.django_db(transaction=True)
def test_the_background_writer_records_a_click_within_its_interval(cast: Cast, background_writer: None):
    link = _link(cast, "bg12345")
    response = Client().get("/l/bg12345", HTTP_USER_AGENT=BROWSER, HTTP_REFERER="https://bsky.app/")
    assert response.status_code == 302
    deadline = time.monotonic() + 5
    while not Click.objects.filter(link=link).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    click = Click.objects.get(link=link)
    assert click.referrer == "https://bsky.app/"
    assert clicks.flush() == 0  # nothing left behind


@pytest.mark.django_db(transaction=True)
def test_a_flush_keeps_the_clicks_of_links_that_still_exist(cast: Cast):
    kept, deleted = _link(cast, "keep123"), _link(cast, "gone123")
    for code in ("keep123", "gone123", "keep123"):
        assert Client().get(f"/l/{code}", HTTP_USER_AGENT=BROWSER).status_code == 302
    deleted.delete()  # between the click and its write
    assert clicks.flush() == 2
    assert Click.objects.filter(link=kept).count() == 2
    assert Click.objects.count() == 2
