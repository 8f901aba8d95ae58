"""A post's `first_at` (the earliest time of its copies, stored on the post so the Posts list reads
one page on an index) equals MIN(scheduled_at) over its copies after every kind of change:
create, schedule, reschedule, calendar drag, publish, retry, unschedule, a copy deleted, a
recurrence's occurrence, a bulk import, the sample workspace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Min
from django.utils import timezone

from chorus.bulk import actions as bulk
from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.content.models import Post, PostTarget
from chorus.core.timeutil import to_local
from chorus.planning.actions import move_target
from chorus.publishing import actions, dispatch, engine
from tests.conftest import Cast

S = PostTarget.Status
SOON = dt.timedelta(days=3)


@pytest.fixture
def two(cast: Cast) -> tuple[Channel, Channel]:
    make = lambda name: connect_channel(  # noqa: E731
        workspace=cast.workspace,
        kind="sink",
        name=name,
        config={},
        credentials={"token": "t"},
        actor=cast.owner,
    )
    return make("Sink A"), make("Sink B")


def stored(post: Post) -> dt.datetime | None:
    return Post.objects.values_list("first_at", flat=True).get(pk=post.pk)


def earliest(post: Post) -> dt.datetime | None:
    return PostTarget.objects.filter(post=post).aggregate(m=Min("scheduled_at"))["m"]


def both(post: Post) -> tuple[dt.datetime | None, dt.datetime | None]:
    return stored(post), earliest(post)


def copy(post: Post, channel: Channel) -> PostTarget:
    return PostTarget.objects.select_related("workspace", "channel", "post").get(post=post, channel=channel)


def new_post(cast: Cast, channels: tuple[Channel, ...]) -> Post:
    return actions.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=channels, text="Hello"
    )


def test_a_new_post_has_no_time_then_its_earliest_copy_as_copies_are_scheduled_and_moved(cast, two):
    a, b = two
    post = new_post(cast, two)
    assert both(post) == (None, None)
    first = timezone.now() + SOON
    actions.schedule(copy(post, a), actor=cast.owner, when=first)
    assert both(post) == (first, first)
    actions.schedule(copy(post, b), actor=cast.owner, when=first + dt.timedelta(hours=2))
    assert both(post) == (first, first)
    later = first + dt.timedelta(days=1)
    actions.reschedule(copy(post, a), actor=cast.owner, when=later)  # b is now the earliest
    assert both(post) == (first + dt.timedelta(hours=2), first + dt.timedelta(hours=2))
    actions.unschedule(copy(post, b), actor=cast.owner)
    assert both(post) == (later, later)


def test_a_calendar_drag_moves_it(cast, two):
    a, _b = two
    post = new_post(cast, (a,))
    actions.schedule(copy(post, a), actor=cast.owner, when=timezone.now() + SOON)
    wall = to_local(timezone.now() + 2 * SOON, cast.workspace.timezone).replace(
        tzinfo=None, second=0, microsecond=0
    )
    moved = move_target(copy(post, a), actor=cast.owner, local=wall)
    assert stored(post) == moved.target.scheduled_at == earliest(post)
    assert stored(post) > timezone.now() + SOON


def test_publishing_and_a_retry_keep_it_equal(cast, two):
    a, _b = two
    post = new_post(cast, (a,))
    due = timezone.now() - dt.timedelta(seconds=1)
    actions.schedule(copy(post, a), actor=cast.owner, when=due)
    attempt_id, ids = dispatch.claim_due()
    assert engine.publish_one(ids[0], attempt_id) == "published"
    assert copy(post, a).status == S.PUBLISHED
    assert both(post) == (due, due)

    failed = new_post(cast, (a,))
    actions.schedule(copy(failed, a), actor=cast.owner, when=due)
    attempt_id, ids = dispatch.claim_due()
    actions.mark_failed(copy(failed, a), code="rejected", message="no")
    later = timezone.now() + SOON
    actions.retry_failed(copy(failed, a), actor=cast.owner, when=later)
    assert both(failed) == (later, later)


def test_deleting_a_copy_or_its_channel_recomputes_it(cast, two):
    a, b = two
    post = new_post(cast, two)
    first = timezone.now() + SOON
    actions.schedule(copy(post, a), actor=cast.owner, when=first)
    actions.schedule(copy(post, b), actor=cast.owner, when=first + SOON)
    copy(post, a).delete()
    assert both(post) == (first + SOON, first + SOON)
    Channel.objects.filter(pk=b.pk).delete()  # the copy goes with its channel
    assert both(post) == (None, None)


def test_a_recurrence_occurrence_keeps_it_equal(cast, two):
    from chorus.core.timeutil import resolve_local

    a, _b = two
    post = new_post(cast, (a,))
    actions.submit_for_review(copy(post, a), actor=cast.members["editor"])
    actions.approve(copy(post, a), actor=cast.owner)
    template = copy(post, a)
    wall = to_local(timezone.now() + SOON, cast.workspace.timezone).replace(tzinfo=None, microsecond=0)
    from chorus.content.models import Recurrence

    rec = Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=DAILY",
        timezone=cast.workspace.timezone,
        starts_local=Recurrence.wall(wall),
    )
    resolved = resolve_local(wall, cast.workspace.timezone)
    occurrence = actions.schedule_occurrence(rec, resolved)
    assert occurrence is not None and occurrence.post_id == post.pk
    assert both(post) == (resolved.utc, resolved.utc)


def test_a_bulk_import_stores_each_posts_earliest_time(cast, two):
    year = dt.date.today().year + 1
    data = (
        f"date,channels,text\n{year}-05-01 09:00,Sink A|Sink B,First\n{year}-05-02 10:30,Sink B,Second\n"
    ).encode()
    job = bulk.create_job(
        cast.workspace, actor=cast.owner, data=data, filename="f.csv", date_order="iso", default_channels=[]
    )
    job = bulk.check(job.pk)
    assert job.report["ok"] == 2, job.report
    if bulk.begin_import(job, actor=cast.owner) is None:
        bulk.import_rows(job.pk)
    posts = list(Post.objects.filter(workspace=cast.workspace).order_by("pk"))
    assert len(posts) == 2
    for post in posts:
        assert stored(post) is not None
        assert both(post)[0] == both(post)[1]
    assert [to_local(stored(p), cast.workspace.timezone).day for p in posts] == [1, 2]


def test_the_sample_workspace_and_the_posts_list_order_by_it(cast):
    from chorus.analytics.demo import load_demo
    from chorus.publishing import postlist

    workspace = load_demo(days=20, posts_per_day=2, owner=cast.owner)
    posts = Post.objects.filter(workspace=workspace)
    assert posts.count() > 10
    mismatched = [p.pk for p in posts if stored(p) != earliest(p)]
    assert mismatched == []
    listed = list(postlist.rows(posts))
    times = [p.first_at for p in listed]
    assert times == sorted(times, reverse=True) and None not in times
