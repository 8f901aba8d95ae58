"""The main navigation: the workspace's screens in a few groups, the current one marked.

One list (`_GROUPS`) says which screens exist, in which group and under which permission; the
template (`core/_nav.html`) lays it out as one row of small menus on a desktop and behind a
"Menu" button on a phone. Which entry is current comes from the resolved URL name, so a detail
page (a post, a campaign) marks its list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chorus.accounts.permissions import Perm, can

register = template.Library()


@dataclass(frozen=True)
class _Entry:
    key: str
    label: Any
    url_name: str
    perm: Perm | None = None
    staff: bool = False  # a site page (not per workspace), for staff only


_GROUPS: list[tuple[str, Any, list[_Entry]]] = [
    (
        "plan",
        pgettext_lazy("navigation group", "Plan"),
        [
            _Entry("posts", _("Posts"), "publishing:targets"),
            _Entry("calendar", _("Calendar"), "planning:calendar"),
            _Entry("campaigns", _("Campaigns"), "links:campaigns"),
            _Entry("templates", _("Templates"), "publishing:templates", perm=Perm.CREATE_POST),
            _Entry("queue", _("Queue slots"), "planning:queue"),
            _Entry("review", _("Review"), "publishing:review"),
            _Entry("approvals", _("Approvals"), "approvals:pending"),
        ],
    ),
    (
        "engage",
        pgettext_lazy("navigation group", "Engage"),
        [
            _Entry("inbox", _("Inbox"), "inbox:list"),
            _Entry("listening", _("Listening"), "listening:home"),
        ],
    ),
    (
        "grow",
        pgettext_lazy("navigation group", "Grow"),
        [
            _Entry("analytics", _("Analytics"), "analytics:dashboard"),
            _Entry("ads", _("Ads"), "ads:list"),
            _Entry("experiments", _("Experiments"), "experiments:list"),
            _Entry("links", _("Short links"), "links:list"),
        ],
    ),
    ("media", _("Media"), [_Entry("media", _("Media"), "media:library")]),
    (
        "manage",
        pgettext_lazy("navigation group", "Manage"),
        [
            _Entry("channels", _("Channels"), "channels:list"),
            _Entry("members", _("Members"), "members"),
            _Entry("webhooks", _("Webhooks"), "webhooks:list", perm=Perm.MANAGE_WORKSPACE),
            _Entry("audit", _("Audit"), "approvals:audit", perm=Perm.VIEW_AUDIT_LOG),
            _Entry("settings", _("Settings"), "workspace_settings", perm=Perm.MANAGE_WORKSPACE),
            _Entry("health", _("System health"), "health", staff=True),
        ],
    ),
]

# Resolved URL name (or its start) → the entry it belongs to; the first that matches wins.
_CURRENT: list[tuple[str, str]] = [
    ("publishing:review", "review"),
    ("publishing:post_new", ""),
    ("publishing:template", "templates"),
    ("publishing:", "posts"),
    ("planning:queue", "queue"),
    ("planning:channel_slots", "queue"),
    ("planning:", "calendar"),
    ("links:campaign", "campaigns"),
    ("links:", "links"),
    ("approvals:audit", "audit"),
    ("approvals:", "approvals"),
    ("inbox:", "inbox"),
    ("listening:", "listening"),
    ("analytics:", "analytics"),
    ("ads:", "ads"),
    ("experiments:", "experiments"),
    ("media:", "media"),
    ("channels:", "channels"),
    ("members", "members"),
    ("webhooks:", "webhooks"),
    ("workspace_settings", "settings"),
    ("health", "health"),
    ("workspace_home", "home"),
]


def current_entry(view_name: str) -> str:
    """The navigation entry a resolved URL name belongs to ('' when none)."""
    for start, key in _CURRENT:
        if view_name.startswith(start):
            return key
    return ""


@register.inclusion_tag("core/_nav.html", takes_context=True)
def main_nav(context: Any, workspace: Any) -> dict[str, Any]:
    request = context["request"]
    match = getattr(request, "resolver_match", None)
    current = current_entry(match.view_name) if match is not None else ""
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    user = request.user
    groups = []
    for key, label, entries in _GROUPS:
        links = []
        for entry in entries:
            if entry.staff and not user.is_staff:
                continue
            if entry.perm is not None and (role is None or not can(role, entry.perm)):
                continue
            url = reverse(entry.url_name) if entry.staff else reverse(entry.url_name, args=[workspace.slug])
            links.append(
                {"key": entry.key, "label": entry.label, "url": url, "current": entry.key == current}
            )
        if links:
            groups.append(
                {
                    "key": key,
                    "label": label,
                    "links": links,
                    "single": len(entries) == 1,
                    "current": any(link["current"] for link in links),
                }
            )
    return {
        "workspace": workspace,
        "groups": groups,
        "home_current": current == "home",
        "inbox_unread_counts": context.get("inbox_unread_counts"),
    }
