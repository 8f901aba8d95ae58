"""The README's worked example: a token, an endpoint, a post for two channels created through the
API, and one verified `post.published` per channel on a receiver on 127.0.0.1."""

from __future__ import annotations

import json

from django.test import Client
from standardwebhooks.webhooks import Webhook

from chorus.accounts.models import ApiToken
from chorus.channels.actions import connect_channel
from chorus.publishing import dispatch, engine


def test_the_readme_example_end_to_end(cast, receiver, run_tasks, django_capture_on_commit_callbacks):
    _token, raw = ApiToken.issue(cast.owner, "automation")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    api = f"/api/workspaces/{cast.workspace.slug}"
    channels = [
        connect_channel(
            workspace=cast.workspace, kind="sink", name=name, config={}, credentials={"token": "t"}
        )
        for name in ("Sink A", "Sink B")
    ]
    endpoint = client.post(
        f"{api}/webhooks",
        json.dumps({"url": receiver.url, "event_types": ["post.published", "post.failed"]}),
        content_type="application/json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"{api}/posts",
            json.dumps(
                {
                    "text": "Hello from the API",
                    "channel_ids": [c.pk for c in channels],
                    "schedule": {"mode": "now"},
                }
            ),
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    attempt_id, ids = dispatch.claim_due()
    assert len(ids) == 2
    with django_capture_on_commit_callbacks(execute=True):
        for target_id in ids:
            assert engine.publish_one(target_id, attempt_id) == "published"
    run_tasks()

    events = [Webhook(endpoint["secret"]).verify(r.body, r.headers) for r in receiver.requests]
    assert [e["type"] for e in events] == ["post.published"] * 2
    assert {e["data"]["channel"]["name"] for e in events} == {"Sink A", "Sink B"}
    assert all(e["data"]["url"] for e in events)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2
