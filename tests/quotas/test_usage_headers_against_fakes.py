"""Usage headers feed the quota ledger: Meta's X-App-Usage / X-Business-Use-Case-Usage
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting/) and X's x-rate-limit-*
(https://docs.x.com/x-api/fundamentals/rate-limits), answered by HTTP fakes of both APIs."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.connectors.meta.graph import GRAPH_VERSION
from chorus.content.models import PostTarget
from chorus.publishing import dispatch, engine, quotas
from chorus.quotas.models import QuotaObservation, QuotaUsage
from tests.publishing.conftest import make_target

G = f"https://graph.facebook.com/{GRAPH_VERSION}"
TWEETS = "https://api.x.com/2/tweets"


@pytest.fixture
def page(cast, meta_apps):
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


@pytest.fixture
def x_channel(cast, oauth_apps):
    return connect_channel(
        workspace=cast.workspace,
        kind="x",
        name="@chorusteam",
        config={"user_id": "2244994945", "username": "chorusteam"},
        credentials={
            "access_token": "x-access-1",
            "refresh_token": "r",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )


def feed_answer(**headers: str) -> httpx.Response:
    return httpx.Response(200, json={"id": "1111_555"}, headers=headers)


def tweet_answer(**headers: str) -> httpx.Response:
    return httpx.Response(201, json={"data": {"id": "1790", "text": "Hello"}}, headers=headers)


def test_it_waits_until_meta_says_the_business_use_case_regains_access(cast, graph, page):
    buc = {
        "1111": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 30,
                "estimated_time_to_regain_access": 25,
            }
        ]
    }
    graph.on("POST", f"{G}/1111/feed", feed_answer(**{"X-Business-Use-Case-Usage": json.dumps(buc)}))
    before = timezone.now()
    page.connector().publish(make_target(cast, page, text="First"))

    obs = QuotaObservation.objects.get(channel=page, bucket="buc:1111:pages")
    assert obs.used_percent == 100 and obs.exhausted
    nxt = make_target(cast, page, text="Second")
    wait = quotas.reserve(page.connector(), nxt)
    assert wait is not None
    assert before + dt.timedelta(minutes=25) <= wait <= timezone.now() + dt.timedelta(minutes=25)


def test_it_does_not_block_on_normal_meta_usage(cast, graph, page):
    usage = {"call_count": 28, "total_time": 25, "total_cputime": 9}
    graph.on("POST", f"{G}/1111/feed", feed_answer(**{"X-App-Usage": json.dumps(usage)}))
    page.connector().publish(make_target(cast, page, text="First"))

    assert QuotaObservation.objects.get(channel=page, bucket="app").used_percent == 28
    assert quotas.reserve(page.connector(), make_target(cast, page, text="Second")) is None


def test_it_waits_an_hour_when_meta_says_100_percent_without_a_time(cast, graph, page):
    graph.on("POST", f"{G}/1111/feed", feed_answer(**{"X-App-Usage": json.dumps({"call_count": 100})}))
    page.connector().publish(make_target(cast, page, text="First"))
    wait = quotas.reserve(page.connector(), make_target(cast, page, text="Second"))
    assert wait is not None and wait > timezone.now() + dt.timedelta(minutes=59)


def test_it_waits_until_x_rate_limit_reset_when_none_remain(cast, fake, x_channel):
    reset = int(time.time()) + 600
    fake.on(
        "POST",
        TWEETS,
        tweet_answer(
            **{"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
        ),
    )
    x_channel.connector().publish(make_target(cast, x_channel, text="Hello"))

    obs = QuotaObservation.objects.get(channel=x_channel, bucket="POST /2/tweets")
    assert (obs.remaining, obs.limit) == (0, 100)
    nxt = make_target(cast, x_channel, text="Next")
    used_before = QuotaUsage.objects.filter(channel=x_channel).count()
    assert quotas.reserve(x_channel.connector(), nxt) == dt.datetime.fromtimestamp(reset, dt.UTC)
    assert QuotaUsage.objects.filter(channel=x_channel).count() == used_before  # nothing charged


def test_the_engine_holds_the_next_post_until_the_x_reset(cast, fake, x_channel):
    reset = int(time.time()) + 900
    fake.on("POST", TWEETS, tweet_answer(**{"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}))
    x_channel.connector().publish(make_target(cast, x_channel, text="Hello"))
    target = make_target(cast, x_channel, text="Next", when=timezone.now() - dt.timedelta(seconds=1))
    sent_before = len(fake.to("POST", TWEETS))

    attempt_id, _ids = dispatch.claim_due()
    assert engine.publish_one(target.pk, attempt_id) == "quota_wait"
    target.refresh_from_db()

    assert len(fake.to("POST", TWEETS)) == sent_before  # not sent
    assert target.status == PostTarget.Status.SCHEDULED
    assert target.due_at == dt.datetime.fromtimestamp(reset, dt.UTC)


def test_it_does_not_block_when_x_says_posts_remain(cast, fake, x_channel):
    reset = int(time.time()) + 600
    fake.on(
        "POST", TWEETS, tweet_answer(**{"x-rate-limit-remaining": "99", "x-rate-limit-reset": str(reset)})
    )
    x_channel.connector().publish(make_target(cast, x_channel, text="Hello"))
    assert QuotaObservation.objects.get(channel=x_channel, bucket="POST /2/tweets").remaining == 99
    assert quotas.reserve(x_channel.connector(), make_target(cast, x_channel, text="Next")) is None


def test_an_exhausted_read_endpoint_does_not_delay_posts(cast, x_channel):
    quotas.observe(
        x_channel,
        "GET /2/tweets/:id",
        remaining=0,
        resets_at=timezone.now() + dt.timedelta(minutes=15),
        gates_publishing=False,
    )
    assert quotas.reserve(x_channel.connector(), make_target(cast, x_channel)) is None


def test_a_newer_observation_or_a_past_reset_lifts_the_block(cast, x_channel):
    soon = timezone.now() + dt.timedelta(minutes=10)
    quotas.observe(x_channel, "POST /2/tweets", remaining=0, resets_at=soon)
    assert quotas.reserve(x_channel.connector(), make_target(cast, x_channel, text="a")) == soon
    quotas.observe(x_channel, "POST /2/tweets", remaining=50, resets_at=soon)
    assert quotas.reserve(x_channel.connector(), make_target(cast, x_channel, text="b")) is None
    quotas.observe(
        x_channel, "POST /2/tweets", remaining=0, resets_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert quotas.reserve(x_channel.connector(), make_target(cast, x_channel, text="c")) is None
