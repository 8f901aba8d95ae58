"""Run a peer launcher (peers/*/launch.*) as a child process and speak its small protocol.

The protocol, shared by every launcher under peers/:

* the launcher prints exactly one JSON object on one stdout line when its server is ready, with
  ``"peer": <name>``; everything else it says goes to stderr;
* it shuts its server down and cleans up (databases, temp dirs) when its stdin closes, which also
  happens when the test process dies without tearing down; SIGTERM does the same.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]
STDERR_TAIL_CHARS = 6000


class PeerError(RuntimeError):
    """A peer did not start or did not stop cleanly; the message carries its stderr."""


@dataclass
class PeerProcess:
    name: str
    process: subprocess.Popen[bytes]
    info: dict[str, Any]
    stderr_file: IO[bytes]
    started_in: float
    _extra_stdout: list[str] = field(default_factory=list)

    def stderr_tail(self) -> str:
        return _read_tail(self.stderr_file)

    def stop(self, timeout: float = 60) -> None:
        """Close stdin (the launcher's cue to clean up), wait, then escalate. Raises if it failed."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            try:
                code = self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                raise PeerError(
                    f"{self.name} peer did not stop within {timeout} s after stdin closed; killed it.\n"
                    f"--- stderr (tail) ---\n{self.stderr_tail()}"
                ) from None
            if code != 0:
                raise PeerError(
                    f"{self.name} peer exited with code {code} while stopping "
                    f"(cleanup may be incomplete).\n--- stderr (tail) ---\n{self.stderr_tail()}"
                )
        finally:
            self.stderr_file.close()


def start_peer(
    name: str,
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> PeerProcess:
    """Start `command` and wait at most `timeout` seconds for its ready line."""
    # stderr goes to an unlinked temp file: it never blocks the child and stays readable for errors.
    # It outlives this function: PeerProcess.stop() (or the failure path below) closes it.
    stderr_file = tempfile.TemporaryFile(prefix=f"chorus-peer-{name}-")  # noqa: SIM115
    started = time.monotonic()
    process = subprocess.Popen(
        list(command),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        # Its own session: a Ctrl-C in the terminal reaches pytest, which then tears peers down in
        # order, instead of reaching the launchers directly.
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    extra: list[str] = []

    def pump_stdout() -> None:
        # Keeps draining after the ready line so the child can never block on a full pipe.
        assert process.stdout is not None
        for raw in process.stdout:
            lines.put(raw.decode("utf-8", "replace"))
        lines.put(None)

    threading.Thread(target=pump_stdout, name=f"{name}-peer-stdout", daemon=True).start()

    def fail(reason: str) -> PeerError:
        if process.poll() is None:
            process.kill()
            process.wait()
        message = (
            f"{name} peer {reason}.\ncommand: {' '.join(command)}\n"
            f"--- stdout (non-protocol lines) ---\n{''.join(extra)[-2000:]}\n"
            f"--- stderr (tail) ---\n{_read_tail(stderr_file)}"
        )
        stderr_file.close()
        return PeerError(message)

    deadline = started + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise fail(f"did not report ready within {timeout:.0f} s")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            process.wait()
            raise fail(f"exited with code {process.returncode} before reporting ready")
        info = _parse_ready_line(line, name)
        if info is None:
            extra.append(line)
            continue
        return PeerProcess(
            name=name,
            process=process,
            info=info,
            stderr_file=stderr_file,
            started_in=time.monotonic() - started,
            _extra_stdout=extra,
        )


def _parse_ready_line(line: str, name: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("peer") == name:
        return data
    return None


def _read_tail(file: IO[bytes]) -> str:
    if file.closed:
        return "(stderr already closed)"
    file.flush()
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(max(0, size - STDERR_TAIL_CHARS))
    return file.read().decode("utf-8", "replace")
