"""Pre-flight guard latency against a real ``blackbox serve``.

    python bench/guard.py [--calls 400] [--output BENCHMARKS.md]

A session of 1,000 events (a real Claude Code transcript's events, re-keyed) is loaded first;
then ``--calls`` proposals go to ``POST /v1/guard`` one after another, cycling through harmless,
destructive-but-checked and destructive-on-a-guess calls. Each answer is a durable append of the
proposal (SQLite, ``synchronous=FULL``), a catch-up of the analyzer, the rules and the policy.
Reported: end-to-end latency p50 / p99 seen by the client (target p99 <= 10 ms), and the
in-process decision cost alone (analysis + judgement, no HTTP and no append).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analysis import load, write_section  # noqa: E402
from ingest.envelope import Event, event_id  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SESSION = "bench-guard"
BEGIN = "<!-- bench/guard.py: begin (generated) -->"
END = "<!-- bench/guard.py: end -->"
VOLUME = "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"
PROPOSALS = (
    {"command": "ls -la src"},
    {"command": "git status"},
    {"command": "rm -rf ./build"},
    {"command": "kubectl delete pod web-1 --context staging"},
    {"command": "curl -s -X POST https://backboard.railway.com/graphql/v2 -d "
                f"'{{\"query\": \"mutation {{ volumeDelete(volumeId: \\\"{VOLUME}\\\") }}\"}}'"},
)


def session_events(size: int) -> list[bytes]:
    transcript = max((SHARED / "claude-code").glob("*.jsonl"), key=lambda p: p.stat().st_size)
    events = [e for e in load(transcript) if e.session_id][:size - 1]
    guess = replace(events[-1], kind=events[-1].kind.AGENT_REASONING, tool_name=None, call_id=None,
                    text=f"That must be the staging volume ({VOLUME}). Deleting it should be safe.")
    rekeyed = [_rekey(e, n) for n, e in enumerate([*events, guess])]
    return [orjson.dumps(e.to_document()) for e in rekeyed]


def _rekey(event: Event, n: int) -> Event:
    native = f"guard-bench/{n}"
    return replace(event, id=event_id(event.source, native), native_id=native, session_id=SESSION,
                   stream=SESSION, call_id=f"{event.call_id}-{n}" if event.call_id else None)


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", f"sqlite:///{db}",
                             "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def measure(base: str, calls: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(calls):
            body = {"session_id": SESSION, "tool": "Bash", "input": PROPOSALS[n % len(PROPOSALS)]}
            started = time.perf_counter()
            answer = client.post("/v1/guard", json=body)
            timings.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return timings


def decision_only(db: Path, calls: int) -> list[float]:
    from analyzer.guard import GuardPolicy, judge
    from analyzer.projector import Projector
    from analyzer.store import FindingStore
    from ingest.log import open_log

    log, store = open_log(f"sqlite:///{db}"), FindingStore(f"sqlite:///{db}")
    projector = Projector(log, store)
    projector.rebuild()  # the projections are current, so only a rebuild warms the analyzer
    session = projector.analyzer.sessions[SESSION][0]
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        call = session.last_call
        assert call is not None
        report = projector.analyzer.report(SESSION)
        judge(call, projector.analyzer.anchored(SESSION, call.event_id), report.risk if report else 0,
              GuardPolicy(), verified=False)
        timings.append((time.perf_counter() - started) * 1000)
    log.close()
    store.close()
    return timings


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "guard.db"
        proc = serve(db, args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            body = b"\n".join(session_events(1000))
            httpx.post(f"{base}/v1/events", content=body, timeout=60).raise_for_status()
            measure(base, 20)  # warm: the analyzer catches up on the session once
            http = measure(base, args.calls)
        finally:
            proc.terminate()
            proc.wait()
        local = decision_only(db, 200)
    text = "\n".join([
        BEGIN, "## Pre-flight guard", "",
        f"`python bench/guard.py`: {args.calls} sequential `POST /v1/guard` calls against `blackbox serve` "
        "(SQLite), on a session of 1,000 events.", "",
        "| measure | p50 | p99 | target |", "|---|---:|---:|---:|",
        f"| guard answer over HTTP (durable append of the proposal + analysis + policy) "
        f"| {statistics.median(http):.2f} ms | {pct(http, 0.99):.2f} ms | p99 <= 10 ms |",
        f"| decision alone (in process: report + rules' findings + policy) "
        f"| {statistics.median(local):.3f} ms | {pct(local, 0.99):.3f} ms | |", END])
    print(text)
    if args.output:
        write_section(args.output, text, BEGIN, END)


if __name__ == "__main__":
    main()
