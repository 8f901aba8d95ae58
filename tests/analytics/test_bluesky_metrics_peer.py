"""End to end with the real local Bluesky network: a second account likes, reposts and quotes a
post Chorus published; the collection task stores the counts and who amplified it (with the
follower count the real AppView gives), and the analytics pages show them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.analytics import tasks
from chorus.analytics.models import Amplification, AnalyticsSettings, PostMetrics, PostSnapshot
from chorus.content.models import PostTarget
from chorus.publishing import actions, dispatch, engine
from tests.connectors.bluesky.test_bluesky_peer import (  # the peer helpers of the connector tests
    appview_get,
    author,  # noqa: F401  (fixture)
    channel,  # noqa: F401  (fixture)
    create_account,
    make_target,
    peer_settings,  # noqa: F401  (fixture)
    write_record,
)

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


def test_it_collects_likes_reposts_and_amplifiers_from_the_real_appview(cast, channel, bluesky_network):  # noqa: F811
    target = make_target(cast, channel, "Analytics from a real AppView")
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    attempt_id, _claimed = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "published"
    target = PostTarget.objects.get(pk=target.pk)

    fan = create_account(bluesky_network)
    bluesky_network.process_all()
    view = appview_get(bluesky_network, "app.bsky.feed.getPosts", uris=[target.external_id])["posts"][0]
    subject = {"uri": view["uri"], "cid": view["cid"]}
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    write_record(bluesky_network, fan, "app.bsky.feed.like", {"subject": subject, "createdAt": now})
    write_record(bluesky_network, fan, "app.bsky.feed.repost", {"subject": subject, "createdAt": now})
    quote = {
        "text": "Worth reading",
        "embed": {"$type": "app.bsky.embed.record", "record": subject},
        "createdAt": now,
    }
    write_record(bluesky_network, fan, "app.bsky.feed.post", quote)
    # Two accounts follow the fan, so its follower count (from getProfiles) is a real number.
    for follower in (create_account(bluesky_network), create_account(bluesky_network)):
        write_record(
            bluesky_network, follower, "app.bsky.graph.follow", {"subject": fan.did, "createdAt": now}
        )
    bluesky_network.process_all()

    assert tasks.collect_post_metrics.call(target.pk) == "collected"

    snapshot = PostSnapshot.objects.filter(target=target).latest("taken_at")
    assert snapshot.metrics["likes"] == 1 and snapshot.metrics["reposts"] == 1
    row = PostMetrics.objects.get(target=target)
    assert (row.likes, row.reposts, row.impressions) == (1, 1, None)  # Bluesky gives no impressions
    html = (
        cast.client_for(cast.owner)
        .get(reverse("analytics:post", args=[cast.workspace.slug, target.pk]))
        .content.decode()
    )
    assert re.search(r'data-metric="likes">1<', html) and re.search(r'data-metric="reposts">1<', html)
    assert re.search(r'data-metric="impressions"><span class="na">', html)
    # Amplified by: the fan's repost and quote, with its follower count from the real AppView.
    amplifications = {a.kind: a for a in Amplification.objects.filter(target=target)}
    assert set(amplifications) == {"repost", "quote"}
    for amp in amplifications.values():
        assert (amp.account_id, amp.handle, amp.followers) == (fan.did, f"@{fan.handle}", 2)
    assert amplifications["quote"].url == ""  # the local network is not on bsky.app: no dead link
    assert row.quotes == 1
    AnalyticsSettings.objects.create(workspace=cast.workspace, notable_followers=2)
    html = (
        cast.client_for(cast.owner)
        .get(reverse("analytics:post", args=[cast.workspace.slug, target.pk]))
        .content.decode()
    )
    assert len(re.findall(rf'<tr data-account="{re.escape(fan.did)}" class="notable"', html)) == 2
    dashboard = (
        cast.client_for(cast.owner)
        .get(reverse("analytics:dashboard", args=[cast.workspace.slug]))
        .content.decode()
    )
    assert f"@{fan.handle}" in dashboard[dashboard.index('id="notable-amplifiers"') :]
    assert tasks.collect_account_metrics.call(channel.pk) == "collected"
    assert channel.account_snapshots.latest("taken_at").metrics["posts"] == 1
