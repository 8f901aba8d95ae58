from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest
from django.utils import timezone

from chorus.ads import actions
from chorus.ads.models import AdAccount
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core import http
from tests.ads.fakes import LinkedInAdsFake, MetaMarketingFake
from tests.conftest import Cast
from tests.publishing.conftest import make_target

AUDIENCE = {
    "countries": ["US", "CA"],
    "age_min": 25,
    "age_max": 54,
    "interests": [{"key": "6003107902433", "name": "Ocean"}],
}


@pytest.fixture
def meta() -> Iterator[MetaMarketingFake]:
    fake = MetaMarketingFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    yield fake
    http.set_transport_for_tests(None)


@pytest.fixture
def linkedin() -> Iterator[LinkedInAdsFake]:
    fake = LinkedInAdsFake()
    http.set_transport_for_tests(httpx.MockTransport(fake.handler))
    yield fake
    http.set_transport_for_tests(None)


def published(
    cast: Cast, channel: Channel, external_id: str, text: str = "Our reef survey is out"
) -> PostTarget:
    """A post published on the network (test data: the publishing engine has its own tests)."""
    target = make_target(cast, channel, text=text)
    PostTarget.objects.filter(pk=target.pk).update(
        status=PostTarget.Status.PUBLISHED, external_id=external_id, published_at=timezone.now()
    )
    target.refresh_from_db()
    return target


@pytest.fixture
def page(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="facebook",
        name="Seas Alive",
        config={"page_id": "1111", "page_name": "Seas Alive"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


@pytest.fixture
def instagram(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="instagram",
        name="seasalive",
        config={"ig_user_id": "17841400000000001", "username": "seasalive", "page_id": "1111"},
        credentials={"access_token": "page-token-1111"},
        actor=cast.owner,
    )


@pytest.fixture
def organization(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="linkedin",
        name="Chorus Foundation",
        config={
            "author": "urn:li:organization:2414183",
            "member": "urn:li:person:782bbtaQ",
            "organizations": ["urn:li:organization:2414183"],
        },
        credentials={
            "access_token": "li-access-1",
            "refresh_token": "li-refresh-1",
            "expires_at": int(time.time()) + 7000,
        },
        actor=cast.owner,
    )


@pytest.fixture
def budget(cast: Cast):
    return actions.set_ad_budget(
        cast.workspace,
        actor=cast.owner,
        currency="EUR",
        monthly_limit_minor=100_000,
        approval_threshold_minor=None,
    )


@pytest.fixture
def meta_account(cast: Cast, page: Channel, meta: MetaMarketingFake) -> AdAccount:
    return actions.connect_ad_account(
        cast.workspace, actor=cast.owner, channel=page, external_id="1234", access_token="system-user-token"
    )


@pytest.fixture
def linkedin_account(cast: Cast, organization: Channel, linkedin: LinkedInAdsFake) -> AdAccount:
    return actions.connect_ad_account(
        cast.workspace, actor=cast.owner, channel=organization, external_id="512345678"
    )


def soon(hours: float = 1) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def boost_values(account: AdAccount, **overrides):
    values = {
        "account": account,
        "objective": "engagement",
        "budget_kind": "daily",
        "budget_minor": 1500,
        "starts_at": soon(),
        "ends_at": soon(1 + 24 * 3),
        "audience": AUDIENCE,
    }
    values.update(overrides)
    return values
