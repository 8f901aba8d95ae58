"""Real local servers that connector tests publish to (session-scoped, one per xdist worker).

* `bluesky_network`: PLC + PDS + AppView from @atproto/dev-env (tests/peers/bluesky.py)
* `wordpress_site`: Debian's WordPress on `php -S` with a throwaway MariaDB database (tests/peers/wordpress.py)

`bluesky_network` is registered once, in tests/conftest.py, for the whole suite: a fixture imported
into several conftests is a separate fixture in each, and each started its own network (up to
five per test process, ~15-20 s and several hundred MB each). Tests share it safely because each
makes its own accounts (random handles). `wordpress_site` is imported where it is used:

    from tests.peers.wordpress import wordpress_site  # noqa: F401

Mark such tests `@pytest.mark.peer`. The peers are never skipped: a missing prerequisite is an error
that says what to install.
"""

from tests.peers.wordpress import wordpress_site

__all__ = ["wordpress_site"]
