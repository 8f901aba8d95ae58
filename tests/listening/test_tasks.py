"""The scheduler's listening job enqueues Mastodon polls and alert checks on the listening queue;
the retention task purges."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from chorus.listening import actions, tasks

pytestmark = pytest.mark.django_db


def test_enqueue_due_queues_polls_and_checks(cast, settings, monkeypatch):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    with_instance = actions.create_query(
        cast.workspace,
        actor=None,
        data={"name": "M", "hashtags": ["chorus"], "mastodon_instance": "https://social.example"},
    )
    # The same tag on the same instance in another workspace: one poll reads it for both.
    actions.create_query(
        cast.other_workspace,
        actor=None,
        data={"name": "M2", "hashtags": ["#Chorus"], "mastodon_instance": "https://social.example/"},
    )
    actions.create_query(cast.other_workspace, actor=None, data={"name": "B", "expression": "chorus"})
    monkeypatch.delenv("CHORUS_LISTEN_BLUESKY_URL", raising=False)
    tasks.enqueue_due()
    queued = list(DBTaskResult.objects.values_list("task_path", "queue_name", "args_kwargs"))
    polls = [args for path, queue, args in queued if path.endswith("poll_mastodon_source")]
    checks = [args for path, queue, args in queued if path.endswith("check_alerts")]
    assert all(queue == "listening" for _path, queue, _args in queued)
    assert polls == [{"args": [with_instance.mastodon_instance, "chorus"], "kwargs": {}}]
    assert sorted(a["args"][0] for a in checks) == sorted([cast.workspace.pk, cast.other_workspace.pk])
    assert not any(path.endswith("consume_slice") for path, _q, _a in queued)
