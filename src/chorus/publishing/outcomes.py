"""What a publish attempt or a reconciliation came to (typed), and the engine's own messages:
stored as a code and parameters on the target, translated when shown (`render`), with the
English text kept in `error_message` for logs and the API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext, gettext_noop


class Outcome(StrEnum):
    """One target's result: publish_one/publish_many (engine) and reconcile_one (reconciliation)."""

    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"  # maybe sent: reconciliation reads it back
    RETRY = "retry"  # certainly not applied: back in the queue with a backoff
    RATE_LIMITED = "rate_limited"  # the network said wait (Retry-After)
    QUOTA_WAIT = "quota_wait"  # our ledger of the platform's cap said wait
    HELD = "held"  # the channel needs reconnecting, or the retry horizon is used up
    STALE = "stale"  # another attempt owns the target now, or it is done
    SUPERSEDED = "superseded"  # moved while this attempt ran: left to reconciliation
    GONE = "gone"  # the target no longer exists
    SETTLED = "settled"  # reconciliation: another reconciler got there first
    WAITING = "waiting"  # reconciliation: ask again later
    RETURNED = "returned"  # its worker was stopping before the call: back in the queue, unsent
    UNREACHABLE = "unreachable"  # the host did not answer: waits with its channel's group


# The engine's messages by code (the network's own reasons are kept as the network gave them).
MESSAGES: dict[str, str] = {
    "quota": gettext_noop("%(network)s posting limit reached; waiting until %(until)s UTC."),
    "gave_up": gettext_noop("%(reason)s (gave up after %(attempts)s attempts)"),
    "unexpected": gettext_noop("Unexpected error: %(error)s"),
    "internal": gettext_noop("Internal error before sending: %(error)s"),
    "internal_retry": gettext_noop("Internal error before sending (%(error)s); trying again."),
    "recovered": gettext_noop("Its worker stopped before sending; queued again."),
    "returned": gettext_noop("Its worker was stopping before sending; queued again."),
    "interrupted": gettext_noop("Its worker stopped while sending; checking with the network."),
    "unconfirmed": gettext_noop(
        "%(network)s cannot be asked whether this post went out. Check the channel before publishing it again."
    ),
    "not_published": gettext_noop("The network has no trace of this post after several attempts."),
    "not_found": gettext_noop("Not found on the network after an interrupted attempt; sending again."),
    "reconnect": gettext_noop("%(channel)s needs to be reconnected"),
    "unreachable": gettext_noop(
        "%(network)s at %(host)s does not answer; this post waits with the channel's others and goes out when it answers."
    ),
    "horizon": gettext_noop(
        "%(reason)s Not published within %(minutes)s minutes of its time (last tried: %(host)s); held for a person to decide."
    ),
    "horizon_unreachable": gettext_noop(
        "%(network)s at %(host)s did not answer within %(minutes)s minutes of this post's time; held for a person to decide."
    ),
}


def english(key: str, **params: Any) -> str:
    """The message in English (stored in `error_message`, logged)."""
    return MESSAGES[key] % params if params else MESSAGES[key]


def render(key: str | None, params: dict[str, Any] | None, fallback: str) -> str:
    """The message in the active language: one of the engine's (`key`), a connector's built from
    a translatable template (`msgid` and its words, see connectors.classify), or `fallback` as
    stored, itself translated when it is one of the catalog's messages (a connector's plain
    `gettext("…")`, stored in the worker's English)."""
    if (not key or key not in MESSAGES) and params and isinstance(params.get("msgid"), str):
        try:
            return gettext(params["msgid"]) % params
        except (KeyError, TypeError, ValueError):
            return fallback
    if not key or key not in MESSAGES:
        return gettext(fallback) if fallback else fallback
    template = gettext(MESSAGES[key])
    try:
        return template % (params or {}) if params else template
    except (KeyError, TypeError, ValueError):
        return fallback


def said(key: str, **params: Any) -> dict[str, Any]:
    """`message=` and `params=` for an action that records one of the engine's messages."""
    return {"message": english(key, **params), "params": {"key": key, **params}}
