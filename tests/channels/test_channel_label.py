"""A channel reads as its name and its network's name, never the kind's key (report forms,
filters and calendar titles print it): "Stories (WordPress)", not "Stories (wordpress)"."""

from __future__ import annotations

from chorus.channels.actions import connect_channel
from tests.conftest import Cast


def test_a_channel_reads_as_its_name_and_network(cast: Cast, client) -> None:
    channel = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="NGO",
        config={"handle": "ngo.bsky.social", "did": "did:plc:x", "sample": True},
        credentials={},
    )
    assert str(channel) == "NGO (Bluesky)"
    client.force_login(cast.owner)
    page = client.get(f"/w/{cast.workspace.slug}/analytics/reports/").content.decode()
    assert "NGO (Bluesky)" in page and "(bluesky)" not in page
