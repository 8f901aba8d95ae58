"""Real local servers that connector tests publish to (session-scoped, one per xdist worker).

* `bluesky_network`: PLC + PDS + AppView from @atproto/dev-env (tests/peers/bluesky.py)
* `wordpress_site`: Debian's WordPress on `php -S` with a throwaway MariaDB database (tests/peers/wordpress.py)

Tests under tests/peers/ get them from here. Tests elsewhere import them into their own conftest:

    from tests.peers.bluesky import bluesky_network  # noqa: F401
    from tests.peers.wordpress import wordpress_site  # noqa: F401

Mark such tests `@pytest.mark.peer`. The peers are never skipped: a missing prerequisite is an error
that says what to install.
"""

from tests.peers.bluesky import bluesky_network
from tests.peers.wordpress import wordpress_site

__all__ = ["bluesky_network", "wordpress_site"]
