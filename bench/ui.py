"""Web UI benchmark: a 10,000-event session in a real browser against a real ``blackbox serve``.

    python bench/ui.py [--events 10000] [--runs 5] [--output BENCHMARKS.md]

Measures, on SQLite:
- the timeline JSON of the long session: cold (the session is replayed through a fresh analyzer
  for its risk curve) and warm (cached), with the answer's size and how many events it carries;
- a zoomed window of it (server-side windowing);
- Chromium (Debian's, headless, through Playwright): page load until the timeline is drawn, and
  the redraw after a zoom;
- live updates: an event posted to the running session until the open page shows it, and a new
  session until the open sessions list shows it.

Writes its section of BENCHMARKS.md (between this script's markers) when ``--output`` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.analysis import write_section  # noqa: E402
from tests.helpers import free_port  # noqa: E402

BEGIN = "<!-- bench/ui.py: begin (generated) -->"
END = "<!-- bench/ui.py: end -->"
SESSION = "bench-ui-long"
ZOOMED = "document.getElementById('window-note').innerText.startsWith('301 ')"
KINDS = ("user_message", "agent_reasoning", "tool_call", "tool_result", "agent_message")


def event(n: int, session: str = SESSION) -> dict[str, Any]:
    """A varied session: reasoning, calls (every 500th destructive), results (some failing)."""
    kind = KINDS[0] if n % 400 == 0 else KINDS[1 + n % 4]
    doc: dict[str, Any] = {"source": "bench-agent", "native_id": f"{session}/{n}", "stream": session,
                           "session_id": session, "kind": kind,
                           "time": f"2026-05-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"}
    if kind == "tool_call":
        command = f"rm -rf build/out-{n}" if n % 500 == 2 else f"grep -n todo src/file_{n}.py"
        doc.update(tool_name="Bash", call_id=f"c{n}", tool_input={"command": command})
    elif kind == "tool_result":
        doc.update(tool_name="Bash", call_id=f"c{n - 1}", text=f"line {n}", is_error=n % 97 == 0)
    else:
        doc["text"] = f"step {n}: checking the next file"
    return doc


@contextmanager
def server(db: str) -> Iterator[str]:
    base = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "api.cli", "serve", "--db", db, "--port", base.rsplit(":", 1)[1]]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, stderr=log)
        try:
            wait_healthy(base)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def wait_healthy(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def load(client: httpx.Client, events: int) -> None:
    for start in range(0, events, 2000):
        docs = [event(n) for n in range(start, min(events, start + 2000))]
        assert client.post("/v1/events", content=orjson.dumps(docs)).status_code == 200
    deadline = time.monotonic() + 120
    while client.get(f"/v1/sessions/{SESSION}/findings").status_code != 200:
        assert time.monotonic() < deadline, "analysis never caught up"
        time.sleep(0.2)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def json_figures(client: httpx.Client, runs: int) -> dict[str, Any]:
    url = f"/v1/sessions/{SESSION}/timeline"
    cold, answer = timed(lambda: client.get(url))
    warm = [timed(lambda: client.get(url))[0] for _ in range(runs)]
    window = [timed(lambda: client.get(url, params={"start": "2026-05-01T00:10:00",
                                                    "end": "2026-05-01T00:20:00"}))[0] for _ in range(runs)]
    doc = answer.json()
    return {"cold": cold, "warm": statistics.median(warm), "window": statistics.median(window),
            "bytes": len(answer.content), "shown": doc["window"]["shown"], "total": doc["window"]["total"]}


def drawn_points(page: Page) -> int:
    count: int = page.evaluate("document.getElementById('timeline').data.filter(t => t.type === 'scattergl')"
                               ".reduce((n, t) => n + t.x.length, 0)")
    return count


def browser_figures(base: str, client: httpx.Client, runs: int) -> dict[str, Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        loads = []
        for _ in range(runs):
            ms, _ = timed(lambda: (page.goto(f"{base}/sessions/{SESSION}"),
                                   page.wait_for_selector("body[data-loaded=true]")))
            loads.append(ms)
        points = drawn_points(page)
        zooms = []
        for minute in range(runs):
            start = f"2026-05-01 01:{minute * 10:02d}:00"
            end = f"2026-05-01 01:{minute * 10 + 5:02d}:00"
            ms, _ = timed(lambda s=start, e=end: (
                page.evaluate(f"Plotly.relayout('timeline', {{'xaxis.range': ['{s}', '{e}']}})"),
                page.wait_for_function(ZOOMED)))
            zooms.append(ms)
        live = live_updates(page, base, client, runs)
        listed = list_updates(page, base, client, runs)
        browser.close()
    return {"load": statistics.median(loads), "load_max": max(loads), "points": points,
            "zoom": statistics.median(zooms), "live": statistics.median(live), "live_max": max(live),
            "listed": statistics.median(listed)}


def live_updates(page: Page, base: str, client: httpx.Client, runs: int) -> list[float]:
    """Post one event to the long session; time until the open timeline shows it."""
    page.goto(f"{base}/sessions/{SESSION}")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_function("document.getElementById('live').textContent.includes('live')")
    times = []
    for n in range(runs):
        before = int(page.evaluate("document.body.dataset.position"))
        started = time.perf_counter()
        doc = event(1_000_004 + n * 4)  # a reasoning event, after the session's end
        assert client.post("/v1/events", content=orjson.dumps([doc])).status_code == 200
        page.wait_for_function(f"Number(document.body.dataset.position) > {before}", timeout=60_000)
        times.append((time.perf_counter() - started) * 1000)
    return times


def list_updates(page: Page, base: str, client: httpx.Client, runs: int) -> list[float]:
    """Post a new session's first event; time until the open sessions list shows it."""
    page.goto(base + "/")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_function("document.getElementById('live').textContent.includes('live')")
    times = []
    for n in range(runs):
        started = time.perf_counter()
        doc = event(1, session=f"bench-new-{n}")
        assert client.post("/v1/events", content=orjson.dumps([doc])).status_code == 200
        page.wait_for_selector(f"#rows tr[data-session-id='bench-new-{n}']", timeout=60_000)
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(events: int, runs: int, api: dict[str, Any], ui: dict[str, Any], load_average: float) -> str:
    return "\n".join([
        BEGIN,
        "## Web UI",
        "",
        f"`python bench/ui.py --events {events:,} --runs {runs}`: a real `blackbox serve` (SQLite) "
        f"holding one session of {api['total']:,} events, Debian's Chromium headless through Playwright, "
        "2 cores. "
        f"Medians of the runs; load average before the run {load_average:.2f}.",
        "",
        "| measure | result |",
        "|---|---:|",
        "| timeline JSON, cold (replay of the session for the risk curve + markers) | "
        f"{api['cold']:,.0f} ms |",
        f"| timeline JSON, cached | {api['warm']:,.1f} ms |",
        "| timeline JSON size / events in it (whole session, budget 2,000) | "
        f"{api['bytes'] / 1024:,.0f} KiB / {api['shown']:,} of {api['total']:,} |",
        f"| zoomed window JSON (10 min = 601 events) | {api['window']:,.1f} ms |",
        f"| page load until the timeline is drawn | {ui['load']:,.0f} ms (first, with the cold replay: "
        f"{ui['load_max']:,.0f} ms) |",
        f"| WebGL points drawn for the whole session | {ui['points']:,} |",
        f"| redraw after a zoom (server window + plotly) | {ui['zoom']:,.0f} ms |",
        f"| live: event posted → shown on the open timeline of the {api['total']:,}-event session | "
        f"{ui['live']:,.0f} ms (max {ui['live_max']:,.0f} ms) |",
        f"| live: new session posted → row in the open sessions list | {ui['listed']:,.0f} ms |",
        "",
        "Live updates go through the analysis (the stream announces what the projector committed; it "
        "polls every 0.25 s) and, for a timeline, a replay of what the session gained since the "
        "page last asked (resumed, not redone).",
        END,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    load_average = os.getloadavg()[0]  # another job on the machine shows in every figure
    with tempfile.TemporaryDirectory() as tmp, server(f"sqlite:///{tmp}/ui.db") as base, \
            httpx.Client(base_url=base, timeout=120) as client:
        load(client, args.events)
        api = json_figures(client, args.runs)
        print(f"api: {api}", flush=True)
        ui = browser_figures(base, client, args.runs)
        print(f"ui: {ui}", flush=True)
    text = report(args.events, args.runs, api, ui, load_average)
    print(text)
    if args.output:
        write_section(args.output, text, BEGIN, END)


if __name__ == "__main__":
    main()
