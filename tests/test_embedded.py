"""`chorus run`'s one process: a role thread that dies is reported, SIGINT/SIGTERM stop the others
(the end-to-end start, sign-in and health are in test_cli.py)."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest

from chorus.core import embedded


def _blocking_role(name: str) -> tuple[embedded.Role, threading.Event]:
    stopped = threading.Event()
    return embedded.Role(name, lambda: stopped.wait(30), stopped.set), stopped


def _failing_role(name: str) -> embedded.Role:
    def boom() -> None:
        raise RuntimeError(f"{name} broke")

    return embedded.Role(name, boom, lambda: None)


def test_it_reports_a_dead_role_and_stops_the_others_on_sigterm(capsys: pytest.CaptureFixture[str]):
    before = signal.getsignal(signal.SIGTERM)
    scheduler, scheduler_stopped = _blocking_role("scheduler")
    announced = threading.Event()

    def terminate_once_reported() -> None:
        announced.wait(10)
        # Long enough for the supervising loop (every 0.5 s) to see the dead worker.
        threading.Event().wait(1.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_reported, daemon=True).start()
    code = embedded.run([_failing_role("worker"), scheduler], announced.set)

    assert code == 0
    assert scheduler_stopped.is_set() and not scheduler.thread.is_alive()
    err = capsys.readouterr().err
    assert "chorus run: the worker stopped:" in err and "RuntimeError: worker broke" in err
    assert "the scheduler stopped" not in err
    assert signal.getsignal(signal.SIGTERM) is before


def test_it_exits_1_when_every_role_died(capsys: pytest.CaptureFixture[str]):
    assert embedded.run([_failing_role("web"), _failing_role("worker")], lambda: None) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: web broke" in err and "RuntimeError: worker broke" in err


def test_the_web_role_fails_at_once_on_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            embedded.web_role(f"127.0.0.1:{taken.getsockname()[1]}", threads=2)


def test_the_web_role_queues_a_burst_of_new_connections_instead_of_dropping_them():
    """A burst of connections arriving before the server accepts them waits in the kernel's
    accept queue: its length is the listen backlog. cheroot's default of 5 made a burst of 50 API
    clients lose connections (reset; bench/load). Here the server is bound but not yet serving:
    every one of 200 connections must still complete its handshake."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    role = embedded.web_role(f"127.0.0.1:{port}", threads=2)
    clients = [socket.socket() for _ in range(200)]
    try:
        for client in clients:
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        connected = 0
        for client in clients:
            client.settimeout(2.0)
            try:
                client.getpeername()  # raises while the handshake has not completed
            except OSError:
                import select

                _, writable, _ = select.select([], [client], [], 2.0)
                if writable and client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected += 1
            else:
                connected += 1
        assert connected == len(clients), f"{len(clients) - connected} of {len(clients)} connections dropped"
    finally:
        for client in clients:
            client.close()
        role.stop()
