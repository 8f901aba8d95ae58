"""The `bluesky_network` fixture: a real local Bluesky network (PLC, PDS, AppView) from @atproto/dev-env.

Started by peers/bluesky/launch.mjs with Node; needs `npm ci` (for @atproto/dev-env), PostgreSQL
(DB_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) and REDIS_HOST set or defaulted.
Each session gets its own Postgres schemas and data directory, so xdist workers do not collide.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ._process import REPO_ROOT, PeerProcess, start_peer

LAUNCHER = REPO_ROOT / "peers" / "bluesky" / "launch.mjs"
START_TIMEOUT = float(os.environ.get("BLUESKY_PEER_START_TIMEOUT", "120"))


@dataclass(frozen=True)
class BlueskyNetwork:
    pds_url: str
    """The PDS: accounts, sessions, repo writes (com.atproto.*). Handles end in ".test"."""
    appview_url: str
    """The AppView ("bsky"): app.bsky.* reads such as getPosts, with like counts once indexed."""
    appview_did: str
    """The AppView's service DID: `<appview_did>#bsky_appview` names it to the PDS (atproto-proxy)."""
    plc_url: str
    ozone_url: str
    control_url: str
    schema: str
    handle_domain: str = ".test"

    def process_all(self, timeout: float = 60) -> None:
        """Return once the AppView has indexed everything the PDS has written so far."""
        response = httpx.post(f"{self.control_url}/process-all", timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"process-all failed ({response.status_code}): {response.text}")


def _wait_for_background_install(timeout: float = 900) -> None:
    """`make test` installs the dev-env in the background while the suite starts
    (scripts/peers-setup-background): wait for that install to end; a failed one is an error with
    its log. Without a running install (`make test-setup`, or it is done) this returns at once."""
    folder = LAUNCHER.parent
    marker, rc, log = folder / ".setup-running", folder / ".setup-rc", folder / ".setup.log"
    deadline = time.monotonic() + timeout
    while marker.exists() and not rc.exists():
        try:
            os.kill(int(marker.read_text().strip() or 0), 0)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            break  # a marker left by an install that was killed: the check below names the fix
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Bluesky dev-env install did not end in {timeout:.0f} s; see {log}")
        time.sleep(1)
    if rc.exists() and rc.read_text().strip() not in ("", "0"):
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        raise RuntimeError(f"the Bluesky dev-env install failed (npm ci in peers/bluesky):\n{tail}")


def start_bluesky_network() -> PeerProcess:
    _wait_for_background_install()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the Bluesky peer needs Node.js 20 (`node` is not on PATH)")
    if not (LAUNCHER.parent / "node_modules" / "@atproto" / "dev-env").is_dir():
        raise RuntimeError(
            "the Bluesky peer needs @atproto/dev-env: run `make test-setup` (npm ci in peers/bluesky)"
        )
    return start_peer("bluesky", [node, str(LAUNCHER)], timeout=START_TIMEOUT)


@pytest.fixture(scope="session")
def bluesky_network() -> Iterator[BlueskyNetwork]:
    peer = start_bluesky_network()
    try:
        info = peer.info
        yield BlueskyNetwork(
            pds_url=info["pds"],
            appview_url=info["bsky"],
            appview_did=info["bskyDid"],
            plc_url=info["plc"],
            ozone_url=info["ozone"],
            control_url=info["control"],
            schema=info["schema"],
        )
    finally:
        peer.stop()
