"""Counting clicks: who is a person (not a bot or a link-preview fetcher), and the counts."""

from __future__ import annotations

import re

from django.db.models import Count

from chorus.content.models import PostTarget
from chorus.links.models import Click, ShortLink

# Link-preview fetchers and crawlers fetch a link as soon as it is posted; they are not readers.
BOT_RE = re.compile(
    r"facebookexternalhit|facebookcatalog|twitterbot|slackbot|slack-imgproxy|discordbot|telegrambot"
    r"|whatsapp|linkedinbot|mastodon|bluesky|cardyb|googlebot|bingbot|bot|crawler|spider"
    r"|preview|embedly|skypeuripreview|headless|curl/|wget/|python-requests|httpx|go-http-client",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    # An empty user agent is a script, not a browser.
    return not user_agent.strip() or BOT_RE.search(user_agent) is not None


def clicks_for_target(target: PostTarget) -> int:
    """Counted clicks on every short link of one post target (for analytics)."""
    return Click.objects.filter(link__target=target).count()


def clicks_by_channel(workspace_id: int) -> dict[str, int]:
    rows = (
        Click.objects.filter(link__workspace_id=workspace_id)
        .values("channel_kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {row["channel_kind"] or "-": row["n"] for row in rows}


def links_with_counts(workspace_id: int, limit: int = 500) -> list[ShortLink]:
    return list(
        ShortLink.objects.filter(workspace_id=workspace_id)
        .select_related("target__post", "target__channel")
        .annotate(click_count=Count("clicks"))
        .order_by("-created_at")[:limit]
    )
