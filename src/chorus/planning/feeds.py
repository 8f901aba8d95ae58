"""The secret iCal feed: the scheduled (and recently published) posts of a workspace or campaign."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from chorus.content.models import PostTarget
from chorus.planning.models import FeedToken

S = PostTarget.Status
PAST = dt.timedelta(days=90)  # calendars keep a little history; older posts are in reports
MAX_EVENTS = 5_000
EVENT_LENGTH = dt.timedelta(minutes=15)
FEED_STATUSES = [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED, S.UNKNOWN, S.FAILED]


def render_feed(feed: FeedToken) -> bytes:
    workspace = feed.workspace
    targets = PostTarget.objects.filter(
        workspace=workspace, status__in=FEED_STATUSES, scheduled_at__gte=timezone.now() - PAST
    )
    if feed.campaign_id is not None:
        targets = targets.filter(post__campaign_id=feed.campaign_id)
    rows = targets.order_by("scheduled_at").values_list(
        "id", "uid", "scheduled_at", "updated_at", "status", "text", "post__title", "channel__name"
    )[:MAX_EVENTS]

    from icalendar import Calendar, Event  # on use: 0.4 s of import for every process otherwise

    cal = Calendar()
    cal.add("prodid", "-//Chorus//Calendar feed//EN")
    cal.add("version", "2.0")
    name = workspace.name if feed.campaign is None else f"{workspace.name} · {feed.campaign.name}"
    cal.add("x-wr-calname", f"Chorus: {name}")
    cal.add("x-wr-timezone", workspace.timezone)
    base = settings.CHORUS_BASE_URL
    for pk, uid, at, updated, status, text, title, channel in rows:
        assert at is not None  # the filter on scheduled_at excludes NULLs
        event = Event()
        event.add("uid", f"{uid}@chorus")
        event.add("dtstamp", updated)
        event.add("dtstart", at)
        event.add("dtend", at + EVENT_LENGTH)
        summary = (title or text or "").strip().splitlines()[0:1]
        event.add("summary", f"[{channel}] {summary[0][:80] if summary else ''}".strip())
        event.add("description", f"{text}\n\n{S(status).label}")
        event.add("status", "CONFIRMED" if status in (S.SCHEDULED, S.PUBLISHED) else "TENTATIVE")
        event.add(
            "url", base + reverse("publishing:target", kwargs={"slug": workspace.slug, "target_id": pk})
        )
        cal.add_component(event)
    return cal.to_ical()
