"""Listening throughput: firehose frames -> decode -> match 1,000 queries -> enrich -> store.

The frames are generated at bench time by bench/_firehose_frames.py (subscribeRepos #commit
frames with CAR blocks, in a mix like Bluesky's public firehose: mostly likes, follows and
reposts, one event in five a post; 200,000 at full size). The same frames are first only decoded
(`decode_frame`, what any consumer must do), then run through the whole consumer pipeline
(`process`, each frame matched as soon as it is decoded, + `store` in batches of 10,000 events with
the cursor, the consumer's default, on a fresh migrated SQLite database).
Rates are events per second of this process's CPU time: the machines that run benches are
shared, and wall-clock rates swing with the neighbours' load (both are reported).

Two results:
* listening_pipeline_vs_decode: pipeline events/s against bare decode events/s (goal ratio >= 0.5);
* listening_events_per_second: the pipeline's absolute rate against 10x the 2,000 events/s peak
  of Bluesky's public firehose (November 2024), on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import time
from typing import Any

from bench._support import PYTHON, REPO_DIR, SqliteDatabases, base_env, log, workdir

GOAL_RATIO = 0.5
FIREHOSE_PEAK = 2_000  # events/s, Bluesky's public firehose at its November 2024 peak
GOAL_RATE = 10 * FIREHOSE_PEAK
QUERIES = 1_000
BATCH = 10_000  # stream.Consumer.batch_size: a backlog replay commits every 10,000 events


def run(full: bool) -> list[dict[str, Any]]:
    with workdir("listening") as work:
        env = base_env(work)
        databases = SqliteDatabases(work, env)
        env["DATABASE_URL"] = databases.fresh()
        env["BENCH_LISTENING_FRAMES"] = str(200_000 if full else 30_000)
        proc = subprocess.run(
            [PYTHON, "-m", "bench.listening", "--measure"],
            env=env,
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"listening measurement crashed (exit {proc.returncode})")
        results: list[dict[str, Any]] = json.loads(lines[-1])
        return results


def _queries(rng: random.Random) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """1,000 queries over 50 workspaces: words, phrases, AND/OR/NOT, some hashtags; returns them
    and the keywords that make a post match one of them."""
    vocabulary = [f"{stem}{n}" for stem in ("campagne", "climate", "ngo", "vote", "velo") for n in range(300)]
    keywords = []
    specs = []
    for i in range(QUERIES):
        a, b, c = rng.sample(vocabulary, 3)
        shape = i % 5
        if shape == 0:
            expression = a
            keywords.append(a)
        elif shape == 1:
            expression = f'"{a} {b}"'
            keywords.append(f"{a} {b}")
        elif shape == 2:
            expression = f"({a} OR {b}) NOT {c}"
            keywords.append(b)
        elif shape == 3:
            expression = f"{a} AND {b}"
            keywords.append(f"{b} and {a}")
        else:
            expression = f"{a} OR #{b}"
            keywords.append(f"#{b}")
        specs.append({"expression": expression, "hashtags": ["chorus"] if i % 50 == 0 else []})
    return specs, tuple(keywords)


def measure() -> list[dict[str, Any]]:
    import os

    import django
    import libipld

    django.setup()
    from bench import _firehose_frames as frames_mod
    from chorus.accounts.models import Organization, Workspace
    from chorus.core.textsignals import detect_language, sentiment
    from chorus.listening import actions
    from chorus.listening.models import Match, StreamCursor
    from chorus.listening.stream import Enricher, claim, decode_frame, load_matcher, process, store

    count = int(os.environ.get("BENCH_LISTENING_FRAMES", "30000"))
    rng = random.Random(11)
    specs, keywords = _queries(rng)
    org = Organization.objects.create(name="Bench", slug="bench")
    workspaces = [
        Workspace.objects.create(organization=org, name=f"W{i}", slug=f"w{i}", timezone="UTC")
        for i in range(50)
    ]
    for i, spec in enumerate(specs):
        actions.create_query(workspaces[i % 50], actor=None, data={"name": f"Q{i}", **spec})

    started = time.perf_counter()
    frames = list(frames_mod.stream(count, seed=5, keywords=keywords, match_rate=0.05))
    size = sum(len(f) for f in frames)
    log(f"generated {count} frames ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s")

    for f in frames[:2000]:  # warm-up: imports, the language model, caches
        decode_frame(f)
    started, cpu = time.perf_counter(), time.process_time()
    for f in frames:
        decode_frame(f)
    decode_wall = count / (time.perf_counter() - started)
    decode_rate = count / (time.process_time() - cpu)
    log(f"bare decode: {decode_rate:.0f} events per CPU second ({decode_wall:.0f}/s wall clock)")

    # For reference: decoding every frame whole (each commit's CAR too, as a generic firehose
    # client does), where `decode_frame` opens only the CARs of commits that touch posts.
    cpu = time.process_time()
    for f in frames:
        _header, body = libipld.decode_dag_cbor_multi(f)
        if isinstance(body, dict) and body.get("blocks"):
            libipld.decode_car(body["blocks"])
    full_decode_rate = count / (time.process_time() - cpu)
    log(f"whole-frame decode: {full_decode_rate:.0f} events per CPU second")

    matcher = load_matcher("bluesky")
    assert len(matcher) == QUERIES, len(matcher)
    enricher = Enricher()
    StreamCursor.objects.create(source="bench")
    assert claim("bench", "bench") is not None
    # Warm-up: the language model, VADER and the French lexicon load once per process.
    for text, language in (("Hello everyone", "en"), ("Bonjour à tous", "fr")):
        sentiment(text, detect_language(text, ["en", "fr"]) or language)
    profiler = None
    if os.environ.get("BENCH_LISTENING_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, BATCH):
        # Each frame is matched as soon as it is decoded, as the consumer does (stream.Processor).
        batch = process((decode_frame(f) for f in frames[start : start + BATCH]), matcher, enricher)
        store("bench", batch, owner="bench")
    pipeline_wall = count / (time.perf_counter() - started)
    pipeline_rate = count / (time.process_time() - cpu)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_LISTENING_PROFILE"])
    stored = Match.objects.count()
    cursor = StreamCursor.objects.get(source="bench")
    assert cursor.cursor == str(count), cursor.cursor
    log(
        f"decode + match {QUERIES} queries + enrich + store: {pipeline_rate:.0f} events per CPU second"
        f" ({pipeline_wall:.0f}/s wall clock), {stored} matches stored"
    )
    ratio = pipeline_rate / decode_rate
    common = {
        "frames": count,
        "queries": QUERIES,
        "matches_stored": stored,
        "database": "sqlite",
        "batch": BATCH,
        "clock": "process CPU time (bench machines are shared; wall-clock rates as well)",
        "decode_wall_events_per_s": round(decode_wall, 1),
        "pipeline_wall_events_per_s": round(pipeline_wall, 1),
        "whole_frame_decode_events_per_cpu_s": round(full_decode_rate, 1),
        "ratio_vs_whole_frame_decode": round(pipeline_rate / full_decode_rate, 3),
    }
    return [
        {
            "bench": "listening_pipeline_vs_decode",
            "value": round(pipeline_rate, 1),
            "unit": "events/CPU s",
            "baseline": round(decode_rate, 1),
            "ratio": round(ratio, 3),
            "goal": f"ratio >= {GOAL_RATIO} (bare decode of the same frames, same run)",
            "ok": ratio >= GOAL_RATIO,
            **common,
        },
        {
            "bench": "listening_events_per_second",
            "value": round(pipeline_rate, 1),
            "unit": "events/CPU s",
            "baseline": FIREHOSE_PEAK,
            "ratio": round(pipeline_rate / FIREHOSE_PEAK, 2),
            "goal": f">= {GOAL_RATE} events/s on one core (10x the public firehose's 2024 peak)",
            "ok": pipeline_rate >= GOAL_RATE,
            **common,
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
    else:
        for result in run(full=False):
            print(json.dumps(result))
