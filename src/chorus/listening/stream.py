"""The Bluesky firehose consumer: com.atproto.sync.subscribeRepos -> decode posts -> match -> store.

* Decoding: each frame is two DAG-CBOR objects (header, body); a #commit carries its records in
  a CAR file. Only commits that create a post (app.bsky.feed.post) have their CAR decoded.
* Matching: one `Matcher` over every active query of every workspace, rebuilt when queries change.
* Storing: the matches of a batch, the deletions of matched posts, and the cursor (the last
  sequence number of the batch) are written in ONE transaction. A restart resumes from the
  cursor; the unique (query, uri) constraint makes a replayed event harmless.
* Lag: each commit records how old its last event was and how many received events wait behind
  it; /health and the listening page show it. A cursor older than the relay's replay window, or
  an OutdatedCursor notice from the server, is recorded as a gap with its time span.
* One consumer per source holds a lease on the cursor row, so `chorus listen` and the task form
  (`consume_slice`, for the scaled shape) never both consume the same stream.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import libipld
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from chorus.core import textsignals
from chorus.core.env import env_int, env_str
from chorus.listening.matching import Matcher, Post, QuerySpec, fold

log = logging.getLogger(__name__)

POST_COLLECTION = "app.bsky.feed.post/"
REPLAY_WINDOW_HOURS = env_int("CHORUS_LISTEN_REPLAY_HOURS", 72)  # Bluesky's relay keeps 72 h
# The active consumer renews its lease with every batch (each `batch_seconds`, events or not); a
# standby asks for it every STANDBY_SECONDS, so it takes over within LEASE + STANDBY seconds of the
# active one's death. A consumer that lost its lease stores nothing more (store() is fenced on the
# owner) and stands by.
LEASE_SECONDS = env_int("CHORUS_LISTEN_LEASE_SECONDS", 6)
STANDBY_SECONDS = max(0.5, LEASE_SECONDS / 6)
STALLED_AFTER_SECONDS = 60
MAX_FRAME_BYTES = 5 * 1024 * 1024  # the relay's own limit on a commit is 2 MB of blocks


class StreamError(RuntimeError):
    pass


class LeaseLost(StreamError):
    """Another consumer holds the source's lease now: this one must store nothing more."""


# --- decoding -------------------------------------------------------------------------------------


@dataclass
class FirehoseEvent:
    seq: int | None
    kind: str  # "commit", "info", "identity", "account", "sync", ...
    time: dt.datetime | None = None
    repo: str = ""
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, record)
    cids: dict[str, Any] = field(default_factory=dict)  # path -> the post record's CID (raw bytes)
    deletes: list[str] = field(default_factory=list)  # paths
    info: str = ""
    handle: str = ""


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def decode_frame(frame: bytes) -> FirehoseEvent:
    """One subscribeRepos frame; StreamError on an error frame or an undecodable one."""
    if len(frame) > MAX_FRAME_BYTES:
        raise StreamError(f"frame of {len(frame)} bytes is over the {MAX_FRAME_BYTES} byte budget")
    try:
        header, body = libipld.decode_dag_cbor_multi(frame)
    except ValueError as exc:
        raise StreamError(f"undecodable frame: {exc}") from exc
    if header.get("op") == -1:
        raise StreamError(f"{body.get('error')}: {body.get('message', '')}")
    kind = str(header.get("t", "")).lstrip("#")
    event = FirehoseEvent(seq=body.get("seq"), kind=kind, time=_parse_time(body.get("time")))
    if kind == "commit":
        event.repo = body.get("repo", "")
        wanted: list[tuple[str, Any]] = []
        for op in body.get("ops") or ():
            path = op.get("path", "")
            if not path.startswith(POST_COLLECTION):
                continue
            action = op.get("action")
            if action in ("delete", "update"):
                event.deletes.append(path)
            if action in ("create", "update") and op.get("cid"):
                wanted.append((path, op["cid"]))
        if wanted and body.get("blocks"):
            _car_header, blocks = libipld.decode_car(body["blocks"])
            for path, cid in wanted:
                record = blocks.get(cid)
                if isinstance(record, dict) and record.get("$type") == "app.bsky.feed.post":
                    event.posts.append((path, record))
                    event.cids[path] = cid
    elif kind == "info":
        event.info = str(body.get("name", ""))
    elif kind == "identity":
        event.repo = body.get("did", "")
        event.handle = body.get("handle") or ""
    return event


