"""`{{ url|http_url }}`: the URL when it is http(s), else an empty string — for addresses that
come from networks or users (a reposter's profile_url of `javascript:…` must not become a link)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def http_url(value: object) -> str:
    text = str(value or "").strip()
    # Browsers drop tabs and newlines inside a URL ("java\tscript:"): judge what they would see.
    cleaned = "".join(ch for ch in text if ch not in "\t\r\n")
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return cleaned
    return ""
