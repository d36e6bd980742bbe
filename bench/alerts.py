"""Alert latency: from the acknowledgement of the event that makes a session alert-worthy to the
signed webhook arriving at a receiver.

    python bench/alerts.py [--sessions 100] [--db URL]

Starts ``blackbox serve`` (SQLite in a temp dir unless ``--db``), registers a webhook pointing at
a local receiver, then streams copies of the Railway incident (fresh session and record ids per
copy) one transcript line per request, as a live hook or watcher would. For each copy: the time
from the ack of the line holding the destructive call to the arrival of the critical alert it
causes (a first or an update). Target: p99 <= 250 ms.
Prints the result; writes nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INCIDENT = ROOT.parent / "shared" / "data" / "incidents" / "railway-volume-delete"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET = "bench-secret-0123456789"


class Receiver:
    """Records when each session's first critical alert arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                alert = orjson.loads(self.rfile.read(int(self.headers["content-length"])))
                if alert["severity"] == "critical":
                    receiver.arrived.setdefault(alert["session_id"], time.monotonic())
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def copies(count: int) -> list[tuple[str, list[bytes], int]]:
    """(session id, lines, index of the destructive call's line) per copy of the incident."""
    lines = (INCIDENT / "transcript.jsonl").read_bytes().splitlines()
    label = orjson.loads((INCIDENT / "label.json").read_bytes())
    trigger = next(n for n, line in enumerate(lines)
                   if label["destructive_tool_use_id"].encode() in line and b'"tool_use"' in line)
    made = []
    for _ in range(count):
        fresh: dict[bytes, bytes] = {}

        def swap(match: re.Match[bytes], fresh: dict[bytes, bytes] = fresh) -> bytes:
            return fresh.setdefault(match.group(0), str(uuid.uuid4()).encode())

        rewritten = [UUID.sub(swap, line) for line in lines]
        made.append((fresh[label["session_id"].encode()].decode(), rewritten, trigger))
    return made


def serve(db: str, port: int, receiver: Receiver) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BLACKBOX_WEBHOOK_ALLOW_PRIVATE": "true"}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", db, "--port", str(port)],
                            cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    hook = {"url": f"http://127.0.0.1:{receiver.server.server_port}/hook", "secret": SECRET}
    httpx.post(f"http://127.0.0.1:{port}/v1/webhooks", json=hook).raise_for_status()
    return proc


def measure(base: str, receiver: Receiver, sessions: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for session_id, lines, trigger in copies(sessions):
            acked = 0.0
            for n, line in enumerate(lines):
                client.post("/v1/ingest/claude-code", content=line).raise_for_status()
                if n == trigger:
                    acked = time.monotonic()
            deadline = time.monotonic() + 10
            while session_id not in receiver.arrived and time.monotonic() < deadline:
                time.sleep(0.005)
            latencies.append((receiver.arrived.get(session_id, float("inf")) - acked) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--port", type=int, default=8792)
    args = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        proc = serve(args.db or f"sqlite:///{tmp}/alerts.db", args.port, receiver)
        try:
            latencies = sorted(measure(f"http://127.0.0.1:{args.port}", receiver, args.sessions))
        finally:
            proc.terminate()
            proc.wait()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"alert receipt after the triggering ack, {len(latencies)} sessions: "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms "
          f"(negative: the alert arrived before the ack reached the client)")


if __name__ == "__main__":
    main()
