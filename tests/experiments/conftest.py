from tests.publishing.conftest import sink_channel  # noqa: F401
