from tests.publishing.conftest import sink_channel  # noqa: F401 - a connected local sink channel
