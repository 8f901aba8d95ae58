"""X recent search as a listening source, against a fake of the X API v2 built from the reference
of GET /2/tweets/search/recent (https://docs.x.com/x-api/posts/search-recent-posts: `query`,
`max_results` 10-100, `since_id`, `next_token`, `expansions=author_id` with `includes.users`,
`meta.newest_id` / `meta.next_token`) and of X's rate limits (429 with x-rate-limit-reset, epoch
seconds). No X account is reachable here: the answers below are shaped after the documentation.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chorus.channels.models import Channel
from chorus.core.models import AuditEvent
from chorus.inbox import actions as inbox_actions
from chorus.listening import actions, notes, tasks, xsearch
from chorus.listening.matching import QuerySpec
from chorus.listening.models import Match, StreamCursor
from chorus.quotas.models import QuotaUsage
from tests.conftest import Cast
from tests.connectors.oauth_fakes import Fake, fake, oauth_apps  # noqa: F401  (fixtures)
from tests.connectors.x.conftest import x_channel  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SEARCH = "https://api.x.com/2/tweets/search/recent"
FIELDS = {
    "tweet.fields": "created_at,author_id,lang,public_metrics,entities",
    "expansions": "author_id",
    "user.fields": "username,public_metrics",
}
QUERY_TEXT = '(climat OR "marche verte" OR #chorus) lang:fr -is:retweet'


def tweet(tid: int, text: str, author: str = "10") -> dict[str, Any]:
    return {
        "id": str(tid),
        "text": text,
        "author_id": author,
        "created_at": "2026-12-07T10:00:00.000Z",
        "lang": "fr",
        "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 0},
        "edit_history_tweet_ids": [str(tid)],
    }


def page(*tweets: dict[str, Any], next_token: str = "") -> httpx.Response:
    users = [
        {"id": "10", "name": "Fan", "username": "fan", "public_metrics": {"followers_count": 1234}},
        {"id": "11", "name": "Big", "username": "big", "public_metrics": {"followers_count": 250000}},
    ]
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if tweets:
        ids = sorted(int(t["id"]) for t in tweets)
        meta.update(newest_id=str(ids[-1]), oldest_id=str(ids[0]))
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"meta": meta}
    if tweets:
        body["data"] = list(tweets)
        body["includes"] = {"users": users}
    return httpx.Response(200, json=body)


def sent(fake: Fake) -> list[dict[str, str]]:  # noqa: F811
    return [dict(r.url.params) for r in fake.to("GET", SEARCH)]


@pytest.fixture
def query(cast: Cast):
    return actions.create_query(
        cast.workspace,
        actor=None,
        data={
            "name": "Climat X",
            "expression": 'climat OR "marche verte"',
            "hashtags": ["#chorus"],
            "languages": ["fr"],
            "networks": ["x"],
        },
    )


def test_the_x_query_string_follows_x_operators() -> None:
    spec = QuerySpec(
        id=1,
        workspace_id=1,
        expression='(climat OR "grève générale") AND marche NOT pétrole NOT (charbon OR gaz)',
        hashtags=["#Chorus"],
        mentions=["@asso_verte", "did:plc:abc"],  # not an X handle: left out
        authors_include=["militante"],
        authors_exclude=["spambot"],
        languages=["fr", "en"],
    )
    assert xsearch.x_query(spec) == (
        '(((climat OR "greve generale") marche -petrole -charbon -gaz) OR #chorus OR @asso_verte)'
        " from:militante -from:spambot (lang:fr OR lang:en) -is:retweet"
    )
    only_authors = QuerySpec(id=2, workspace_id=1, authors_include=["a", "b"])
    assert xsearch.x_query(only_authors) == "(from:a OR from:b) -is:retweet"
    with pytest.raises(xsearch.QueryInvalid, match="512"):
        xsearch.x_query(QuerySpec(id=3, workspace_id=1, hashtags=[f"tag{i}x{'y' * 12}" for i in range(40)]))


def test_sweeps_page_down_with_next_token_then_resume_above_their_newest_post(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
    query,
) -> None:
    fake.on(
        "GET",
        SEARCH,
        # first poll: the newest page only, no backfill
        page(tweet(100, "Le climat avant tout"), tweet(99, "Climatiseur en promo", "11")),
        # second poll: two pages above since_id=100; 103 comes back on both pages
        page(
            tweet(103, "Marche verte samedi #chorus", "11"), tweet(102, "On parle du climat"), next_token="t1"
        ),
        page(tweet(103, "Marche verte samedi #chorus", "11"), tweet(101, "rien à voir")),
        # third poll: nothing new
        page(),
    )
    assert xsearch.poll(query) == 1  # X returned 2; our matcher keeps "climat", not "Climatiseur"
    assert xsearch.poll(query) == 2  # 103 and 102, 103 once
    assert xsearch.poll(query) == 0
    base = {"query": QUERY_TEXT, "max_results": "100", **FIELDS}
    assert sent(fake) == [
        base,
        {**base, "since_id": "100"},
        {**base, "since_id": "100", "next_token": "t1"},
        {**base, "since_id": "103"},  # the newest of the second sweep
    ]
    assert all(r.headers["Authorization"] == "Bearer x-access-1" for r in fake.to("GET", SEARCH))
    assert sorted(Match.objects.filter(query=query).values_list("uri", flat=True)) == [
        "x:100",
        "x:102",
        "x:103",
    ]
    big = Match.objects.get(uri="x:103")
    assert (big.network, big.author_handle, big.author_followers, big.engagement) == ("x", "big", 250000, 6)
    assert big.url == "https://x.com/big/status/103" and big.hashtags == []
    # Every post read is billed (2 + 2 + 2 + 0), matched or not, in the inbox's ledger.
    assert sorted(QuotaUsage.objects.filter(channel=x_channel, bucket="x-post-reads").values_list("amount", flat=True)) == [2, 2, 2]  # fmt: skip
    assert inbox_actions.read_spend(cast.workspace, "x-post-reads", Decimal("0.005")) == Decimal("0.030")
    row = StreamCursor.objects.get(source=xsearch.source_for(query))
    assert (row.events, row.matched, row.note) == (6, 3, "")


def test_a_429_keeps_the_sweep_where_it_was_and_waits_for_x_rate_limit_reset(
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
    query,
    monkeypatch,
) -> None:
    reset = int(time.time()) + 600
    limited = httpx.Response(
        429,
        json={
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers={
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    fake.on(
        "GET",
        SEARCH,
        page(tweet(100, "Nous marchons pour le climat ce samedi")),
        page(tweet(102, "Le climat est encore au programme de la soirée"), next_token="t1"),
        limited,
        page(tweet(101, "Le climat, la suite de notre débat public")),
    )
    assert xsearch.poll(query) == 1
    assert xsearch.poll(query) == 1  # page one of the sweep stored, then the 429
    source = xsearch.source_for(query)
    row = StreamCursor.objects.get(source=source)
    assert "X rate limit reached" in notes.text(row.note)
    assert json.loads(row.cursor)["token"] == "t1"
    assert xsearch.poll(query) == 0 and len(sent(fake)) == 3  # before the reset: no request
    monkeypatch.setattr(xsearch.time, "time", lambda: reset + 1)
    assert xsearch.poll(query) == 1
    assert sent(fake)[-1]["next_token"] == "t1" and sent(fake)[-1]["since_id"] == "100"
    assert json.loads(StreamCursor.objects.get(source=source).cursor)["since"] == "102"
    assert set(Match.objects.values_list("uri", flat=True)) == {"x:100", "x:101", "x:102"}


def test_the_workspace_budget_sizes_the_last_page_then_stops_polling_and_says_so(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
    query,
    client,
) -> None:
    inbox_actions.set_read_budget(workspace=cast.workspace, usd=Decimal("0.30"), actor=None)  # 60 reads
    QuotaUsage.objects.create(channel=x_channel, bucket="x-post-reads", amount=40)  # the inbox read 40
    last = [tweet(200 + i, f"Le climat nous concerne tous, message numéro {i}") for i in range(19)]
    fake.on(
        "GET",
        SEARCH,
        page(tweet(100, "Nous marchons pour le climat ce samedi")),
        page(*last, next_token="t9"),
    )
    assert xsearch.poll(query) == 1  # 41 of 60 read
    assert xsearch.poll(query) == 19  # a page of 19, then no page of 10 can be paid: stop
    asked = sent(fake)
    assert [p["max_results"] for p in asked] == ["20", "19"]  # what the budget still pays for
    assert asked[1]["since_id"] == "100"
    spent = inbox_actions.read_spend(cast.workspace, "x-post-reads", Decimal("0.005"))
    assert spent == Decimal("0.300")  # up to the budget, never past it
    assert xsearch.poll(query) == 0
    assert len(sent(fake)) == 2  # no request once a page of 10 cannot be paid
    row = StreamCursor.objects.get(source=xsearch.source_for(query))
    assert "monthly budget for paid reads (0.30 USD, 0.300 spent)" in notes.text(row.note)
    assert json.loads(row.cursor) == {
        "q": json.loads(row.cursor)["q"],
        "since": "100",
        "top": "218",
        "token": "t9",
    }
    audits = AuditEvent.objects.filter(action="inbox.read_budget_reached", object_id=str(x_channel.pk))
    assert audits.count() == 1  # once a month, however many polls
    # The settings page says so, in French.
    client.force_login(cast.owner)
    html = client.get(
        f"/w/{cast.workspace.slug}/listening/settings/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Recherche X en pause" in html
    assert "Lectures X ce mois-ci" in html


def test_a_query_x_cannot_take_is_refused_at_saving(cast: Cast) -> None:
    data = {"name": "Long", "hashtags": [f"campagne{i}verte2026" for i in range(30)], "networks": ["x"]}
    with pytest.raises(actions.QueryInvalid, match="X takes at most 512"):
        actions.create_query(cast.workspace, actor=None, data=data)
    actions.create_query(cast.workspace, actor=None, data={**data, "networks": ["bluesky"]})  # free: no cap


def test_a_query_without_x_an_x_channel_or_activity_is_not_polled(cast: Cast, fake: Fake) -> None:  # noqa: F811
    free = actions.create_query(cast.workspace, actor=None, data={"name": "Free", "expression": "climat"})
    assert xsearch.poll(free) == 0  # no networks ticked: the free networks only
    paid = actions.create_query(
        cast.workspace, actor=None, data={"name": "Paid", "expression": "climat", "networks": ["x"]}
    )
    assert xsearch.poll(paid) == 0
    assert "No X channel" in notes.text(StreamCursor.objects.get(source=xsearch.source_for(paid)).note)
    assert fake.sent == []


def test_the_scheduler_enqueues_x_and_instagram_polls_only_for_queries_that_tick_them(cast: Cast) -> None:
    from django_tasks_db.models import DBTaskResult

    a = actions.create_query(
        cast.workspace, actor=None, data={"name": "A", "expression": "a", "networks": ["x"]}
    )
    actions.create_query(cast.workspace, actor=None, data={"name": "B", "expression": "b"})
    c = actions.create_query(
        cast.workspace, actor=None, data={"name": "C", "hashtags": ["c"], "networks": ["instagram", "x"]}
    )
    tasks.enqueue_due()
    queued = [
        (path.rsplit(".", 1)[-1], args["args"][0], queue)
        for path, queue, args in DBTaskResult.objects.values_list("task_path", "queue_name", "args_kwargs")
        if path.endswith(("poll_x", "poll_instagram"))
    ]
    assert sorted(queued) == sorted(
        [("poll_x", a.pk, "listening"), ("poll_x", c.pk, "listening"), ("poll_instagram", c.pk, "listening")]
    )


def test_the_query_form_offers_x_and_instagram_as_opt_in_networks_in_french(cast: Cast, client) -> None:
    client.force_login(cast.owner)
    html = client.get(
        f"/w/{cast.workspace.slug}/listening/queries/new/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "X (lectures payantes : cochez pour y chercher)" in html
    assert "Instagram (hashtags seulement : cochez pour y chercher)" in html
    assert "X et Instagram seulement s’ils sont cochés" in html
