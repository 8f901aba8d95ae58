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
