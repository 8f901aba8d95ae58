"""Test settings: the product's settings plus the local sink connector (never in the product)."""

import os

os.environ.setdefault("CHORUS_EXTRA_APPS", "tests.sink")
os.environ.setdefault("CHORUS_EXTRA_CONNECTORS", "sink=tests.sink.connector.SinkConnector")

from chorus.settings import *  # noqa: F403