def post_of(repo: str, record: dict[str, Any]) -> Post:
    tags: list[str] = list(record.get("tags") or ())
    mentions: list[str] = []
    for facet in record.get("facets") or ():
        for feature in facet.get("features") or ():
            kind = feature.get("$type", "")
            if kind == "app.bsky.richtext.facet#tag" and feature.get("tag"):
                tags.append(str(feature["tag"]))
            elif kind == "app.bsky.richtext.facet#mention" and feature.get("did"):
                mentions.append(str(feature["did"]))
    return Post(
        network="bluesky",
        author_id=repo,
        text=str(record.get("text") or ""),
        hashtags=tuple(tags),
        mentions=tuple(mentions),
    )


# --- matching and enrichment ------------------------------------------------------------------------


def load_matcher(network: str) -> Matcher:
    from chorus.listening.models import Query

    specs = []
    for q in Query.objects.filter(active=True).order_by("pk"):
        if q.networks and network not in q.networks:
            continue
        specs.append(spec_of(q))
    return Matcher(specs)


def spec_of(q: Any) -> QuerySpec:
    return QuerySpec(
        id=q.pk,
        workspace_id=q.workspace_id,
        expression=q.expression,
        hashtags=q.hashtags,
        mentions=q.mentions,
        authors_include=q.authors_include,
        authors_exclude=q.authors_exclude,
        languages=q.languages,
        networks=q.networks,
    )


def queries_version() -> tuple[int, Any]:
    from chorus.listening.models import Query

    summary = Query.objects.aggregate(n=Max("pk"), changed=Max("updated_at"))
    return Query.objects.count(), (summary["n"], summary["changed"])


class Enricher:
    """Language (among the workspace's languages) and sentiment, computed once per text and
    language set even when several queries of several workspaces match the same post."""

    def __init__(self) -> None:
        from chorus.listening.models import ListeningSettings

        self.default = tuple(sorted(ListeningSettings.DEFAULT_LANGUAGES))
        self.languages: dict[int, tuple[str, ...]] = {
            workspace_id: tuple(sorted(langs or self.default))
            for workspace_id, langs in ListeningSettings.objects.values_list("workspace_id", "languages")
        }

    def workspace_languages(self, workspace_id: int) -> tuple[str, ...]:
        return self.languages.get(workspace_id, self.default)

    def enrich(
        self, text: str, workspace_id: int, memo: dict[Any, Any]
    ) -> tuple[str | None, textsignals.Sentiment]:
        langs = self.workspace_languages(workspace_id)
        if langs not in memo:
            memo[langs] = textsignals.analyse(text, langs)
        return memo[langs]

    def enrich_many(
        self, wanted: Iterable[tuple[str, tuple[str, ...]]]
    ) -> dict[tuple[str, tuple[str, ...]], tuple[str | None, textsignals.Sentiment]]:
        """Language and sentiment of each (text, workspace languages) pair, all at once (see
        `textsignals.analyse_many`)."""
        by_langs: dict[tuple[str, ...], list[str]] = {}
        for text, langs in dict.fromkeys(wanted):
            by_langs.setdefault(langs, []).append(text)
        out = {}
        for langs, texts in by_langs.items():
            for text, result in zip(texts, textsignals.analyse_many(texts, langs), strict=True):
                out[text, langs] = result
        return out


class MatchRow(NamedTuple):
    """One listening_match row, in the column order of `_INSERT`."""

    workspace_id: int
    query_id: int
    network: str
    uri: str
    url: str
    author_id: str
    text: str
    hashtags: str  # JSON
    language: str
    sentiment: str
    sentiment_score: float | None
    cid: str
    root_uri: str
    root_cid: str
    posted_at: dt.datetime


