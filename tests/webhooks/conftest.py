"""A real HTTP receiver on 127.0.0.1 and a way to run the task engine's queued work."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core.management import call_command

from tests.publishing.conftest import sink_channel  # noqa: F401 (a fixture, shared)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    """Answers 500 to the first `fail_first` requests, then 204."""

    url: str
    fail_first: int = 0
    answer: bytes = b""  # the body of an accepting answer (then 200, not 204)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.answered < 300]


@pytest.fixture
def receiver(settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                code = 500 if len(state.requests) < state.fail_first else 200 if state.answer else 204
                state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, code))
            answer = state.answer if code == 200 else b""
            self.send_response(code)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading once it has what it keeps
                self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_tasks():
    """Runs every ready task of the default queue with the real database task engine."""

    def run() -> None:
        # The worker closes "old" connections between tasks; inside a test's transaction that
        # would close the test's own connection, so that one step is left out here.
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            call_command("db_worker", queue_name="default", batch=True, startup_delay=False, verbosity=0)

    return run
