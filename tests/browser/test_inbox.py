"""The inbox in a real browser: assign, answer with a saved reply, a second person is told that
someone is replying, close; a contributor's reply waits for approval."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chorus.channels.actions import connect_channel
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Reply, SavedReply
from tests.browser.conftest import NewPage, Shot, sign_in
from tests.conftest import Cast
from tests.inbox.conftest import RecordingInbox, entry, run_enqueued_sends

pytestmark = pytest.mark.browser


def test_assign_answer_with_a_saved_reply_collision_notice_close_and_approval(
    cast: Cast, new_page: NewPage, shot: Shot, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = RecordingInbox()
    monkeypatch.setattr(actions, "inbox_connector", lambda channel: network)
    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Sink", config={}, credentials={})
    actions.ingest(channel=channel, entries=[entry(1, text="When does the march start?")])
    SavedReply.objects.create(workspace=cast.workspace, name="Thanks", text="Thanks {handle}! — {agent}")
    conversation = Conversation.objects.get()
    editor, admin = cast.members["editor"], cast.members["admin"]

    first = new_page()
    sign_in(first, editor.email)
    first.goto(f"/w/{cast.workspace.slug}/inbox/")
    expect(first.get_by_test_id("inbox-unread")).to_have_text("1")
    first.get_by_role("link", name="fan.test").click()
    expect(first.get_by_text("When does the march start?")).to_be_visible()
    first.get_by_label("Assignee").select_option(str(editor.pk))
    first.get_by_test_id("assign").click()
    first.get_by_test_id("use-saved").click()
    expect(first.get_by_label("Your reply")).to_have_value(f"Thanks fan.test! — {editor.display_name}")
    first.get_by_label("Your reply").focus()
    shot(first, "editor writing")

    second = new_page()
    sign_in(second, admin.email)
    second.goto(f"/w/{cast.workspace.slug}/inbox/{conversation.pk}/")
    expect(second.get_by_test_id("composing")).to_contain_text(f"{editor.display_name} is replying")
    shot(second, "admin sees the editor replying")

    first.get_by_role("button", name="Send reply").click()
    expect(first.get_by_text("Your reply is on its way.")).to_be_visible()
    assert run_enqueued_sends() == ["sent"]
    assert network.replies == [
        (
            entry(1).network_id,
            f"Thanks fan.test! — {editor.display_name}",
            Reply.objects.get().idempotency_key(),
        )
    ]
    first.get_by_test_id("close").click()
    expect(first.get_by_role("button", name="Reopen")).to_be_visible()
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee) == ("closed", editor)

    # The admin's page still shows the old thread: sending now is stopped, the new reply first.
    second.get_by_label("Your reply").fill("We start at noon")
    second.get_by_role("button", name="Send reply").click()
    expect(second.get_by_text("answered while you were writing")).to_be_visible()
    assert Reply.objects.count() == 1

    third = new_page()
    sign_in(third, cast.members["contributor"].email)
    third.goto(f"/w/{cast.workspace.slug}/inbox/{conversation.pk}/")
    third.get_by_label("Your reply").fill("Bonjour !")
    third.get_by_role("button", name="Send reply").click()
    expect(third.get_by_text("Your reply waits for approval.")).to_be_visible()
    held = Reply.objects.get(text="Bonjour !")
    assert held.status == Reply.Status.AWAITING_APPROVAL and len(network.replies) == 1
    shot(third, "contributor reply waits")


def test_the_paid_reads_budget_on_the_settings_page(cast: Cast, new_page: NewPage, shot: Shot) -> None:
    from chorus.accounts.models import User
    from chorus.quotas.models import QuotaUsage

    x = connect_channel(
        workspace=cast.workspace,
        kind="x",
        name="@team",
        config={"user_id": "1", "username": "team"},
        credentials={},
    )
    QuotaUsage.objects.create(channel=x, bucket="x-post-reads", amount=250)  # $1.25 this month
    admin = cast.members["admin"]
    for language, phone in (("en", False), ("fr", False), ("en", True), ("fr", True)):
        User.objects.filter(pk=admin.pk).update(language=language)
        page = new_page(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 800})
        sign_in(page, admin.email)
        page.goto(f"/w/{cast.workspace.slug}/inbox/settings/")
        budget = page.get_by_test_id("read-budget")
        spent = "X: 1.25 USD spent this month" if language == "en" else "X : 1,25 USD dépensés ce mois-ci"
        expect(budget).to_contain_text(spent)
        if (language, phone) == ("en", False):
            budget.locator("input[name=read_budget_usd]").fill("20")
            budget.locator("button[type=submit]").click()
            expect(page.get_by_test_id("read-budget").locator("input[name=read_budget_usd]")).to_have_value(
                "20.00"
            )
        shot(page, f"paid reads {language} {'phone' if phone else 'desktop'}")