_INSERT = (
    "INSERT INTO listening_match (workspace_id, query_id, network, uri, url, author_id, text, hashtags,"
    " language, sentiment, sentiment_score, cid, root_uri, root_cid, posted_at, matched_at,"
    " author_handle, engagement)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', 0)"
    " ON CONFLICT (query_id, uri) DO NOTHING"
)


@dataclass
class Batch:
    matches: list[MatchRow] = field(default_factory=list)
    deleted_uris: list[str] = field(default_factory=list)
    last_seq: int | None = None
    last_time: dt.datetime | None = None
    first_time: dt.datetime | None = None
    events: int = 0
    outdated_cursor: bool = False
    touched_workspaces: set[int] = field(default_factory=set)


def bluesky_url(repo: str, path: str) -> str:
    return f"https://bsky.app/profile/{repo}/post/{path.rsplit('/', 1)[-1]}"


class Processor:
    """Matches events one at a time as they are decoded, into one `Batch` (no database writes);
    `finish` enriches the batch's matched posts all together and returns it. The consumer hands
    each event over as soon as it is decoded rather than holding a batch of decoded events: only
    the matches outlive their frame, which spares the allocator and the garbage collector the
    thousands of dicts a held batch would keep alive. Enriching at the end of the batch, not
    between two frames, finds the language model and the lexicons still in the processor's
    caches (bench/listening: enrichment 2.9-3.0 -> 1.5 us per event)."""

    def __init__(self, matcher: Matcher, enricher: Enricher) -> None:
        self.matcher = matcher
        self.enricher = enricher
        self.batch = Batch()
        self.pending: list[_Pending] = []

    def add(self, event: FirehoseEvent) -> None:
        batch = self.batch
        batch.events += 1
        if event.seq is not None:
            batch.last_seq = event.seq
        when = event.time
        if when is not None:
            batch.last_time = when
            if batch.first_time is None:
                batch.first_time = when
        if event.info == "OutdatedCursor" and event.kind == "info":
            batch.outdated_cursor = True
        if event.deletes:
            repo = event.repo
            batch.deleted_uris.extend([f"at://{repo}/{path}" for path in event.deletes])
        if event.posts:
            for path, record in event.posts:
                self._post(event, path, record)

    def _post(self, event: FirehoseEvent, path: str, record: dict[str, Any]) -> None:
        matcher = self.matcher
        text = record.get("text")
        text = text if isinstance(text, str) else str(text or "")
        folded = fold(text)
        # Most posts match nothing: when the text holds no query word and the record names no
        # hashtag or mention, turn it away before building anything for it.
        if (
            not matcher.by_author
            and not record.get("facets")
            and not record.get("tags")
            and not matcher.screen_text(folded)
        ):
            return
        post = post_of(event.repo, record)
        ids = matcher.match(post, folded)
        if not ids:
            return
        posted_at = _parse_time(record.get("createdAt")) or event.time or timezone.now()
        uri = f"at://{event.repo}/{path}"
        url = bluesky_url(event.repo, path)
        tags = json.dumps(sorted({h.lower() for h in post.hashtags})[:30])
        root = (record.get("reply") or {}).get("root") if isinstance(record.get("reply"), dict) else None
        root_uri = str(root.get("uri") or "")[:500] if isinstance(root, dict) else ""
        root_cid = str(root.get("cid") or "")[:100] if isinstance(root, dict) else ""
        raw_cid = event.cids.get(path)
        cid = (libipld.encode_cid(raw_cid) if isinstance(raw_cid, bytes) else str(raw_cid or ""))[:100]
        # Language and sentiment wait for the end of the batch (`finish`), done all together.
        self.pending.append(
            _Pending(
                ids=ids,
                text=post.text,
                uri=uri,
                url=url,
                author_id=event.repo,
                hashtags=tags,
                cid=cid,
                root_uri=root_uri,
                root_cid=root_cid,
                posted_at=posted_at,
            )
        )

    def finish(self) -> Batch:
        """The batch, its matched posts enriched (language among each workspace's languages,
        sentiment) and filtered on the queries' languages."""
        matcher, enricher, batch = self.matcher, self.enricher, self.batch
        pending, self.pending = self.pending, []
        workspace_of = {qid: matcher.queries[qid].workspace_id for p in pending for qid in p.ids}
        langs_of = {ws: enricher.workspace_languages(ws) for ws in set(workspace_of.values())}
        found = enricher.enrich_many((p.text, langs_of[workspace_of[qid]]) for p in pending for qid in p.ids)
        for p in pending:
            text = p.text[:3000]
            for query_id in p.ids:
                spec = matcher.queries[query_id]
                language, feeling = found[p.text, langs_of[spec.workspace_id]]
                if not matcher.language_filter(spec, language):
                    continue
                batch.touched_workspaces.add(spec.workspace_id)
                batch.matches.append(
                    MatchRow(
                        workspace_id=spec.workspace_id,
                        query_id=query_id,
                        network="bluesky",
                        uri=p.uri,
                        url=p.url,
                        author_id=p.author_id,
                        text=text,
                        hashtags=p.hashtags,
                        language=language or "",
                        sentiment=feeling.label,
                        sentiment_score=feeling.score,
                        cid=p.cid,
                        root_uri=p.root_uri,
                        root_cid=p.root_cid,
                        posted_at=p.posted_at,
                    )
                )
        return batch


