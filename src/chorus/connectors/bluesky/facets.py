"""Rich text for Bluesky: facets with UTF-8 byte offsets, grapheme counts, thread splitting.

Bluesky measures text in graphemes (300 per post) but facet ranges in UTF-8 bytes, so an emoji or
an accented letter before a link shifts the byte range but not the grapheme count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wcwidth import iter_graphemes

MAX_GRAPHEMES = 300

# A bare or schemed URL; trailing punctuation is not part of it.
URL_RE = re.compile(r"(?:(?<=\s)|^|(?<=\())(https?://[^\s<>\"]+|(?:www\.)[^\s<>\"]+)", re.IGNORECASE)
MENTION_RE = re.compile(
    r"(?:^|(?<=[\s(]))@([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)+)"
)
HASHTAG_RE = re.compile(r"(?:^|(?<=\s))[#＃]([^\s#＃\u200b-\u200d]+)")
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def grapheme_count(text: str) -> int:
    return sum(1 for _ in iter_graphemes(text))


def _byte_range(text: str, start: int, end: int) -> dict[str, int]:
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def _facet(text: str, start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {"index": _byte_range(text, start, end), "features": [feature]}


def _trim(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in TRAILING_PUNCTUATION:
        end -= 1
    return end


def detect_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Links, mentions (only handles that resolve to a DID) and hashtags, in text order."""
    facets: list[tuple[int, dict[str, Any]]] = []
    for match in URL_RE.finditer(text):
        start, end = match.start(1), _trim(text, match.start(1), match.end(1))
        uri = text[start:end]
        if not uri.lower().startswith("http"):
            uri = f"https://{uri}"
        facets.append(
            (start, _facet(text, start, end, {"$type": "app.bsky.richtext.facet#link", "uri": uri}))
        )
    for match in MENTION_RE.finditer(text):
        handle = match.group(1).rstrip(".").lower()
        did = resolve_handle(handle)
        if did:
            start = match.start(1) - 1  # the "@" is part of the mention
            end = start + 1 + len(handle)
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
            facets.append((start, _facet(text, start, end, feature)))
    for match in HASHTAG_RE.finditer(text):
        start = match.start()
        end = _trim(text, match.start(1), match.end(1))
        tag = text[match.start(1) : end]
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        feature = {"$type": "app.bsky.richtext.facet#tag", "tag": tag}
        facets.append((start, _facet(text, start, end, feature)))
    facets.sort(key=lambda item: item[0])
    return [facet for _, facet in facets]


def split_thread(text: str, limit: int = MAX_GRAPHEMES) -> list[str]:
    """Splits text into posts of at most `limit` graphemes, at a paragraph, sentence or word
    boundary when there is one in the second half of the window, else mid-word."""
    text = text.strip()
    parts: list[str] = []
    while grapheme_count(text) > limit:
        graphemes = list(iter_graphemes(text))
        window = "".join(graphemes[:limit])
        cut = _best_cut(window)
        parts.append(window[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _best_cut(window: str) -> int:
    floor = len(window) // 2
    for pattern in (r"\n\s*\n", r"[.!?…](?=\s)", r"\s"):
        cuts = [m.end() for m in re.finditer(pattern, window) if m.end() > floor]
        if cuts:
            return cuts[-1]
    return len(window)
