from tests.engine_fixtures import *  # noqa: F403
from tests.peers.bluesky import bluesky_network  # noqa: F401
