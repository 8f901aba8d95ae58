"""Who boosted a Mastodon status (GET /api/v1/statuses/:id/reblogged_by, paged by the Link
header), against the recording fake at the one HTTP seam. Mastodon lists no quotes."""

from __future__ import annotations

import httpx
import pytest

from chorus.connectors.base import RateLimited
from chorus.connectors.mastodon.connector import MastodonConnector
from tests.connectors.mastodon.conftest import INSTANCE
from tests.publishing.conftest import make_target

pytestmark = pytest.mark.django_db
PATH = "/api/v1/statuses/109/reblogged_by"


def account(n: int, **extra) -> dict:
    return {
        "id": str(n),
        "username": f"user{n}",
        "acct": f"user{n}",
        "display_name": f"User {n}",
        "url": f"{INSTANCE}/@user{n}",
        "followers_count": n * 1000,
        **extra,
    }


def test_it_lists_boosters_page_by_page_with_their_followers(cast, fake, fake_channel):
    nxt = f'<{INSTANCE}{PATH}?limit=80&max_id=5555>; rel="next", <{INSTANCE}{PATH}?since_id=9>; rel="prev"'
    fake.on(
        "GET",
        PATH,
        httpx.Response(200, json=[account(1), account(2, acct="news@paper.example")], headers={"Link": nxt}),
        httpx.Response(200, json=[account(3, followers_count=None)]),
    )
    target = make_target(cast, fake_channel)
    target.external_id = "109"
    found = fake_channel.connector().amplifiers(target)

    sent = fake.requests_to("GET", PATH)
    assert [dict(r.url.params) for r in sent] == [{"limit": "80"}, {"limit": "80", "max_id": "5555"}]
    assert sent[0].headers["Authorization"] == "Bearer tok"
    assert [(a.account_id, a.kind, a.handle, a.followers) for a in found] == [
        ("1", "repost", "@user1@social.example", 1000),  # a local account gets its instance
        ("2", "repost", "@news@paper.example", 2000),
        ("3", "repost", "@user3@social.example", None),  # not given: not 0
    ]
    assert found[0].profile_url == f"{INSTANCE}/@user1" and found[0].display_name == "User 1"
    assert MastodonConnector.amplifier_kinds == frozenset({"repost"})


def test_a_rate_limit_while_listing_boosters_is_a_rate_limit(cast, fake, fake_channel):
    fake.on(
        "GET", PATH, httpx.Response(429, headers={"Retry-After": "60"}, json={"error": "Too many requests"})
    )
    target = make_target(cast, fake_channel)
    target.external_id = "109"
    with pytest.raises(RateLimited) as caught:
        fake_channel.connector().amplifiers(target)
    assert caught.value.retry_after == 60
