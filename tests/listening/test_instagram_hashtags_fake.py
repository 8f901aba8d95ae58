"""Instagram hashtag search as a listening source, against a fake of the Graph API built from
Meta's reference: GET /ig_hashtag_search?user_id=&q= (IG Hashtag Search), GET /{hashtag-id}/recent_media
?user_id=&fields= (IG Hashtag Recent Media, 50 a page, cursor paging), and the limit of 30 unique
hashtags per account in a rolling 7 days (Hashtag Search guide). No Instagram account is reachable
here: the answers are shaped after those pages; the limit error's code and subcode (24, 2207034)
are as developers report them, Meta's error table does not list them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.listening import actions, ighashtags, notes
from chorus.listening.models import HashtagSearch, Match, StreamCursor
from tests.conftest import Cast
from tests.connectors.graph_fake import GraphFake, graph, graph_error, meta_apps  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

G = f"https://graph.facebook.com/{GRAPH_VERSION}"
IG = "17841400000000001"
TAG_ID = "17843857450040591"
FIELDS = "id,caption,permalink,timestamp,like_count,comments_count"


@pytest.fixture
def account(cast: Cast, meta_apps):  # noqa: F811
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": IG, "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


def media(mid: str, caption: str, minutes_ago: int) -> dict[str, Any]:
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return {
        "id": mid,
        "caption": caption,
        "permalink": f"https://www.instagram.com/p/{mid}/",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "like_count": 7,
        "comments_count": 2,
    }


def page(items: list[dict[str, Any]], after: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"data": items}
    if after:
        body["paging"] = {
            "cursors": {"after": after},
            "next": f"{G}/{TAG_ID}/recent_media?after={after}",
        }
    return body


def fill_window(account, count: int, days_ago: float = 3) -> None:
    start = timezone.now() - dt.timedelta(days=days_ago)
    for i in range(count):
        HashtagSearch.objects.create(
            channel=account,
            hashtag=f"used{i}",
            hashtag_id=str(900 + i),
            searched_at=start + dt.timedelta(minutes=i),
        )


def test_search_then_recent_media_paged_then_only_newer_media_and_no_second_search(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    account,
) -> None:
    query = actions.create_query(
        cast.workspace,
        actor=None,
        data={
            "name": "Récif",
            "expression": "recif OR reef",
            "hashtags": ["#Ocean"],
            "networks": ["instagram"],
        },
    )
    graph.on("GET", f"{G}/ig_hashtag_search", {"data": [{"id": TAG_ID}]})
    graph.on(
        "GET",
        f"{G}/{TAG_ID}/recent_media",
        page([media("m3", "Save the reef #ocean", 5), media("m2", "Mon chat", 10)], after="c1"),
        page([media("m1", "Sortie récif #ocean", 30)]),
        page([media("m4", "Plongée #ocean #reef", 1), media("m3", "Save the reef #ocean", 5)], after="c2"),
    )
    assert ighashtags.poll(query) == 2  # m3 and m1 (m2 has #ocean on Instagram's side, not in its caption)
    assert ighashtags.poll(query) == 1  # m4 only: m3 is older than the newest already seen
    searches = graph.to("GET", f"{G}/ig_hashtag_search")
    assert [graph.query(r) for r in searches] == [
        {"user_id": IG, "q": "ocean", "access_token": "page-token-1111"}
    ]  # searched once: the id is kept for the account's 7 days
    base = {"user_id": IG, "fields": FIELDS, "limit": "50", "access_token": "page-token-1111"}
    assert [graph.query(r) for r in graph.to("GET", f"{G}/{TAG_ID}/recent_media")] == [
        base,
        {**base, "after": "c1"},
        base,
    ]
    stored = {m.uri: m for m in Match.objects.filter(query=query)}
    assert sorted(stored) == ["instagram:m1", "instagram:m3", "instagram:m4"]
    assert stored["instagram:m4"].url == "https://www.instagram.com/p/m4/"
    assert (stored["instagram:m4"].engagement, stored["instagram:m4"].hashtags) == (9, ["ocean", "reef"])
    assert stored["instagram:m1"].language == "fr"
    assert HashtagSearch.objects.get(channel=account).hashtag == "ocean"


def test_a_31st_hashtag_is_refused_when_saving_and_when_polling_naming_the_limit_and_the_free_slot(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    account,
) -> None:
    fill_window(account, 30, days_ago=3)
    frees = timezone.localtime(
        HashtagSearch.objects.order_by("searched_at").first().searched_at + dt.timedelta(days=7)
    )
    with pytest.raises(actions.QueryInvalid) as refused:
        actions.create_query(
            cast.workspace,
            actor=None,
            data={"name": "New", "hashtags": ["#neuf"], "networks": ["instagram"]},
        )
    message = str(refused.value)
    assert "30 different hashtags per account in 7 days" in message and "#neuf" in message
    assert frees.strftime("%Y") in message and str(frees.day) in message
    # A hashtag already in the account's 7 days costs no slot: accepted and polled.
    known = actions.create_query(
        cast.workspace, actor=None, data={"name": "Known", "hashtags": ["#used3"], "networks": ["instagram"]}
    )
    graph.on("GET", f"{G}/903/recent_media", page([media("k1", "Toujours #used3", 2)]))
    assert ighashtags.poll(known) == 1
    # A query saved while there was room, polled once the room is gone: refused before calling.
    known.hashtags = ["used3", "neuf"]
    known.save()
    assert ighashtags.poll(known) == 0
    assert graph.to("GET", f"{G}/ig_hashtag_search") == []
    note = notes.text(StreamCursor.objects.get(source=ighashtags.source_for(account, "neuf")).note)
    assert "30 different hashtags" in note and "The next slot frees on" in note


def test_a_slot_frees_seven_days_after_the_first_search_of_a_hashtag(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    account,
) -> None:
    fill_window(account, 30, days_ago=8)  # all past their 7 days: none counts any more
    query = actions.create_query(
        cast.workspace, actor=None, data={"name": "New", "hashtags": ["#neuf"], "networks": ["instagram"]}
    )
    graph.on("GET", f"{G}/ig_hashtag_search", {"data": [{"id": "555"}]})
    graph.on("GET", f"{G}/555/recent_media", page([]))
    assert ighashtags.poll(query) == 0
    assert len(graph.to("GET", f"{G}/ig_hashtag_search")) == 1
    assert [row.hashtag for row in ighashtags.window(account)] == ["neuf"]
    assert ighashtags.usage(cast.workspace.pk)["used"] == 1


def test_instagram_refusing_the_search_is_reported_and_the_other_hashtags_go_on(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    account,
) -> None:
    query = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "Two", "hashtags": ["#alpha", "#beta"], "networks": ["instagram"]},
    )
    graph.on(
        "GET",
        f"{G}/ig_hashtag_search",
        graph_error(24, "The maximum number of unique hashtags searched has been reached", subcode=2207034),
        {"data": [{"id": "777"}]},
    )
    graph.on("GET", f"{G}/777/recent_media", page([media("b1", "Un #beta", 3)]))
    assert ighashtags.poll(query) == 1
    note = notes.text(StreamCursor.objects.get(source=ighashtags.source_for(account, "alpha")).note)
    assert "Instagram refused to search #alpha" in note and "30 hashtags in 7 days" in note
    assert "(The maximum number of unique hashtags searched has been reached)" in note
    assert [row.hashtag for row in ighashtags.window(account)] == ["beta"]  # alpha took no slot here


def test_no_instagram_channel_or_not_ticked_means_no_call(cast: Cast, graph: GraphFake) -> None:  # noqa: F811
    ticked = actions.create_query(
        cast.workspace, actor=None, data={"name": "T", "hashtags": ["#ocean"], "networks": ["instagram"]}
    )
    untouched = actions.create_query(cast.workspace, actor=None, data={"name": "U", "hashtags": ["#ocean"]})
    assert ighashtags.poll(ticked) == 0 and ighashtags.poll(untouched) == 0
    assert graph.sent == []


def test_two_workspaces_on_the_same_instagram_account_share_its_30_hashtags(
    cast: Cast,
    graph: GraphFake,  # noqa: F811
    account,
) -> None:
    same = connect_channel(
        workspace=cast.other_workspace,
        kind="instagram",
        name="@seasalive",
        config={"ig_user_id": IG, "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-other"},
        actor=None,
    )
    fill_window(account, 29)
    query = actions.create_query(
        cast.other_workspace,
        actor=None,
        data={"name": "O", "hashtags": ["#used4", "#last"], "networks": ["instagram"]},
    )  # used4 is known to the account: only #last takes a slot, the 30th
    with pytest.raises(actions.QueryInvalid, match="#more"):
        actions.create_query(
            cast.other_workspace,
            actor=None,
            data={"name": "P", "hashtags": ["#last", "#more"], "networks": ["instagram"]},
        )
    graph.on("GET", f"{G}/ig_hashtag_search", {"data": [{"id": "31"}]})
    graph.on("GET", f"{G}/904/recent_media", page([]))
    graph.on("GET", f"{G}/31/recent_media", page([]))
    assert ighashtags.poll(query) == 0
    assert [graph.query(r)["q"] for r in graph.to("GET", f"{G}/ig_hashtag_search")] == ["last"]
    assert len(ighashtags.window(account)) == len(ighashtags.window(same)) == 30
    assert HashtagSearch.objects.get(hashtag="last").channel == same
