"""The worker process of ``blackbox serve``: signals across processes, read-your-writes, lifecycle."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from api.wakeup import PipeSignal
from tests.helpers import envelope, free_port
from tests.test_durability import start_server


def _ring_later(signal_: PipeSignal, delay: float) -> None:
    time.sleep(delay)
    signal_.set()


def test_a_pipe_signal_wakes_another_process_and_clears() -> None:
    ring = PipeSignal()
    assert not ring.is_set() and not ring.wait(0.05)
    child = multiprocessing.get_context("spawn").Process(target=_ring_later, args=(ring, 0.2))
    child.start()
    assert ring.wait(10)  # set in the child, seen here
    child.join()
    ring.clear()
    assert not ring.is_set()


def test_setting_a_full_pipe_never_blocks() -> None:
    ring = PipeSignal()
    for _ in range(200_000):  # far more than a pipe buffer holds
        ring.set()
    assert ring.is_set()
    ring.clear()
    assert not ring.is_set()


def _children(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split() if b"spawn_main" in _cmdline(p)]


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:  # it exited meanwhile
        return b""


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_the_server_analyses_in_a_worker_process_that_follows_it(tmp_path: Path) -> None:
    port = free_port()
    proc = start_server(f"sqlite:///{tmp_path / 'w.db'}", port, tmp_path / "server.log")
    try:
        [worker] = _children(proc.pid)
        base = f"http://127.0.0.1:{port}"
        docs = [envelope(n, session="wp") for n in range(3)]
        assert httpx.post(f"{base}/v1/events", json=docs).status_code == 200
        # Read-your-writes: the worker's projections include what was just acknowledged.
        verdict = httpx.get(f"{base}/v1/sessions/wp/findings").json()
        assert verdict["session_id"] == "wp" and verdict["risk"] >= 0
        os.kill(worker, signal.SIGKILL)  # a crashed worker is started again
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not [c for c in _children(proc.pid) if c != worker]:
            time.sleep(0.1)
        [replacement] = [c for c in _children(proc.pid) if c != worker]
        proc.kill()  # the server dies without a word: its worker notices and exits
        proc.wait()
        assert _gone(replacement)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "leaked" not in (tmp_path / "server.log").read_text()
