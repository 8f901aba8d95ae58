"""The one source of channel kinds: kind -> dotted path of the connector class, imported lazily.

Settings may add kinds (CHORUS_EXTRA_CONNECTORS) — the test sink uses that; it is never part of
the product's list.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from chorus.connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "bluesky": "chorus.connectors.bluesky.connector.BlueskyConnector",
    "facebook": "chorus.connectors.facebook.connector.FacebookConnector",
    "instagram": "chorus.connectors.instagram.connector.InstagramConnector",
    "mastodon": "chorus.connectors.mastodon.connector.MastodonConnector",
    "threads": "chorus.connectors.threads.connector.ThreadsConnector",
    "wordpress": "chorus.connectors.wordpress.connector.WordPressConnector",
    "linkedin": "chorus.connectors.linkedin.connector.LinkedInConnector",
    "x": "chorus.connectors.x.connector.XConnector",
    "youtube": "chorus.connectors.youtube.connector.YouTubeConnector",
    "tiktok": "chorus.connectors.tiktok.connector.TikTokConnector",
    "pinterest": "chorus.connectors.pinterest.connector.PinterestConnector",
}


def all_kinds() -> dict[str, str]:
    return {**CONNECTORS, **getattr(settings, "CHORUS_EXTRA_CONNECTORS", {})}


@cache
def _load(dotted: str) -> type[Connector]:
    cls: type[Connector] = import_string(dotted)
    return cls


def connector_class(kind: str) -> type[Connector]:
    kinds = all_kinds()
    if kind not in kinds:
        raise KeyError(f"unknown channel kind {kind!r}; known: {', '.join(sorted(kinds)) or 'none'}")
    return _load(kinds[kind])


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, connector_class(kind).label) for kind in sorted(all_kinds())]
