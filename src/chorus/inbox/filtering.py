"""The inbox list's filters, shared by the page, saved views and the API.

`clean` turns what a query string or a saved view holds into a known, bounded set of values
(anything else is dropped, so a mangled link shows a wider list rather than an error); `apply`
narrows a workspace's conversations by them. "me" as the assignee is resolved for whoever looks,
so a shared view "Mine, unread" shows each person their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chorus.accounts.models import User
from chorus.core.textsignals import NEGATIVE_AT, POSITIVE_AT
from chorus.inbox.models import Conversation

KEYS = ("status", "channel", "assignee", "tag", "sentiment", "language", "unread")
SENTIMENTS = {
    "positive": _("Positive"),
    "neutral": _("Neutral"),
    "negative": _("Negative"),
    "unknown": _("Not measured"),
}
MAX_TAG = 40  # as chorus.inbox.actions.set_tags stores them
MAX_LANGUAGE = 12


def clean(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only the known filters with valid values, as strings; empty ones left out."""
    found: dict[str, str] = {}
    value = {key: str(raw.get(key) or "").strip() for key in KEYS}
    if value["status"] in Conversation.Status.values or value["status"] == "all":
        found["status"] = value["status"]
    if value["channel"].isdigit() and len(value["channel"]) <= 12:
        found["channel"] = value["channel"]
    if value["assignee"] in ("me", "none") or (value["assignee"].isdigit() and len(value["assignee"]) <= 12):
        found["assignee"] = value["assignee"]
    tag = value["tag"].lower()
    if tag and len(tag) <= MAX_TAG:
        found["tag"] = tag
    if value["sentiment"] in SENTIMENTS:
        found["sentiment"] = value["sentiment"]
    language = value["language"].lower()
    if language and len(language) <= MAX_LANGUAGE and language.replace("-", "").isalpha():
        found["language"] = language
    if value["unread"] in ("1", "true", "True", "on"):
        found["unread"] = "1"
    return found


def apply(found: QuerySet[Conversation], filters: Mapping[str, str], user: User) -> QuerySet[Conversation]:
    """`found` narrowed by cleaned `filters`; no status filter means "not closed"."""
    return found.filter(condition(filters, user))


def condition(filters: Mapping[str, str], user: User) -> Q:
    """The cleaned `filters` as one condition (also usable inside an aggregate's filter)."""
    q = Q()
    status = filters.get("status", "")
    if status in Conversation.Status.values:
        q &= Q(status=status)
    elif status != "all":
        q &= ~Q(status=Conversation.Status.CLOSED)
    if filters.get("channel"):
        q &= Q(channel_id=int(filters["channel"]))
    assignee = filters.get("assignee", "")
    if assignee == "me":
        q &= Q(assignee=user)
    elif assignee == "none":
        q &= Q(assignee=None)
    elif assignee:
        q &= Q(assignee_id=int(assignee))
    if filters.get("tag"):
        q &= _has_tag(filters["tag"])
    sentiment = filters.get("sentiment", "")
    if sentiment == "positive":
        q &= Q(sentiment__gte=POSITIVE_AT)
    elif sentiment == "negative":
        q &= Q(sentiment__lte=NEGATIVE_AT)
    elif sentiment == "neutral":
        q &= Q(sentiment__gt=NEGATIVE_AT, sentiment__lt=POSITIVE_AT)
    elif sentiment == "unknown":
        q &= Q(sentiment=None)
    if filters.get("language"):
        q &= Q(language=filters["language"])
    if filters.get("unread") == "1":
        q &= Q(unread__gt=0)
    return q


def _has_tag(tag: str) -> Q:
    if connection.features.supports_json_field_contains:  # PostgreSQL: the jsonb @> operator
        return Q(tags__contains=[tag])
    # SQLite stores the list as JSON text: the quoted, escaped tag is an exact element match.
    return Q(tags__icontains=json.dumps(tag))
