"""X's weighted length (twitter-text v3 configuration, the one X's API enforces).

Reference: twitter-text "config/v3.json" and docs.x.com "Counting characters"
(https://docs.x.com/resources/fundamentals/counting-characters): every code point weighs 200
units except those in the ranges below (100); a URL weighs 23 characters whatever its length;
an emoji sequence (with skin tones, ZWJ joins, flags, keycaps) weighs 200 once; text is NFC
normalized first. The limit is 280 characters = 28,000 units.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
URL_LENGTH = 23  # transformedURLLength: every link becomes a 23-character t.co link
#: (first code point, last code point, weight) — Latin, general punctuation and the like weigh 1.
RANGES = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))

# Links: explicit http(s) URLs, www. hosts, and bare domains on common TLDs (twitter-text also
# autolinks those). A simplification of twitter-text's URL grammar that covers what teams type.
_TLDS = "com|org|net|edu|gov|io|co|fr|de|uk|eu|info|me|ly|app|dev|news|tv|be|ch|es|it|nl|ca|us"
URL_RE = re.compile(
    rf"(?:https?://[^\s<>\"]+|\bwww\.[^\s<>\"]+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""

_PICTO = "\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff"
_MOD = "\ufe0f\U0001f3fb-\U0001f3ff\u20e3\U000e0020-\U000e007f"
EMOJI_RE = re.compile(
    rf"(?:[\U0001f1e6-\U0001f1ff]{{2}}"  # a flag: two regional indicators
    rf"|[0-9#*]\ufe0f?\u20e3"  # a keycap
    rf"|[{_PICTO}][{_MOD}]*(?:\u200d[{_PICTO}][{_MOD}]*)*)"
)


def urls(text: str) -> list[str]:
    return [match.group(0).rstrip(_TRAILING) for match in URL_RE.finditer(text)]


def _weight(char: str) -> int:
    point = ord(char)
    for first, last, weight in RANGES:
        if first <= point <= last:
            return weight
    return DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """The length X counts, in characters (units / 100, rounded down as twitter-text does)."""
    text = unicodedata.normalize("NFC", text)
    units, index = 0, 0
    spans: list[tuple[int, int, int]] = []
    for match in URL_RE.finditer(text):
        end = match.start() + len(match.group(0).rstrip(_TRAILING))
        spans.append((match.start(), end, URL_LENGTH * SCALE))
    for match in EMOJI_RE.finditer(text):
        if not any(start <= match.start() < end for start, end, _ in spans):
            spans.append((match.start(), match.end(), DEFAULT_WEIGHT))
    spans.sort()
    for start, end, weight in spans:
        if start < index:
            continue
        units += sum(_weight(char) for char in text[index:start]) + weight
        index = end
    units += sum(_weight(char) for char in text[index:])
    return units // SCALE


def split_thread(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> list[str]:
    """Parts of a thread: paragraphs kept together when they fit, else words, greedily."""
    parts: list[str] = []
    current = ""
    for word in text.replace("\n\n", "\n\n ").split(" "):
        candidate = f"{current} {word}" if current else word
        if current and weighted_length(candidate.strip()) > limit:
            parts.append(current.strip())
            current = word
        else:
            current = candidate
    if current.strip():
        parts.append(current.strip())
    return [part.replace("\n\n ", "\n\n") for part in parts]
