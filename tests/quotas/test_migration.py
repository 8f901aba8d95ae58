"""Moving QuotaUsage (publishing) and QuotaObservation (the former quotastate app) into the quotas
app keeps an existing database's rows: the tables keep their names and only the state moves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.quotas.models import QuotaObservation, QuotaUsage
from tests.conftest import Cast


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def channel(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={}, actor=cast.owner
    )


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it(channel: Channel):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    # Back to before the quotas app: its state goes, the tables (and rows) stay, as they were
    # in a database made by publishing 0001 and quotastate 0001.
    _migrate([("quotas", None)])
    tables = set(connection.introspection.table_names())
    assert {"publishing_quotausage", "quotastate_quotaobservation"} <= tables
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO publishing_quotausage (channel_id, bucket, amount, at) VALUES (%s, 'posts', 3, %s)",
            [channel.pk, "2026-12-01 10:00:00+00:00"],
        )
        cursor.execute(
            "INSERT INTO quotastate_quotaobservation (channel_id, bucket, remaining, gates_publishing,"
            " observed_at) VALUES (%s, 'app', 0, %s, %s)",
            [channel.pk, True, "2026-12-01 10:00:00+00:00"],
        )
    try:
        _migrate(latest)
        usage = QuotaUsage.objects.get(channel=channel)
        assert (usage.bucket, usage.amount) == ("posts", 3)
        observation = QuotaObservation.objects.get(channel=channel)
        assert observation.bucket == "app" and observation.exhausted
    finally:
        _migrate(latest)
