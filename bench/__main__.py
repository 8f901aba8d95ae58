"""The benchmark runner: `python -m bench [--quick|--full] [names...]`.

Every module of this package whose name does not start with an underscore and that defines
`run(full: bool) -> list[dict]` is a benchmark. Each result is printed as one JSON line on
stdout, with at least the keys of `COMMON_KEYS` (missing ones are null). A benchmark that
misses its goal says `"ok": false`; only a benchmark that crashes makes the exit status non-zero.
Progress and diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
COMMON_KEYS = ("bench", "value", "unit", "baseline", "ratio", "goal", "ok")


def discover() -> dict[str, Any]:
    found = {}
    for info in pkgutil.iter_modules([str(BENCH_DIR)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            found[info.name] = module
    return found


def emit(result: dict[str, Any]) -> None:
    line = {key: result.get(key) for key in COMMON_KEYS}
    line.update(result)
    print(json.dumps(line, default=str), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick sizes (default)")
    size.add_argument("--full", action="store_true", help="full sizes")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)

    benchmarks = discover()
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(sorted(benchmarks))}")
    crashed = []
    for name in args.names or sorted(benchmarks):
        started = time.monotonic()
        print(f"bench: {name} ({'full' if args.full else 'quick'})", file=sys.stderr, flush=True)
        try:
            results = benchmarks[name].run(args.full)
        except Exception as exc:
            traceback.print_exc()
            crashed.append(name)
            emit({"bench": name, "ok": False, "crashed": f"{type(exc).__name__}: {exc}"})
            continue
        for result in results:
            emit({"bench": name, **result})
        print(f"bench: {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    if crashed:
        print(f"bench: crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
