"""The inbox pages: filters, unread counts, the conversation, replies through the form, approval,
the collision guard, the service-level target and saved replies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.inbox import actions
from chorus.inbox.models import Conversation, Reply, SavedReply
from tests.conftest import Cast
from tests.inbox.conftest import RecordingInbox, entry, run_enqueued_sends

pytestmark = pytest.mark.django_db


def _url(cast: Cast, name: str, *args: object) -> str:
    return reverse(f"inbox:{name}", args=[cast.workspace.slug, *args])


def test_the_list_filters_and_counts_unread_per_channel(cast: Cast, channel) -> None:
    actions.ingest(channel=channel, entries=[entry(1), entry(2), entry(3, author="did:plc:other")])
    first, other = Conversation.objects.order_by("author_id")
    actions.assign(conversation=other, assignee=cast.members["editor"], actor=cast.owner)
    client = cast.client_for(cast.members["editor"])
    page = client.get(_url(cast, "list")).content.decode()
    assert f'data-conversation="{first.pk}"' in page and f'data-conversation="{other.pk}"' in page
    assert f'data-unread="{channel.pk}">3<' in page
    assert 'data-testid="inbox-unread">3<' in page  # in the navigation, on every workspace page
    mine = client.get(_url(cast, "list") + "?assignee=me").content.decode()
    assert f'data-conversation="{other.pk}"' in mine and f'data-conversation="{first.pk}"' not in mine
    actions.set_status(conversation=first, status="closed", actor=cast.owner)
    assert f'data-conversation="{first.pk}"' not in client.get(_url(cast, "list")).content.decode()
    closed = client.get(_url(cast, "list") + "?status=closed").content.decode()
    assert f'data-conversation="{first.pk}"' in closed
    actions.mark_read(conversation=other, actor=cast.owner)
    unread = client.get(_url(cast, "list") + "?unread=1").content.decode()
    assert f'data-conversation="{other.pk}"' not in unread


def test_an_overdue_conversation_is_highlighted(cast: Cast, channel) -> None:
    late = entry(1)
    fresh = entry(2, author="did:plc:new")
    actions.ingest(
        channel=channel,
        entries=[
            type(late)(**{**late.__dict__, "created_at": timezone.now() - dt.timedelta(hours=5)}),
            type(fresh)(**{**fresh.__dict__, "created_at": timezone.now()}),
        ],
    )
    page = cast.client_for(cast.owner).get(_url(cast, "list")).content.decode()
    overdue = Conversation.objects.get(author_id="did:plc:fan")
    assert f'data-conversation="{overdue.pk}" class="overdue"' in page
    assert page.count('class="overdue"') == 1
    actions.set_sla(workspace=cast.workspace, minutes=600, actor=cast.owner)
    assert 'class="overdue"' not in cast.client_for(cast.owner).get(_url(cast, "list")).content.decode()


def test_another_workspace_conversation_is_a_404(cast: Cast, channel) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    outsider = cast.client_for(cast.outsider)
    url = reverse("inbox:conversation", args=[cast.other_workspace.slug, conversation.pk])
    assert outsider.get(url).status_code == 404


def test_the_conversation_page_shows_the_thread_and_fills_a_saved_reply(cast: Cast, channel) -> None:
    actions.ingest(channel=channel, entries=[entry(1, text="Where is the march?")])
    conversation = Conversation.objects.get()
    SavedReply.objects.create(workspace=cast.workspace, name="Thanks", text="Thanks {name}, from {agent}!")
    saved = SavedReply.objects.get()
    editor = cast.members["editor"]
    page = cast.client_for(editor).get(_url(cast, "conversation", conversation.pk) + f"?saved={saved.pk}")
    body = page.content.decode()
    assert "Where is the march?" in body
    assert f"Thanks fan.test, from {editor.display_name}!" in body
    conversation.refresh_from_db()
    assert conversation.unread == 0


def test_reply_through_the_form_and_the_collision_guard(
    cast: Cast, channel, network: RecordingInbox, django_capture_on_commit_callbacks
) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    editor, admin = cast.client_for(cast.members["editor"]), cast.client_for(cast.members["admin"])
    editor.post(_url(cast, "composing", conversation.pk), {"seen_reply_id": 0})
    told = admin.post(_url(cast, "composing", conversation.pk), {"seen_reply_id": 0}).content.decode()
    assert f"{cast.members['editor'].display_name} is replying" in told
    with django_capture_on_commit_callbacks(execute=True):
        editor.post(_url(cast, "reply", conversation.pk), {"text": "On our way", "seen_reply_id": 0})
    assert run_enqueued_sends() == ["sent"]
    assert [r[1] for r in network.replies] == ["On our way"]
    stopped = admin.post(
        _url(cast, "reply", conversation.pk), {"text": "Me too", "seen_reply_id": 0}, follow=True
    ).content.decode()
    assert "answered while you were writing" in stopped
    assert Reply.objects.count() == 1


def test_a_contributor_reply_waits_and_an_approver_sends_it(
    cast: Cast, channel, network: RecordingInbox, django_capture_on_commit_callbacks
) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    contributor = cast.client_for(cast.members["contributor"])
    page = contributor.post(_url(cast, "reply", conversation.pk), {"text": "Bonjour"}, follow=True)
    assert "waits for approval" in page.content.decode()
    reply = Reply.objects.get()
    assert reply.status == "awaiting" and network.replies == []
    approver = cast.client_for(cast.members["approver"])
    with django_capture_on_commit_callbacks(execute=True):
        approver.post(_url(cast, "decide", reply.pk), {"decision": "approve"})
    assert run_enqueued_sends() == ["sent"]
    reply.refresh_from_db()
    assert reply.status == "sent" and [r[1] for r in network.replies] == ["Bonjour"]


def test_triage_and_settings_forms(cast: Cast, channel) -> None:
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    editor = cast.client_for(cast.members["editor"])
    editor.post(_url(cast, "triage", conversation.pk), {"assignee": cast.members["editor"].pk})
    editor.post(_url(cast, "triage", conversation.pk), {"tags": "press, urgent"})
    editor.post(_url(cast, "triage", conversation.pk), {"status": "closed"})
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.tags, conversation.status) == (
        cast.members["editor"],
        ["press", "urgent"],
        "closed",
    )
    editor.post(_url(cast, "triage", conversation.pk), {"assignee": cast.outsider.pk})
    conversation.refresh_from_db()
    assert conversation.assignee == cast.members["editor"]
    editor.post(_url(cast, "settings"), {"sla_minutes": "60"})
    editor.post(_url(cast, "settings"), {"name": "Hello", "text": "Hi {name}"})
    assert actions.sla_minutes(cast.workspace) == 60
    assert list(SavedReply.objects.values_list("name", flat=True)) == ["Hello"]
    cast.client_for(cast.members["viewer"]).post(_url(cast, "settings"), {"sla_minutes": "5"})
    assert actions.sla_minutes(cast.workspace) == 60


def test_the_inbox_pages_are_in_french(cast: Cast, channel) -> None:
    from chorus.accounts.models import User

    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    actions.ingest(channel=channel, entries=[entry(1)])
    conversation = Conversation.objects.get()
    client = cast.client_for(cast.owner)
    listing = client.get(_url(cast, "list")).content.decode()
    assert "Boîte de réception" in listing and "Non lues seulement" in listing
    detail = client.get(_url(cast, "conversation", conversation.pk)).content.decode()
    assert "Publication d’origine" in detail and "Envoyer la réponse" in detail


def test_the_conversation_offers_the_networks_own_moderation_actions(cast: Cast) -> None:
    from chorus.channels.actions import connect_channel

    site = connect_channel(
        workspace=cast.workspace,
        kind="wordpress",
        name="Our site",
        config={
            "site_url": "https://ngo.example",
            "rest_root": "https://ngo.example/wp-json/",
            "username": "u",
            "user_id": 1,
        },
        credentials={"application_password": "x"},
    )
    actions.ingest(channel=site, entries=[entry(1, kind="comment")])
    conversation = Conversation.objects.get()
    body = (
        cast.client_for(cast.members["editor"])
        .get(_url(cast, "conversation", conversation.pk))
        .content.decode()
    )
    for value in ("approve", "hold", "spam", "trash", "delete"):
        assert f'name="action" value="{value}"' in body
    assert 'value="like"' not in body  # WordPress comments cannot be liked
    viewer = (
        cast.client_for(cast.members["viewer"])
        .get(_url(cast, "conversation", conversation.pk))
        .content.decode()
    )
    assert 'name="action"' not in viewer
