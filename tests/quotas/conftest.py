from tests.connectors.graph_fake import graph, meta_apps  # noqa: F401  (fixtures)
from tests.connectors.oauth_fakes import _media_root, fake, oauth_apps  # noqa: F401  (fixtures)
