"""Ingest benchmark: every Blackbox figure beside its ceiling, measured in one run on this machine.

    python bench/ingest.py [--quick] [--profile] [--output PATH | --no-write] [--keep]

Ceilings: plain ``sqlite3`` executemany of the very rows the log stores, in 1,000-row transactions
with the log writer's settings (WAL, ``synchronous=FULL``, its checkpoint interval) for storage; a
bare FastAPI endpoint that parses and discards the body (``bench/bare_app.py``), served with the
same HTTP protocol as ``blackbox serve``, for HTTP (and, as information, by stock uvicorn). Figures:
``blackbox ingest`` of a large transcript set (copies of the shared Claude Code transcripts with
every uuid rewritten, so nothing dedupes), the Preparer alone, and HTTP ingest driven by ``wrk``
(``bench/wrk_events.lua``: fresh envelopes per request) in 500-event batches from 4 connections and
single events from 32, each the best of three runs as its ceiling is. After every run against the
real server the log is opened and checked: events stored = events the server appended, every
acknowledged event stored, chains verify. ``--profile`` adds py-spy runs of the real server.

A full run writes ``BENCHMARKS.md`` (``--quick`` only prints, unless ``--output`` is given).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# `python bench/ingest.py` puts bench/ first on sys.path, where this very file would shadow the
# project's `ingest` package: import the project from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(REPO))

PACKAGES = ("ingest", "api", "analyzer", "dashboards")
CODE = REPO  # where the code under test is imported from: a snapshot of REPO once main() took it
TRANSCRIPTS = REPO.parent / "shared" / "data" / "claude-code"
LUA = BENCH / "wrk_events.lua"
BATCH_ROWS = 1000
CEILING_RUNS = 3  # a ceiling is the best of this many runs
COMMIT_ROWS = 3000  # rows inserted one transaction each (the fsync floor)
SESSIONS = 32
SETTLE_SECONDS = 2.0
QUIET_CORES = 0.25  # start a measurement only when other processes use less
NOISY_CORES = 0.25  # flag a measurement during which they used more
PROFILE_HZ = 200
COLUMNS = ("id", "stream", "seq", "session_id", "source", "kind", "time", "body", "prev_hash", "hash")
BARE_DDL = ("CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL, stream TEXT NOT NULL, "
            "seq INTEGER NOT NULL, session_id TEXT, source TEXT NOT NULL, kind TEXT NOT NULL, "
            "time TEXT NOT NULL, body BLOB NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
UUID = re.compile(rb"(?<![0-9a-f])[0-9a-f]{8}(?=-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")

Row = tuple[object, ...]


@dataclass(frozen=True)
class Mode:
    name: str
    copies: int
    seconds: int
    warmup: int
    profile_seconds: int


FULL = Mode("full", copies=20, seconds=15, warmup=3, profile_seconds=10)
QUICK = Mode("quick", copies=2, seconds=3, warmup=1, profile_seconds=3)


@dataclass(frozen=True)
class Load:
    """A wrk load: threads, connections, events per request."""

    name: str
    threads: int
    conns: int
    batch: int

    @property
    def wrk_args(self) -> str:
        return f"-t{self.threads} -c{self.conns}"


SINGLE = Load("single events", threads=2, conns=32, batch=1)
BATCH = Load("500-event batches", threads=1, conns=4, batch=500)


@dataclass
class Figure:
    key: str
    label: str
    events_per_s: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    ceiling: str | None = None  # key of the figure this one is measured against
    target: float | None = None  # least acceptable ratio to the ceiling
    p99_target_ms: float | None = None
    note: str = ""
    others: float = 0.0  # cores other processes on the machine used during the measurement
    server_cores: float = 0.0  # CPU the measured server used (HTTP figures), in cores


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    bad: int
    acked: int
    errors: list[str]
    server_cores: float = 0.0  # CPU the server used during the run, in cores (user + system)
    worker_cores: float = 0.0  # CPU of the server's child processes (the analysis worker)
    with_writer: bool = False  # server_cores include a log writer process (blackbox serve)
    wrk_cores: float = 0.0
    others: float = 0.0  # cores used by processes that are not this benchmark's


@dataclass
class RealRun:
    """What the real server did in one HTTP run, and what the log holds afterwards."""

    load: Load
    ok: int
    bad: int
    acked: int
    appended: int
    commits: int
    stored: int
    verify_ok: bool
    verify_events: int


@dataclass
class Results:
    machine: dict[str, str]
    mode: Mode
    command: str
    data: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    checks: list[tuple[bool, str]] = field(default_factory=list)
    runs: list[RealRun] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures[figure.key] = figure
        print(f"  {figure.label}: {figure.events_per_s:,.0f} events/s"
              f"{_lat(' p50', figure.p50_ms)}{_lat(' p99', figure.p99_ms)}", flush=True)
        return figure

    def check(self, ok: bool, what: str) -> None:
        self.checks.append((ok, what))
        print(f"  [{'ok' if ok else 'FAILED'}] {what}", flush=True)


def _lat(name: str, value: float | None) -> str:
    return "" if value is None else f"{name} {value:.1f} ms"


# --- helpers -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def child_env() -> dict[str, str]:
    """This environment without BLACKBOX_* settings, so every run uses the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOX_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), bytes(response.read())


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (steal included: it is not ours either)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def rusage_cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Wall time and CPU of a measurement: ours (this process, its reaped children such as the CLI
    or wrk, the given server processes and their ``helpers``) and everybody else's, which is
    interference to report. Helpers are the server's own child processes (the analysis worker):
    part of the system under test, so not interference, but reported apart from the server."""

    def __init__(self, *pids: int, helpers: Sequence[int] = ()) -> None:
        self.pids, self.helpers = pids, helpers
        self.seconds = self.server_cores = self.children_cores = self.other_cores = 0.0
        self.helper_cores = 0.0
        self._start: tuple[float, ...] = ()

    def __enter__(self) -> Meter:
        self._start = self._snapshot()
        return self

    def __exit__(self, *_exc: object) -> None:
        wall, busy, own, children, servers, helpers = (
            b - a for a, b in zip(self._start, self._snapshot(), strict=True))
        self.seconds = wall
        self.server_cores, self.children_cores = servers / wall, children / wall
        self.helper_cores = helpers / wall
        self.other_cores = max(0.0, (busy - own - children - servers - helpers) / wall)

    def _snapshot(self) -> tuple[float, ...]:
        return (time.perf_counter(), machine_busy(), rusage_cpu(resource.RUSAGE_SELF),
                rusage_cpu(resource.RUSAGE_CHILDREN), sum(cpu_seconds(pid) for pid in self.pids),
                sum(cpu_seconds(pid) for pid in self.helpers))


WRITER_NAME = "blackbox-writer"  # how ingest.log.process names the log writer process
PREPARER_NAME = "blackbox-prep"  # how ingest.preparing names the process mapping large bodies
WORKER_NAME = "blackbox-worker"  # how api.analysis names the analysis worker process


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (``blackbox serve``: its log writer, its analysis
    worker, multiprocessing's resource tracker)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def wait_quiet(*pids: int, limit: float = 300.0) -> None:
    """Wait (at most ``limit`` s) until other processes use less than QUIET_CORES of the machine."""
    deadline = time.monotonic() + limit
    while True:
        with Meter(*pids) as meter:
            time.sleep(1.0)
        if meter.other_cores < QUIET_CORES:
            return
        if time.monotonic() > deadline:
            print(f"  (machine still busy: others use {meter.other_cores:.2f} cores; going on)", flush=True)
            return
        print(f"  (waiting: other processes use {meter.other_cores:.2f} cores)", flush=True)
        time.sleep(4.0)


def code_fingerprint(root: Path) -> str:
    """Hash of the project's Python packages under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for package in PACKAGES for p in (root / package).glob("**/*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def snapshot_code(tmp: Path) -> Path:
    """Copy the packages and import them from the copy from now on (this process and its children):
    other people may edit the working tree while the benchmark runs, and one run measures one code."""
    global CODE
    snapshot = tmp / "code"
    for package in PACKAGES:
        if (REPO / package).is_dir():
            shutil.copytree(REPO / package, snapshot / package,
                            ignore=shutil.ignore_patterns("__pycache__"))
    sys.path[:] = [str(snapshot), *(p for p in sys.path if Path(p or ".").resolve() != REPO)]
    CODE = snapshot
    return snapshot


