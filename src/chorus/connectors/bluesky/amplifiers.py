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


def _account(profile: dict[str, Any], kind: str, url: str = "") -> Amplifier:
    handle = str(profile.get("handle") or "")
    return Amplifier(
        account_id=str(profile["did"]),
        kind=kind,
        handle=f"@{handle}" if handle else "",
        display_name=str(profile.get("displayName") or ""),
        profile_url=f"{WEB}/profile/{handle or profile['did']}",
        url=url,
    )


def read(query: Query, uri: str) -> list[Amplifier]:
    found = [_account(p, "repost") for p in _pages(query, "app.bsky.feed.getRepostedBy", "repostedBy", uri)]
    for post in _pages(query, "app.bsky.feed.getQuotes", "posts", uri):
        author = post["author"]
        rkey = str(post["uri"]).rsplit("/", 1)[-1]
        found.append(
            _account(author, "quote", f"{WEB}/profile/{author.get('handle') or author['did']}/post/{rkey}")
        )
    dids = sorted({a.account_id for a in found})
    followers: dict[str, int] = {}
    for start in range(0, len(dids), PROFILES_AT_ONCE):
        answer = query("app.bsky.actor.getProfiles", actors=dids[start : start + PROFILES_AT_ONCE])
        for profile in answer.get("profiles") or []:
            if isinstance(profile.get("followersCount"), int):
                followers[profile["did"]] = profile["followersCount"]
    return [replace(a, followers=followers.get(a.account_id)) for a in found]
