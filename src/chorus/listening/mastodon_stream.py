"""Mastodon's streaming API for listening: GET /api/v1/streaming/hashtag?tag=… per instance and tag.

The stream is Server-Sent Events: `event: update` / `data: <Status JSON>` records separated by a
blank line, and `:thump` comment lines as heartbeats. Since Mastodon 4.2 the public and hashtag
streams need a *user* token (no app token, no anonymous access), so a source streams only when a
workspace that reads it has a Mastodon channel on that instance; otherwise min_id polling
(`mastodon.py`) reads it alone.

Nothing is lost between two connections: on each (re)connect the consumer first opens the
stream (from then on the instance queues every new status for it), then catches up from the
source's cursor with the hashtag timeline (`min_id`), then reads the stream, skipping what the
catch-up already stored. A `delete` event removes the deleted status's matches (a delete while no
stream runs is not seen: the timeline no longer lists the status, and nothing says it was there). Each status's matches are committed with the cursor (one transaction,
fenced on the lease, as the firehose does), and the unique (query, uri) constraint stores a
status seen twice once. The source (`mastodon:<host>#<tag>`) and its cursor are the poll's: a
stream holding the lease makes the poll skip the source; a dead stream's lease runs out and the
poll takes over.

Budgets: each event at most MAX_EVENT_BYTES (a status is a few KB; an event over the budget
drops the connection and the catch-up reads that status through the REST API, whose own budget
applies); a connection lasts at most the "stream" HTTP budget, then reconnects (and catches up).
Reconnects back off exponentially up to MAX_BACKOFF seconds; a refused token waits longer
(REFUSED_BACKOFF) and is noted on the source for the settings page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import close_old_connections, connection
from django.utils import timezone

from chorus.core import http
from chorus.listening import mastodon, notes
from chorus.listening.matching import fold
from chorus.listening.models import StreamCursor
from chorus.listening.stream import LEASE_SECONDS, STANDBY_SECONDS, LeaseLost, StreamError, claim, release

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024
MAX_BACKOFF = 60.0
REFUSED_BACKOFF = 300.0


class EventTooLarge(StreamError):
    pass


class TokenRefused(StreamError):
    def __init__(self, status: int) -> None:
        super().__init__(f"the instance refused the token ({status})" if status else "no user token")
        self.status = status


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: str


def sse_events(chunks: Iterator[bytes], *, max_bytes: int = MAX_EVENT_BYTES) -> Iterator[SseEvent | None]:
    """Parse a Server-Sent-Events byte stream. Yields an event per record, and None per comment
    line (a heartbeat: the caller renews its lease). Raises EventTooLarge when a record grows past
    `max_bytes` before its blank line."""
    buffer = b""
    name, data = "", list[str]()
    size = 0
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            size += len(raw)
            if size > max_bytes:
                raise EventTooLarge(f"an event over {max_bytes // 1024} KB")
            if not line:
                if data or name:
                    yield SseEvent(name or "message", "\n".join(data))
                name, data, size = "", [], 0
            elif line.startswith(":"):
                yield None
            else:
                key, _sep, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "event":
                    name = value
                elif key == "data":
                    data.append(value)
        if size + len(buffer) > max_bytes:  # the record so far and its unfinished line
            raise EventTooLarge(f"an event over {max_bytes // 1024} KB")


def stream_url(instance: str) -> str:
    return f"{instance.rstrip('/')}/api/v1/streaming/hashtag"


def token_for(source: str) -> str:
    """A user token on the source's instance: a Mastodon channel of a workspace with a query that
    reads the source. The stream carries public statuses only; the token is sent to its own
    instance only."""
    from chorus.channels.models import Channel

    host = _host(source)
    workspaces = {q.workspace_id for q in mastodon.queries_on(source)}
    for channel in Channel.objects.filter(kind="mastodon", workspace_id__in=workspaces).order_by("pk"):
        if mastodon.host_of(str((channel.config or {}).get("instance") or "")) == host:
            token = str(channel.credentials.get("access_token") or "")
            if token:
                return token
    return ""


def _host(source: str) -> str:
    return source.split(":", 1)[1].split("#", 1)[0]


@dataclass
class MastodonStream:
    """One consumer of one source (an instance's hashtag); `run` until `stop` or `max_seconds`."""

    instance: str
    tag: str
    token: str = ""
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}")
    lease_seconds: float = LEASE_SECONDS

    def __post_init__(self) -> None:
        self.tag = fold(self.tag.lstrip("#"))
        self.source = mastodon.source_for(self.instance, self.tag)
        self.stored = 0  # matches stored by this consumer (tests and the command's log)
        self.reconnects = 0

    def run(self, *, stop: threading.Event | None = None, max_seconds: float | None = None) -> int:
        """Returns the statuses read (caught up and streamed)."""
        stop = stop or threading.Event()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        backoff = 1.0
        total = 0
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            row = claim(self.source, self.owner)
            if row is None:
                stop.wait(STANDBY_SECONDS)  # another consumer streams this source
                continue
            try:
                total += self._connect(row.cursor, stop, deadline)
                backoff = 1.0
            except LeaseLost:
                log.warning("listening: another consumer took over %s; standing by", self.source)
            except TokenRefused as exc:
                if exc.status:
                    notes.record(self.source, "mastodon_refused", host=_host(self.source), status=exc.status)
                else:
                    notes.record(self.source, "mastodon_no_token", host=_host(self.source))
                log.warning("listening: %s: %s", self.source, exc)
                release(self.source, self.owner)  # the poll reads the source meanwhile
                stop.wait(REFUSED_BACKOFF)
            except (httpx.HTTPError, OSError, StreamError, mastodon.MastodonUnavailable, ValueError) as exc:
                log.warning("listening: %s disconnected (%s); catching up on reconnect", self.source, exc)
                self.reconnects += 1
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                close_old_connections()
        release(self.source, self.owner)
        return total

    def _connect(self, cursor: str, stop: threading.Event, deadline: float | None) -> int:
        if not self.token:
            raise TokenRefused(0)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        read = 0
        with http.client(user_url=True, purpose="stream") as session:
            url = stream_url(self.instance)
            http.check_public_url(url)
            with session.stream("GET", url, params={"tag": self.tag}, headers=headers) as response:
                if response.status_code in (401, 403):
                    raise TokenRefused(response.status_code)
                if response.status_code != 200:
                    raise StreamError(f"the stream answered {response.status_code}")
                # Subscribed: whatever is posted from now on is queued for us. Catch up first.
                newest = self._catch_up(session, cursor)
                read += newest[1]
                last_id = newest[0]
                StreamCursor.objects.filter(source=self.source).exclude(note="").update(note="")
                for event in sse_events(response.iter_raw(), max_bytes=MAX_EVENT_BYTES):
                    if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                        break
                    if event is not None and event.name == "delete":
                        mastodon.delete_statuses(self.source, [event.data.strip()[:40]])
                    if event is None or event.name != "update":
                        self._beat()
                        continue
                    status = json.loads(event.data)
                    if not isinstance(status, dict) or mastodon.status_id(status) <= last_id:
                        continue  # already stored by the catch-up
                    read += 1
                    self._store([status])
                    last_id = mastodon.status_id(status)
        return read

    def _catch_up(self, session: httpx.Client, cursor: str) -> tuple[int, int]:
        """Store what was posted since the cursor (the newest page when there is none yet, as the
        poll's first read); returns (newest id stored, statuses read)."""
        statuses = mastodon.fetch_new(session, self.instance, self.tag, cursor)
        self._store(statuses)
        newest = max((mastodon.status_id(s) for s in statuses), default=int(cursor or 0))
        return newest, len(statuses)

    def _store(self, statuses: list[dict[str, Any]]) -> None:
        queries = mastodon.queries_on(self.source)
        self.stored += mastodon.store_statuses(
            self.source, queries, statuses, owner=self.owner, lease_seconds=self.lease_seconds
        )

    def _beat(self) -> None:
        """A heartbeat: the stream is live and nothing waits behind it."""
        now = timezone.now()
        held = StreamCursor.objects.filter(source=self.source, lease_owner=self.owner).update(
            lease_until=now + dt.timedelta(seconds=self.lease_seconds),
            updated_at=now,
            lag_seconds=0.0,
            lag_events=0,
        )
        if held != 1:
            raise LeaseLost(f"lost the lease on {self.source}")


