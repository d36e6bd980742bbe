"""The worker process of ``blackbox serve``: signals across processes, read-your-writes, lifecycle."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from api import analysis
from api.analysis import WORKER_NAME, StarvationCheck, WorkerProcess
from api.services import Services
from api.wakeup import PipeSignal
from ingest.log.process import WRITER_NAME
from ingest.preparing import PREPARER_NAME
from tests.helpers import envelope, free_port, metric_samples
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


def _children(pid: int, name: str = WORKER_NAME) -> list[int]:
    """The server's child processes of that name (the analysis worker, the log writer)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split() if _comm(p) == name]


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:  # it exited meanwhile
        return ""


def _niceness(pid: int) -> set[int]:
    """The niceness of each thread of a process (field 19 of /proc/PID/task/TID/stat)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        found.add(int(fields[16]))
    return found


def _policies(pid: int) -> set[int]:
    """The scheduling policy of each thread of a process."""
    return {os.sched_getscheduler(int(task.name)) for task in Path(f"/proc/{pid}/task").iterdir()}


def _affinities(pid: int) -> set[frozenset[int]]:
    """The CPUs each thread of a process may run on."""
    return {frozenset(os.sched_getaffinity(int(task.name)))
            for task in Path(f"/proc/{pid}/task").iterdir()}


def _pinned_worker_cpus() -> set[frozenset[int]]:
    """Where the idle-scheduled worker's threads may run: the last CPU, where there are several."""
    allowed = os.sched_getaffinity(0)
    return {frozenset({max(allowed)})} if len(allowed) > 1 else {frozenset(allowed)}


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _kill_and_replace(server: int, child: int, name: str) -> int:
    """SIGKILL a child of the server; the one the server starts in its place."""
    os.kill(child, signal.SIGKILL)
    return _replacement(server, child, name)


