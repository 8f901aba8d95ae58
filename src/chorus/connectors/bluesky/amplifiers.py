"""Who reposted or quoted a post (Feature.AMPLIFIERS): app.bsky.feed.getRepostedBy and
app.bsky.feed.getQuotes, page by page, then app.bsky.actor.getProfiles for the follower counts
(the two lists carry profiles without counts). Every call is an AppView read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from chorus.connectors.base import Amplifier

PAGE = 100  # the most getRepostedBy and getQuotes return at once
MAX_PAGES = 5  # per list and collection: a post's first 500 reposters and 500 quotes
PROFILES_AT_ONCE = 25  # getProfiles' cap
WEB = "https://bsky.app"

Query = Callable[..., Any]  # (nsid, **params) -> the decoded answer


def _pages(query: Query, nsid: str, key: str, uri: str) -> Iterator[dict[str, Any]]:
    cursor = ""
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"uri": uri, "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        page = query(nsid, **params)
        items = page.get(key) or []
        yield from items
        cursor = page.get("cursor") or ""
        if not cursor or not items:
            return


def _account(profile: dict[str, Any], kind: str, web: str, rkey: str = "") -> Amplifier:
    handle = str(profile.get("handle") or "")
    profile_url = f"{web}/profile/{handle or profile['did']}" if web else ""
    return Amplifier(
        account_id=str(profile["did"]),
        kind=kind,
        handle=f"@{handle}" if handle else "",
        display_name=str(profile.get("displayName") or ""),
        profile_url=profile_url,
        url=f"{profile_url}/post/{rkey}" if profile_url and rkey else "",
    )


def read(query: Query, uri: str, web: str = WEB) -> list[Amplifier]:
    """`web` is the site that shows these accounts (bsky.app on Bluesky's network; "" for a
    network without one: no links rather than links to a site that does not know them)."""
    pages = _pages(query, "app.bsky.feed.getRepostedBy", "repostedBy", uri)
    found = [_account(p, "repost", web) for p in pages]
    for post in _pages(query, "app.bsky.feed.getQuotes", "posts", uri):
        found.append(_account(post["author"], "quote", web, str(post["uri"]).rsplit("/", 1)[-1]))
    dids = sorted({a.account_id for a in found})
    followers: dict[str, int] = {}
    for start in range(0, len(dids), PROFILES_AT_ONCE):
        answer = query("app.bsky.actor.getProfiles", actors=dids[start : start + PROFILES_AT_ONCE])
        for profile in answer.get("profiles") or []:
            if isinstance(profile.get("followersCount"), int):
                followers[profile["did"]] = profile["followersCount"]
    return [replace(a, followers=followers.get(a.account_id)) for a in found]