def _run_in_thread(consumer: MastodonStream, stop: threading.Event) -> None:
    try:
        consumer.run(stop=stop)
    finally:
        connection.close()  # this thread's own database connection


def run_all(*, stop: threading.Event, refresh_seconds: float = 30.0) -> None:
    """`chorus listen --mastodon`: one thread per source some active query reads, started and
    stopped as queries change."""
    running: dict[str, tuple[threading.Thread, threading.Event]] = {}
    while not stop.is_set():
        wanted = mastodon.sources()
        for source, (instance, tag) in wanted.items():
            thread, _own_stop = running.get(source, (None, None))
            if thread is not None and thread.is_alive():
                continue
            token = token_for(source)
            if not token:
                StreamCursor.objects.get_or_create(source=source)
                notes.record(source, "mastodon_no_token", host=_host(source))
                continue
            own = threading.Event()
            consumer = MastodonStream(instance, tag, token)
            thread = threading.Thread(target=_run_in_thread, args=(consumer, own), name=source, daemon=True)
            thread.start()
            running[source] = (thread, own)
            log.info("listening: streaming %s", source)
        for source in [s for s in running if s not in wanted]:
            running.pop(source)[1].set()
        stop.wait(refresh_seconds)
        close_old_connections()
    for _thread, own in running.values():
        own.set()
    for thread, _own in running.values():
        thread.join(timeout=10)
