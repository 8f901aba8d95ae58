"""Times on the post pages are in the workspace's zone, like "Scheduled for", whatever the
reader's own zone: the post's history, the list of posts and the review queue's decisions."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.urls import reverse

from chorus.accounts.models import User
from chorus.channels.models import Channel
from chorus.core.models import AuditEvent
from chorus.publishing import actions
from tests.conftest import Cast
from tests.publishing.conftest import make_target

# 2030-03-05 13:30 UTC is 14:30 in Paris (the cast's workspace) and 08:30 in New York.
AT = dt.datetime(2030, 3, 5, 13, 30, tzinfo=dt.UTC)


def _client_in_new_york(user: User) -> Client:
    User.objects.filter(pk=user.pk).update(timezone="America/New_York")
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def _section(html: str, element_id: str) -> str:
    match = re.search(rf'<(section|table)[^>]*id="{element_id}".*?</\1>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(0)


def test_the_post_history_is_in_the_workspace_zone(cast: Cast, sink_channel: Channel) -> None:
    target = make_target(cast, sink_channel, when=AT)
    AuditEvent.objects.filter(object_type="content.posttarget", object_id=str(target.pk)).update(at=AT)
    client = _client_in_new_york(cast.owner)

    html = client.get(reverse("publishing:target", args=[cast.workspace.slug, target.pk])).content.decode()

    facts, history = html.split('id="history"')[0], _section(html, "history")
    assert "2:30 p.m. (Europe/Paris)" in facts  # "Scheduled for", as before: 14:30 in Paris
    assert "Times in Europe/Paris" in history
    assert re.search(r"\b2:30 p\.m\.|\b14:30\b", history), history
    assert "8:30" not in history


def test_the_posts_list_and_the_review_decisions_are_in_the_workspace_zone(
    cast: Cast, sink_channel: Channel
) -> None:
    target = make_target(cast, sink_channel)
    actions.submit_for_review(target, actor=cast.owner)
    actions.approve(target, actor=cast.owner, comment="Fine")
    actions.schedule(target, actor=cast.owner, when=AT)
    AuditEvent.objects.filter(action="target.approved").update(at=AT)
    client = _client_in_new_york(cast.owner)

    listing = client.get(reverse("publishing:targets", args=[cast.workspace.slug])).content.decode()
    row = _section(listing, "targets")
    assert "Times in Europe/Paris" in row
    assert re.search(r"\b2:30 p\.m\.|\b14:30\b", row) and "8:30" not in row, row

    review = client.get(reverse("publishing:review", args=[cast.workspace.slug])).content.decode()
    decisions = _section(review, "review-history")
    assert 'data-action="target.approved"' in decisions
    assert re.search(r"\b2:30 p\.m\.|\b14:30\b", decisions) and "8:30" not in decisions, decisions