def git_state() -> str:
    """HEAD and whether the packages have uncommitted changes (read-only git commands)."""
    head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *PACKAGES], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"git HEAD {head}" + (" plus uncommitted changes" if dirty else "")


def machine() -> dict[str, str]:
    import fastapi
    import uvicorn

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {"cores (nproc)": str(os.cpu_count()), "CPU": cpu, "Python": platform.python_version(),
            "SQLite": sqlite3.sqlite_version, "FastAPI": fastapi.__version__,
            "uvicorn": uvicorn.__version__, "wrk": (wrk.stdout + wrk.stderr).split(" [")[0].strip(),
            "kernel": platform.release()}


# --- data ----------------------------------------------------------------------------------------


def rekey(data: bytes, copy: int) -> bytes:
    """The data with every uuid changed (its first 8 hex digits XOR ``copy``): nothing dedupes."""
    return UUID.sub(lambda m: b"%08x" % (int(m.group(), 16) ^ copy), data)


def make_transcripts(dst: Path, copies: int) -> tuple[int, int, int]:
    """Copies of the shared transcripts under ``dst``; (files, lines, bytes)."""
    files = lines = size = 0
    for path in sorted(TRANSCRIPTS.rglob("*.jsonl")):
        data = path.read_bytes()
        relative = str(path.relative_to(TRANSCRIPTS)).encode()
        for copy in range(1, copies + 1):
            target = dst / f"copy-{copy:02d}" / rekey(relative, copy).decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rekey(data, copy))
            files, lines, size = files + 1, lines + data.count(b"\n"), size + len(data)
    return files, lines, size


# --- storage: the CLI, the Preparer, raw executemany ---------------------------------------------


