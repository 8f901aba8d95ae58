"""Who reposted or quoted a Bluesky post, with the AppView faked at the one HTTP seam: the exact
XRPC reads sent (getRepostedBy and getQuotes page by page, getProfiles 25 at a time)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chorus.connectors.base import RateLimited
from chorus.connectors.bluesky import amplifiers
from tests.connectors.bluesky.test_connector_faked import (  # the fixtures of the faked connector tests
    channel,  # noqa: F401  (fixture)
    fake_network,  # noqa: F401  (fixture)
    make_target,
)

pytestmark = pytest.mark.django_db
URI = "at://did:plc:author/app.bsky.feed.post/3kabc"


def profile(n: int) -> dict[str, Any]:
    return {"did": f"did:plc:fan{n}", "handle": f"fan{n}.test", "displayName": f"Fan {n}"}


def test_it_reads_reposters_and_quotes_page_by_page_then_their_follower_counts(cast, channel, fake_network):  # noqa: F811
    fans = [profile(n) for n in range(30)]

    def answer(request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.rsplit("/", 1)[-1]
        params = request.url.params
        if nsid == "app.bsky.feed.getRepostedBy":
            if params.get("cursor") == "page2":
                return httpx.Response(200, json={"uri": URI, "repostedBy": fans[20:]})
            return httpx.Response(200, json={"uri": URI, "repostedBy": fans[:20], "cursor": "page2"})
        if nsid == "app.bsky.feed.getQuotes":
            quote = {
                "uri": "at://did:plc:paper/app.bsky.feed.post/3kq",
                "author": {"did": "did:plc:paper", "handle": "paper.test"},
            }
            return httpx.Response(200, json={"uri": URI, "posts": [quote]})
        if nsid == "app.bsky.actor.getProfiles":
            wanted = params.get_list("actors")
            counts = {"did:plc:paper": 120_000, "did:plc:fan3": 15}
            return httpx.Response(
                200,
                json={
                    "profiles": [
                        {"did": d, "handle": "h", **({"followersCount": counts[d]} if d in counts else {})}
                        for d in wanted
                    ]
                },
            )
        return httpx.Response(404, json={"error": "NotFound"})

    sent = fake_network(answer)
    target = make_target(cast, channel, "Hi", external_id=URI)
    found = channel.connector().amplifiers(target)

    assert [(r.url.host, r.url.path.rsplit("/", 1)[-1]) for r in sent] == [
        ("appview.test", "app.bsky.feed.getRepostedBy"),
        ("appview.test", "app.bsky.feed.getRepostedBy"),
        ("appview.test", "app.bsky.feed.getQuotes"),
        ("appview.test", "app.bsky.actor.getProfiles"),
        ("appview.test", "app.bsky.actor.getProfiles"),
    ]
    assert dict(sent[0].url.params) == {"uri": URI, "limit": "100"}
    assert sent[1].url.params["cursor"] == "page2"
    assert [len(r.url.params.get_list("actors")) for r in sent[3:]] == [25, 6]  # 31 accounts, 25 at once
    assert "Authorization" not in sent[0].headers  # public AppView reads
    by_id = {(a.kind, a.account_id): a for a in found}
    assert len(found) == 31
    paper = by_id[("quote", "did:plc:paper")]
    assert (paper.followers, paper.handle) == (120_000, "@paper.test")
    # This channel's network has its own AppView, not bsky.app: no links to a site that does not
    # know these accounts (test_network_facts_faked.py has the bsky.app links of Bluesky's network).
    assert paper.url == ""
    fan = by_id[("repost", "did:plc:fan3")]
    assert (fan.followers, fan.display_name, fan.profile_url) == (15, "Fan 3", "")
    assert by_id[("repost", "did:plc:fan4")].followers is None  # the AppView did not say: not 0


def test_it_reads_at_most_a_bounded_number_of_pages(cast, channel, fake_network):  # noqa: F811
    def endless(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("getRepostedBy"):
            n = int(request.url.params.get("cursor") or 0)
            return httpx.Response(200, json={"repostedBy": [profile(n)], "cursor": str(n + 1)})
        if request.url.path.endswith("getQuotes"):
            return httpx.Response(200, json={"posts": []})
        return httpx.Response(200, json={"profiles": []})

    sent = fake_network(endless)
    found = channel.connector().amplifiers(make_target(cast, channel, "Hi", external_id=URI))
    assert len(found) == amplifiers.MAX_PAGES
    assert sum(r.url.path.endswith("getRepostedBy") for r in sent) == amplifiers.MAX_PAGES


def test_a_rate_limited_read_is_a_rate_limit(cast, channel, fake_network):  # noqa: F811
    fake_network(
        lambda request: httpx.Response(
            429, headers={"Retry-After": "120"}, json={"error": "RateLimitExceeded"}
        )
    )
    with pytest.raises(RateLimited) as caught:
        channel.connector().amplifiers(make_target(cast, channel, "Hi", external_id=URI))
    assert caught.value.retry_after == 120