def _replacement(server: int, child: int, name: str) -> int:
    """The child the server starts in place of ``child`` (waited for)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _children(server, name) in ([], [child]):
        time.sleep(0.05)
    [replacement] = _children(server, name)
    assert replacement != child
    return replacement


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_the_server_analyses_in_a_worker_process_that_follows_it(tmp_path: Path) -> None:
    port = free_port()
    proc = start_server(f"sqlite:///{tmp_path / 'w.db'}", port, tmp_path / "server.log")
    try:
        [worker] = _children(proc.pid)
        [writer] = _children(proc.pid, WRITER_NAME)
        [preparer] = _children(proc.pid, PREPARER_NAME)
        base = f"http://127.0.0.1:{port}"
        # Under a saturating load ingest comes first: every thread of the worker is under
        # SCHED_IDLE (the default), the server, its writer and its preparer are not lowered.
        assert _policies(worker) == {os.SCHED_IDLE}
        assert _policies(proc.pid) == _policies(writer) == _policies(preparer) == {os.SCHED_OTHER}
        assert _niceness(proc.pid) == _niceness(writer) == _niceness(preparer) == {0}
        # The worker stays on one CPU; the server and its other children may use every one.
        everywhere = {frozenset(os.sched_getaffinity(0))}
        assert _affinities(worker) == _pinned_worker_cpus()
        assert _affinities(proc.pid) == _affinities(writer) == _affinities(preparer) == everywhere
        docs = [envelope(n, session="wp", pad="x" * 200) for n in range(300)]
        docs[5] = {**docs[5], "time": "yesterday"}
        large = orjson.dumps(docs)
        assert len(large) > 64 * 1024  # mapped in the preparation process
        report = httpx.post(f"{base}/v1/events", content=large).json()
        assert report["appended"] == 299
        assert [(e["index"], e["field"]) for e in report["errors"]] == [(5, "time")]
        # Read-your-writes: the worker's projections include what was just acknowledged.
        verdict = httpx.get(f"{base}/v1/sessions/wp/findings").json()
        assert verdict["session_id"] == "wp" and verdict["risk"] >= 0
        replacement = _kill_and_replace(proc.pid, worker, WORKER_NAME)  # a crashed worker restarts
        proc.kill()  # the server dies without a word: its children notice and exit
        proc.wait()
        assert _gone(replacement) and _gone(writer) and _gone(preparer)
    finally:
        _stop(proc)
    assert "leaked" not in (tmp_path / "server.log").read_text()


@pytest.mark.slow
def test_the_server_commits_in_a_writer_process_started_again_if_it_dies(tmp_path: Path) -> None:
    port = free_port()
    proc = start_server(f"sqlite:///{tmp_path / 'lw.db'}", port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        [writer] = _children(proc.pid, WRITER_NAME)
        assert httpx.post(f"{base}/v1/events", json=[envelope(0, session="lw")]).json()["appended"] == 1
        replacement = _kill_and_replace(proc.pid, writer, WRITER_NAME)
        answer = httpx.post(f"{base}/v1/events", json=[envelope(1, session="lw")], timeout=60)
        assert answer.status_code == 200 and answer.json()["appended"] == 1
        proc.kill()  # the server dies without a word: its writer sees the socket close and exits
        proc.wait()
        assert _gone(replacement)
    finally:
        _stop(proc)
    assert "starting it again" in (tmp_path / "server.log").read_text()


@pytest.mark.slow
def test_a_worker_starved_by_other_processes_is_replaced_by_a_niced_one(tmp_path: Path) -> None:
    port = free_port()
    proc = start_server(f"sqlite:///{tmp_path / 'st.db'}", port, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        [starved] = _children(proc.pid)
        os.kill(starved, signal.SIGSTOP)  # stopped on purpose, it waits on no run queue: kept
        time.sleep(3.5)
        assert _children(proc.pid) == [starved]
        os.kill(starved, signal.SIGCONT)
        # A busy loop per CPU: the idle-scheduled worker gets none of it, while events wait.
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in os.sched_getaffinity(0)]
        time.sleep(1.0)  # the loops run before the event arrives: else it may be analysed at once
        assert httpx.post(f"{base}/v1/events", json=[envelope(0, session="st")]).json()["appended"] == 1
        replacement = _replacement(proc.pid, starved, WORKER_NAME)
        assert _gone(starved)
        # It lowers itself once its services are open (the starved one may have analysed the
        # event meanwhile, so the lag alone does not say the replacement runs).
        deadline = time.monotonic() + 60
        while _niceness(replacement) != {10} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _policies(replacement) == {os.SCHED_OTHER} and _niceness(replacement) == {10}
        assert _affinities(replacement) == {frozenset(os.sched_getaffinity(0))}  # not pinned
        assert _lag(base, until=0) == 0  # every event is analysed
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        _stop(proc)
    assert "instead of SCHED_IDLE" in (tmp_path / "server.log").read_text()


class _StartedProcess:
    """A stand-in worker child: alive until killed."""

    def __init__(self, pid: int) -> None:
        self.pid, self.exitcode, self._alive = pid, None, True

    def is_alive(self) -> bool:
        return self._alive

    def kill(self) -> None:
        self._alive = False

    def terminate(self) -> None:
        self._alive = False

    def join(self, timeout: float | None = None) -> None:
        pass


def test_a_worker_starved_from_the_start_is_replaced_while_the_server_waits_for_it(
        services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The server waits for its worker to run before it serves. One that never gets a CPU (other
    processes keep them busy) is replaced by a niced one meanwhile, not after the wait times out."""
    monkeypatch.setattr(analysis, "READY_SECONDS", 5.0)
    worker = WorkerProcess(services)
    spawned: list[_StartedProcess] = []

    def spawn() -> _StartedProcess:
        child = _StartedProcess(pid=len(spawned) + 1)
        spawned.append(child)
        if len(spawned) == 2:  # the replacement runs: it reports so
            worker._ready.set()
        return child

    monkeypatch.setattr(worker, "_spawn", spawn)
    monkeypatch.setattr(worker, "_starved", lambda process: process.pid == 1)
    with caplog.at_level(logging.WARNING, logger="blackbox.analysis"):
        worker.start()
        worker.stop()
    assert [child.pid for child in spawned] == [1, 2] and not spawned[0].is_alive()
    assert "instead of SCHED_IDLE" in caplog.text
    assert "slow to start" not in caplog.text  # it did not wait READY_SECONDS for the first


