"""The `wordpress_site` fixture: a real throwaway WordPress (Debian package) on PHP's built-in server.

Started by peers/wordpress/launch.py; needs the Debian packages `wordpress`, `php-cli`, `php-mysql`
and a MariaDB/MySQL server (WORDPRESS_PEER_DB_HOST, default 127.0.0.1:3306, user root, no password).
Each session gets its own database `chorus_wp_<random>` and site directory; both are removed at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ._process import REPO_ROOT, PeerProcess, start_peer

LAUNCHER = REPO_ROOT / "peers" / "wordpress" / "launch.py"
START_TIMEOUT = float(os.environ.get("WORDPRESS_PEER_START_TIMEOUT", "60"))


@dataclass(frozen=True)
class WordPressSite:
    url: str
    """Site URL, e.g. http://127.0.0.1:41234 (no trailing slash)."""
    username: str
    password: str
    """The admin's login password (wp-login.php); the REST API wants `application_password`."""
    application_password: str
    """For HTTP Basic auth on the REST API (works over plain http: WP_ENVIRONMENT_TYPE=local)."""
    user_id: int
    database: str
    root: Path

    def rest(self, route: str) -> str:
        """URL of a REST route in the form that needs no permalinks: rest("/wp/v2/posts")."""
        return f"{self.url}/?rest_route={route}"

    def client(self) -> httpx.Client:
        """An httpx client authenticated as the admin with the application password."""
        return httpx.Client(auth=(self.username, self.application_password), timeout=30)


def start_wordpress_site() -> PeerProcess:
    if shutil.which("php") is None:
        raise RuntimeError("the WordPress peer needs `php`: apt-get install php-cli php-mysql wordpress")
    if not Path("/usr/share/wordpress/wp-settings.php").is_file() and "WORDPRESS_PEER_CORE" not in os.environ:
        raise RuntimeError("the WordPress peer needs Debian's `wordpress` package (/usr/share/wordpress)")
    return start_peer("wordpress", [sys.executable, str(LAUNCHER)], timeout=START_TIMEOUT)


@pytest.fixture(scope="session")
def wordpress_site() -> Iterator[WordPressSite]:
    peer = start_wordpress_site()
    try:
        info = peer.info
        yield WordPressSite(
            url=info["url"],
            username=info["username"],
            password=info["password"],
            application_password=info["application_password"],
            user_id=int(info["user_id"]),
            database=info["database"],
            root=Path(info["root"]),
        )
    finally:
        peer.stop()
