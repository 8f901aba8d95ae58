"""The inbox report: volume, response times by person and channel, sentiment — for a period.

The analytics report (`chorus.analytics.reports`, its "inbox" section: the HTML view, the PDF, CSV
and XLSX) reads these figures; the inbox owns how they are computed. The period is the
conversations *opened* in it (their first item); times are in minutes, medians over the
conversations that have them (None when none does: "not available", never 0).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from chorus.accounts.models import Workspace
from chorus.core.textsignals import NEGATIVE_AT, POSITIVE_AT
from chorus.inbox.models import Conversation, InboxItem, Reply

SUMMARY_KEYS = (
    "inbox_conversations",
    "inbox_items",
    "inbox_activity",
    "inbox_replies_sent",
    "inbox_answered",
    "inbox_first_response_median",
    "inbox_within_target_pct",
    "inbox_resolution_median",
    "inbox_overdue",
    "inbox_positive",
    "inbox_neutral",
    "inbox_negative",
    "inbox_sentiment_mean",
)
GROUP_KEYS = (
    "inbox_conversations",
    "inbox_replies_sent",
    "inbox_first_response_median",
    "inbox_resolution_median",
    "inbox_sentiment_mean",
)


@dataclass
class InboxFigures:
    target_minutes: int
    summary: dict[str, Any]
    by_channel: list[dict[str, Any]] = field(default_factory=list)  # {"name": …, GROUP_KEYS…}
    by_person: list[dict[str, Any]] = field(default_factory=list)


def _minutes(seconds: Iterable[int | None]) -> float | None:
    values = [s / 60 for s in seconds if s is not None]
    return round(statistics.median(values), 1) if values else None


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.fmean(kept), 2) if kept else None


def _group(conversations: Sequence[Conversation], replies_sent: int) -> dict[str, Any]:
    return {
        "inbox_conversations": len(conversations),
        "inbox_replies_sent": replies_sent,
        "inbox_first_response_median": _minutes(c.first_response_seconds for c in conversations),
        "inbox_resolution_median": _minutes(c.resolution_seconds for c in conversations),
        "inbox_sentiment_mean": _mean(c.sentiment for c in conversations),
    }


def figures(
    workspace: Workspace,
    start: dt.datetime,
    end: dt.datetime,
    channel_ids: Sequence[int] = (),
    *,
    target_minutes: int,
    at: dt.datetime,
) -> InboxFigures:
    """[start, end) in UTC. `at` decides what is overdue now (open, unanswered, past the target)."""
    conversations_qs = Conversation.objects.filter(
        workspace=workspace, first_item_at__gte=start, first_item_at__lt=end
    ).select_related("channel", "assignee")
    items_qs = InboxItem.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
    replies_qs = Reply.objects.filter(
        workspace=workspace, status=Reply.Status.SENT, sent_at__gte=start, sent_at__lt=end
    ).select_related("author", "conversation__channel")
    if channel_ids:
        conversations_qs = conversations_qs.filter(channel_id__in=channel_ids)
        items_qs = items_qs.filter(channel_id__in=channel_ids)
        replies_qs = replies_qs.filter(conversation__channel_id__in=channel_ids)
    conversations = list(conversations_qs)
    replies = list(replies_qs.order_by("sent_at", "pk"))
    talk = items_qs.filter(conversation__isnull=False).count()
    activity = items_qs.filter(conversation__isnull=True).count()

    target = target_minutes * 60
    firsts = [c.first_response_seconds for c in conversations if c.first_response_seconds is not None]
    scores = [c.sentiment for c in conversations if c.sentiment is not None]
    summary = {
        "inbox_conversations": len(conversations),
        "inbox_items": talk,
        "inbox_activity": activity,
        "inbox_replies_sent": len(replies),
        "inbox_answered": len(firsts),
        "inbox_first_response_median": _minutes(firsts),
        "inbox_within_target_pct": (
            round(sum(1 for s in firsts if s <= target) / len(firsts) * 100, 1) if firsts else None
        ),
        "inbox_resolution_median": _minutes(c.resolution_seconds for c in conversations),
        "inbox_overdue": sum(1 for c in conversations if c.is_overdue(target_minutes, at)),
        "inbox_positive": sum(1 for s in scores if s >= POSITIVE_AT),
        "inbox_neutral": sum(1 for s in scores if NEGATIVE_AT < s < POSITIVE_AT),
        "inbox_negative": sum(1 for s in scores if s <= NEGATIVE_AT),
        "inbox_sentiment_mean": _mean(scores),
    }

    per_channel: dict[int, list[Conversation]] = defaultdict(list)
    names: dict[int, str] = {}
    for c in conversations:
        per_channel[c.channel_id].append(c)
        names[c.channel_id] = c.channel.name
    replies_per_channel: dict[int, int] = defaultdict(int)
    for r in replies:
        replies_per_channel[r.conversation.channel_id] += 1
        names.setdefault(r.conversation.channel_id, r.conversation.channel.name)
    by_channel = [
        {"name": names[cid], **_group(per_channel.get(cid, []), replies_per_channel.get(cid, 0))}
        for cid in sorted(names, key=lambda cid: names[cid].lower())
    ]

    # A person's conversations: those they answered first (their first response time is theirs)
    # or, unanswered, those assigned to them.
    first_by: dict[int, int] = {}  # conversation id -> user id of its first sent reply
    for r in replies:
        if r.author_id is not None:
            first_by.setdefault(r.conversation_id, r.author_id)
    people: dict[int, str] = {}
    per_person: dict[int, list[Conversation]] = defaultdict(list)
    for c in conversations:
        owner = first_by.get(c.pk) or c.assignee_id
        if owner is not None:
            per_person[owner].append(c)
            if c.assignee_id == owner and c.assignee is not None:
                people[owner] = c.assignee.display_name
    replies_per_person: dict[int, int] = defaultdict(int)
    for r in replies:
        if r.author is not None and r.author_id is not None:
            replies_per_person[r.author_id] += 1
            people[r.author_id] = r.author.display_name
    by_person = [
        {"name": people[uid], **_group(per_person.get(uid, []), replies_per_person.get(uid, 0))}
        for uid in sorted(people, key=lambda uid: people[uid].lower())
    ]
    return InboxFigures(target_minutes, summary, by_channel, by_person)


WEEK_SAMPLE = 20_000  # the home's median reads at most this many of the week's answered conversations


def home_figures(workspace: Workspace, sla_minutes: int, at: dt.datetime | None = None) -> dict[str, Any]:
    """The inbox on the workspace home: conversations not closed, those past the first-response
    target without an answer, and the median first-response time (minutes) of the conversations
    first answered this week (from Monday 00:00 in the workspace's time zone); None when none was."""
    from zoneinfo import ZoneInfo

    at = at or dt.datetime.now(dt.UTC)
    local = at.astimezone(ZoneInfo(workspace.timezone or "UTC"))
    week_start = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    mine = Conversation.objects.filter(workspace=workspace)
    not_closed = mine.exclude(status=Conversation.Status.CLOSED)
    answered = mine.filter(first_response_at__gte=week_start, first_response_at__lte=at).values_list(
        "first_item_at", "first_response_at"
    )[:WEEK_SAMPLE]
    # Open and overdue in one pass over the conversations not closed (two counts: twice the scan).
    counts = not_closed.aggregate(
        open=Count("pk"),
        overdue=Count(
            "pk", filter=Q(first_response_at=None, first_item_at__lt=at - dt.timedelta(minutes=sla_minutes))
        ),
    )
    return {
        "open": counts["open"],
        "overdue": counts["overdue"],
        "first_response_median": _minutes(
            int((answer - first).total_seconds()) for first, answer in answered if answer is not None
        ),
        "week_start": week_start,
    }
