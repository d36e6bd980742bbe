"""Analyzer speed: per-event cost of live (incremental) analysis, and rebuild throughput.

    python bench/analysis.py [--events 1000000] [--session 5000] [--output BENCHMARKS.md]

1. Incremental: one session of ``--session`` events (the real benign transcripts' events, with
   the Railway incident spliced in near the end so rules and correlation have work to do), fed to
   the analyzer one event at a time; per-event latency p50 / p99 / max. Target: p99 <= 2 ms.
2. Rebuild: a SQLite log of ``--events`` events (real Claude Code sessions, the incidents and
   the CloudTrail records, copied with fresh ids until the count is reached), then
   ``Projector.rebuild()`` — read the log, analyse, write the projections — timed end to end.
   Target: >= 20,000 events/s.
The run writes its section of BENCHMARKS.md (between this script's markers) when ``--output`` is
given, and always prints it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.engine import Analyzer  # noqa: E402
from analyzer.projector import Projector  # noqa: E402
from analyzer.store import FindingStore  # noqa: E402
from ingest.envelope import Event, event_id  # noqa: E402
from ingest.log import open_log  # noqa: E402
from ingest.pipeline import Preparer  # noqa: E402
from ingest.redact import Redactor  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BEGIN = "<!-- bench/analysis.py: begin (generated) -->"
END = "<!-- bench/analysis.py: end -->"


def load(path: Path) -> list[Event]:
    preparer = Preparer(Redactor(b"bench-key"), max_depth=64, chunk_size=5000)
    _fmt, chunks = preparer.prepare(path.read_bytes(), "auto", origin=str(path))
    return [encoded.event for chunk in chunks for encoded in chunk.encoded]


def real_events() -> tuple[list[list[Event]], list[Event]]:
    """(agent sessions as event lists, cloud events) from the shared data."""
    agent: dict[str, list[Event]] = {}
    files = sorted((SHARED / "claude-code").rglob("*.jsonl")) + sorted(
        (SHARED / "incidents").rglob("transcript.jsonl"))
    for path in files:
        for event in load(path):
            agent.setdefault(event.session_id or "?", []).append(event)
    cloud = [e for path in sorted((SHARED / "incidents").rglob("railway-audit.json")) for e in load(path)]
    cloud += [e for path in sorted((SHARED / "cloudtrail" / "stratus-red-team").glob("*.json"))
              for e in load(path)]
    return list(agent.values()), cloud


def copy_of(event: Event, tag: str, session: str | None) -> Event:
    native = f"{event.native_id}#{tag}"
    return replace(event, id=event_id(event.source, native), native_id=native, session_id=session,
                   stream=session or f"{event.stream}#{tag}")


def long_session(sessions: list[list[Event]], size: int) -> list[Event]:
    incident = next(s for s in sessions if any("volumeDelete" in str(e.tool_input) for e in s))
    pool = [e for s in sessions if s is not incident for e in s]
    body = [copy_of(e, f"long{n}", "bench-long") for n, e in enumerate(pool * (size // len(pool) + 1))]
    body = body[: size - len(incident)]
    return body + [copy_of(e, "long", "bench-long") for e in incident]


def incremental(sessions: list[list[Event]], cloud: list[Event], size: int) -> dict[str, float]:
    events = long_session(sessions, size)
    analyzer = Analyzer()
    timings = []
    for event in events:
        started = time.perf_counter()
        analyzer.feed(event)
        timings.append((time.perf_counter() - started) * 1000)
    for event in cloud[:6]:  # the incident's Railway records, late: correlation and re-scoring
        started = time.perf_counter()
        analyzer.feed(copy_of(event, "long", None))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    findings = analyzer.findings("bench-long")
    return {"events": len(timings), "p50": statistics.median(timings),
            "p99": timings[int(len(timings) * 0.99) - 1], "max": timings[-1],
            "findings": len(findings), "critical": sum(f.severity.label == "critical" for f in findings)}


def build_log(url: str, sessions: list[list[Event]], cloud: list[Event], total: int) -> int:
    log = open_log(url)
    written, copy = 0, 0
    batch: list[Event] = []
    try:
        while written < total:
            for session in sessions:
                tag = f"c{copy}"
                sid = f"{session[0].session_id}#{tag}"
                batch.extend(copy_of(e, tag, sid) for e in session)
            batch.extend(copy_of(e, f"c{copy}", None) for e in cloud)
            batch = batch[: total - written]
            for start in range(0, len(batch), 20_000):
                log.append(batch[start:start + 20_000])
            written += len(batch)
            batch, copy = [], copy + 1
        return written
    finally:
        log.close()


def rebuild(url: str) -> dict[str, float]:
    log, store = open_log(url), FindingStore(url)
    try:
        started = time.perf_counter()
        count = Projector(log, store).rebuild()
        elapsed = time.perf_counter() - started
        flagged = sum(s.flagged for s in store.sessions())
        return {"events": count, "seconds": elapsed, "rate": count / elapsed, "flagged": flagged}
    finally:
        log.close()
        store.close()


def section(inc: dict[str, float], reb: dict[str, float]) -> str:
    return "\n".join([
        BEGIN, "## Analyzer", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"Python {platform.python_version()} (`python bench/analysis.py`).", "",
        "| measure | result | target |", "|---|---:|---:|",
        f"| live analysis, per event, session of {inc['events']:,.0f} events: p50 | {inc['p50']:.3f} ms | |",
        f"| live analysis, per event: p99 | {inc['p99']:.3f} ms | <= 2 ms |",
        f"| live analysis, per event: max | {inc['max']:.3f} ms | |",
        f"| rebuild of {reb['events']:,.0f} events (SQLite read + analyse + write projections) "
        f"| {reb['rate']:,.0f} events/s ({reb['seconds']:.1f} s) | >= 20,000 events/s |", "",
        f"The long session ends with the Railway incident: {inc['findings']:.0f} findings, "
        f"{inc['critical']:.0f} critical. The rebuild flagged {reb['flagged']:.0f} sessions "
        "(every copy of the incident).", END])


def write_section(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace this script's section of BENCHMARKS.md (between its markers), or append it."""
    current = path.read_text() if path.exists() else ""
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + text + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + text + "\n"
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--session", type=int, default=5000)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sessions, cloud = real_events()
    inc = incremental(sessions, cloud, args.session)
    print(f"incremental: {inc}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        built = build_log(url, sessions, cloud, args.events)
        print(f"log built: {built} events", flush=True)
        reb = rebuild(url)
    print(f"rebuild: {reb}", flush=True)
    text = section(inc, reb)
    print(text)
    if args.output:
        write_section(args.output, text)


if __name__ == "__main__":
    main()
