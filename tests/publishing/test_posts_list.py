"""The Posts list (issue 16, "the post is the unit"): one row per post with its copies' channels
and statuses, search and filters, bulk actions through publishing.actions, and a page whose
query count does not grow with the number of posts."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTarget, Tag
from chorus.core.models import AuditEvent
from chorus.core.refusals import TransitionRefused
from chorus.publishing import actions, dispatch, postlist
from tests.conftest import Cast

S = PostTarget.Status


@pytest.fixture
def second_channel(cast: Cast) -> Channel:
    return connect_channel(
        workspace=cast.workspace,
        kind="sink",
        name="Second",
        config={},
        credentials={"token": "t"},
        actor=cast.owner,
    )


def _post(cast: Cast, channels: list[Channel], text: str, author: str = "editor", title: str = "") -> Post:
    return actions.create_post(
        workspace=cast.workspace, author=cast.members[author], channels=channels, text=text, title=title
    )


def _copies(post: Post) -> dict[str, str]:
    return {t.channel.name: t.status for t in post.targets.select_related("channel")}


def _url(cast: Cast, **params: str) -> str:
    from urllib.parse import urlencode

    base = reverse("publishing:targets", args=[cast.workspace.slug])
    return f"{base}?{urlencode(params)}" if params else base


def _rows(html: str) -> list[int]:
    import re

    return [int(pk) for pk in re.findall(r'<tr data-post="(\d+)"', html)]


def _failed(cast: Cast, channel: Channel, text: str) -> PostTarget:
    post = _post(cast, [channel], text)
    target = post.targets.get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    actions.mark_failed(target, code="rejected", message="The network said no")
    return target


def test_it_shows_one_row_per_post_with_each_channel_and_its_status(cast, sink_channel, second_channel):
    post = _post(cast, [sink_channel, second_channel], "Two channels, one post")
    actions.submit_for_review(post.targets.get(channel=second_channel), actor=cast.members["editor"])
    html = cast.client_for(cast.owner).get(_url(cast)).content.decode()
    assert _rows(html) == [post.pk]
    row = html.split(f'data-post="{post.pk}"')[1].split("</tr>")[0]
    assert "Two channels, one post" in row
    assert "Sink · Draft" in row and "Second · In review" in row


def test_it_searches_the_text_and_filters_by_channel_campaign_tag_author_and_status(
    cast, sink_channel, second_channel
):
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Water", slug="water")
    tag = Tag.objects.create(workspace=cast.workspace, name="wells")
    wells = _post(cast, [sink_channel], "New wells in the north")
    wells.campaign = campaign
    wells.save()
    wells.tags.add(tag)
    school = _post(cast, [second_channel], "A school opens", author="owner")
    failed = _failed(cast, second_channel, "This one failed").post
    held_target = _post(cast, [sink_channel], "Held post").targets.get()
    actions.schedule(held_target, actor=cast.owner, when=timezone.now() + dt.timedelta(hours=1))
    actions.hold(held_target, reason=PostTarget.Hold.MISSED, detail="late")
    client = cast.client_for(cast.owner)

    def shown(**params: str) -> set[int]:
        return set(_rows(client.get(_url(cast, **params)).content.decode()))

    assert shown() == {wells.pk, school.pk, failed.pk, held_target.post_id}
    assert shown(q="WELLS") == {wells.pk}
    assert shown(channel=str(second_channel.pk)) == {school.pk, failed.pk}
    assert shown(campaign=str(campaign.pk)) == {wells.pk}
    assert shown(tag=str(tag.pk)) == {wells.pk}
    assert shown(author=str(cast.owner.pk)) == {school.pk}
    assert shown(status="failed") == {failed.pk}
    assert shown(status="held") == {held_target.post_id}
    assert shown(status="failed", channel=str(sink_channel.pk)) == set()  # the same copy
    assert shown(q="school", author=str(cast.members["editor"].pk)) == set()


def test_it_filters_by_local_dates_of_the_workspace(cast, sink_channel):
    paris = timezone.get_fixed_timezone(60)  # Europe/Paris in winter
    late = _post(cast, [sink_channel], "Late on the 10th").targets.get()
    actions.schedule(late, actor=cast.owner, when=dt.datetime(2031, 1, 10, 23, 30, tzinfo=paris))
    next_day = _post(cast, [sink_channel], "On the 11th").targets.get()
    actions.schedule(next_day, actor=cast.owner, when=dt.datetime(2031, 1, 11, 0, 30, tzinfo=paris))
    client = cast.client_for(cast.owner)
    html = client.get(_url(cast, start="2031-01-10", end="2031-01-10")).content.decode()
    assert _rows(html) == [late.post_id]
    html = client.get(_url(cast, start="2031-01-11")).content.decode()
    assert _rows(html) == [next_day.post_id]


def test_an_unknown_outcome_can_be_filtered(cast, sink_channel):
    target = _post(cast, [sink_channel], "Did it go out?").targets.get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    actions.mark_unknown(target, message="timeout")
    html = cast.client_for(cast.owner).get(_url(cast, status="unknown")).content.decode()
    assert _rows(html) == [target.post_id]
    assert "Outcome unknown" in html


def test_the_page_runs_the_same_number_of_queries_for_5_or_40_posts(cast, sink_channel, second_channel):
    tag = Tag.objects.create(workspace=cast.workspace, name="t")
    campaign = Campaign.objects.create(workspace=cast.workspace, name="C", slug="c")

    def add(count: int) -> None:
        for i in range(count):
            post = _post(cast, [sink_channel, second_channel], f"Post {i}")
            post.tags.add(tag)
            Post.objects.filter(pk=post.pk).update(campaign=campaign)

    client = cast.client_for(cast.owner)
    add(5)
    client.get(_url(cast))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert len(_rows(client.get(_url(cast)).content.decode())) == 5
    add(35)
    with CaptureQueriesContext(connection) as many:
        assert len(_rows(client.get(_url(cast)).content.decode())) == 40
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(few) <= 20


def test_it_pages_by_50_and_keeps_the_filters_in_the_pager(cast, sink_channel):
    for i in range(51):
        _post(cast, [sink_channel], f"Paged {i}")
    client = cast.client_for(cast.owner)
    html = client.get(_url(cast, q="Paged")).content.decode()
    assert len(_rows(html)) == 50
    assert "?page=2&amp;q=Paged" in html
    assert len(_rows(client.get(_url(cast, q="Paged", page="2")).content.decode())) == 1


def _bulk(cast: Cast, user_role: str, action: str, posts: list[Post], **extra: str):
    client = cast.client_for(cast.members[user_role])
    data = {"action": action, "post": [str(p.pk) for p in posts], **extra}
    return client.post(reverse("publishing:posts_bulk", args=[cast.workspace.slug]), data, follow=True)


def test_bulk_submit_then_approve_moves_every_copy_of_every_selected_post(cast, sink_channel, second_channel):
    posts = [_post(cast, [sink_channel, second_channel], f"Bulk {i}") for i in range(3)]
    _bulk(cast, "editor", "submit", posts[:2])
    assert [set(_copies(p).values()) for p in posts] == [{S.IN_REVIEW}, {S.IN_REVIEW}, {S.DRAFT}]
    response = _bulk(cast, "owner", "approve", posts)
    assert [set(_copies(p).values()) for p in posts] == [{S.APPROVED}, {S.APPROVED}, {S.DRAFT}]
    assert "4 changes made." in response.content.decode()
    assert AuditEvent.objects.filter(action="target.approved", actor=cast.owner).count() == 4


def test_nobody_approves_their_own_post_in_bulk_or_one_by_one(cast, sink_channel):
    mine = _post(cast, [sink_channel], "Written by the owner", author="owner")
    theirs = _post(cast, [sink_channel], "Written by the editor")
    for post in (mine, theirs):
        actions.submit_for_review(post.targets.get(), actor=post.author)
    response = _bulk(cast, "owner", "approve", [mine, theirs])
    assert _copies(mine) == {"Sink": S.IN_REVIEW} and _copies(theirs) == {"Sink": S.APPROVED}
    assert "You wrote this post: someone else approves it." in response.content.decode()
    target = PostTarget.objects.select_related("workspace", "post", "channel").get(post=mine)
    with pytest.raises(TransitionRefused, match="someone else approves it"):
        actions.approve(target, actor=cast.owner)
    # The admin may approve it.
    actions.approve(target, actor=cast.members["admin"])
    assert _copies(mine) == {"Sink": S.APPROVED}


def test_a_workflow_step_that_names_the_author_lets_them_approve(cast, sink_channel):
    from chorus.approvals import actions as approvals
    from chorus.approvals.models import Step, Workflow

    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Self check",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[{"name": "Author checks", "users": [cast.owner.pk], "rule": Step.Rule.ANY}],
    )
    post = _post(cast, [sink_channel], "Owner's own, named in the step", author="owner")
    target = PostTarget.objects.select_related("workspace", "post", "channel").get(post=post)
    actions.submit_for_review(target, actor=cast.owner)
    actions.approve(target, actor=cast.owner)
    assert _copies(post) == {"Sink": S.APPROVED}


def test_bulk_reschedule_moves_scheduled_approved_and_failed_copies(cast, sink_channel, second_channel):
    scheduled = _post(cast, [sink_channel], "Scheduled")
    actions.schedule(scheduled.targets.get(), actor=cast.owner, when=timezone.now() + dt.timedelta(days=1))
    failed = _failed(cast, second_channel, "Failed").post
    draft = _post(cast, [sink_channel], "Draft stays")
    response = _bulk(cast, "owner", "reschedule", [scheduled, failed, draft], local_time="2031-03-02T10:00")
    assert "2 changes made." in response.content.decode()
    expected = dt.datetime(2031, 3, 2, 9, 0, tzinfo=dt.UTC)  # 10:00 in Paris
    for post in (scheduled, failed):
        target = post.targets.get()
        assert (target.status, target.scheduled_at) == (S.SCHEDULED, expected)
    assert _copies(draft) == {"Sink": S.DRAFT}
    past = _bulk(cast, "owner", "reschedule", [scheduled], local_time="2020-01-01T10:00")
    assert "Choose a time in the future." in past.content.decode()


def test_bulk_move_to_campaign_and_delete(cast, sink_channel):
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Spring", slug="spring")
    a, b = _post(cast, [sink_channel], "A"), _post(cast, [sink_channel], "B")
    gone = _failed(cast, sink_channel, "Failed, can go").post
    _bulk(cast, "editor", "campaign", [a, b], campaign=str(campaign.pk))
    assert set(Post.objects.filter(campaign=campaign).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert AuditEvent.objects.filter(action="post.campaign_changed").count() == 2

    published = _post(cast, [sink_channel], "Went out")
    target = published.targets.get()
    actions.schedule(target, actor=cast.owner, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    actions.mark_published(target, external_id="x1", url="https://example.org/x1")
    response = _bulk(cast, "editor", "delete", [a, gone, published])
    assert set(Post.objects.values_list("pk", flat=True)) == {b.pk, published.pk}
    assert "it is kept with its figures" in response.content.decode()
    assert AuditEvent.objects.filter(action="post.deleted").count() == 2


def test_a_contributor_deletes_only_their_own_posts_and_cannot_approve(cast, sink_channel):
    theirs = _post(cast, [sink_channel], "Contributor's", author="contributor")
    other = _post(cast, [sink_channel], "Editor's")
    _bulk(cast, "contributor", "delete", [theirs, other])
    assert list(Post.objects.values_list("pk", flat=True)) == [other.pk]
    actions.submit_for_review(other.targets.get(), actor=cast.members["editor"])
    response = _bulk(cast, "contributor", "approve", [other])
    assert "Your role cannot do this." in response.content.decode()
    assert _copies(other) == {"Sink": S.IN_REVIEW}


def test_bulk_export_gives_one_csv_row_per_selected_post(cast, sink_channel, second_channel):
    one = _post(cast, [sink_channel, second_channel], "Exported, =1+1", title="Export me")
    _post(cast, [sink_channel], "Not selected")
    response = _bulk(cast, "viewer", "export", [one])
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["id", "title", "text", "channels", "statuses"]
    assert rows[1][:5] == [str(one.pk), "Export me", "Exported, =1+1", "Second|Sink", "draft|draft"]
    assert len(rows) == 2


def test_another_workspaces_posts_are_never_touched(cast, sink_channel):
    other_channel = connect_channel(
        workspace=cast.other_workspace, kind="sink", name="Theirs", config={}, credentials={"t": "x"}
    )
    theirs = actions.create_post(
        workspace=cast.other_workspace, author=cast.outsider, channels=[other_channel], text="Not yours"
    )
    response = _bulk(cast, "owner", "delete", [theirs])
    assert "Select at least one post." in response.content.decode()
    assert Post.objects.filter(pk=theirs.pk).exists()
    assert theirs.pk not in _rows(cast.client_for(cast.owner).get(_url(cast)).content.decode())


def test_the_list_and_its_held_count_read_their_indexes(cast, sink_channel):
    """bench/pages at full size (10,000 posts): the page reads its posts in order on post_ws_first
    (each post's earliest time is stored on it), without sorting the workspace's posts, and the
    held count the partial index target_held, instead of every copy of the workspace."""
    _post(cast, [sink_channel], "Indexed")
    filters = postlist.PostFilter(None, workspace=cast.workspace)
    plan = postlist.rows(filters.filtered())[:50].explain()
    assert "post_ws_first" in plan
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in plan, plan
    held = PostTarget.objects.filter(workspace=cast.workspace, status=S.SCHEDULED).exclude(hold_reason="")
    assert "target_held" in held.explain()