def cli_ingest(results: Results, transcripts: Path, db: Path, lines: int) -> None:
    cmd = [sys.executable, "-m", "api.cli", "ingest", str(transcripts), "--db", f"sqlite:///{db}",
           "--json"]
    wait_quiet()
    with Meter() as meter:
        proc = subprocess.run(cmd, cwd=CODE, env=child_env(), capture_output=True, check=False)
    seconds = meter.seconds
    if proc.returncode != 0:
        sys.exit(f"blackbox ingest failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    report = json.loads(proc.stdout)
    results.add(Figure("cli", f"`blackbox ingest` of {lines:,} transcript lines (subprocess, end to end)",
                       report["appended"] / seconds, ceiling="raw_log", others=meter.other_cores,
                       note=f"{report['appended']:,} events in {seconds:.1f} s"))
    results.check(report["appended"] == lines and not report["duplicates"] and not report["rejected"],
                  f"blackbox ingest: {report['appended']:,} appended, {report['duplicates']} duplicates, "
                  f"{report['rejected']} rejected, for {lines:,} lines")
    check_log(results, f"sqlite:///{db}", report["appended"], "blackbox ingest DB")


def check_log(results: Results, url: str, expected: int, what: str) -> tuple[int, bool, int]:
    """Open the log: count its events and verify every chain."""
    from ingest.log import open_log

    log = open_log(url)
    try:
        stored, report = log.count_events(), log.verify()
    finally:
        log.close()
    results.check(stored == expected and report.ok and report.events == stored,
                  f"{what}: {stored:,} events stored (expected {expected:,}); verify "
                  f"{'ok' if report.ok else 'BROKEN'} over {report.events:,} events in "
                  f"{report.streams} streams")
    return stored, report.ok, report.events


def stored_rows(db: Path) -> list[Row]:
    """The rows the log stored, exactly: what the executemany ceiling inserts."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position"))


def stored_count(db: Path) -> int:
    """Rows in the log now (read beside the running server: WAL)."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def create_log_schema(path: Path) -> None:
    from ingest.log import open_log

    open_log(f"sqlite:///{path}").close()


def log_like_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the log writer's settings (WAL, fsync per commit, its
    checkpoint interval): the ceiling differs from the log in code, not in configuration."""
    from ingest.log.engines import WAL_AUTOCHECKPOINT_PAGES

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    return conn


def executemany(results: Results, rows: list[Row], tmp: Path, key: str, label: str, *,
                log_schema: bool = True, ceiling: str | None = None) -> None:
    """A ceiling is the best of CEILING_RUNS runs, each into a fresh file: noise only lowers it."""
    runs = []
    for attempt in range(1, CEILING_RUNS + 1):
        path = tmp / f"{key}-{attempt}.db"
        meter, latencies, stored = _executemany_once(rows, path, log_schema=log_schema)
        results.check(stored == len(rows), f"{label}, run {attempt}: {stored:,} rows stored of {len(rows):,}")
        runs.append((len(rows) / meter.seconds, latencies, meter.other_cores))
    rate, latencies, others = max(runs, key=lambda run: run[0])
    results.add(Figure(key, label, rate, percentile(latencies, 50), percentile(latencies, 99),
                       ceiling=ceiling, others=others, note="latency: one 1,000-row transaction; best of "
                       + ", ".join(f"{r:,.0f}" for r, _, _ in runs) + " events/s"))


def _executemany_once(rows: list[Row], path: Path, *, log_schema: bool) -> tuple[Meter, list[float], int]:
    if log_schema:
        create_log_schema(path)
    conn = log_like_connection(path)
    if not log_schema:
        conn.execute(BARE_DDL)
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    wait_quiet()
    with Meter() as meter:
        latencies = _insert_batches(conn, insert, rows)
    stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    conn.close()
    path.unlink()  # the WAL was checkpointed into it on close; free the disk for the next run
    return meter, latencies, stored


def commit_per_row(results: Results, rows: list[Row], path: Path) -> None:
    """One row per transaction: what durability costs without group commit (fsync floor)."""
    create_log_schema(path)
    conn = log_like_connection(path)
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    wait_quiet()
    with Meter() as meter:
        latencies = [_commit_one(conn, insert, row) for row in rows]
    conn.close()
    results.add(Figure("raw_commit", f"raw `sqlite3`, one row per commit, log schema, first {len(rows):,} "
                       "rows (durability floor without group commit; information)", len(rows) / meter.seconds,
                       percentile(latencies, 50), percentile(latencies, 99), others=meter.other_cores,
                       note="latency: one single-row transaction (BEGIN IMMEDIATE … COMMIT with fsync)"))


def _commit_one(conn: sqlite3.Connection, insert: str, row: Row) -> float:
    begun = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(insert, row)
    conn.execute("COMMIT")
    return (time.perf_counter() - begun) * 1000


def _insert_batches(conn: sqlite3.Connection, insert: str, rows: list[Row]) -> list[float]:
    latencies: list[float] = []
    for start in range(0, len(rows), BATCH_ROWS):
        begun = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows[start : start + BATCH_ROWS])
        conn.execute("COMMIT")
        latencies.append((time.perf_counter() - begun) * 1000)
    return latencies


def preparer_only(results: Results, transcripts: Path) -> None:
    from ingest.pipeline import AUTO, Preparer
    from ingest.redact import Redactor
    from ingest.settings import Settings

    settings = Settings()
    preparer = Preparer(Redactor(b"bench-redaction-key"), max_depth=settings.max_json_depth,
                        chunk_size=settings.chunk_events)
    events = rejected = 0
    wait_quiet()
    with Meter() as meter:
        for path in sorted(transcripts.rglob("*.jsonl")):
            _, chunks = preparer.prepare(path.read_bytes(), AUTO, origin=str(path))
            for chunk in chunks:
                events, rejected = events + len(chunk.encoded), rejected + len(chunk.errors)
    results.add(Figure("prep", "Preparer only: read + parse + redact + map + encode, no storage "
                       "(in process)", events / meter.seconds, others=meter.other_cores,
                       note=f"{events:,} events in {meter.seconds:.1f} s"))
    results.check(rejected == 0, f"Preparer: {events:,} events, {rejected} rejected")


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


def start_server(cmd: list[str], port: int, log: Path, *, env: dict[str, str] | None = None,
                 seconds: float = 60) -> Server:
    """A server process (its output in ``log``) once its /healthz answers; exits the bench with
    the log's tail when it exits first or does not answer within ``seconds``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=CODE, env=child_env() if env is None else env, stdout=out,
                                stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if http_get(server.base + "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    sys.exit(f"server did not answer /healthz: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    """SIGINT: uvicorn shuts down gracefully and the app closes its log."""
    server.proc.send_signal(signal.SIGINT)
    try:
        server.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def bare_server(tmp: Path, *, stock: bool = False) -> Server:
    """bench/bare_app.py, served like ``blackbox serve``, or by stock uvicorn (``stock``)."""
    port = free_port()
    cmd = [sys.executable, str(BENCH / "bare_app.py"), str(port), *(["--stock"] if stock else [])]
    return start_server(cmd, port, tmp / "bare-server.log")


def real_server(tmp: Path, db: Path, *, traced: Path | None = None) -> Server:
    """``blackbox serve``; ``traced``: through bench/traced_serve.py, writer timings to that file."""
    port = free_port()
    launcher = ["-m", "api.cli"] if traced is None else [str(BENCH / "traced_serve.py"), str(traced)]
    cmd = [sys.executable, *launcher, "serve", "--db", f"sqlite:///{db}", "--port", str(port)]
    return start_server(cmd, port, tmp / f"{db.stem}-server.log")


def run_wrk(server: Server, load: Load, seconds: int, tag: str) -> WrkResult:
    cmd = ["wrk", f"-t{load.threads}", f"-c{load.conns}", f"-d{seconds}s", "--timeout", "30s",
           "--latency", "-s", str(LUA), server.base + "/v1/events", "--", tag, str(load.batch),
           str(SESSIONS)]
    children = child_pids(server.proc.pid)
    # The log writer and the preparer are the ingest path itself: counted with the server. The
    # analysis worker (and multiprocessing's resource tracker) are reported apart.
    writers = [pid for pid in children if process_name(pid) in (WRITER_NAME, PREPARER_NAME)]
    helpers = [pid for pid in children if pid not in writers]
    with Meter(server.proc.pid, *writers, helpers=helpers) as meter:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 120)
    if proc.returncode != 0:
        sys.exit(f"wrk failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    result = parse_wrk(proc.stdout)
    result.server_cores, result.wrk_cores = meter.server_cores, meter.children_cores
    result.worker_cores = meter.helper_cores
    result.with_writer = bool(writers)
    result.others = meter.other_cores
    return result


def parse_wrk(out: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bench = re.search(r"BENCH ok=(\d+) bad=(\d+) acked=(\d+)", out)
    if not (done and rps and bench):
        sys.exit(f"could not read wrk's output:\n{out}")
    errors = [line.strip() for line in out.splitlines()
              if line.strip().startswith(("Non-2xx", "Socket errors"))]
    return WrkResult(int(done[1]), _ms(done[2], done[3]) / 1000, float(rps[1]), _wrk_latency(out, "50"),
                     _wrk_latency(out, "99"), int(bench[1]), int(bench[2]), int(bench[3]), errors)


def _wrk_latency(out: str, pct: str) -> float:
    found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    if not found:
        sys.exit(f"wrk printed no {pct}% latency:\n{out}")
    return _ms(found[1], found[2])


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def drive(results: Results, server: Server, load: Load, tag: str, runs: int = 1) -> list[WrkResult]:
    """A warm-up run, then ``runs`` measured ones, all with the same wrk settings."""
    wait_quiet(server.proc.pid)
    done = [run_wrk(server, load, results.mode.warmup, f"{tag}-warm")]
    for attempt in range(1, runs + 1):
        time.sleep(SETTLE_SECONDS)  # requests in flight when the last run stopped finish first
        wait_quiet(server.proc.pid)
        done.append(run_wrk(server, load, results.mode.seconds, f"{tag}-{attempt}"))
    for index, run in enumerate(done):
        results.check(run.bad == 0 and not run.errors and run.ok == run.requests,
                      f"{tag} {f'run {index}' if index else 'warm-up'}: {run.ok:,} responses 200, "
                      f"{run.bad} other{'; ' + '; '.join(run.errors) if run.errors else ''}")
    return done


def floor_server(tmp: Path) -> Server:
    """bench/durable_floor_app.py: the least a durable single-event append costs."""
    port = free_port()
    return start_server([sys.executable, str(BENCH / "durable_floor_app.py"), str(port)], port,
                        tmp / "floor-server.log")


def durable_floor(results: Results, tmp: Path, load: Load) -> None:
    """Information, measured like a ceiling (best of CEILING_RUNS): parse, append durably with the
    log's indexes in group commits, answer; none of Blackbox's own work per event."""
    server = floor_server(tmp)
    try:
        measured = drive(results, server, load, "floor", CEILING_RUNS)[1:]
    finally:
        stop_server(server)
    run = max(measured, key=lambda r: r.rps)
    results.add(Figure("durable_floor", f"plain ASGI endpoint appending each body durably (raw "
                       f"`sqlite3`, the log's indexes, group commit in a child process), {load.name}, "
                       f"wrk {load.wrk_args} (information: the least a durable append costs)",
                       run.rps, run.p50_ms, run.p99_ms, others=run.others, ceiling="bare_single",
                       server_cores=run.server_cores,
                       note=run_note(run) + "; best of " + ", ".join(f"{r.rps:,.0f}" for r in measured)
                       + " requests/s"))


def http_bare(results: Results, tmp: Path, load: Load, key: str, *, stock: bool = False) -> None:
    """A ceiling: the best of CEILING_RUNS measured runs. ``stock``: served by stock uvicorn's
    protocol rather than ``blackbox serve``'s (information, never a ceiling)."""
    server = bare_server(tmp, stock=stock)
    try:
        measured = drive(results, server, load, f"bare-{load.batch}", CEILING_RUNS)[1:]
    finally:
        stop_server(server)
    run = max(measured, key=lambda r: r.rps)
    purpose = "HTTP ceiling" if load.batch == 1 and not stock else "information"
    served = "stock uvicorn httptools protocol" if stock else "served like blackbox serve"
    results.add(Figure(key, f"bare FastAPI endpoint ({served}), {load.name}, wrk {load.wrk_args} "
                       f"({purpose})",
                       run.rps * load.batch, run.p50_ms, run.p99_ms, others=run.others,
                       ceiling="bare_single" if stock else None,
                       server_cores=run.server_cores,
                       note=run_note(run) + "; best of " + ", ".join(f"{r.rps:,.0f}" for r in measured)
                       + " requests/s"))


def http_real(results: Results, tmp: Path, load: Load, figure: Figure,
              alone: Figure | None = None) -> None:
    """The real server under ``load``; with ``alone``, also a run with its analysis worker paused
    (information: what the ingest path does by itself on this machine)."""
    db = tmp / f"http-{load.batch}.db"
    server = real_server(tmp, db)
    try:
        runs = drive(results, server, load, f"real-{load.batch}", CEILING_RUNS)
        time.sleep(1.0)  # requests in flight when wrk stopped finish their commit
        measured = stored_count(db)  # the ceiling inserts these rows: the measured run's table
        if alone is not None:
            runs.append(run_without_analysis(results, server, load, alone))
            time.sleep(1.0)
        appended, commits = server_metrics(server)
    finally:
        stop_server(server)
    # Measured as its ceilings are (the best of CEILING_RUNS runs): a best-of ceiling over a
    # single run would count the machine's run-to-run noise (±20% here) against the figure.
    timed = runs[1:CEILING_RUNS + 1]
    fill(figure, max(timed, key=lambda r: r.rps), load)
    figure.note += "; best of " + ", ".join(f"{r.rps:,.0f}" for r in timed) + " requests/s"
    results.add(figure)
    if alone is not None:
        results.add(alone)
    check_server_log(results, server, load, len(runs))
    record_run(results, db, load, runs, (appended, commits))
    if figure.ceiling == "raw_http":
        executemany(results, stored_rows(db)[:measured], tmp, "raw_http", "raw `sqlite3` "
                    f"executemany of the rows the {load.name} run stored, log schema (its storage "
                    "ceiling)")


def run_without_analysis(results: Results, server: Server, load: Load, figure: Figure) -> WrkResult:
    """One measured run with the analysis worker stopped (SIGSTOP), once it has caught up. Its
    projections are another file, so a stopped worker holds no lock the log's writer needs."""
    time.sleep(SETTLE_SECONDS)
    wait_quiet(server.proc.pid)
    workers = [pid for pid in child_pids(server.proc.pid) if process_name(pid) == WORKER_NAME]
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        run = run_wrk(server, load, results.mode.seconds, f"real-{load.batch}-alone")
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    results.check(run.bad == 0 and bool(workers),
                  f"{figure.key}: {run.ok:,} responses 200, {run.bad} other, with "
                  f"{len(workers)} analysis worker(s) paused")
    fill(figure, run, load)
    return run


def fill(figure: Figure, run: WrkResult, load: Load) -> None:
    figure.events_per_s, figure.p50_ms, figure.p99_ms = run.rps * load.batch, run.p50_ms, run.p99_ms
    figure.note, figure.others, figure.server_cores = run_note(run), run.others, run.server_cores


def run_note(run: WrkResult) -> str:
    worker = f", its analysis worker {run.worker_cores:.2f} cores" if run.worker_cores else ""
    server = "server with its log writer and preparer processes" if run.with_writer else "server"
    return (f"{run.rps:,.0f} requests/s; latency: one request; CPU during the run: {server} "
            f"{run.server_cores:.2f} cores{worker}, wrk {run.wrk_cores:.2f} cores")


def check_server_log(results: Results, server: Server, load: Load, runs: int) -> None:
    """Errors the server logged: only ClientDisconnect of requests cut off when wrk stopped is fine."""
    text = server.log.read_text(errors="replace")
    errors, disconnects = text.count("Exception in ASGI application"), text.count("ClientDisconnect")
    results.check(errors == disconnects <= runs * load.conns,
                  f"HTTP {load.name}: the server logged {errors} 'Exception in ASGI application' "
                  f"({disconnects} of them ClientDisconnect, from wrk closing connections mid-request)")
    # Starved under SCHED_IDLE, the worker is replaced by a niced one: the run measured another thing.
    results.check("instead of SCHED_IDLE" not in text,
                  f"HTTP {load.name}: the analysis worker ran under SCHED_IDLE throughout (the server "
                  "did not find it starved and replace it with a niced one)")


def server_metrics(server: Server) -> tuple[int, int]:
    """(events appended, group commits) from GET /metrics."""
    text = http_get(server.base + "/metrics")[1].decode()
    appended = re.search(r'^blackbox_events_appended_total\{format="blackbox"\} ([\d.e+]+)$', text, re.M)
    commits = re.search(r"^blackbox_group_commits ([\d.e+]+)$", text, re.M)
    if not (appended and commits):
        sys.exit(f"metrics lack the appended / commit counters:\n{text}")
    return int(float(appended[1])), int(float(commits[1]))


def record_run(results: Results, db: Path, load: Load, runs: Sequence[WrkResult],
               counters: tuple[int, int]) -> None:
    ok, bad, acked = (sum(r.ok for r in runs), sum(r.bad for r in runs), sum(r.acked for r in runs))
    appended, commits = counters
    stored, verify_ok, verified = check_log(results, f"sqlite:///{db}", appended,
                                            f"HTTP {load.name} DB (vs server's appended counter)")
    in_flight, most = stored - acked, len(runs) * load.conns * load.batch
    results.check(0 <= in_flight <= most and acked == ok * load.batch,
                  f"HTTP {load.name}: {acked:,} events acknowledged in {ok:,} responses, all stored; "
                  f"{in_flight:,} more stored from requests in flight when wrk stopped "
                  f"(at most {most:,})")
    results.runs.append(RealRun(load, ok, bad, acked, appended, commits, stored, verify_ok, verified))


# --- profile -------------------------------------------------------------------------------------


def profile_real(results: Results, tmp: Path, load: Load) -> None:
    """Sample the real server with py-spy under the same load: who holds the GIL, doing what.

    ``--gil`` keeps only samples of the thread holding the GIL, so the shares say where the
    interpreter's time goes (the server is one process: one core's worth of Python at most).
    """
    if shutil.which("py-spy") is None:
        results.profiles.append(f"(py-spy not installed: no profile of {load.name})")
        return
    writer_stats = tmp / f"profile-{load.batch}-writer.json"
    server = real_server(tmp, tmp / f"profile-{load.batch}.db", traced=writer_stats)
    raw = tmp / f"profile-{load.batch}.txt"
    seconds = results.mode.profile_seconds
    try:
        run_wrk(server, load, results.mode.warmup, "profile-warm")
        time.sleep(SETTLE_SECONDS)
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.proc.pid), "--nonblocking",
                                "--gil", "--threads", "--rate", str(PROFILE_HZ), "--format", "raw",
                                "-o", str(raw), "-d", str(seconds)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = run_wrk(server, load, seconds, "profile")
        spy.wait(timeout=seconds + 60)
    finally:
        stop_server(server)
    results.profiles.append(summarise_profile(raw, load, run, seconds) + writer_summary(writer_stats))
    print(results.profiles[-1], flush=True)


def writer_summary(path: Path) -> str:
    """Per group commit of the profiled server (warm-up included): wall, writer CPU, COMMIT."""
    if not path.exists():
        return "\n(no writer timings: the traced server did not write them)\n"
    stats = json.loads(path.read_text())
    wall, cpu, commit, events = (stats[k] for k in ("write_ms", "write_cpu_ms", "commit_ms", "events"))
    if not wall:
        return "\n(no group commit ran)\n"
    mean = {k: sum(v) / len(v) for k, v in (("wall", wall), ("cpu", cpu), ("commit", commit))}
    return (f"\nLog writer, timed by `bench/traced_serve.py` in the same run: {len(wall):,} group commits "
            f"of {sum(events) / len(events):,.1f} events on average. Per commit: wall "
            f"{mean['wall']:.1f} ms (p50 {percentile(wall, 50):.1f}, p99 {percentile(wall, 99):.1f}), "
            f"writer CPU {mean['cpu']:.1f} ms, of which the COMMIT (fsync) call takes "
            f"{mean['commit']:.1f} ms wall (p50 {percentile(commit, 50):.2f}, p99 "
            f"{percentile(commit, 99):.1f}); the remaining {mean['wall'] - mean['cpu'] - mean['commit']:.1f} "
            "ms the writer process is neither computing nor in COMMIT: it waits for a CPU.\n")


FRAME = re.compile(r"^(?P<name>.*) \((?P<file>.*?)(?::\d+)?\)$")
RAW_SAMPLE = re.compile(r"^(?P<stack>thread .*) (?P<count>\d+)$", re.DOTALL)


def frame_label(frame: str) -> tuple[str, str]:
    """(function label, package or module) of a py-spy frame like ``f (path/x.py:12)``."""
    frame = " ".join(frame.split())
    found = FRAME.match(frame)
    if not found:
        return frame, "?"
    path = found["file"]
    if "site-packages/" in path:
        short = path.split("site-packages/", 1)[1]
        area = short.split("/", 1)[0]
    elif path.startswith((str(CODE), str(REPO))) or not path.startswith("/"):
        short = path.removeprefix(str(CODE) + "/").removeprefix(str(REPO) + "/")
        area = short.removesuffix(".py")
    else:
        short, area = Path(path).name, "stdlib:" + Path(path).stem
    return f"{found['name']} ({short})", area


def summarise_profile(raw: Path, load: Load, run: WrkResult, seconds: int) -> str:
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    # One sample per line, except that a frame name holding a newline continues on the next line.
    for line in re.split(r"\n(?=thread \()", raw.read_text().strip()):
        sample = RAW_SAMPLE.match(line)
        if sample is None:
            continue
        frames, samples = sample["stack"].split(";"), int(sample["count"])
        threads[re.sub(r"^thread \(\d+\):?\s*", "", frames[0]) or frames[0]] += samples
        if len(frames) > 1:
            label, area = frame_label(frames[-1])
            own[label] += samples
            areas[area] += samples
            for name in {frame_label(f)[0] for f in frames[1:]}:
                inclusive[name] += samples
    return render_profile(load, run, seconds, (threads, own, areas, inclusive))


def render_profile(load: Load, run: WrkResult, seconds: int,
                   counters: tuple[Counter[str], Counter[str], Counter[str], Counter[str]]) -> str:
    threads, own, areas, inclusive = counters
    total = sum(threads.values()) or 1
    lines = [f"#### Real server, {load.name} (wrk {load.wrk_args}, {seconds} s, "
             f"{run.rps:,.0f} requests/s during the profile)", "",
             f"{total:,} samples of the GIL holder (py-spy `--gil`, {PROFILE_HZ} Hz, {seconds} s). "
             f"Server CPU during the profile: {run.server_cores:.2f} cores. GIL held, share of wall "
             "time: " + ", ".join(f"{name} {n / (PROFILE_HZ * seconds):.0%}"
                                  for name, n in threads.most_common(4)) + ".", "",
             "| self time, by module | % | | self time, by function | % |", "| --- | --- | --- | --- | --- |"]
    for (area, a), (func, f) in zip(areas.most_common(12), own.most_common(12), strict=False):
        lines.append(f"| {area} | {a / total:.1%} | | `{func}` | {f / total:.1%} |")
    lines += ["", "Inclusive (the function anywhere on the GIL holder's stack; entry frames left out):", ""]
    inner = [(n, c) for n, c in inclusive.most_common() if not ENTRY_FRAME.search(n)][:20]
    lines += [f"- `{name}`: {count / total:.1%}" for name, count in inner]
    return "\n".join(lines) + "\n"


ENTRY_FRAME = re.compile(
    r"\((threading\.py|<frozen runpy>|click/\S+|uvicorn/(main|server|_compat)\.py|asyncio/runners\.py|"
    r"api/cli\.py|traced_serve\.py)\)$|^WorkerThread\.run |"  # entry points, the timing wrapper
    r"^(\S+\.__call__|\S+\.handle|\S+\._handle_selected|wrap_app_handling_exceptions\S*|"
    r"request_response\S*|\S+\.run_asgi|APIRouter\.app) ")  # the ASGI middleware and routing chain


# --- report --------------------------------------------------------------------------------------


def ratio_cells(results: Results, figure: Figure) -> tuple[str, str, str, str]:
    """(ceiling, ratio, target, met?) cells of a figure."""
    if figure.ceiling is None:
        return "—", "—", "—", "—"
    ceiling = results.figures.get(figure.ceiling)
    if ceiling is None:
        return figure.ceiling, "?", "—", "—"
    ratio = figure.events_per_s / ceiling.events_per_s
    targets, met = [], []
    if figure.target is not None:
        targets.append(f"≥ {figure.target:.0%}")
        met.append(ratio >= figure.target)
    if figure.p99_target_ms is not None and figure.p99_ms is not None:
        targets.append(f"p99 < {figure.p99_target_ms:.0f} ms")
        met.append(figure.p99_ms < figure.p99_target_ms)
    verdict = ("yes" if all(met) else "**no**") if met else "—"
    target = " and ".join(targets) or "—"
    return f"{ceiling.events_per_s:,.0f} ({ceiling.key})", f"{ratio:.1%}", target, verdict


def table(results: Results) -> list[str]:
    lines = ["| key | measurement | events/s | p50 | p99 | ceiling | ratio | target | met? |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | --- | --- |"]
    for figure in results.figures.values():
        cells = ratio_cells(results, figure)
        noisy = " (noisy: see notes)" if figure.others > NOISY_CORES else ""
        lines.append(f"| {figure.key} | {figure.label}{noisy} | {figure.events_per_s:,.0f} | "
                     f"{_cell(figure.p50_ms)} | {_cell(figure.p99_ms)} | {' | '.join(cells)} |")
    return lines


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def notes(results: Results) -> list[str]:
    return [f"- **{f.key}**: {f.note}{'; ' if f.note else ''}other processes on the machine used "
            f"{f.others:.2f} cores{' (noisy)' if f.others > NOISY_CORES else ''}"
            for f in results.figures.values()]


def commit_table(results: Results) -> list[str]:
    lines = ["| run | responses 200 | other | events acknowledged | appended (server) | stored | "
             "group commits | events/commit | verify |", "| --- | ---: | ---: | ---: | ---: | ---: | "
             "---: | ---: | --- |"]
    for r in results.runs:
        per = r.appended / r.commits if r.commits else 0.0
        lines.append(f"| {r.load.name} (incl. warm-up) | {r.ok:,} | {r.bad} | {r.acked:,} | "
                     f"{r.appended:,} | {r.stored:,} | {r.commits:,} | {per:,.1f} | "
                     f"{'ok' if r.verify_ok else 'BROKEN'} ({r.verify_events:,} events) |")
    return lines


def reading(results: Results) -> list[str]:
    """Where the time goes, computed from this run's figures (µs per event / per request)."""
    f = results.figures
    us = {key: 1e6 / fig.events_per_s for key, fig in f.items() if fig.events_per_s}
    out = []
    if {"prep", "cli", "raw_log"} <= us.keys():
        out.append(f"- `blackbox ingest` spends {us['cli']:.0f} µs per event. Preparing alone "
                   f"(parse, redact, map, encode) takes {us['prep']:.0f} µs; the rest, "
                   f"{us['cli'] - us['prep']:.0f} µs, is the log's write path (dedupe lookup, chain "
                   f"heads, insert, sessions upsert, fsync) plus process start-up, "
                   f"against {us['raw_log']:.0f} µs for the raw executemany of the same rows.")
    if {"raw_log", "raw_bare"} <= us.keys():
        out.append(f"- Raw inserts take {us['raw_log']:.1f} µs per row into the log schema (unique id, "
                   f"unique (stream, seq), session index) and {us['raw_bare']:.1f} µs into a bare table.")
    if {"http_single", "bare_single"} <= us.keys():
        out.append(f"- One single-event request costs {us['http_single']:.0f} µs of server time "
                   f"against {us['bare_single']:.0f} µs for the bare endpoint: Blackbox adds "
                   f"{us['http_single'] - us['bare_single']:.0f} µs per request.")
    out += budget(f)
    if {"http_batch", "bare_batch", "raw_log"} <= us.keys():
        out.append(f"- In 500-event batches an event costs {us['http_batch']:.0f} µs, of which parsing "
                   f"the HTTP body is {us['bare_batch']:.1f} µs and the raw insert "
                   f"{us['raw_log']:.1f} µs.")
    out += [f"- {r.load.name}: {r.appended / r.commits:,.1f} events per group commit "
            f"({r.commits:,} commits)." for r in results.runs if r.commits]
    if "raw_commit" in f:
        floor = f["raw_commit"]
        out.append(f"- A durable single-row commit takes {_cell(floor.p50_ms)} at the median on this disk "
                   f"({floor.events_per_s:,.0f} commits/s one after another), so fsync alone would allow "
                   "far more commits per second than the HTTP runs made (events/s ÷ events/commit).")
    return out


def budget(f: dict[str, Figure]) -> list[str]:
    """What the targets allow per request or event, beside what this run spent (server CPU)."""
    out = []
    if {"http_single", "bare_single"} <= f.keys() and f["http_single"].events_per_s:
        single, bare = f["http_single"], f["bare_single"]
        out.append(f"- Single events at the target (70% of the bare request rate) leave "
                   f"{1e6 / (0.70 * bare.events_per_s):.0f} µs of wall time per request; this run "
                   f"took {1e6 / single.events_per_s:.0f} µs, with the server using "
                   f"{single.server_cores:.2f} cores ({_cpu_us(single):.0f} µs of server CPU per "
                   f"request; the bare endpoint: {_cpu_us(bare):.0f} µs).")
    if {"http_batch", "raw_http"} <= f.keys() and f["http_batch"].events_per_s:
        batch, raw = f["http_batch"], f["raw_http"]
        out.append(f"- 500-event batches at the target (40% of raw executemany) leave "
                   f"{1e6 / (0.40 * raw.events_per_s):.1f} µs of wall time per event; this run took "
                   f"{1e6 / batch.events_per_s:.1f} µs, with the server using "
                   f"{batch.server_cores:.2f} cores ({_cpu_us(batch):.1f} µs of server CPU per event).")
    return out


def _cpu_us(figure: Figure) -> float:
    """Server CPU per event of an HTTP figure (per request, for single events), in µs."""
    return figure.server_cores * 1e6 / figure.events_per_s


def markdown(results: Results) -> str:
    machine_line = "; ".join(f"{k}: {v}" for k, v in results.machine.items())
    checks = [f"- [{'x' if ok else ' '}] {what}" for ok, what in results.checks]
    parts = [
        "## Ingest (`bench/ingest.py`)", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mode `{results.mode.name}`, command "
        f"`{results.command}`.", "", f"Machine: {machine_line}.", "", f"Data: {results.data}", "",
        *table(results), "", *notes(results), "",
        "Latency: executemany rows are one 1,000-row transaction; HTTP rows are one request as wrk "
        "sees it (send to last byte, `--latency`, closed loop); the CLI and the Preparer have "
        "whole-run throughput only. Every ratio is events/s over the ceiling's events/s (for "
        "single events that is the request rate).", "",
        "### Group commit and durability checks", "", *commit_table(results), "", *checks, "",
        "### Reading the numbers", "", *reading(results), "",
    ]
    if results.profiles:
        parts += ["### Profile of the real server (py-spy, separate runs)", "", *results.profiles]
    return "\n".join(parts).rstrip() + "\n"


# --- main ----------------------------------------------------------------------------------------


def storage_phase(results: Results, tmp: Path) -> None:
    transcripts = tmp / "transcripts"
    files, lines, size = make_transcripts(transcripts, results.mode.copies)
    results.data = (f"{results.mode.copies} copies of the shared Claude Code transcripts (uuids "
                    f"rewritten per copy): {files} files, {lines:,} lines, {size / 1e6:,.0f} MB. HTTP: "
                    f"envelopes shaped like `tests/helpers.py::envelope` over {SESSIONS} sessions; "
                    f"{results.mode.warmup} s warm-up, then {results.mode.seconds} s measured. "
                    f"Ceilings, and the HTTP ingest figures set against them, are the best of "
                    f"{CEILING_RUNS} runs; every other figure is one run.")
    print(f"data: {results.data}", flush=True)
    cli_db = tmp / "cli.db"
    cli_ingest(results, transcripts, cli_db, lines)
    rows = stored_rows(cli_db)
    executemany(results, rows, tmp, "raw_log", "raw `sqlite3` executemany of the CLI's rows, log schema "
                "(storage ceiling)")
    executemany(results, rows, tmp, "raw_bare", "raw `sqlite3` executemany of the CLI's rows, no secondary "
                "index (information)", log_schema=False, ceiling="raw_log")
    commit_per_row(results, rows[:COMMIT_ROWS], tmp / "raw-commit.db")
    del rows
    preparer_only(results, transcripts)


def http_phase(results: Results, tmp: Path) -> None:
    http_bare(results, tmp, SINGLE, "bare_single")
    http_bare(results, tmp, SINGLE, "bare_single_stock", stock=True)
    durable_floor(results, tmp, SINGLE)
    http_bare(results, tmp, BATCH, "bare_batch")
    http_real(results, tmp, BATCH, Figure(
        "http_batch", f"HTTP ingest, {BATCH.name}, wrk {BATCH.wrk_args}", 0.0, ceiling="raw_http",
        target=0.40, p99_target_ms=250), alone=Figure(
        "http_batch_alone", f"HTTP ingest, {BATCH.name}, wrk {BATCH.wrk_args}, the server's "
        "analysis worker paused: the ingest path alone (information)", 0.0, ceiling="raw_http"))
    http_real(results, tmp, SINGLE, Figure(
        "http_single", f"HTTP ingest, {SINGLE.name}, wrk {SINGLE.wrk_args}", 0.0,
        ceiling="bare_single", target=0.70), alone=Figure(
        "http_single_alone", f"HTTP ingest, {SINGLE.name}, wrk {SINGLE.wrk_args}, the server's "
        "analysis worker paused: the ingest path alone (information)", 0.0, ceiling="bare_single"))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small data, short runs (smoke test)")
    parser.add_argument("--profile", action="store_true", help="also profile the real server (py-spy)")
    parser.add_argument("--output", type=Path, help="write the report here (default: BENCHMARKS.md "
                        "for a full run, nothing for --quick)")
    parser.add_argument("--no-write", action="store_true", help="only print the report")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


SECTION_BEGIN = "<!-- bench/ingest.py: begin (generated; other sections are left alone) -->"
SECTION_END = "<!-- bench/ingest.py: end -->"


def write_section(path: Path, report: str) -> None:
    """Replace this benchmark's section of the file (other benchmarks may own other sections)."""
    section = f"{SECTION_BEGIN}\n{report}{SECTION_END}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if SECTION_BEGIN in text and SECTION_END in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def output_path(args: argparse.Namespace) -> Path | None:
    if args.no_write:
        return None
    if args.output is not None:
        return Path(args.output)
    return None if args.quick else REPO / "BENCHMARKS.md"


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install -y wrk)")
    results = Results(machine(), QUICK if args.quick else FULL,
                      "python bench/ingest.py" + "".join(f" {a}" for a in argv))
    results.machine["load average before"] = load_average()
    tmp = Path(tempfile.mkdtemp(prefix="blackbox-bench-"))
    try:
        tree = code_fingerprint(REPO)
        snapshot = code_fingerprint(snapshot_code(tmp))
        results.machine["code under test"] = (f"snapshot {snapshot} (sha256 of the packages) of the "
                                              f"working tree at {git_state()}")
        check_imports(results)
        run_all(results, tmp, profile=args.profile)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results.machine["load average after"] = load_average()
    if code_fingerprint(REPO) != tree:
        results.machine["code under test"] += " (the working tree changed during the run; not measured)"
    report = markdown(results)
    print("\n" + report)
    if (path := output_path(args)) is not None:
        write_section(path, report)
        print(f"wrote the ingest section of {path}")
    return 0 if all(ok for ok, _ in results.checks) else 1


def check_imports(results: Results) -> None:
    import ingest.pipeline

    where = Path(ingest.pipeline.__file__).resolve()
    results.check(where.is_relative_to(CODE.resolve()),
                  f"the project is imported from the snapshot ({where})")


def run_all(results: Results, tmp: Path, *, profile: bool) -> None:
    print("storage", flush=True)
    storage_phase(results, tmp)
    print("HTTP", flush=True)
    http_phase(results, tmp)
    if profile:
        print("profiles", flush=True)
        for load in (SINGLE, BATCH):
            profile_real(results, tmp, load)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
