"""Firehose-shaped frames for the listening bench and tests: com.atproto.sync.subscribeRepos
#commit frames (header + body in DAG-CBOR, records in a CAR v1 with a commit block, an MST node
and the record), in a mix like Bluesky's public firehose (mostly likes, follows and reposts;
about one event in five a post), plus #identity frames. Deterministic for a given seed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import libipld

_EN = (
    "the city council votes on the new budget tonight and people gather near the river to talk about "
    "schools housing transport music festival weekend coffee morning rain sunny great terrible happy sad "
    "love hate news today tomorrow friends family work team game photo video podcast book"
)
_FR = (
    "le conseil municipal vote ce soir le nouveau budget et les gens se retrouvent au bord de la rivière "
    "pour parler des écoles logement transports musique festival week-end café matin pluie soleil génial "
    "terrible heureux triste amour nouvelles aujourd'hui demain amis famille travail équipe photo vidéo"
)
WORDS_EN = _EN.split()
WORDS_FR = _FR.split()


def cid_bytes(data: bytes) -> bytes:
    return bytes([1, 0x71, 0x12, 0x20]) + hashlib.sha256(data).digest()


def cid_value(raw: bytes) -> Any:
    """A CID as libipld encodes it (CBOR tag 42), obtained by decoding one."""
    payload = b"\x00" + raw
    return libipld.decode_dag_cbor(b"\xd8\x2a\x58" + bytes([len(payload)]) + payload)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def car(blocks: list[bytes]) -> tuple[bytes, list[bytes]]:
    """A CAR v1 of DAG-CBOR blocks (the first is the root); returns it and the blocks' CIDs."""
    cids = [cid_bytes(b) for b in blocks]
    header = libipld.encode_dag_cbor({"roots": [cid_value(cids[0])], "version": 1})
    out = bytearray(_varint(len(header)) + header)
    for cid, block in zip(cids, blocks, strict=True):
        out += _varint(len(cid) + len(block)) + cid + block
    return bytes(out), cids


def frame(kind: str, body: dict[str, Any]) -> bytes:
    return libipld.encode_dag_cbor({"op": 1, "t": f"#{kind}"}) + libipld.encode_dag_cbor(body)


def error_frame(error: str, message: str) -> bytes:
    return libipld.encode_dag_cbor({"op": -1}) + libipld.encode_dag_cbor({"error": error, "message": message})


def tid(n: int) -> str:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (1_700_000_000_000_000 + n) << 10
    return "".join(alphabet[(value >> shift) & 31] for shift in range(60, -1, -5))


def commit_frame(
    seq: int,
    repo: str,
    ops: list[tuple[str, str, dict[str, Any] | None]],
    time: str = "2026-12-07T06:00:00.000Z",
) -> bytes:
    """ops: (action, path, record or None for a delete)."""
    records = [libipld.encode_dag_cbor(rec) for _a, _p, rec in ops if rec is not None]
    record_cids = [cid_bytes(r) for r in records]
    entries = [
        {"k": path.encode(), "p": 0, "t": None, "v": cid_value(c)}
        for (_a, path, _r), c in zip([o for o in ops if o[2] is not None], record_cids, strict=True)
    ]
    mst = libipld.encode_dag_cbor({"e": entries, "l": None})
    commit = libipld.encode_dag_cbor(
        {
            "did": repo,
            "version": 3,
            "data": cid_value(cid_bytes(mst)),
            "rev": tid(seq),
            "prev": None,
            "sig": b"\x01" * 64,
        }
    )
    blocks, _cids = car([commit, mst, *records])
    op_rows = []
    index = 0
    for action, path, rec in ops:
        cid = None
        if rec is not None:
            cid = cid_value(record_cids[index])
            index += 1
        op_rows.append({"action": action, "path": path, "cid": cid})
    body = {
        "seq": seq,
        "rebase": False,
        "tooBig": False,
        "repo": repo,
        "commit": cid_value(cid_bytes(commit)),
        "rev": tid(seq),
        "since": None,
        "blocks": blocks,
        "ops": op_rows,
        "blobs": [],
        "time": time,
    }
    return frame("commit", body)


def post_record(text: str, *, tags: tuple[str, ...] = (), langs: tuple[str, ...] = ()) -> dict[str, Any]:
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-12-07T05:59:59.000Z",
    }
    if tags:
        facets = []
        encoded = text.encode()
        for tag in tags:
            start = encoded.find(f"#{tag}".encode())
            if start >= 0:
                facets.append(
                    {
                        "index": {"byteStart": start, "byteEnd": start + len(tag) + 1},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                    }
                )
        record["facets"] = facets
    if langs:
        record["langs"] = list(langs)
    return record


def stream(
    count: int, *, seed: int = 7, keywords: tuple[str, ...] = (), match_rate: float = 0.05
) -> Iterator[bytes]:
    """`count` frames; about `match_rate` of the posts contain one of `keywords`."""
    rng = random.Random(seed)
    repos = [f"did:plc:{hashlib.sha1(str(i).encode()).hexdigest()[:24]}" for i in range(5000)]
    for seq in range(1, count + 1):
        repo = rng.choice(repos)
        roll = rng.random()
        rkey = tid(seq)
        if roll < 0.02:
            yield frame(
                "identity",
                {
                    "seq": seq,
                    "did": repo,
                    "handle": f"user{seq}.bsky.social",
                    "time": "2026-12-07T06:00:00.000Z",
                },
            )
        elif roll < 0.22:
            words = WORDS_FR if rng.random() < 0.3 else WORDS_EN
            text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 30)))
            tags: tuple[str, ...] = ()
            if keywords and rng.random() < match_rate:
                keyword = rng.choice(keywords)
                text = f"{text} {keyword}"
                if rng.random() < 0.3:
                    tags = ("chorus",)
                    text += " #chorus"
            yield commit_frame(
                seq, repo, [("create", f"app.bsky.feed.post/{rkey}", post_record(text, tags=tags))]
            )
        elif roll < 0.25:
            yield commit_frame(seq, repo, [("delete", f"app.bsky.feed.post/{tid(seq - 1000)}", None)])
        else:
            collection = (
                "app.bsky.feed.like"
                if roll < 0.75
                else "app.bsky.graph.follow"
                if roll < 0.9
                else "app.bsky.feed.repost"
            )
            subject = {
                "uri": f"at://{rng.choice(repos)}/app.bsky.feed.post/{tid(seq - 50)}",
                "cid": "bafyreib",
            }
            record = {
                "$type": collection.split("/")[0],
                "subject": subject,
                "createdAt": "2026-12-07T05:59:59.000Z",
            }
            yield commit_frame(seq, repo, [("create", f"{collection}/{rkey}", record)])
