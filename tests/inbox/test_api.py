"""The inbox API: list, read, assign, status, tags, reply (with the collision answer)."""

from __future__ import annotations

import pytest

from chorus.accounts.models import ApiToken
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Reply
from tests.conftest import Cast
from tests.inbox.conftest import entry

pytestmark = pytest.mark.django_db


def headers(user) -> dict[str, str]:
    _token, raw = ApiToken.issue(user, "inbox test")
    return {"Authorization": f"Bearer {raw}"}


def test_list_read_assign_status_tags_and_reply(cast: Cast, channel, client) -> None:
    actions.ingest(channel=channel, entries=[entry(1, text="Hello?"), entry(2, author="did:plc:two")])
    editor = cast.members["editor"]
    auth = headers(editor)
    base = f"/api/workspaces/{cast.workspace.slug}/inbox/conversations"
    listed = client.get(base, headers=auth).json()
    assert len(listed) == 2 and {c["status"] for c in listed} == {"open"}
    first = Conversation.objects.get(author_id="did:plc:fan")
    detail = client.get(f"{base}/{first.pk}", headers=auth).json()
    assert [i["text"] for i in detail["items"]] == ["Hello?"]

    assigned = client.post(
        f"{base}/{first.pk}/assign", {"assignee": editor.pk}, content_type="application/json", headers=auth
    )
    assert assigned.status_code == 200 and assigned.json()["assignee"] == editor.pk
    refused = client.post(
        f"{base}/{first.pk}/assign",
        {"assignee": cast.outsider.pk},
        content_type="application/json",
        headers=auth,
    )
    assert refused.status_code == 422
    tagged = client.post(
        f"{base}/{first.pk}/tags", {"tags": ["Press"]}, content_type="application/json", headers=auth
    )
    assert tagged.json()["tags"] == ["press"]
    assert client.get(f"{base}?assignee={editor.pk}", headers=auth).json()[0]["id"] == first.pk

    sent = client.post(
        f"{base}/{first.pk}/replies",
        {"text": "Hi!", "seen_reply_id": 0},
        content_type="application/json",
        headers=auth,
    )
    assert sent.status_code == 201 and sent.json()["status"] == "queued"
    collision = client.post(
        f"{base}/{first.pk}/replies",
        {"text": "Hello too", "seen_reply_id": 0},
        content_type="application/json",
        headers=headers(cast.members["admin"]),
    )
    assert collision.status_code == 409
    held = client.post(
        f"{base}/{first.pk}/replies",
        {"text": "Coucou"},
        content_type="application/json",
        headers=headers(cast.members["contributor"]),
    )
    assert held.status_code == 201 and held.json()["status"] == Reply.Status.AWAITING_APPROVAL

    closed = client.post(
        f"{base}/{first.pk}/status", {"status": "closed"}, content_type="application/json", headers=auth
    )
    assert closed.json()["status"] == "closed" and closed.json()["resolution_seconds"] is not None
    assert (
        client.post(
            f"{base}/{first.pk}/status", {"status": "nope"}, content_type="application/json", headers=auth
        ).status_code
        == 422
    )


def test_another_workspace_conversation_is_a_404_in_the_api(cast: Cast, channel, client) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    other = f"/api/workspaces/{cast.other_workspace.slug}/inbox/conversations/{conversation.pk}"
    assert client.get(other, headers=headers(cast.outsider)).status_code == 404
    viewer = headers(cast.members["viewer"])
    mine = f"/api/workspaces/{cast.workspace.slug}/inbox/conversations/{conversation.pk}"
    assert client.get(mine, headers=viewer).status_code == 200
    assert (
        client.post(
            f"{mine}/status", {"status": "closed"}, content_type="application/json", headers=viewer
        ).status_code
        == 403
    )
