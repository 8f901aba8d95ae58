"""Helpers of the security suite: a peak-RSS measurement in a fresh subprocess, and small local
HTTP servers on 127.0.0.1 that misbehave on purpose (huge bodies, slow drips)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, os, sys
import django
django.setup()
def _peak_mb():
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
BASELINE = _peak_mb()
def report(**values):
    print("RESULT " + json.dumps({"peak_mb": _peak_mb(), "baseline_mb": BASELINE, **values}))
"""


def measure(script: str, *, timeout: float = 120, env: dict[str, str] | None = None) -> dict:
    """Runs `script` after Django is set up (test settings) in a new Python process; the script
    calls report(...). Returns its values plus the process's peak RSS in MB."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH")])
        ),
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


Body = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def local_server(body: Body) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 whose every GET is answered by `body(handler)`; yields its
    base URL and the list of paths requested."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append(self.path)
            with suppress(BrokenPipeError, ConnectionResetError):
                body(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def huge_page(total: int) -> Body:
    """An HTML page of `total` bytes, sent in 1 MiB pieces without a Content-Length."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Connection", "close")
        handler.end_headers()
        piece = b"<p>" + b"x" * (1024 * 1024 - 3)
        sent = 0
        handler.wfile.write(b"<html><head><title>big</title></head><body>")
        while sent < total:
            handler.wfile.write(piece)
            sent += len(piece)

    return send


def slow_drip(interval: float, stop: threading.Event) -> Body:
    """A page that sends one byte every `interval` seconds, forever (until `stop`)."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"<html><head><title>slow")
        handler.wfile.flush()
        while not stop.is_set():
            time.sleep(interval)
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return send
