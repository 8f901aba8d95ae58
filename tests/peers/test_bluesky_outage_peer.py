"""Issue 14: the PDS of a real local Bluesky network goes down (a TCP proxy the test controls
refuses connections) while 50 posts are due, with the real `chorus scheduler` and `chorus worker`
processes running. Every post is published exactly once after it answers again, none fails, and
the outage shows as one banner the whole time. Numbers are printed for the closing note."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.bluesky.connector import BlueskyConnector, record_key
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.publishing import actions
from chorus.publishing.unreachable import outages
from tests.conftest import Cast
from tests.engine_fixtures import *  # noqa: F403  (start_chorus and what it needs)
from tests.engine_fixtures import wait_for
from tests.peers.bluesky import BlueskyNetwork
from tests.peers.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = [pytest.mark.peer, pytest.mark.engine, pytest.mark.django_db(transaction=True)]
S = PostTarget.Status
DOWN_SECONDS = 20
POSTS = 50
ENGINE = {
    "CHORUS_ALLOW_PRIVATE_URLS": "1",
    "CHORUS_SCHEDULER_TICK_SECONDS": "0.2",
    "CHORUS_WORKER_PING_SECONDS": "5",
    "CHORUS_RETRY_BASE_SECONDS": "0.5",
    "CHORUS_PROBE_MAX_SECONDS": "2",
    "CHORUS_RETRY_HORIZON_SECONDS": "300",  # a short horizon, longer than the outage
}


@pytest.fixture
def proxy(bluesky_network: BlueskyNetwork) -> Iterator[TcpProxy]:
    with tcp_proxy(bluesky_network.pds_url) as running:
        yield running


def connect(cast: Cast, network: BlueskyNetwork, proxy: TcpProxy, settings) -> Channel:  # type: ignore[no-untyped-def]
    """A new account on the network, connected as a channel that reaches its PDS through `proxy`."""
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    handle = f"u{secrets.token_hex(5)}{network.handle_domain}"
    password = secrets.token_urlsafe(12)
    httpx.post(
        f"{network.pds_url}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@example.org", "password": password},
        timeout=30,
    ).raise_for_status()
    result = BlueskyConnector.begin_connect(
        {"handle": handle, "app_password": password, "service": proxy.url, "appview": network.appview_url},
        callback_url="",
        state="",
    )
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


def pds_records(network: BlueskyNetwork, did: str) -> list[dict]:  # type: ignore[type-arg]
    """Every post record of `did` on the PDS itself (listRecords, page by page)."""
    records: list[dict] = []  # type: ignore[type-arg]
    cursor: str | None = None
    while True:
        params = {"repo": did, "collection": "app.bsky.feed.post", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = httpx.get(
            f"{network.pds_url}/xrpc/com.atproto.repo.listRecords", params=params, timeout=30
        )
        response.raise_for_status()
        page = response.json()
        records += page["records"]
        cursor = page.get("cursor")
        if not page["records"] or not cursor:
            return records


def test_a_pds_down_while_50_posts_are_due_publishes_all_once_after_it_answers(
    cast: Cast, bluesky_network: BlueskyNetwork, proxy: TcpProxy, start_chorus, settings
) -> None:
    channel = connect(cast, bluesky_network, proxy, settings)
    start_chorus("scheduler", env=ENGINE)
    start_chorus("worker", env=ENGINE)

    proxy.down()
    down_at = time.monotonic()
    due = timezone.now() - dt.timedelta(seconds=1)
    targets = []
    for i in range(POSTS):
        post = actions.create_post(
            workspace=cast.workspace, author=cast.owner, channels=[channel], text=f"Outage test post {i} 🌧️"
        )
        target = post.targets.get()
        actions.schedule(target, actor=cast.owner, when=due)
        targets.append(target)
    ids = [t.pk for t in targets]

    wait_for(
        lambda: Channel.objects.filter(pk=channel.pk, unreachable_since__isnull=False).exists(),
        timeout=15,
        what="the channel marked unreachable",
    )
    banners: Counter[int] = Counter()
    failed_seen = 0
    while time.monotonic() - down_at < DOWN_SECONDS:
        banners[len(outages(cast.workspace.pk))] += 1
        failed_seen += PostTarget.objects.filter(pk__in=ids, status=S.FAILED).count()
        time.sleep(0.5)
    waiting = outages(cast.workspace.pk)
    assert len(waiting) == 1 and waiting[0].host == f"127.0.0.1:{proxy.port}"
    assert PostTarget.objects.filter(pk__in=ids, status=S.PUBLISHED).count() == 0

    proxy.up()
    up_at = time.monotonic()
    up_wall = timezone.now()
    down_for = up_at - down_at
    wait_for(
        lambda: PostTarget.objects.filter(pk__in=ids, status=S.PUBLISHED).count() == POSTS,
        timeout=40,
        interval=0.2,
        what="all 50 posts published after the PDS came back",
    )
    all_out = time.monotonic() - up_at

    statuses = Counter(PostTarget.objects.filter(pk__in=ids).values_list("status", flat=True))
    records = pds_records(bluesky_network, channel.config["did"])
    keys = Counter(r["uri"].rsplit("/", 1)[1] for r in records)
    expected = {record_key(t) for t in PostTarget.objects.filter(pk__in=ids)}
    duplicates = sum(n - 1 for n in keys.values() if n > 1)
    probes = AuditEvent.objects.filter(action="channel.probe", object_id=str(channel.pk)).count()
    times = sorted(
        t for t in PostTarget.objects.filter(pk__in=ids).values_list("published_at", flat=True) if t
    )
    first_out = (times[0] - up_wall).total_seconds()  # the probe that found the PDS back
    print(
        f"down={down_for:.1f}s all_published_after_up={all_out:.1f}s published={statuses[S.PUBLISHED]} "
        f"failed={statuses[S.FAILED]} records={len(records)} duplicates={duplicates} probes={probes} "
        f"first_published_after_up={first_out:.1f}s banner_samples={dict(banners)}"
    )
    assert statuses == Counter({S.PUBLISHED: POSTS})
    assert failed_seen == 0
    assert set(keys) == expected and duplicates == 0 and len(records) == POSTS
    assert set(banners) == {1}  # one banner the whole time, never two, never none
    assert outages(cast.workspace.pk) == []
    assert AuditEvent.objects.filter(action="channel.unreachable", object_id=str(channel.pk)).count() == 1
    assert AuditEvent.objects.filter(action="channel.reachable", object_id=str(channel.pk)).count() == 1
    # One probe at a time: the probes are spaced by their backoff (>= 0.25 s, <= 2 s each).
    assert 1 <= probes <= down_for / 0.25 + 1
    for target in PostTarget.objects.filter(pk__in=ids):
        assert target.scheduled_at == due  # the original time kept through the outage