def _lag(base: str, *, until: int, timeout: float = 60.0) -> int:
    """The analysis lag gauge, polled until it reads ``until`` (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        lag = int(metric_samples(base, "blackbox_analysis_lag_events")[""])
        if lag == until or time.monotonic() > deadline:
            return lag
        time.sleep(0.1)


class _Process:
    """A stand-in process: a clock, and the seconds it ran and waited on a run queue."""

    def __init__(self) -> None:
        self.now = self.ran = self.waited = 0.0

    def second(self, *, ran: float, waited: float) -> None:
        self.now, self.ran, self.waited = self.now + 1, self.ran + ran, self.waited + waited

    def check(self) -> StarvationCheck:
        return StarvationCheck(schedstat=lambda _pid: (self.ran, self.waited), clock=lambda: self.now)


def _verdicts(check: StarvationCheck, process: _Process, seconds: int, *, ran: float,
              waited: float) -> list[bool]:
    found = []
    for _ in range(seconds):
        process.second(ran=ran, waited=waited)
        found.append(check.starved(1))
    return found


def test_starved_is_waiting_for_a_cpu_and_hardly_getting_one() -> None:
    process = _Process()
    check = process.check()
    assert _verdicts(check, process, 3, ran=0.01, waited=0.95) == [False, False, True]
    assert _verdicts(check, process, 2, ran=0.01, waited=0.95) == [False, True]  # and again


def test_sleeping_stopped_busy_or_slowed_processes_are_not_starved() -> None:
    for ran, waited in [(0.0, 0.0),  # asleep, waiting for I/O, or stopped (SIGSTOP)
                        (0.4, 0.6),  # slowed by ingest, yet it runs: 0.4 cores
                        (1.0, 0.0),  # catching up at full speed
                        (0.01, 0.2)]:  # hardly runs, hardly waits: little to do
        process = _Process()
        assert not any(_verdicts(process.check(), process, 10, ran=ran, waited=waited)), (ran, waited)


def test_rounds_stay_prompt_under_light_load_and_spread_out_under_heavy_load() -> None:
    light = analysis.round_gap(50, 0.05)  # 1,000 events/s: the alert latency bench's load
    assert light == analysis.MIN_ROUND_SECONDS
    assert analysis.round_gap(0, 30.0) == analysis.MIN_ROUND_SECONDS  # idle: the next append at once
    heavy = analysis.round_gap(2_800, 0.4)  # 7,000 events/s
    assert heavy == pytest.approx(7_000 * analysis.ROUND_SECONDS_PER_EVENT_RATE)
    assert light < heavy < analysis.MAX_ROUND_SECONDS
    # A backlog found at start-up reads as a flood: the next round waits the longest, no longer.
    assert analysis.round_gap(500_000, 0.0) == analysis.MAX_ROUND_SECONDS


_PIN_PROBE = """
import os, sys, threading
if sys.argv[1] == "one":  # before the imports start threads, which would inherit the rest
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from api.analysis import pin_to_one_cpu
done = threading.Event()
early = threading.Thread(target=done.wait); early.start()  # started before pinning
cpu = pin_to_one_cpu()
later = threading.Thread(target=done.wait); later.start()  # inherits
cpus = {tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}
done.set(); early.join(); later.join()
print(cpu, sorted(cpus))
"""


@pytest.mark.parametrize("cpus", ["all", "one"])
def test_pinning_keeps_every_thread_on_the_last_cpu_and_leaves_a_single_cpu_alone(cpus: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    out = subprocess.run([sys.executable, "-c", _PIN_PROBE, cpus], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split(" ", 1)
    if cpus == "one" or len(allowed) == 1:
        assert out == ["None", f"[({allowed[0]},)]\n"]  # nothing to choose: nothing changed
    else:
        assert out == [str(allowed[-1]), f"[({allowed[-1]},)]\n"]  # every thread, even the first