class _Pending(NamedTuple):
    """A matched post waiting for its enrichment at the end of the batch."""

    ids: list[int]
    text: str
    uri: str
    url: str
    author_id: str
    hashtags: str
    cid: str
    root_uri: str
    root_cid: str
    posted_at: dt.datetime


def process(events: Iterable[FirehoseEvent], matcher: Matcher, enricher: Enricher) -> Batch:
    """Match and enrich a run of decoded events (no database writes). Pass a generator of
    `decode_frame(...)` to decode and process each frame in turn (see `Processor`)."""
    processor = Processor(matcher, enricher)
    for event in events:
        processor.add(event)
    return processor.finish()


# --- storing, with the cursor -------------------------------------------------------------------------


def _events_behind(batch: Batch, lag: float) -> int:
    """The firehose does not say where its head is: estimate the events waiting behind the last one
    committed from the lag and the rate at which events were written (event time) in this batch."""
    if batch.first_time is None or batch.last_time is None or lag <= 0:
        return 0
    span = (batch.last_time - batch.first_time).total_seconds()
    rate = batch.events / span if span > 0 else float(batch.events)
    return round(lag * rate)


def store(source: str, batch: Batch, *, owner: str) -> int:
    """Write the batch and move the cursor in one transaction. Returns how many matches were new.
    Raises StreamError when this consumer no longer holds the lease (another one took over)."""
    from chorus.listening.models import Match, StreamCursor

    now = timezone.now()
    with transaction.atomic():
        created = _insert(batch.matches, now) if batch.matches else 0
        if batch.deleted_uris:
            _delete_uris(Match._meta.db_table, batch.deleted_uris)
        values: dict[str, Any] = {
            "updated_at": now,
            "lease_until": now + dt.timedelta(seconds=LEASE_SECONDS),
            "events": F("events") + batch.events,
            "matched": F("matched") + len(batch.matches),
        }
        if batch.last_seq is not None:
            values["cursor"] = str(batch.last_seq)
        if batch.last_time is not None:
            lag = max(0.0, (now - batch.last_time).total_seconds())
            values["event_time"] = batch.last_time
            values["lag_seconds"] = lag
            values["lag_events"] = _events_behind(batch, lag)
        elif batch.events == 0:
            values["lag_seconds"] = 0.0
            values["lag_events"] = 0
        held = StreamCursor.objects.filter(source=source, lease_owner=owner).update(**values)
        if held != 1:
            raise LeaseLost(f"lost the lease on {source}")
    return created


def _insert(rows: list[MatchRow], now: dt.datetime) -> int:
    """The matches of a batch in one prepared statement: the ORM's bulk_create cost more per row
    (model instances, per-field SQL compilation) than decoding the firehose frame did."""
    adapt = connection.ops.adapt_datetimefield_value
    matched_at = adapt(now)
    # The rows of one post (one per matching query) share its posted_at object: adapt it once.
    adapted: dict[int, Any] = {}
    params = []
    for row in rows:
        key = id(row.posted_at)
        value = adapted.get(key)
        if value is None:
            value = adapted[key] = adapt(row.posted_at)
        params.append((*row[:-1], value, matched_at))
    with connection.cursor() as cursor:
        cursor.executemany(_INSERT, params)
        return max(cursor.rowcount, 0)


