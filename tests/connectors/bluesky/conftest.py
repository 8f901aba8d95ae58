from __future__ import annotations

from tests.peers.bluesky import bluesky_network  # noqa: F401
