"""The inbox on the workspace home: open conversations, overdue ones, the week's median first
response (with a link to the inbox), in English and French."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from chorus.inbox import report
from chorus.inbox.models import Conversation
from chorus.inbox.templatetags.inbox_tags import response_time
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

# Wednesday 9 December 2026, 12:00 UTC (13:00 in Paris, the cast workspace's zone).
AT = dt.datetime(2026, 12, 9, 12, 0, tzinfo=dt.UTC)


def _conversation(channel, n: int, *, opened: dt.datetime, answered_after: int | None = None, status="open"):
    return Conversation.objects.create(
        workspace=channel.workspace,
        channel=channel,
        key=f"k{n}",
        author_id=f"a{n}",
        status=status,
        first_item_at=opened,
        last_item_at=opened,
        first_response_at=None if answered_after is None else opened + dt.timedelta(minutes=answered_after),
    )


def test_figures_count_open_overdue_and_the_weeks_median(cast: Cast, channel) -> None:
    monday = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.UTC)  # Monday 00:00 in Paris
    _conversation(channel, 1, opened=AT - dt.timedelta(hours=5))  # overdue at a 240 min target
    _conversation(channel, 2, opened=AT - dt.timedelta(hours=1))  # open, within the target
    _conversation(channel, 3, opened=monday + dt.timedelta(hours=1), answered_after=30, status="waiting")
    _conversation(channel, 4, opened=monday + dt.timedelta(hours=2), answered_after=90, status="closed")
    _conversation(channel, 5, opened=monday + dt.timedelta(hours=3), answered_after=600)
    # Answered on Sunday evening in Paris: last week, not in the median.
    _conversation(channel, 6, opened=monday - dt.timedelta(hours=3), answered_after=120, status="closed")
    # Another workspace's overdue conversation never counts here.
    from chorus.channels.actions import connect_channel

    theirs = connect_channel(workspace=cast.other_workspace, kind="sink", name="S", config={}, credentials={})
    _conversation(theirs, 7, opened=AT - dt.timedelta(days=2))
    figures = report.home_figures(cast.workspace, 240, at=AT)
    assert (figures["open"], figures["overdue"], figures["first_response_median"]) == (4, 1, 90.0)
    assert figures["week_start"].isoformat() == "2026-12-07T00:00:00+01:00"
    assert (
        report.home_figures(cast.workspace, 240, at=monday - dt.timedelta(days=7))["first_response_median"]
        is None
    )


def test_response_time_reads_as_minutes_hours_days() -> None:
    assert [response_time(m) for m in (None, 0.4, 45, 125, 60 * 50 + 3)] == [
        "",
        "0 min",
        "45 min",
        "2 h 05 min",
        "2 d 2 h",
    ]


def test_the_home_shows_the_inbox_figures_in_english_and_french(cast: Cast, channel) -> None:
    now = dt.datetime.now(dt.UTC)
    _conversation(channel, 1, opened=now - dt.timedelta(days=1))
    _conversation(channel, 2, opened=now - dt.timedelta(minutes=2), answered_after=1)
    client = cast.client_for(cast.members["viewer"])
    url = reverse("workspace_home", args=[cast.workspace.slug])
    page = client.get(url).content.decode()
    assert 'data-figure="open">2<' in page and 'data-figure="overdue" class="danger">1<' in page
    assert 'data-figure="first-response">1 min<' in page and "Median first response this week" in page
    assert f'href="{reverse("inbox:list", args=[cast.workspace.slug])}"' in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(url).content.decode()
    assert "Première réponse médiane cette semaine" in french and "Ouvrir la boîte de réception" in french
    assert "Conversations ouvertes" in french


def test_no_answer_this_week_is_said_not_zero(cast: Cast, channel) -> None:
    _conversation(channel, 1, opened=dt.datetime.now(dt.UTC))
    page = (
        cast.client_for(cast.owner)
        .get(reverse("workspace_home", args=[cast.workspace.slug]))
        .content.decode()
    )
    assert "No answer yet this week" in page and 'data-figure="overdue">0<' in page
