"""`chorus listen` on the real local Bluesky network (the PDS's own com.atproto.sync.subscribeRepos).

Three accounts post 2,000 posts (English and French, some matching, some not; hashtags and mentions
as facets, written as `app.bsky.richtext.facet` features with their byte ranges). The consumer runs
as a subprocess. It is killed with SIGKILL while the second round is still being posted: posts go
on arriving after the kill. Then it is started again. Four queries of two workspaces must end
with exactly the expected matches: none lost, none twice, no post that should not match. A
deleted post leaves the matches.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from atproto import models

from chorus.listening import actions
from chorus.listening.models import Match, StreamCursor
from chorus.listening.stream import source_for
from tests.engine_fixtures import Role, start_role, wait_for
from tests.peers.bluesky import BlueskyNetwork
from tests.peers.test_bluesky_peer import create_accounts

pytestmark = [pytest.mark.peer, pytest.mark.django_db(transaction=True)]

POSTS = 2000
# Posted in three rounds: consumer up; consumer SIGKILLed while the round is being posted;
# consumer down. The restarted consumer must pick up everything after its committed cursor.
ROUNDS = (600, 800, 600)
LEASE = 3
WRITES_PER_COMMIT = 10  # posts per applyWrites call, i.e. per firehose commit event
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

# Query keys: "climate" (words, EN and FR, one workspace), "tag" (the #chorusfr hashtag facet),
# "velo" (a French-only phrase, another workspace), "mention" (a mention facet of the first account:
# the text carries the handle, the query names the DID, so only the facet can make it match).
# Each template: (text, set of query keys it must match). {mention} becomes "@handle" of the
# mentioned account.
TEMPLATES: list[tuple[str, frozenset[str]]] = [
    ("Chorus volunteers talk about the climate plan tonight {i}", frozenset({"climate"})),
    ("Le collectif Chorus manifeste pour le climat demain {i}", frozenset({"climate"})),
    ("Chorus met to discuss the budget, nothing about weather {i}", frozenset()),
    ("Pluie et vent sur Lyon aujourd'hui, climat agité {i}", frozenset()),
    ("Rendez-vous samedi place de la mairie #chorusfr {i}", frozenset({"tag"})),
    ("Le nouveau plan vélo de la ville est enfin voté, bravo à tous {i}", frozenset({"velo"})),
    ("The city finally voted its plan vélo, good news for everyone here {i}", frozenset()),
    ("Choruses sing about climatology at the festival {i}", frozenset()),
    ("Thanks {mention} for joining the Chorus climate walk {i}", frozenset({"climate", "mention"})),
    ("Merci {mention} pour ton aide samedi #chorusfr {i}", frozenset({"tag", "mention"})),
    ("#chorusfr: les chorales de la ville se retrouvent dimanche {i}", frozenset({"tag"})),
    ("Chorus says nothing about the weather, ask {mention} {i}", frozenset({"mention"})),
]


def tid(n: int, base: int) -> str:
    value = (base + n) << 10
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def _span(text: str, needle: str) -> dict[str, int]:
    start = text.encode().index(needle.encode())
    return {"byteStart": start, "byteEnd": start + len(needle.encode())}


def record(text: str, created_at: str, mention: tuple[str, str] | None) -> dict[str, Any]:
    facets: list[dict[str, Any]] = []
    if "#chorusfr" in text:
        facets.append(
            {
                "index": _span(text, "#chorusfr"),
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "chorusfr"}],
            }
        )
    if mention is not None:
        handle, did = mention
        facets.append(
            {
                "index": _span(text, f"@{handle}"),
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
            }
        )
    value: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created_at}
    if facets:
        value["facets"] = facets
    return value


class Poster:
    """Posts numbered posts, post n by account n % 3, mentioning account (n + 1) % 3 where the
    template has a mention; remembers which queries each post must match."""

    def __init__(self, clients: list[Any], base: int) -> None:
        self.clients = clients
        self.base = base
        self.expected: dict[str, frozenset[str]] = {}
        self.posted = 0
        self.lock = threading.Lock()

    def post(self, first: int, count: int) -> None:
        writes: dict[int, list[Any]] = {c: [] for c in range(len(self.clients))}
        uris: dict[int, list[tuple[str, frozenset[str]]]] = {c: [] for c in range(len(self.clients))}
        for n in range(first, first + count):
            c = n % len(self.clients)
            client = self.clients[c]
            text, keys = TEMPLATES[n % len(TEMPLATES)]
            mentioned = self.clients[(c + 1) % len(self.clients)].me
            mention = (mentioned.handle, mentioned.did) if "{mention}" in text else None
            if "mention" in keys and mentioned.did != self.clients[0].me.did:
                keys = keys - {"mention"}  # the query asks for the first account only
            rkey = tid(n, self.base)
            body = text.format(i=n, mention=f"@{mentioned.handle}")
            writes[c].append(
                models.ComAtprotoRepoApplyWrites.Create(
                    collection="app.bsky.feed.post",
                    rkey=rkey,
                    value=record(body, client.get_current_time_iso(), mention),
                )
            )
            uris[c].append((f"at://{client.me.did}/app.bsky.feed.post/{rkey}", keys))
        # Interleave the three accounts' commits, as a live network would.
        for start in range(0, max(len(w) for w in writes.values()), WRITES_PER_COMMIT):
            for c, client in enumerate(self.clients):
                chunk = writes[c][start : start + WRITES_PER_COMMIT]
                if not chunk:
                    continue
                client.com.atproto.repo.apply_writes(
                    models.ComAtprotoRepoApplyWrites.Data(repo=client.me.did, writes=chunk)
                )
                with self.lock:
                    self.expected.update(uris[c][start : start + WRITES_PER_COMMIT])
                    self.posted += len(chunk)

    def want(self, key: str) -> list[str]:
        with self.lock:
            return sorted(uri for uri, keys in self.expected.items() if key in keys)


def stored(query) -> list[str]:
    return sorted(Match.objects.filter(query=query).values_list("uri", flat=True))


def test_consumer_stores_exactly_the_matches_across_a_sigkill(
    bluesky_network: BlueskyNetwork,
    engine_env: dict[str, str],
    cast,
    tmp_path,
) -> None:
    clients = create_accounts(bluesky_network, 3)
    # Only this test's accounts: the network is shared by the session, and the failover test's
    # posts (the same templates) may already be on its firehose, which this test reads from 0.
    ours = {"authors_include": [client.me.did for client in clients]}
    queries = {
        "climate": actions.create_query(
            cast.workspace,
            actor=cast.owner,
            data={"name": "Climate", "expression": "chorus (climate OR climat)", **ours},
        ),
        "tag": actions.create_query(
            cast.workspace,
            actor=cast.owner,
            data={"name": "Tag", "hashtags": ["chorusfr"], "group": "campaign", **ours},
        ),
        "mention": actions.create_query(
            cast.workspace,
            actor=cast.owner,
            data={"name": "Mentions", "mentions": [clients[0].me.did], **ours},
        ),
        "velo": actions.create_query(
            cast.other_workspace,
            actor=cast.outsider,
            data={
                "name": "Vélo",
                "expression": '"plan vélo"',
                "languages": ["fr"],
                "group": "competitor",
                **ours,
            },
        ),
    }
    source = source_for(bluesky_network.pds_url)
    StreamCursor.objects.create(source=source, cursor="0")  # from the PDS's first event: nothing missed
    poster = Poster(clients, time.time_ns() // 1000)
    assert sum(ROUNDS) == POSTS

    def start() -> Role:
        return start_role(
            f"listen-{time.monotonic_ns()}",
            ["listen", "--url", bluesky_network.pds_url, "--batch-size", "50", "--batch-seconds", "0.2"],
            {**engine_env, "CHORUS_LISTEN_LEASE_SECONDS": str(LEASE)},
            tmp_path,
            "listening to",
            timeout=60,
        )

    def complete() -> bool:
        return all(stored(q) == poster.want(key) for key, q in queries.items())

    started = time.monotonic()
    consumer = start()
    poster.post(0, ROUNDS[0])
    wait_for(complete, timeout=120, what="the first round's matches")
    first_round = len(stored(queries["climate"]))

    # Round 2: the consumer is killed without warning once it has stored some of the round,
    # while the round is still being posted.
    posting = threading.Thread(target=poster.post, args=(ROUNDS[0], ROUNDS[1]))
    posting.start()
    wait_for(lambda: len(stored(queries["climate"])) > first_round, timeout=60, what="round 2 streaming in")
    os.killpg(consumer.pid, signal.SIGKILL)
    posted_at_kill = poster.posted
    consumer.popen.wait(timeout=10)
    killed_at = StreamCursor.objects.get(source=source)
    stored_at_kill = Match.objects.count()
    posting.join(timeout=300)
    assert not posting.is_alive()
    assert posted_at_kill < ROUNDS[0] + ROUNDS[1], "round 2 was fully posted before the kill: not mid-stream"
    # Round 3 is posted while nothing listens; the restarted consumer waits for the dead one's
    # lease (LEASE seconds here) to expire before it takes over.
    poster.post(ROUNDS[0] + ROUNDS[1], ROUNDS[2])
    assert poster.posted == POSTS and len(poster.expected) == POSTS
    total_expected = sum(len(poster.want(key)) for key in queries)
    assert stored_at_kill < total_expected

    restarted = start()
    try:
        wait_for(complete, timeout=180, what="every expected match")
        assert f"from cursor {killed_at.cursor}" in restarted.output()
        assert int(killed_at.cursor) > 0
        time.sleep(1.0)  # a late duplicate or stray match would show up now
        for key, query in queries.items():
            want = poster.want(key)
            assert want, key
            assert Match.objects.filter(query=query).count() == len(want), key
        assert Match.objects.count() == total_expected  # nothing that should not match
        assert not Match.objects.filter(workspace=cast.workspace, query=queries["velo"]).exists()  # tenancy
        assert Match.objects.filter(query=queries["velo"], workspace=cast.other_workspace).count() == len(
            poster.want("velo")
        )
        sample = Match.objects.filter(query=queries["climate"]).order_by("uri").first()
        assert sample is not None and sample.url.startswith("https://bsky.app/profile/did:plc:")
        french = Match.objects.filter(query=queries["climate"], text__startswith="Le collectif").first()
        assert french is not None and french.language == "fr"
        english = Match.objects.filter(query=queries["climate"], text__startswith="Chorus volunteers").first()
        assert english is not None and english.language == "en"
        tags = Match.objects.filter(query=queries["tag"]).values_list("hashtags", flat=True)
        assert all(value == ["chorusfr"] for value in tags)  # from the facets

        # A deleted post leaves the matches (of every query it matched).
        gone = next(uri for uri in poster.want("mention") if uri in poster.want("climate"))
        did, _collection, rkey = gone.removeprefix("at://").split("/")
        owner = next(c for c in clients if c.me.did == did)
        owner.com.atproto.repo.delete_record(
            models.ComAtprotoRepoDeleteRecord.Data(repo=did, collection="app.bsky.feed.post", rkey=rkey)
        )
        wait_for(
            lambda: not Match.objects.filter(uri=gone).exists(), timeout=60, what="the deleted post to go"
        )
        assert Match.objects.count() == total_expected - 2
        status = StreamCursor.objects.get(source=source)
        assert status.events > 0 and int(status.cursor) > int(killed_at.cursor)
    finally:
        restarted.stop()
    # The dev-env AppView indexes the 2,000 posts in the background and its shutdown waits for
    # that: under load it went past the fixture's 60 s stop budget. Let it catch up here.
    bluesky_network.process_all(timeout=300)
    counts = ", ".join(f"{key} {len(poster.want(key))}" for key in queries)
    print(
        f"\nfirehose peer: {POSTS} posts by 3 accounts, expected matches {counts};"
        f" SIGKILL at cursor {killed_at.cursor} with {posted_at_kill} posted and {stored_at_kill}"
        f" of {total_expected} matches stored; {time.monotonic() - started:.0f} s"
    )
