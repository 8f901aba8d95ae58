from __future__ import annotations

import pytest

from chorus.channels.models import Channel
from tests.publishing.conftest import sink_channel  # noqa: F401  (fixture re-export)


@pytest.fixture
def channel(sink_channel: Channel) -> Channel:  # noqa: F811
    return sink_channel
