"""Acknowledged means durable: SIGKILL the server mid-ingest, then every acked event is there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from ingest.log import EventLog, Recorded, open_log
from tests.helpers import envelope, free_port

pytestmark = pytest.mark.slow


def start_server(db: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as server_log:  # the child keeps its own handle
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", db,
                                 "--port", str(port)], stderr=server_log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError(f"server did not start: {log_path.read_text()!r}")


def client_loop(port: int, worker: int, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        n = worker * 1_000_000  # native ids unique across workers: nothing dedupes
        while not stop.is_set():
            docs = [envelope(n + i, session=f"w{worker % 4}") for i in range(3)]
            try:
                response = client.post("/v1/events", content=orjson.dumps(docs))
            except httpx.TransportError:
                return  # the server is gone: nothing more was acknowledged
            if response.status_code == 200:
                acked.extend(doc["native_id"] for doc in docs)
            n += 3


def test_sigkill_mid_ingest_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db, port = f"sqlite:///{tmp_path / 'crash.db'}", free_port()
    server = start_server(db, port, tmp_path / "server.log")
    acked: list[str] = []
    stop = threading.Event()
    workers = [threading.Thread(target=client_loop, args=(port, w, acked, stop)) for w in range(16)]
    for thread in workers:
        thread.start()
    time.sleep(2.0)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    stop.set()
    for thread in workers:
        thread.join()
    assert len(acked) > 100, "the server acknowledged too little to prove anything"

    log = open_log(db)
    try:
        stored = {r.event.native_id for r in _all(log)}
        missing = [native_id for native_id in acked if native_id not in stored]
        assert missing == [], f"{len(missing)} acknowledged events lost"
        report = log.verify()
        assert report.ok, report.breaks
    finally:
        log.close()
    restarted = start_server(db, port, tmp_path / "server.log")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/v1/sessions").status_code == 200
    finally:
        restarted.terminate()
        restarted.wait()


def _all(log: EventLog) -> list[Recorded]:
    out: list[Recorded] = []
    after = 0
    while batch := log.read_all(after_position=after, limit=5000):
        out.extend(batch)
        after = batch[-1].position
    return out
