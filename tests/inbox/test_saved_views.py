"""Saved views of the inbox list: filters by tag, sentiment, language (and the older ones) saved
under a name, shared or personal, listed with unread counts; never seen across workspaces or
across people (personal ones)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chorus.accounts.models import ApiToken
from chorus.core.models import AuditEvent
from chorus.inbox import actions, filtering
from chorus.inbox.models import Conversation, SavedView
from tests.conftest import Cast
from tests.inbox.conftest import entry

pytestmark = pytest.mark.django_db


def _url(cast: Cast, name: str, *args: object) -> str:
    return reverse(f"inbox:{name}", args=[cast.workspace.slug, *args])


@pytest.fixture
def three(cast: Cast, channel) -> tuple[Conversation, Conversation, Conversation]:
    """A French complaint tagged vip (unread), an English thank-you (read), one not measured."""
    actions.ingest(
        channel=channel,
        entries=[
            entry(1, author="did:plc:angry"),
            entry(2, author="did:plc:happy"),
            entry(3, author="did:plc:mute"),
        ],
    )
    angry = Conversation.objects.get(author_id="did:plc:angry")
    happy = Conversation.objects.get(author_id="did:plc:happy")
    mute = Conversation.objects.get(author_id="did:plc:mute")
    Conversation.objects.filter(pk=angry.pk).update(language="fr", sentiment=-0.6)
    Conversation.objects.filter(pk=happy.pk).update(language="en", sentiment=0.7)
    Conversation.objects.filter(pk=mute.pk).update(language="", sentiment=None)
    actions.set_tags(conversation=angry, tags=["VIP", "café"], actor=cast.owner)
    actions.set_tags(conversation=happy, tags=["vipish"], actor=cast.owner)
    actions.mark_read(conversation=happy, actor=cast.owner)
    return angry, happy, mute


def _shown(page: str, *conversations: Conversation) -> list[bool]:
    return [f'data-conversation="{c.pk}"' in page for c in conversations]


def test_filters_by_tag_sentiment_and_language(cast: Cast, three) -> None:
    client = cast.client_for(cast.members["viewer"])
    get = lambda q: client.get(_url(cast, "list") + q).content.decode()  # noqa: E731
    assert _shown(get("?tag=vip"), *three) == [True, False, False]  # an element, not a substring
    assert _shown(get("?tag=caf%C3%A9"), *three) == [True, False, False]  # non-ASCII tag
    assert _shown(get("?sentiment=negative"), *three) == [True, False, False]
    assert _shown(get("?sentiment=positive"), *three) == [False, True, False]
    assert _shown(get("?sentiment=unknown"), *three) == [False, False, True]
    assert _shown(get("?language=EN"), *three) == [False, True, False]
    assert _shown(get("?sentiment=bogus&language=%3Cscript%3E"), *three) == [True, True, True]  # dropped
    assert filtering.clean({"tag": "x" * 41, "channel": "1" * 13, "status": "nope"}) == {}


def test_save_personal_and_shared_views_with_unread_counts(cast: Cast, three) -> None:
    angry = three[0]
    editor, viewer = cast.members["editor"], cast.members["viewer"]
    client = cast.client_for(editor)
    saved = client.post(
        _url(cast, "save_view"),
        {"name": "  French  complaints ", "sentiment": "negative", "language": "fr", "shared": "1"},
    )
    view = SavedView.objects.get()
    assert saved.status_code == 302 and saved["Location"].endswith(f"?view={view.pk}")
    assert (view.name, view.owner, view.filters) == (
        "French complaints",
        None,
        {"sentiment": "negative", "language": "fr"},
    )
    assert AuditEvent.objects.filter(action="inbox.view_saved", actor=editor).count() == 1
    # A viewer sees the shared view, with its unread count, and may keep personal ones.
    page = cast.client_for(viewer).get(_url(cast, "list")).content.decode()
    assert f'data-view="{view.pk}"' in page and f'data-view-unread="{view.pk}">1<' in page
    shown = cast.client_for(viewer).get(_url(cast, "list") + f"?view={view.pk}").content.decode()
    assert _shown(shown, *three) == [True, False, False] and 'data-testid="current-view"' in shown
    assert "Delete this view" not in shown  # a shared view is the managers' to delete
    refused = cast.client_for(viewer).post(_url(cast, "save_view"), {"name": "Everyone", "shared": "1"})
    assert refused.status_code == 302 and SavedView.objects.count() == 1
    cast.client_for(viewer).post(_url(cast, "save_view"), {"name": "Mine", "assignee": "me", "tag": "vip"})
    personal = SavedView.objects.get(name="Mine")
    assert personal.owner == viewer and personal.filters == {"assignee": "me", "tag": "vip"}
    # "me" is whoever looks: nothing is assigned to the viewer yet.
    assert actions.view_unread_counts(cast.workspace, viewer, [personal]) == {personal.pk: 0}
    actions.assign(conversation=angry, assignee=viewer, actor=cast.owner)
    assert actions.view_unread_counts(cast.workspace, viewer, [personal]) == {personal.pk: 1}
    # The editor does not see the viewer's personal view, nor reach it.
    editor_page = client.get(_url(cast, "list")).content.decode()
    assert f'data-view="{personal.pk}"' not in editor_page
    assert client.get(_url(cast, "list") + f"?view={personal.pk}").status_code == 404
    assert client.post(_url(cast, "delete_view", personal.pk)).status_code == 404
    # Same name twice is refused; deleting works for the owner.
    with pytest.raises(actions.InboxRefused) as same:
        actions.save_view(workspace=cast.workspace, actor=viewer, name="mine", filters={}, shared=False)
    assert same.value.code == "view_exists"
    assert cast.client_for(viewer).post(_url(cast, "delete_view", personal.pk)).status_code == 302
    assert not SavedView.objects.filter(pk=personal.pk).exists()
    assert client.post(_url(cast, "delete_view", view.pk)).status_code == 302
    assert SavedView.objects.count() == 0
    assert AuditEvent.objects.filter(action="inbox.view_deleted").count() == 2


def test_another_workspaces_views_are_never_listed_or_reachable(cast: Cast, three, client) -> None:
    theirs = actions.save_view(
        workspace=cast.other_workspace,
        actor=cast.outsider,
        name="Theirs",
        filters={"status": "all"},
        shared=True,
    )
    ours = actions.save_view(
        workspace=cast.workspace, actor=cast.owner, name="Ours", filters={"status": "all"}, shared=True
    )
    member = cast.members["viewer"]
    web = cast.client_for(member)
    page = web.get(_url(cast, "list")).content.decode()
    assert (
        f'data-view="{ours.pk}"' in page and f'data-view="{theirs.pk}"' not in page and "Theirs" not in page
    )
    assert web.get(_url(cast, "list") + f"?view={theirs.pk}").status_code == 404
    assert web.post(_url(cast, "delete_view", theirs.pk)).status_code == 404
    # The outsider cannot reach ours either (not a member: the workspace itself is refused).
    outsider = cast.client_for(cast.outsider)
    assert outsider.get(_url(cast, "list") + f"?view={ours.pk}").status_code in (403, 404)
    assert outsider.post(_url(cast, "delete_view", ours.pk)).status_code in (403, 404)
    assert SavedView.objects.count() == 2
    # The API: listed per workspace, a foreign view id is a 404 in the list filter.
    _token, raw = ApiToken.issue(member, "views test")
    auth = {"Authorization": f"Bearer {raw}"}
    base = f"/api/workspaces/{cast.workspace.slug}/inbox"
    listed = client.get(f"{base}/views", headers=auth).json()
    assert [(v["id"], v["name"], v["shared"], v["unread"]) for v in listed] == [(ours.pk, "Ours", True, 2)]
    assert client.get(f"{base}/conversations?view={theirs.pk}", headers=auth).status_code == 404
    rows = client.get(f"{base}/conversations?view={ours.pk}", headers=auth).json()
    assert len(rows) == 3
    negative = client.get(f"{base}/conversations?sentiment=negative&tag=vip", headers=auth).json()
    assert [r["author_id"] for r in negative] == ["did:plc:angry"]
    assert client.get(f"{base}/conversations?sentiment=sad", headers=auth).status_code == 422
    foreign = f"/api/workspaces/{cast.other_workspace.slug}/inbox/views"
    assert client.get(foreign, headers=auth).status_code in (403, 404)
