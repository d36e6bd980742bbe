"""Post-mortem report speed: one session of 10,000 events, from the log to the finished file.

    python bench/report.py [--session 10000] [--others 40000] [--runs 5] [--output BENCHMARKS.md]

The session is the real benign transcripts' events copied with fresh ids until ``--session`` is
reached, with the Railway incident (transcript and its six audit records) at its end, in a
SQLite log whose projections are current and which also holds ``--others`` events of other
sessions (so the log is larger than the session, as in life). Each run does what ``blackbox
report`` does in a fresh process: read the session and its linked cloud records (the links are a
projection: nothing else of the log is replayed), replay the session (history, risk curve, guard
answers), verify its streams' chains, build the model and render it — HTML (plotly.js inlined)
and Markdown timed separately. Target: under 2 s each. The PNG export (kaleido driving Chromium)
is timed apart: it starts a browser, and is only made for a Markdown file written to disk.
The run writes its section of BENCHMARKS.md (between this script's markers) when ``--output`` is
given, and always prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.history import session_history  # noqa: E402
from analyzer.projector import Projector  # noqa: E402
from analyzer.store import FindingStore  # noqa: E402
from bench.analysis import copy_of, long_session, real_events, write_section  # noqa: E402
from dashboards.report import Format, post_mortem, render  # noqa: E402
from dashboards.report.figure import figure_png  # noqa: E402
from ingest.log import open_log  # noqa: E402

BEGIN = "<!-- bench/report.py: begin (generated) -->"
END = "<!-- bench/report.py: end -->"
SESSION = "bench-long"


def build_log(url: str, size: int, others: int) -> int:
    sessions, cloud = real_events()
    events = long_session(sessions, size)
    events += [copy_of(e, "long", None) for e in cloud[:6]]  # the incident's Railway records
    pool = [e for s in sessions for e in s]
    events += [copy_of(e, f"other{n}", f"other-{n // 2000}")
               for n, e in enumerate((pool * (others // len(pool) + 1))[:others])]
    log, store = open_log(url), FindingStore(url)
    try:
        for start in range(0, len(events), 5000):
            log.append(events[start:start + 5000])
        Projector(log, store).catch_up()  # projections current, as after a running server
        return len(events) - others
    finally:
        log.close()
        store.close()


Work = Callable[[Projector], object]


def cold(url: str, work: Work) -> float:
    """Seconds for ``work`` as a fresh ``blackbox report`` process does it: a new log handle and a
    new projector over current projections (its analyzer is never fed: links come from them)."""
    log, store = open_log(url), FindingStore(url)
    try:
        started = time.perf_counter()
        projector = Projector(log, store)
        projector.catch_up()
        work(projector)
        return time.perf_counter() - started
    finally:
        log.close()
        store.close()


def warm(projector: Projector, work: Work) -> float:
    """Seconds for ``work`` in a running server, whose projector has long been warm."""
    started = time.perf_counter()
    projector.catch_up()
    work(projector)
    return time.perf_counter() - started


def report(fmt: Format) -> Work:
    return lambda projector: render(post_mortem(projector.log, projector, SESSION), fmt)


def measure(url: str, runs: int) -> dict[str, list[float]]:
    history: Work = lambda projector: session_history(projector.log, projector, SESSION)  # noqa: E731
    times = {f"cold {fmt}": [cold(url, report(fmt)) for _ in range(runs)] for fmt in Format}
    log, store = open_log(url), FindingStore(url)
    try:
        server = Projector(log, store)
        session_history(log, server, SESSION)  # the first read fills the page cache
        times["warm history"] = [warm(server, history) for _ in range(runs)]
        times |= {f"warm {fmt}": [warm(server, report(fmt)) for _ in range(runs)] for fmt in Format}
    finally:
        log.close()
        store.close()
    return times


def command(url: str, runs: int, tmp: Path) -> dict[str, list[float]]:
    """Whole commands, process start included: the report, and ``blackbox sessions`` as the
    baseline every command pays (interpreter, imports, opening the services)."""
    def wall(*args: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", *args, "--db", url], cwd=ROOT, check=True,
                       capture_output=True)
        return time.perf_counter() - started

    out = str(tmp / "report.html")
    return {"process sessions": [wall("sessions") for _ in range(runs)],
            "process html": [wall("report", SESSION, "-o", out) for _ in range(runs)]}


def facts(url: str) -> dict[str, object]:
    log, store = open_log(url), FindingStore(url)
    try:
        projector = Projector(log, store)
        pm = post_mortem(log, projector, SESSION)
        html = render(pm, Format.HTML).content
        md = render(pm, Format.MD, png_name="x.png", exporter=lambda _pm: figure_png(_pm.figure))
        started = time.perf_counter()
        png = figure_png(pm.figure)
        return {"events": pm.chain.events, "findings": len(pm.findings), "rows": len(pm.timeline),
                "curve": len(pm.figure.curve), "html_bytes": len(html), "md_bytes": len(md.content),
                "png": f"{time.perf_counter() - started:.2f} s" if png.data else f"not made: {png.reason}"}
    finally:
        log.close()
        store.close()


def section(size: int, others: int, times: dict[str, list[float]], found: dict[str, object],
            load: float) -> str:
    def row(name: str, label: str, target: str) -> str:
        values = sorted(times[name])
        return f"| {label} | {statistics.median(values):.3f} s | {values[-1]:.3f} s | {target} |"

    return "\n".join([
        BEGIN, "## Post-mortem report", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"Python {platform.python_version()} (`python bench/report.py`): a session of {size:,} events "
        f"(benign transcripts copied, the Railway incident at its end) in a SQLite log that also "
        f"holds {others:,} events of other sessions, "
        f"{len(times['cold html'])} runs each; load average before the run {load:.2f} "
        "(2 cores).", "",
        "| measure | median | max | target |", "|---|---:|---:|---:|",
        row("cold html", "report work of a fresh process: HTML, plotly.js inline", "< 2 s"),
        row("cold md", "report work of a fresh process: Markdown, no figure", "< 2 s"),
        row("process html", "the whole `blackbox report -o x.html` command, process start included", ""),
        row("process sessions", "baseline: the whole `blackbox sessions` command", ""),
        row("warm history", "server (open log): session history alone (read, replay, guard)", ""),
        row("warm html", "server (open log): `GET /v1/sessions/{id}/report` work, HTML", "< 2 s"),
        row("warm md", "server (open log): same, Markdown", "< 2 s"), "",
        "Neither replays the log: the links between the session's calls and cloud records are read "
        "from the analysis projections, so the cost follows the session, not the log. The whole "
        "command also pays the CLI's start-up (interpreter, imports, opening the services), which "
        "`blackbox sessions` shows.", "",
        f"The report: {found['findings']} findings, {found['rows']} timeline rows, a risk curve of "
        f"{found['curve']} points (decimated from {found['events']:,} chain-checked events), "
        f"HTML {found['html_bytes']:,} bytes (plotly.js is most of it), Markdown {found['md_bytes']:,} "
        f"bytes. PNG export of the figure, timed apart: {found['png']}.", END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--session", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=40_000, help="events of other sessions")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'report.db'}"
        size = build_log(url, args.session, args.others)
        times = measure(url, args.runs) | command(url, args.runs, Path(tmp))
        text = section(size, args.others, times, facts(url), load)
    print(text)
    if args.output:
        write_section(args.output, text, BEGIN, END)


if __name__ == "__main__":
    main()
