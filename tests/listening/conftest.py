from tests.connectors.mastodon.conftest import _imitation_server, mastodon_imitation  # noqa: F401
from tests.engine_fixtures import *  # noqa: F403
