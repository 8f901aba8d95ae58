"""Why a polled source stopped short, stored on its StreamCursor as {"code": ..., words...} and
worded when shown, in the reader's language (polls run in tasks, with no reader)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from chorus.listening.models import StreamCursor

TEXTS = {
    "x_no_channel": _("No X channel in this workspace: X search needs one (its access pays the reads)."),
    "x_rate": _("X rate limit reached: the search resumes after %(time)s."),
    "x_budget": _(
        "X search paused: the monthly budget for paid reads (%(budget)s USD, %(spent)s spent) "
        "cannot pay for one more page of %(n)d posts. It resumes next month or when the budget "
        "is raised in the inbox settings."
    ),
    "ig_limit": _(
        "Instagram allows %(limit)d different hashtags per account in 7 days and this account has "
        "searched %(used)d: #%(tag)s would be one more. The next slot frees on %(time)s."
    ),
    "ig_refused": _(
        "Instagram refused to search #%(tag)s: the account reached its %(limit)d hashtags in 7 days (%(reason)s)."
    ),
    "ig_unknown": _("Instagram knows no hashtag #%(tag)s."),
    "ig_rate": _("Instagram rate limit reached: the search resumes after %(time)s."),
    "mastodon_no_token": _(
        "Polled every minute, not streamed: Mastodon streams need a user token, and this "
        "workspace has no Mastodon channel on %(host)s."
    ),
    "mastodon_refused": _(
        "Polled every minute, not streamed: %(host)s refused the token of its Mastodon "
        "channel (HTTP %(status)s). Reconnect the channel."
    ),
}


def encode(code: str, **words: Any) -> str:
    for key, value in words.items():
        if isinstance(value, dt.datetime):
            words[key] = value.isoformat()
    return json.dumps({"code": code, **words})


def text(raw: str) -> str:
    """The note in the active language; a note from before codes (or a plain text) as it is."""
    try:
        words = json.loads(raw)
        template = TEXTS[words.pop("code")]
    except (ValueError, KeyError, TypeError, AttributeError):
        return raw
    for key in ("budget", "spent"):  # amounts as the reader writes them (5,00 in French)
        if key in words:
            words[key] = formats.localize(Decimal(words[key]))
    if "time" in words:
        at = dt.datetime.fromisoformat(words["time"])
        words["time"] = formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")
    note = str(template) % words
    return note[:-1] if note.endswith("..") else note  # a time ending "a.m." ends the sentence


def record(source: str, code: str, **words: Any) -> None:
    extra = {k: words.pop(k) for k in ("cursor",) if k in words}
    StreamCursor.objects.filter(source=source).update(
        note=encode(code, **words)[:500], updated_at=timezone.now(), **extra
    )
