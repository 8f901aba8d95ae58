"""X recent search: GET /2/tweets/search/recent (https://docs.x.com/x-api/posts/search-recent-posts),
through the workspace's first X channel, paid per post read.

The listening query becomes one X query string (keywords and phrases with AND / OR / NOT, hashtags,
mentions, authors, languages in X's operator syntax, retweets left out since they are billed and
say nothing new). A sweep reads newest first from `since_id` (the newest post of the last finished
sweep) down, page by page with `next_token`; the state {"q": digest of the query string, "since",
"top", "token"} is committed with each page's matches, so an interrupted sweep (budget, rate
limit, crash) resumes at its next page. The first poll reads one page only (no backfill of the
seven days the endpoint keeps).

Every post X returns is billed as a read: each page is charged to the inbox's ledger of paid reads
(QuotaUsage bucket "x-post-reads", the same monthly workspace budget the inbox spends from), and a
page is only asked for with `max_results` no larger than what the budget still pays for (X's
minimum page is 10): the poll stops before the budget would be exceeded and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.channels.models import Channel
from chorus.connectors.base import PublishError, RateLimited
from chorus.connectors.inbox import ReadCost
from chorus.connectors.x import client as xclient
from chorus.listening import notes
from chorus.listening.matching import Matcher, Node, Post, QueryInvalid, QuerySpec, fold
from chorus.listening.models import Match, Query, StreamCursor
from chorus.listening.stream import Enricher, spec_of
from chorus.quotas.models import QuotaUsage

SEARCH_URL = f"{xclient.API}/2/tweets/search/recent"
PAGE_MIN, PAGE_MAX = 10, 100  # max_results bounds of recent search
MAX_PAGES = 10  # per poll; the rest waits for the next poll (the state says where)
MAX_QUERY = 512  # characters of a query on the pay-per-use / Basic access levels
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
FIELDS = {
    "tweet.fields": "created_at,author_id,lang,public_metrics,entities",
    "expansions": "author_id",
    "user.fields": "username,public_metrics",
}


def source_for(query: Query) -> str:
    return f"x:query:{query.pk}"


def x_channel(workspace_id: int) -> Channel | None:
    return Channel.objects.filter(workspace_id=workspace_id, kind="x").order_by("pk").first()


# --- the query string --------------------------------------------------------------------------


def _term(key: str) -> str:
    words = key.split()
    text = " ".join(words).replace("# ", "#").replace("@ ", "@")
    return text if len(text.split()) == 1 else f'"{text}"'


def _expr(node: Node, top: bool = False) -> str:
    kind = node[0]
    if kind == "term":
        return _term(node[1])
    if kind == "and":  # grouped: X reads "a b OR c" as "(a b) OR c", but say so
        joined = " ".join(_expr(child) for child in node[1])
        return joined if top else f"({joined})"
    if kind == "or":
        joined = " OR ".join(_expr(child) for child in node[1])
        return joined if top else f"({joined})"
    inner = node[1]  # "not": X negates a single operator or a group; De Morgan keeps it simple
    if inner[0] == "term":
        return f"-{_term(inner[1])}"
    if inner[0] == "not":
        return _expr(inner[1])
    if inner[0] == "or":
        return " ".join(_expr(("not", child)) for child in inner[1])
    return "(" + " OR ".join(_expr(("not", child)) for child in inner[1]) + ")"


def _any(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"


def x_query(spec: QuerySpec) -> str:
    """The X query string of a listening query; QueryInvalid when X cannot take it."""
    tree = spec.tree
    nodes = list(tree[1]) if tree is not None and tree[0] == "or" else [] if tree is None else [tree]
    topics = [_expr(node) for node in nodes]  # the words, or each alternative of a top-level OR
    topics += [f"#{h}" for h in spec.hashtags]
    topics += [f"@{m}" for m in spec.mentions if _HANDLE.fullmatch(m)]
    if len(topics) == 1 and nodes:
        topics = [_expr(nodes[0], top=True)]
    include = [f"from:{a}" for a in spec.authors_include if _HANDLE.fullmatch(a)]
    parts: list[str] = []
    if topics:
        parts.append(_any(topics))
    elif include:
        parts.append(_any(include))
        include = []
    else:
        raise QueryInvalid(
            _("This query has nothing X can search for (words, hashtags, mentions or X handles).")
        )
    if include:
        parts.append(_any(include))
    parts += [f"-from:{a}" for a in spec.authors_exclude if _HANDLE.fullmatch(a)]
    if spec.languages:
        parts.append(_any([f"lang:{x}" for x in spec.languages]))
    parts.append("-is:retweet")
    text = " ".join(parts)
    if len(text) > MAX_QUERY:
        raise QueryInvalid(
            _("As an X search this query is %(n)d characters long; X takes at most %(max)d.")
            % {"n": len(text), "max": MAX_QUERY}
        )
    return text


# --- the budget --------------------------------------------------------------------------------


def reads_left(workspace: Any, cost: ReadCost) -> int:
    """Posts the workspace's monthly budget for paid reads still pays for."""
    from chorus.inbox.actions import read_budget, read_spend

    left = read_budget(workspace) - read_spend(workspace, cost.bucket, cost.usd_per_unit)
    return max(0, int(left / cost.usd_per_unit)) if cost.usd_per_unit > 0 else PAGE_MAX


