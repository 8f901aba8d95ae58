"""The workspace home (issue 16, "a home that says what to do next"): held, failed and unknown
posts with their fixes, what waits for me, what came back to me, the next 7 days, new stories,
channels to reconnect, and one "New post" link in the header of every workspace page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.channels.actions import pause_channel
from chorus.channels.models import Channel
from chorus.content.models import PostTarget
from chorus.core.models import AuditEvent
from chorus.publishing import actions, dispatch
from tests.conftest import Cast
from tests.publishing.conftest import make_target

S = PostTarget.Status


def _home(cast: Cast, role: str = "owner") -> str:
    return (
        cast.client_for(cast.members[role])
        .get(reverse("workspace_home", args=[cast.workspace.slug]))
        .content.decode()
    )


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def _sent(cast: Cast, channel: Channel, text: str) -> PostTarget:
    target = make_target(cast, channel, text=text, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    return PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)


@pytest.fixture
def failed(cast: Cast, sink_channel: Channel) -> PostTarget:
    target = _sent(cast, sink_channel, "This one failed")
    actions.mark_failed(target, code="rejected", message="Text too long for the network")
    return target


def _fix(cast: Cast, target: PostTarget, action: str, role: str = "owner", **extra: str):
    client = cast.client_for(cast.members[role])
    return client.post(
        reverse("publishing:fix", args=[cast.workspace.slug, target.pk]), {"action": action, **extra}
    )


def _status(target: PostTarget) -> str:
    return PostTarget.objects.get(pk=target.pk).status


def test_a_failed_post_shows_its_reason_and_its_fixes(cast, failed):
    box = _section(_home(cast), "needs-attention")
    assert "This one failed" in box and "Text too long for the network" in box
    for fix in ("retry", "edit", "reschedule", "published", "cancel"):
        assert f'data-fix="{fix}"' in box
    assert 'data-fix="' not in _home(cast, "viewer")  # a viewer sees it, without the buttons


def test_retry_is_one_click_and_audited(cast, failed):
    response = _fix(cast, failed, "retry")
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspace_home", args=["campaign"]
    )
    assert _status(failed) == S.SCHEDULED
    assert AuditEvent.objects.filter(action="target.retried", actor=cast.owner).exists()
    assert "needs-attention" not in _home(cast)


def test_edit_and_retry_reopens_the_post_in_the_composer(cast, failed):
    response = _fix(cast, failed, "edit")
    assert response["Location"] == reverse("publishing:post_edit", args=["campaign", failed.pk])
    assert _status(failed) == S.DRAFT


def test_reschedule_a_failed_post_at_a_local_time(cast, failed):
    _fix(cast, failed, "reschedule", local_time="2031-06-01T09:30")
    row = PostTarget.objects.get(pk=failed.pk)
    assert (row.status, row.scheduled_at) == (S.SCHEDULED, dt.datetime(2031, 6, 1, 7, 30, tzinfo=dt.UTC))
    past = _fix(cast, failed, "reschedule", local_time="2020-06-01T09:30")
    assert past.status_code == 302 and _status(failed) == S.SCHEDULED


def test_mark_as_published_needs_a_link(cast, failed):
    _fix(cast, failed, "published", url="not a link")
    assert _status(failed) == S.FAILED
    _fix(cast, failed, "published", url="https://social.example/@ngo/1")
    row = PostTarget.objects.get(pk=failed.pk)
    assert (row.status, row.external_url) == (S.PUBLISHED, "https://social.example/@ngo/1")
    event = AuditEvent.objects.get(action="target.published_by_hand")
    assert (event.actor, event.data["url"]) == (cast.owner, "https://social.example/@ngo/1")


def test_cancel_a_failed_post_puts_it_back_in_drafts(cast, failed):
    _fix(cast, failed, "cancel")
    assert _status(failed) == S.DRAFT


def test_an_unknown_outcome_is_settled_by_a_person(cast, sink_channel):
    unknown = _sent(cast, sink_channel, "Did it go out?")
    actions.mark_unknown(unknown, message="timeout")
    box = _section(_home(cast), "needs-attention")
    assert 'data-fix="published"' in box and 'data-fix="resend"' in box and 'data-fix="retry"' not in box
    assert _fix(cast, unknown, "retry").status_code == 302 and _status(unknown) == S.UNKNOWN  # not offered
    _fix(cast, unknown, "resend")
    assert _status(unknown) == S.SCHEDULED


def test_a_missed_post_goes_out_now_or_is_cancelled(cast, sink_channel):
    held = make_target(cast, sink_channel, text="Missed", when=timezone.now() + dt.timedelta(hours=1))
    actions.hold(held, reason=PostTarget.Hold.MISSED, detail="late")
    assert "Missed its time" in _section(_home(cast), "needs-attention")
    _fix(cast, held, "release")
    row = PostTarget.objects.get(pk=held.pk)
    assert (row.status, row.hold_reason) == (S.SCHEDULED, "")
    other = make_target(cast, sink_channel, text="Missed too", when=timezone.now() + dt.timedelta(hours=1))
    actions.hold(other, reason=PostTarget.Hold.MISSED, detail="late")
    _fix(cast, other, "cancel")
    assert _status(other) == S.APPROVED


def test_an_editor_may_fix_and_a_contributor_may_not(cast, failed):
    assert _fix(cast, failed, "retry", role="contributor").status_code == 403
    assert _status(failed) == S.FAILED
    _fix(cast, failed, "retry", role="editor")
    assert _status(failed) == S.SCHEDULED


def test_waiting_for_me_lists_others_posts_in_review_not_my_own(cast, sink_channel):
    theirs = make_target(cast, sink_channel, text="Editor wrote this")
    actions.submit_for_review(theirs, actor=cast.members["editor"])
    post = actions.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[sink_channel], text="Owner wrote this"
    )
    mine = PostTarget.objects.select_related("workspace", "post", "channel").get(post=post)
    actions.submit_for_review(mine, actor=cast.owner)
    box = _section(_home(cast), "waiting-for-me")
    assert "Editor wrote this" in box and "Owner wrote this" not in box
    assert "Owner wrote this" in _section(_home(cast, "approver"), "waiting-for-me")
    assert "Nothing waits for your approval." in _section(_home(cast, "editor"), "waiting-for-me")


def test_returned_to_me_shows_the_reason(cast, sink_channel):
    target = make_target(cast, sink_channel, text="Needs a change")
    actions.submit_for_review(target, actor=cast.members["editor"])
    actions.reject(target, actor=cast.owner, reason="Add the photo credit")
    box = _section(_home(cast, "editor"), "returned-to-me")
    assert "Needs a change" in box and "Add the photo credit" in box
    assert "Needs a change" not in _section(_home(cast), "returned-to-me")


def test_the_next_7_days_in_the_workspace_zone(cast, sink_channel):
    soon = timezone.now() + dt.timedelta(days=2)
    make_target(cast, sink_channel, text="In two days", when=soon)
    make_target(cast, sink_channel, text="In two weeks", when=timezone.now() + dt.timedelta(days=14))
    box = _section(_home(cast), "next-7-days")
    assert "In two days" in box and "In two weeks" not in box


def test_new_stories_and_channels_to_reconnect(cast, sink_channel):
    from chorus.approvals.models import Contributor, Story

    contributor = Contributor.objects.create(
        workspace=cast.workspace, name="Amina", email="amina@example.org"
    )
    Story.objects.create(workspace=cast.workspace, contributor=contributor, title="The new well", text="…")
    pause_channel(channel=sink_channel, reason="The token was revoked", actor=None)
    html = _home(cast)
    assert "The new well" in _section(html, "new-stories") and "Amina" in _section(html, "new-stories")
    assert "The token was revoked" in _section(html, "reconnect")
    assert 'id="new-stories"' not in _home(cast, "viewer")


@pytest.mark.parametrize(
    "name",
    ["workspace_home", "publishing:targets", "publishing:review", "planning:calendar", "channels:list"],
)
def test_every_workspace_page_has_exactly_one_new_post_link(cast, sink_channel, name):
    html = cast.client_for(cast.owner).get(reverse(name, args=[cast.workspace.slug])).content.decode()
    assert html.count('data-testid="new-post"') == 1
    assert html.count(f'href="{reverse("publishing:post_new", args=[cast.workspace.slug])}"') == 1
    viewer = cast.client_for(cast.members["viewer"]).get(reverse(name, args=[cast.workspace.slug]))
    assert 'data-testid="new-post"' not in viewer.content.decode()
