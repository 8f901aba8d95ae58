"""Test settings: the product's settings plus the local sink connector (never in the product)."""

import os

os.environ.setdefault("CHORUS_EXTRA_APPS", "tests.sink")
os.environ.setdefault("CHORUS_EXTRA_CONNECTORS", "sink=tests.sink.connector.SinkConnector")

from chorus.settings import *  # noqa: F403

# No background click writer in tests (it would write from its own connection, outside the
# test's transaction): a test calls chorus.links.clicks.flush() where the product's thread would.
# A benchmark sets the variable to run the product's writer.
CHORUS_CLICK_FLUSH_SECONDS = float(os.environ.get("CHORUS_CLICK_FLUSH_SECONDS", "0"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The sink's own file next to the database (tests/sink/router.py says why); a worker started
    # on a test's database gets the test's sink file in CHORUS_SINK_DATABASE.
    _default = DATABASES["default"]  # noqa: F405
    DATABASES["sink"] = {  # noqa: F405
        **_default,
        "NAME": os.environ.get("CHORUS_SINK_DATABASE") or f"{_default['NAME']}-sink",
        # Created from the sink's models, not by replaying every app's migrations (the router
        # lets only the sink's tables in, yet the replay still built each of the 84 states: ~12 s
        # of every test process's start).
        "TEST": {"NAME": f"{_default['TEST']['NAME']}-sink", "MIGRATE": False},
    }
    DATABASE_ROUTERS = ["tests.sink.router.SinkRouter"]

# Django's test Client builds its middleware chain once per Client, and WhiteNoise, told to serve
# from the finders, lists and stats every static file (~800 with the vendored libraries) in its
# constructor: ~150-350 ms per Client, which was most of the tenancy walker's 2,900 cases. With
# autorefresh it looks a file up when one is asked for, so a Client that never asks for a static
# file pays nothing. Static responses are the same (tests/security/test_headers checks them).
WHITENOISE_AUTOREFRESH = True
