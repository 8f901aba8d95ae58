from tests.ads.conftest import budget, meta, meta_account, page  # noqa: F401
from tests.publishing.conftest import sink_channel  # noqa: F401
