"""Counting clicks: who is a person (not a bot or a link-preview fetcher), and the counts."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import re
import threading

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Count
from django.utils import timezone

from chorus.content.models import PostTarget
from chorus.links.models import Click, ShortLink

# Link-preview fetchers and crawlers fetch a link as soon as it is posted; they are not readers.
BOT_RE = re.compile(
    r"facebookexternalhit|facebookcatalog|twitterbot|slackbot|slack-imgproxy|discordbot|telegrambot"
    r"|whatsapp|linkedinbot|mastodon|bluesky|cardyb|googlebot|bingbot|bot|crawler|spider"
    r"|preview|embedly|skypeuripreview|headless|curl/|wget/|python-requests|httpx|go-http-client",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    # An empty user agent is a script, not a browser.
    return not user_agent.strip() or BOT_RE.search(user_agent) is not None


log = logging.getLogger(__name__)

# --- recording, off the request path -----------------------------------------------------------
# The redirect only appends its click to this process's buffer; a background thread writes what
# accumulated every CHORUS_CLICK_FLUSH_SECONDS (1 s) in one INSERT, and the interpreter's exit
# (a normal stop: SIGTERM/SIGINT to gunicorn or `chorus run`) writes the rest. A process killed
# hard (SIGKILL, power loss) loses at most the clicks of its last flush interval, plus one flush
# that was being written: <= 1 s of clicks by default. A flush that fails (database busy or
# down) keeps its clicks for the next one; past MAX_PENDING unwritten clicks the request writes
# its own click (back-pressure, never a silent drop).
MAX_PENDING = 50_000


class _Buffer:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.pending: list[tuple[int, dt.datetime, str, str]] = []  # link id, at, referrer, kind
        self.stop = threading.Event()
        interval = float(settings.CHORUS_CLICK_FLUSH_SECONDS)
        if interval > 0:
            threading.Thread(target=self._loop, args=(interval,), name="click-flusher", daemon=True).start()

    def _loop(self, interval: float) -> None:
        while not self.stop.wait(interval):
            close_old_connections()  # this thread's connection: drop it if broken or too old
            flush()


_buffer: _Buffer | None = None
_buffer_lock = threading.Lock()


def _current() -> _Buffer:
    global _buffer
    with _buffer_lock:
        if _buffer is None or _buffer.pid != os.getpid():  # a forked child starts its own
            _buffer = _Buffer()
        return _buffer


def record(link_id: int, referrer: str, channel_kind: str) -> None:
    """Counts one click of a person on a short link (written within the flush interval)."""
    click = (link_id, timezone.now(), referrer[:300], channel_kind)
    buffer = _current()
    with buffer.lock:
        if len(buffer.pending) < MAX_PENDING:
            buffer.pending.append(click)
            return
    _insert([click])


def _insert(rows: list[tuple[int, dt.datetime, str, str]]) -> None:
    """One multi-row INSERT in SQL: the ORM's bulk_create cost the writer thread (and so, through
    the GIL, the requests) several times more than the statement."""
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO links_click (link_id, at, referrer, channel_kind) VALUES (%s, %s, %s, %s)",
            [(link_id, adapt(at), referrer, kind) for link_id, at, referrer, kind in rows],
        )


def flush() -> int:
    """Writes every buffered click of this process; returns how many were written."""
    buffer = _buffer
    if buffer is None or buffer.pid != os.getpid():
        return 0
    with buffer.lock:
        clicks, buffer.pending = buffer.pending, []
    if not clicks:
        return 0
    try:
        try:
            _insert(clicks)
            return len(clicks)
        except IntegrityError:
            # A link deleted since its click: keep every click whose link still exists.
            ids = {click[0] for click in clicks}
            existing = set(ShortLink.objects.filter(pk__in=ids).values_list("pk", flat=True))
            kept = [click for click in clicks if click[0] in existing]
            if kept:
                _insert(kept)
            return len(kept)
    except Exception:
        log.exception("could not write %d clicks; keeping them for the next flush", len(clicks))
        with buffer.lock:
            buffer.pending[:0] = clicks
        return 0


def discard() -> None:
    """Forgets buffered clicks (tests: a test's clicks never reach the next test's database)."""
    if _buffer is not None:
        with _buffer.lock:
            _buffer.pending.clear()


atexit.register(flush)


def clicks_for_target(target: PostTarget) -> int:
    """Counted clicks on every short link of one post target (for analytics)."""
    return Click.objects.filter(link__target=target).count()


def clicks_by_channel(workspace_id: int) -> dict[str, int]:
    rows = (
        Click.objects.filter(link__workspace_id=workspace_id)
        .values("channel_kind")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {row["channel_kind"] or "-": row["n"] for row in rows}


def links_with_counts(workspace_id: int, limit: int = 500) -> list[ShortLink]:
    return list(
        ShortLink.objects.filter(workspace_id=workspace_id)
        .select_related("target__post", "target__channel")
        .annotate(click_count=Count("clicks"))
        .order_by("-created_at")[:limit]
    )
