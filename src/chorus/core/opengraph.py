"""OpenGraph / meta tags of an HTML page (link previews in the composer, Bluesky link cards).

Fetching stays with the caller (always through chorus.core.http's SSRF guard); this only reads
the page it got back.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

import httpx

MAX_PAGE_CHARS = 1_000_000


@dataclass(frozen=True)
class PageMeta:
    title: str  # og:title, else <title>; "" when neither
    description: str  # og:description, else meta description
    image_url: str  # og:image or twitter:image, made absolute against the final URL; "" if none
    site_name: str  # og:site_name; "" if none


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key.lower(): value or "" for key, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and key not in self.meta:
                self.meta[key] = values.get("content", "").strip()
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def read_page_meta(response: httpx.Response, max_chars: int = MAX_PAGE_CHARS) -> PageMeta:
    parser = _MetaParser()
    parser.feed(response.text[:max_chars])
    meta = parser.meta
    image = meta.get("og:image") or meta.get("twitter:image") or ""
    return PageMeta(
        title=meta.get("og:title") or parser.title.strip(),
        description=meta.get("og:description") or meta.get("description") or "",
        image_url=str(response.url.join(image)) if image else "",
        site_name=meta.get("og:site_name", ""),
    )