def _delete_uris(table: str, uris: list[str], chunk: int = 500) -> None:
    """The matches of deleted posts, in every workspace (the firehose deletes a post for all):
    one DELETE per `chunk` URIs. Equivalent to Match.objects.filter(uri__in=...).delete(), which
    deletes directly too (nothing cascades from a match, no signal), without building a
    QuerySet and a lookup over thousands of values each batch."""
    name = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        for start in range(0, len(uris), chunk):
            part = uris[start : start + chunk]
            cursor.execute(f"DELETE FROM {name} WHERE uri IN ({', '.join(['%s'] * len(part))})", part)  # noqa: S608


def record_gap(source: str, *, since: dt.datetime | None, until: dt.datetime | None) -> None:
    from chorus.core import audit
    from chorus.listening.models import StreamCursor

    StreamCursor.objects.filter(source=source).update(
        gap_from=since, gap_until=until, gap_reported_at=timezone.now()
    )
    audit.record_raw(
        "listening.stream_gap",
        workspace_id=None,
        object_type="listening.streamcursor",
        object_id=source,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    log.warning("listening: %s lost events between %s and %s", source, since, until)


def claim(source: str, owner: str) -> Any:
    """Take (or renew) the lease on a source's cursor row; None when another consumer holds it."""
    from chorus.listening.models import StreamCursor

    now = timezone.now()
    StreamCursor.objects.get_or_create(source=source)
    taken = StreamCursor.objects.filter(
        Q(source=source) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
    ).update(lease_owner=owner, lease_until=now + dt.timedelta(seconds=LEASE_SECONDS))
    return StreamCursor.objects.get(source=source) if taken == 1 else None


def release(source: str, owner: str) -> None:
    from chorus.listening.models import StreamCursor

    StreamCursor.objects.filter(source=source, lease_owner=owner).update(lease_until=None, lease_owner="")


# --- the consumer loop --------------------------------------------------------------------------------


def source_for(base_url: str) -> str:
    return "bluesky:" + (urllib.parse.urlsplit(base_url).netloc or base_url)


def subscribe_url(base_url: str, cursor: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme or "wss")
    query = f"?cursor={int(cursor)}" if cursor else ""
    return f"{scheme}://{parts.netloc}/xrpc/com.atproto.sync.subscribeRepos{query}"


@dataclass
class Consumer:
    base_url: str
    # Live, `batch_seconds` closes a batch first (the public firehose peaks near 2,000 events/s);
    # replaying a backlog, `batch_size` does, and fewer, larger commits cost less per event.
    batch_size: int = 10_000
    batch_seconds: float = 0.5
    refresh_seconds: float = 5.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}")
    on_batch: Callable[[Batch], None] | None = None

    def __post_init__(self) -> None:
        self.source = source_for(self.base_url)
        self.enricher = Enricher()
        self._matcher: Matcher | None = None
        self._version: Any = None
        self._checked = 0.0

    def matcher(self) -> Matcher:
        now = time.monotonic()
        if self._matcher is None or now - self._checked >= self.refresh_seconds:
            self._checked = now
            version = queries_version()
            if version != self._version or self._matcher is None:
                self._matcher = load_matcher("bluesky")
                self._version = version
                self.enricher = Enricher()
        return self._matcher

    def run(self, *, stop: threading.Event | None = None, max_seconds: float | None = None) -> int:
        """Consume until `stop` is set or `max_seconds` pass; returns the events processed.
        Reconnects (from the committed cursor) on network errors."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        stop = stop or threading.Event()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        total = 0
        backoff = 1.0
        standing_by = False
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            row = claim(self.source, self.owner)
            if row is None:
                if not standing_by:
                    log.info("listening: another consumer holds %s; standing by", self.source)
                    standing_by = True
                stop.wait(STANDBY_SECONDS)
                continue
            standing_by = False
            self._check_replay_window(row)
            log.info("listening: %s from cursor %s", self.source, row.cursor or "(live)")
            try:
                with connect(
                    subscribe_url(self.base_url, row.cursor), max_size=MAX_FRAME_BYTES, open_timeout=10
                ) as ws:
                    backoff = 1.0
                    total += self._read(ws, stop, deadline, resumed_from=row)
            except LeaseLost:
                log.warning("listening: another consumer took over %s; standing by", self.source)
            except (OSError, WebSocketException, TimeoutError, StreamError) as exc:
                log.warning("listening: %s disconnected (%s); resuming from the cursor", self.source, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                close_old_connections()
        release(self.source, self.owner)
        return total

    def _check_replay_window(self, row: Any) -> None:
        if row.cursor and row.event_time is not None:
            oldest = timezone.now() - dt.timedelta(hours=REPLAY_WINDOW_HOURS)
            if row.event_time < oldest:
                record_gap(self.source, since=row.event_time, until=oldest)

    def _processor(self) -> Processor:
        matcher = self.matcher()  # may rebuild the enricher too: ask for the matcher first
        return Processor(matcher, self.enricher)

    def _read(self, ws: Any, stop: threading.Event, deadline: float | None, *, resumed_from: Any) -> int:
        # Each frame is matched as soon as it is decoded; the batch (matches, deletions, cursor)
        # is committed every `batch_size` events or `batch_seconds`, whichever comes first.
        processor = self._processor()
        started = time.monotonic()
        done = 0
        first = True
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                frame = ws.recv(timeout=max(0.05, self.batch_seconds - (time.monotonic() - started)))
            except TimeoutError:
                frame = None
            if frame is not None:
                if isinstance(frame, str):
                    raise StreamError("text frame on a binary stream")
                event = decode_frame(frame)
                if first and event.kind == "info" and event.info == "OutdatedCursor":
                    record_gap(self.source, since=resumed_from.event_time, until=None)
                first = False
                processor.add(event)
            if processor.batch.events >= self.batch_size or time.monotonic() - started >= self.batch_seconds:
                done += self.commit(processor.finish())
                processor = self._processor()
                started = time.monotonic()
        if processor.batch.events:
            done += self.commit(processor.finish())
        return done

    def flush(self, events: Iterable[FirehoseEvent]) -> int:
        """Process and commit a run of decoded events; returns how many there were."""
        return self.commit(process(events, self.matcher(), self.enricher))

    def commit(self, batch: Batch) -> int:
        store(self.source, batch, owner=self.owner)
        if batch.touched_workspaces:
            from chorus.listening import alerts

            for workspace_id in batch.touched_workspaces:
                alerts.check_soon(workspace_id)
        if self.on_batch is not None:
            self.on_batch(batch)
        return batch.events


def configured_url() -> str:
    return env_str("CHORUS_LISTEN_BLUESKY_URL", "")


# --- health -----------------------------------------------------------------------------------------------


def stream_status() -> list[dict[str, Any]]:
    from chorus.listening.models import StreamCursor

    now = timezone.now()
    out = []
    for row in StreamCursor.objects.order_by("source"):
        idle = (now - row.updated_at).total_seconds()
        out.append(
            {
                "source": row.source,
                "cursor": row.cursor,
                "event_time": row.event_time.isoformat() if row.event_time else None,
                "lag_seconds": round(row.lag_seconds, 1),
                "lag_events": row.lag_events,
                "stalled": row.lease_owner != "" and idle > STALLED_AFTER_SECONDS,
                "running": row.lease_until is not None and row.lease_until > now,
                "events": row.events,
                "matched": row.matched,
                "gap": (
                    None
                    if row.gap_reported_at is None
                    else {
                        "from": row.gap_from.isoformat() if row.gap_from else None,
                        "until": row.gap_until.isoformat() if row.gap_until else None,
                        "reported_at": row.gap_reported_at.isoformat(),
                    }
                ),
            }
        )
    return out


def health_section() -> dict[str, Any]:
    try:
        return {"streams": stream_status()}
    except Exception:  # the listening tables may not exist yet (before migrate)
        log.exception("listening health section failed")
        return {"streams": []}