def read_cost(channel: Channel) -> ReadCost:
    connector: Any = channel.connector()
    cost: ReadCost = connector.inbox_read_cost  # the inbox's: one ledger, one budget
    return cost


# --- polling -----------------------------------------------------------------------------------


def _classify(response: Any) -> PublishError | None:
    """X's table, with the wait of a 429 taken from x-rate-limit-reset (epoch seconds)."""
    error = xclient.classify(response)
    if isinstance(error, RateLimited):
        with contextlib.suppress(KeyError, ValueError):
            error.retry_after = max(0.0, int(response.headers["x-rate-limit-reset"]) - time.time())
    return error


def poll(query: Query) -> int:
    """One poll of the query on X; returns the matches stored."""
    if not query.active or "x" not in query.networks:
        return 0  # paid: only queries that name X
    source = source_for(query)
    row, _created = StreamCursor.objects.get_or_create(source=source)
    channel = x_channel(query.workspace_id)
    if channel is None:
        notes.record(source, "x_no_channel")
        return 0
    spec = spec_of(query)
    try:
        text = x_query(spec)
    except QueryInvalid as exc:
        StreamCursor.objects.filter(source=source).update(note=str(exc)[:500], updated_at=timezone.now())
        return 0
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    state = json.loads(row.cursor) if row.cursor else {}
    if state.get("q") != digest:
        state = {"q": digest}  # the query changed: a new search, from the newest page
    if state.get("wait_until", 0) > time.time():
        return 0
    state.pop("wait_until", None)
    cost = read_cost(channel)
    connector: Any = channel.connector()
    api = connector.api()
    matcher, enricher, stored = Matcher([spec]), Enricher(), 0
    workspace = query.workspace
    for _page in range(MAX_PAGES):
        left = reads_left(workspace, cost)
        if left < PAGE_MIN:
            _budget_reached(channel, cost, source, state)
            return stored
        params: dict[str, Any] = {"query": text, "max_results": str(min(PAGE_MAX, left)), **FIELDS}
        if state.get("since"):
            params["since_id"] = state["since"]
        if state.get("token"):
            params["next_token"] = state["token"]
        try:
            answer = api.json("GET", SEARCH_URL, params=params, classify=_classify)
        except RateLimited as exc:
            state["wait_until"] = int(time.time() + exc.retry_after)
            until = timezone.now() + dt.timedelta(seconds=exc.retry_after)
            notes.record(source, "x_rate", time=until, cursor=json.dumps(state))
            return stored
        posts = answer.get("data") or []
        meta = answer.get("meta") or {}
        users = {u.get("id"): u for u in (answer.get("includes") or {}).get("users", [])}
        top = state.get("top") or meta.get("newest_id") or ""
        if meta.get("next_token") and state.get("since"):
            after = {"q": digest, "since": state["since"], "top": top, "token": meta["next_token"]}
        else:  # the sweep is done (or this was the first poll: its newest page only)
            after = {"q": digest, "since": top or state.get("since", "")}
        stored += _store(query, spec, matcher, enricher, source, channel, cost, posts, users, after)
        state = after
        if "token" not in after:
            break
    return stored


