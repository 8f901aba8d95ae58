"""Link cards: OpenGraph title, description and image of a page, fetched through the SSRF guard."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

from chorus.core import http

MAX_PAGE_BYTES = 1_000_000


@dataclass(frozen=True)
class PageCard:
    url: str
    title: str
    description: str
    image_url: str


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and key not in self.meta:
                self.meta[key] = values.get("content", "").strip()
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.title:
            self.title = data.strip()


def fetch_card(url: str) -> PageCard:
    """The card of `url`; a page that cannot be read still gives a card titled with its URL."""
    try:
        response = http.request_public("GET", url)
    except (httpx.HTTPError, http.UnsafeURL):
        return PageCard(url, url, "", "")
    if response.status_code != 200 or "html" not in response.headers.get("content-type", "html"):
        return PageCard(url, url, "", "")
    parser = _MetaParser()
    parser.feed(response.text[:MAX_PAGE_BYTES])
    meta = parser.meta
    image = meta.get("og:image") or meta.get("twitter:image") or ""
    return PageCard(
        url=url,
        title=(meta.get("og:title") or parser.title or url)[:300],
        description=(meta.get("og:description") or meta.get("description") or "")[:1000],
        image_url=str(response.url.join(image)) if image else "",
    )


def fetch_image(url: str, max_bytes: int = 10_000_000) -> bytes | None:
    try:
        response = http.request_public("GET", url)
    except (httpx.HTTPError, http.UnsafeURL):
        return None
    if response.status_code != 200 or len(response.content) > max_bytes:
        return None
    return response.content
