"""Alert latency: from the acknowledgement of the event that makes a session alert-worthy to the
signed webhook arriving at a receiver.

    python bench/alerts.py [--sessions 100] [--load 1000] [--db URL] [--output BENCHMARKS.md]

Starts ``blackbox serve`` (SQLite in a temp dir unless ``--db``), registers a webhook pointing at
a local receiver, then streams copies of the Railway incident (fresh session and record ids per
copy) one transcript line per request, as a live hook or watcher would. For each copy: the time
from the ack of the line holding the destructive call to the arrival of the critical alert it
causes (a first or an update). Target: p99 <= 250 ms.

Meanwhile a separate process (its own GIL, like other agents on other machines) ingests
``--load`` other events per second: benign tool calls and results of 50 other sessions, in
requests of 10 events from 4 concurrent clients, paced to the rate. The rate it achieved is
reported beside the latencies; ``--load 0`` measures without it.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analysis import write_section  # noqa: E402
from bench.ingest import Server, start_server  # noqa: E402

INCIDENT = ROOT.parent / "shared" / "data" / "incidents" / "railway-volume-delete"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET = "bench-secret-0123456789"
BEGIN = "<!-- bench/alerts.py: begin (generated) -->"
END = "<!-- bench/alerts.py: end -->"
LOAD_CLIENTS = 4
LOAD_BATCH = 10
ALERT_WAIT_SECONDS = 60  # a session whose alert is later than this counts as never alerted (inf)


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


def serve(db: str, port: int, receiver: Receiver, log: Path) -> Server:
    ensure_free(port)  # else /healthz would be answered by whatever holds it
    env = {**os.environ, "BLACKBOX_WEBHOOK_ALLOW_PRIVATE": "true"}
    # Up to 120 s: a server started beside busy loops is slow to start.
    server = start_server([sys.executable, "-m", "api.cli", "serve", "--db", db, "--port", str(port)],
                          port, log, env=env, seconds=120)
    try:
        hook = {"url": f"http://127.0.0.1:{receiver.server.server_port}/hook", "secret": SECRET}
        httpx.post(f"{server.base}/v1/webhooks", json=hook).raise_for_status()
    except BaseException:
        server.proc.kill()  # never leave a server behind holding the port
        server.proc.wait()
        raise
    return server


def ensure_free(port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use (a server left by an earlier run?): --port")


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes that keep a CPU busy each, at normal priority: the analysis worker
    (idle-scheduled) gets no CPU until the server replaces it with a niced one."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def measure(base: str, receiver: Receiver, sessions: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for session_id, lines, trigger in copies(sessions):
            acked = 0.0
            for n, line in enumerate(lines):
                client.post("/v1/ingest/claude-code", content=line).raise_for_status()
                if n == trigger:
                    acked = time.monotonic()
            deadline = time.monotonic() + ALERT_WAIT_SECONDS
            while session_id not in receiver.arrived and time.monotonic() < deadline:
                time.sleep(0.005)
            latencies.append((receiver.arrived.get(session_id, float("inf")) - acked) * 1000)
    return latencies


def background_events(client: int, start: int, count: int) -> bytes:
    """NDJSON envelopes: benign calls and results of one of 50 load sessions."""
    lines = []
    for n in range(start, start + count):
        session = f"load-{(client * 7919 + n) % 50}"
        call = n % 2 == 0
        lines.append(orjson.dumps({
            "source": "bench-load", "native_id": f"{client}/{n}", "stream": session,
            "session_id": session, "kind": "tool_call" if call else "tool_result",
            "time": "2026-11-27T08:00:00Z", "tool_name": "Bash", "call_id": f"{client}-{n // 2}",
            "tool_input": {"command": f"ls -la src/module_{n % 97}"} if call else None,
            "text": None if call else "total 8\ndrwxr-xr-x 2 dev dev 4096 ."}))
    return b"\n".join(lines)


def load_client(base: str, client: int, rate: float, stop: Any, sent: Any) -> None:
    """Send ``rate`` events/s in batches until ``stop`` is set, on schedule (no catch-up bursts)."""
    interval = LOAD_BATCH / rate
    next_at, n = time.monotonic(), 0
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            http.post("/v1/events", content=background_events(client, n, LOAD_BATCH)).raise_for_status()
            n += LOAD_BATCH
            with sent.get_lock():
                sent.value += LOAD_BATCH
            next_at = max(next_at + interval, time.monotonic() - interval)
            time.sleep(max(0.0, next_at - time.monotonic()))


def load_process(base: str, rate: float, stop: Any, sent: Any) -> None:
    clients = [threading.Thread(target=load_client, args=(base, c, rate / LOAD_CLIENTS, stop, sent))
               for c in range(LOAD_CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()


def measure_under_load(base: str, receiver: Receiver, sessions: int,
                       rate: float) -> tuple[list[float], float]:
    """Latencies, and the background rate actually achieved while they were measured."""
    if rate <= 0:
        return measure(base, receiver, sessions), 0.0
    stop, sent = multiprocessing.Event(), multiprocessing.Value("q", 0)
    loader = multiprocessing.Process(target=load_process, args=(base, rate, stop, sent), daemon=True)
    loader.start()
    time.sleep(2.0)  # let the load reach its rate before measuring
    before, started = sent.value, time.monotonic()
    latencies = measure(base, receiver, sessions)
    achieved = (sent.value - before) / (time.monotonic() - started)
    stop.set()
    loader.join(timeout=30)
    return latencies, achieved


def pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def section(rows: list[tuple[float, float, list[float]]], args: argparse.Namespace,
            load_before: float) -> str:
    db = "PostgreSQL" if args.db else "SQLite"
    busy = (f" {args.busy} busy loop(s) at normal priority ran throughout, started before the "
            "server (the idle-scheduled analysis worker is starved until the server replaces it "
            "with a niced one; the first session's latency includes that)." if args.busy else "")
    command = f"--sessions {args.sessions}" + (f" --busy {args.busy}" if args.busy else "")
    lines = [BEGIN, "## Alert latency", "",
             f"`python bench/alerts.py {command}` against `blackbox serve` ({db}), "
             f"load average before the run {load_before:.2f}: time from the HTTP acknowledgement "
             "of the transcript line holding the destructive call to the signed critical alert arriving "
             "at a loopback webhook receiver. Background load: benign events of 50 other sessions "
             "from a separate process, 4 clients, 10 events per request." + busy, "",
             "| background load asked | achieved | p50 | p99 | max | target |",
             "|---:|---:|---:|---:|---:|---:|"]
    for asked, achieved, latencies in rows:
        lines.append(f"| {asked:,.0f} events/s | {achieved:,.0f} events/s | "
                     f"{statistics.median(latencies):.1f} ms | {pct(latencies, 0.99):.1f} ms | "
                     f"{latencies[-1]:.1f} ms | p99 <= 250 ms |")
    return "\n".join([*lines, END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--load", type=float, action="append",
                        help="background events/s (repeatable; default: 0 and 1000)")
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument("--busy", type=int, default=0,
                        help="busy-loop processes competing for the CPUs (default: 0)")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows, load_before = [], os.getloadavg()[0]
    for rate in args.load or [0.0, 1000.0]:
        receiver = Receiver()
        with tempfile.TemporaryDirectory() as tmp, busy_loops(args.busy):
            server = serve(args.db or f"sqlite:///{tmp}/alerts.db", args.port, receiver,
                           Path(tmp) / "server.log")
            try:
                latencies, achieved = measure_under_load(server.base, receiver, args.sessions, rate)
            finally:
                server.proc.terminate()
                server.proc.wait()
        rows.append((rate, achieved, sorted(latencies)))
    text = section(rows, args, load_before)
    print(text)
    if args.output:
        write_section(args.output, text, BEGIN, END)


if __name__ == "__main__":
    main()