def _budget_reached(channel: Channel, cost: ReadCost, source: str, state: dict[str, Any]) -> None:
    from chorus.inbox.actions import _may_read, read_budget, read_spend

    workspace = channel.workspace
    _may_read(channel, ReadCost(cost.bucket, cost.usd_per_unit, PAGE_MIN))  # audited once a month
    notes.record(
        source,
        "x_budget",
        budget=str(read_budget(workspace)),
        spent=str(read_spend(workspace, cost.bucket, cost.usd_per_unit)),
        n=PAGE_MIN,
        cursor=json.dumps(state),
    )


def _posted_at(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()


def post_of(tweet: dict[str, Any], author: dict[str, Any]) -> Post:
    entities = tweet.get("entities") or {}
    return Post(
        network="x",
        author_id=str(tweet.get("author_id") or ""),
        author_handle=str(author.get("username") or ""),
        text=str(tweet.get("text") or ""),
        hashtags=tuple(str(h.get("tag", "")) for h in entities.get("hashtags") or ()),
        mentions=tuple(str(m.get("username", "")) for m in entities.get("mentions") or ()),
    )


def _store(
    query: Query,
    spec: QuerySpec,
    matcher: Matcher,
    enricher: Enricher,
    source: str,
    channel: Channel,
    cost: ReadCost,
    posts: list[dict[str, Any]],
    users: dict[str, Any],
    after: dict[str, Any],
) -> int:
    rows = []
    for tweet in posts:
        author = users.get(str(tweet.get("author_id")), {})
        post = post_of(tweet, author)
        if not matcher.match(post):
            continue  # X's search and ours differ at the edges (accents, stemming): ours decides
        language, feeling = enricher.enrich(post.text, query.workspace_id, {})
        if not matcher.language_filter(spec, language or tweet.get("lang")):
            continue
        metrics = tweet.get("public_metrics") or {}
        handle = post.author_handle or "i"
        rows.append(
            Match(
                workspace_id=query.workspace_id,
                query=query,
                network="x",
                uri=f"x:{tweet['id']}",  # the network's id: the same post is stored once per query
                url=f"https://x.com/{handle}/status/{tweet['id']}",
                author_id=post.author_id,
                author_handle=post.author_handle,
                author_followers=(author.get("public_metrics") or {}).get("followers_count"),
                text=post.text[:3000],
                hashtags=sorted({fold(h) for h in post.hashtags})[:30],
                language=language or "",
                sentiment=feeling.label,
                sentiment_score=feeling.score,
                engagement=sum(
                    int(metrics.get(k) or 0)
                    for k in ("like_count", "retweet_count", "reply_count", "quote_count")
                ),
                posted_at=_posted_at(tweet.get("created_at")),
            )
        )
    with transaction.atomic():
        if posts:  # billed when read, matched or not
            QuotaUsage.objects.create(channel=channel, bucket=cost.bucket, amount=len(posts))
        created = new_matches(query, rows)
        StreamCursor.objects.filter(source=source).update(
            cursor=json.dumps(after),
            note="",
            events=F("events") + len(posts),
            matched=F("matched") + len(created),
            updated_at=timezone.now(),
            event_time=_posted_at(posts[0].get("created_at")) if posts else F("event_time"),
        )
    return len(created)


def new_matches(query: Query, rows: list[Match]) -> list[Match]:
    """Stores the rows whose post the query has not stored yet (by network id); returns them."""
    seen = set(Match.objects.filter(query=query, uri__in=[r.uri for r in rows]).values_list("uri", flat=True))
    fresh = list({r.uri: r for r in rows if r.uri not in seen}.values())
    if fresh:
        Match.objects.bulk_create(fresh, ignore_conflicts=True)  # a racing poll's rows stay
    return fresh


def spent_this_month(workspace: Any) -> tuple[Decimal, Decimal] | None:
    """(spent, budget) of paid X reads, when the workspace has an X channel."""
    from chorus.inbox.actions import read_budget, read_spend

    channel = x_channel(workspace.pk)
    if channel is None:
        return None
    cost = read_cost(channel)
    return read_spend(workspace, cost.bucket, cost.usd_per_unit), read_budget(workspace)
