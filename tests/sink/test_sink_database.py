"""Where the sink keeps its tables (tests/sink/router.py)."""

from __future__ import annotations

from django.db import connection, connections, router

from tests.sink.models import SinkPost


def test_on_sqlite_the_sink_has_a_file_of_its_own_and_elsewhere_shares_the_database(db):
    sink_tables = connections[router.db_for_write(SinkPost) or "default"].introspection.table_names()
    assert "sink_sinkpost" in sink_tables
    if connection.vendor == "sqlite":
        assert router.db_for_write(SinkPost) == "sink"
        assert connections["sink"].settings_dict["NAME"] != connection.settings_dict["NAME"]
        assert "sink_sinkpost" not in connection.introspection.table_names()
        assert "content_posttarget" not in sink_tables
    else:
        assert router.db_for_write(SinkPost) in (None, "default")
