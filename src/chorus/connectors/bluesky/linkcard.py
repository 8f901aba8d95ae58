"""Link cards: OpenGraph title, description and image of a page, fetched through the SSRF guard."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from chorus.core import http
from chorus.core.opengraph import read_page_meta

MAX_PAGE_BYTES = 1_000_000


@dataclass(frozen=True)
class PageCard:
    url: str
    title: str
    description: str
    image_url: str


def fetch_card(url: str) -> PageCard:
    """The card of `url`; a page that cannot be read still gives a card titled with its URL."""
    try:
        response = http.request_public("GET", url)
    except (httpx.HTTPError, http.UnsafeURL):
        return PageCard(url, url, "", "")
    if response.status_code != 200 or "html" not in response.headers.get("content-type", "html"):
        return PageCard(url, url, "", "")
    page = read_page_meta(response, MAX_PAGE_BYTES)
    return PageCard(
        url=url,
        title=(page.title or url)[:300],
        description=page.description[:1000],
        image_url=page.image_url,
    )


def fetch_image(url: str, max_bytes: int = 10_000_000) -> bytes | None:
    try:
        response = http.request_public("GET", url, purpose="image")
    except (httpx.HTTPError, http.UnsafeURL):
        return None
    if response.status_code != 200 or len(response.content) > max_bytes:
        return None
    return response.content
