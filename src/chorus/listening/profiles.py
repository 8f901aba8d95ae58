"""Follower counts of Bluesky authors: the firehose carries posts, not profiles, so the matches it
stores have no follower count. A scheduler job reads the authors of recent matches that lack one
from the AppView (`app.bsky.actor.getProfiles`, 25 actors per request), caches each answer for a
day in the shared cache (Redis or the database cache: every process sees it), and fills the
matches in. An author the AppView does not return (deleted, suspended) stays "unknown", and is
cached as such so it is not asked again all day. Off the firehose's path: matching never waits
for a profile.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
from django.core.cache import cache
from django.utils import timezone

from chorus.core import http
from chorus.core.env import env_str
from chorus.listening.models import Match

log = logging.getLogger(__name__)

BATCH = 25  # getProfiles takes at most 25 actors
CACHE_SECONDS = 24 * 3600
UNKNOWN = -1  # cached: the AppView had no profile for this author
RECENT = dt.timedelta(days=7)
MAX_AUTHORS = 500  # per run; the rest waits for the next run


def appview_url() -> str:
    return env_str("CHORUS_LISTEN_BLUESKY_APPVIEW", "https://public.api.bsky.app").rstrip("/")


def _key(did: str) -> str:
    return f"listening:bsky-followers:{did}"


def fetch_profiles(session: httpx.Client, base: str, dids: list[str]) -> dict[str, tuple[str, int]]:
    """{did: (handle, followers)} for the profiles the AppView returned."""
    response = session.get(f"{base}/xrpc/app.bsky.actor.getProfiles", params=[("actors", d) for d in dids])
    if response.status_code != 200:
        raise httpx.HTTPStatusError(
            f"getProfiles answered {response.status_code}", request=response.request, response=response
        )
    out = {}
    for profile in (response.json() or {}).get("profiles") or []:
        count = profile.get("followersCount")
        if isinstance(profile.get("did"), str) and isinstance(count, int) and count >= 0:
            out[profile["did"]] = (str(profile.get("handle") or "")[:300], count)
    return out


def fill_bluesky_followers(base: str | None = None, *, limit: int = MAX_AUTHORS) -> int:
    """Fill the follower counts of recent Bluesky matches; returns the matches filled."""
    since = timezone.now() - RECENT
    dids = list(
        Match.objects.filter(network="bluesky", author_followers__isnull=True, matched_at__gte=since)
        .order_by()
        .values_list("author_id", flat=True)
        .distinct()[:limit]
    )
    if not dids:
        return 0
    known: dict[str, Any] = cache.get_many([_key(d) for d in dids])
    found = {d: known[_key(d)] for d in dids if _key(d) in known}
    wanted = [d for d in dids if d not in found]
    base = (base or appview_url()).rstrip("/")
    with http.client() as session:
        for start in range(0, len(wanted), BATCH):
            part = wanted[start : start + BATCH]
            try:
                profiles = fetch_profiles(session, base, part)
            except httpx.HTTPError as exc:
                log.warning("listening: follower counts from %s failed (%s); next run", base, exc)
                break
            answers = {d: list(profiles.get(d, ("", UNKNOWN))) for d in part}
            cache.set_many({_key(d): v for d, v in answers.items()}, CACHE_SECONDS)
            found.update(answers)
    filled = 0
    for did, (handle, followers) in found.items():
        if followers == UNKNOWN:
            continue
        rows = Match.objects.filter(network="bluesky", author_id=did, author_followers__isnull=True)
        filled += rows.update(author_followers=followers)
        if handle:  # the firehose gives the author's DID only
            Match.objects.filter(network="bluesky", author_id=did, author_handle="").update(
                author_handle=handle
            )
    return filled
