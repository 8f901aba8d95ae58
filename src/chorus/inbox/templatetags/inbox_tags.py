from __future__ import annotations

from typing import Any

from django import template

from chorus.inbox.actions import unread_by_channel

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context: Any, workspace: Any) -> dict[str, Any]:
    """For the navigation: unread items per channel of the workspace and their total (one
    indexed aggregate over conversations with unread items; the inbox page passes the counts
    it already has as `inbox_unread_counts`)."""
    per_channel = context.get("inbox_unread_counts")
    if per_channel is None:
        per_channel = unread_by_channel(workspace)
    return {"total": sum(per_channel.values()), "per_channel": per_channel}


@register.filter
def response_time(minutes: float | None) -> str:
    """A response time for people: "45 min", "2 h 05 min", "3 d 4 h"; "" when not available."""
    from django.utils.translation import gettext as _

    if minutes is None or minutes == "":
        return ""
    total = round(float(minutes))
    if total < 60:
        return _("%(minutes)d min") % {"minutes": total}
    hours, rest = divmod(total, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
