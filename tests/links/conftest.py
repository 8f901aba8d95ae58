from __future__ import annotations

import pytest

from chorus.channels.models import Channel
from chorus.links import clicks
from tests.publishing.conftest import sink_channel  # noqa: F401  (fixture re-export)


@pytest.fixture
def channel(sink_channel: Channel) -> Channel:  # noqa: F811
    return sink_channel


@pytest.fixture(autouse=True)
def _no_dns(settings) -> None:  # type: ignore[no-untyped-def]
    # No DNS here: the SSRF guard's scheme/host checks still run, host resolution is skipped.
    settings.CHORUS_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def _no_buffered_clicks_between_tests():
    clicks.discard()
    yield
    clicks.discard()
