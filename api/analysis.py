"""The server's analysis worker: a thread that keeps findings current while events arrive.

It is woken by every acknowledged append (``wake``), so alerts follow the event that causes them
within milliseconds, and also polls the log's end (a cheap indexed read) for appends made by
other processes; the projector does the rest. A failure is logged and retried on the next tick,
never allowed to stop ingest.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol, cast

from analyzer.heap import Survivors
from analyzer.projector import Projector
from api.services import Services
from api.wakeup import PipeSignal, Wakeup
from api.webhooks.delivery import DeliveryWorker
from ingest.log.process import name_this_process
from ingest.settings import Settings

logger = logging.getLogger("blackbox.analysis")

POLL_SECONDS = 0.25
# Rounds start at most this often. A round has fixed costs (reading the log's end, one
# transaction of projections, the changed sessions' reports) whatever it carries: woken by
# every append under a sustained load of single events, the worker spent more CPU on them than
# the server spent ingesting. The first append after a quiet spell is analysed at once; under
# load, a round carries what arrived since the last one.
MIN_ROUND_SECONDS = 0.05
# Under a heavy load rounds are spaced further apart, in proportion to it: a round waits this
# many seconds per event/s that arrived during the last one (so up to 1,000 events/s rounds stay
# MIN_ROUND_SECONDS apart, and alerts as prompt), and at most MAX_ROUND_SECONDS. Measured under
# single-event ingest (wrk, 32 clients, 5,000-7,500 events/s, 2 vCPUs), alternated 7 times with
# rounds always 50 ms apart: the worker's CPU per event fell from 54-67 to 43-56 µs, and ingest
# gained 9% (median; -19% to +28%, the machine's noise). The price: alert latency at 4,000
# background events/s went from p50 51 / p99 154 ms to 138 / 259 ms (bench/alerts.py); at
# 1,000 events/s, the target's load, it stays as it was (p99 94 ms).
ROUND_SECONDS_PER_EVENT_RATE = 1 / 20_000
MAX_ROUND_SECONDS = 0.5  # alerts are promised within a second (issue 5)
STOP_SECONDS = 15.0
READY_SECONDS = 30.0
PARENT_CHECK_SECONDS = 0.5
WORKER_NAME = "blackbox-worker"


class AnalysisWorker:
    def __init__(self, projector: Projector, *, poll: float = POLL_SECONDS,
                 wake: Wakeup | None = None, min_round: float = MIN_ROUND_SECONDS) -> None:
        self._projector = projector
        self._survivors = Survivors()  # the analyzer's memory outlives rounds: keep gc off it
        self._poll = poll
        self._min_round = min_round
        self._wake: Wakeup = wake or threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blackbox-analysis", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        previous = time.monotonic() - self._min_round
        while not self._stop.is_set():
            started = time.monotonic()
            self._wake.clear()  # before catching up: an append meanwhile wakes the next round
            analysed = 0
            try:
                analysed = self._projector.catch_up()
                self._survivors.settle(analysed)
            except Exception:
                logger.exception("analysis failed; retrying")
            gap = round_gap(analysed, started - previous, self._min_round)
            previous = started
            self._wake.wait(self._poll)
            self._stop.wait(gap - (time.monotonic() - started))


def round_gap(analysed: int, since_last: float, min_round: float = MIN_ROUND_SECONDS) -> float:
    """How long after a round's start the next may start: ``analysed`` events arrived over the
    ``since_last`` seconds between the two last rounds' starts."""
    rate = analysed / max(since_last, min_round)
    return min(MAX_ROUND_SECONDS, max(min_round, rate * ROUND_SECONDS_PER_EVENT_RATE))


class Stoppable(Protocol):
    def stop(self) -> None: ...


def start_workers(services: Services) -> list[Stoppable]:
    """The background threads of a process: analysis (woken by each append) and webhook delivery
    (woken by each stored delivery; it first raises alerts a previous process may have missed)."""
    analysis = AnalysisWorker(services.projector, wake=services.appended)
    delivery = DeliveryWorker(services.webhooks, services.settings,
                              housekeeping=services.alerter.reconcile_if_needed)
    analysis.start()
    delivery.start()
    return [analysis, delivery]  # stopped in this order: analysis raises the alerts to deliver


# An idle-scheduled worker gets no CPU at all while other processes keep every core busy (two
# busy loops on this 2-core machine: it had not started after 19 minutes). Ingest alone never
# does that: its stages wait for each other and for fsync, and the worker runs in the gaps
# (0.4 cores under saturating 500-event batches). So a worker that waited on a run queue for over
# half of this long, and ran less than this share of a core, is replaced by a niced one.
STARVED_SECONDS = 2.0
STARVED_CPU_SHARE = 0.05
STARVED_WAIT_SHARE = 0.5


class StarvationCheck:
    """Tells whether a process wants a CPU but (almost) never gets one: its threads wait on a
    run queue (``/proc/PID/task/*/schedstat``) yet hardly run. A process that sleeps, waits for
    I/O or was stopped on purpose (SIGSTOP) waits on no run queue."""

    def __init__(self, *, schedstat: Callable[[int], tuple[float, float] | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._schedstat = schedstat or process_schedstat
        self._clock = clock
        self._window: tuple[int, float, float, float] | None = None  # pid, since, ran, waited

    def starved(self, pid: int) -> bool:
        now, stat = self._clock(), self._schedstat(pid)
        if stat is None:
            self._window = None
            return False
        window = self._window
        if window is None or window[0] != pid:  # a new process: its first look
            self._window = (pid, now, *stat)
            return False
        if now - window[1] < STARVED_SECONDS:
            return False
        self._window = (pid, now, *stat)
        span, ran, waited = now - window[1], stat[0] - window[2], stat[1] - window[3]
        return ran < STARVED_CPU_SHARE * span and waited > STARVED_WAIT_SHARE * span


def process_schedstat(pid: int) -> tuple[float, float] | None:
    """Seconds a process's threads ran on a CPU and waited on a run queue (Linux; else None)."""
    ran = waited = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
                fields = (task / "schedstat").read_text().split()
                ran, waited = ran + int(fields[0]), waited + int(fields[1])
    except OSError:
        return None
    return ran / 1e9, waited / 1e9


class WorkerProcess:
    """Analysis and webhook delivery in a child process of ``blackbox serve``.

    The analyzer costs about as much CPU per event as ingesting it; in the server's interpreter it
    would halve ingest throughput (one GIL). The child writes the projections and sends alerts;
    the server's projector follows them (``Projector(follow=True)``). Appends and redeliveries
    ring shared events, so alerts still leave within milliseconds. A child that dies is started
    again; a child whose server died (even by SIGKILL) notices and exits.
    """

    def __init__(self, services: Services) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads running
        self._context = context
        self._settings = services.settings
        self._starvation = StarvationCheck()
        self._appended, self._enqueued = PipeSignal(), PipeSignal()
        services.appended = self._appended
        services.webhooks.enqueued = self._enqueued
        self._stop, self._ready = PipeSignal(), PipeSignal()
        self._stopping = threading.Event()
        self._process: BaseProcess | None = None
        self._watcher = threading.Thread(target=self._watch, name="blackbox-worker-watch", daemon=True)

    def start(self) -> None:
        """Start the child and wait until it runs (so the first alerts are not late; ~1 s).

        The watcher runs meanwhile: a worker starved from the start (other processes keep every
        CPU busy) is replaced within seconds, not after ``READY_SECONDS`` of waiting for it."""
        self._process = self._spawn()
        self._watcher.start()
        if not self._ready.wait(READY_SECONDS):
            logger.warning("the analysis worker is slow to start; serving meanwhile")

    def stop(self) -> None:
        self._stopping.set()
        self._stop.set()
        self._appended.set()
        if self._process is not None:
            self._process.join(timeout=STOP_SECONDS)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=run_worker, name="blackbox-worker", daemon=True,
            args=(self._settings, Signals(self._appended, self._enqueued, self._stop, self._ready),
                  os.getpid()))
        process.start()
        return cast(BaseProcess, process)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            process = self._process
            if process is None:
                continue
            if not process.is_alive():
                logger.error("the analysis worker exited (code %s); starting it again",
                             process.exitcode)
                self._process = self._spawn()
            elif self._settings.analysis_idle and self._starved(process):
                self._replace_niced(process)

    def _starved(self, process: BaseProcess) -> bool:
        return process.pid is not None and self._starvation.starved(process.pid)

    def _replace_niced(self, process: BaseProcess) -> None:
        """Other processes keep every CPU busy and the idle-scheduled worker gets none of it:
        start one that runs niced instead (SCHED_IDLE can not be left without privileges)."""
        logger.warning("the analysis worker waited %.0f s for a CPU and hardly got one (other "
                       "processes keep the CPUs busy): running it at niceness %d instead of "
                       "SCHED_IDLE from now on", STARVED_SECONDS, self._settings.analysis_nice)
        self._settings = self._settings.model_copy(update={"analysis_idle": False})
        process.kill()
        process.join(timeout=STOP_SECONDS)
        self._process = self._spawn()


def yield_cpu(niceness: int, *, idle: bool = False) -> bool:
    """Lower this process's CPU priority: ``SCHED_IDLE`` when ``idle`` (and the platform allows
    it), else niceness ``niceness`` (never raised). True when every thread runs under
    ``SCHED_IDLE``.

    Why: the analyzer costs about as much CPU per event as ingesting it. When ingest saturates
    the CPU at equal priority, the worker takes half of it and acknowledgements wait; lowered, it
    takes what ingest leaves and catches up when the load drops (``/metrics`` shows how far
    behind it is: ``blackbox_analysis_lag_events``). Below saturation nothing changes: an idle
    CPU is still taken at once, so alerts are as quick as before.

    Niced, the worker still held a CPU for a slice after a stage of ingest (server, preparer,
    writer) woke up: measured with 500-event batches, 43.7 requests/s against 63.5 with the
    worker stopped. A ``SCHED_IDLE`` thread is preempted at once by any other: 59.9."""
    if niceness <= 0 and not idle:
        return False
    all_idle = idle
    for thread in _threads():
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            if not (idle and _schedule_idle(thread)):
                all_idle = False
                lowered = max(niceness, os.getpriority(os.PRIO_PROCESS, thread))
                os.setpriority(os.PRIO_PROCESS, thread, lowered)
    return all_idle


def pin_to_one_cpu() -> int | None:
    """Keep every thread of this process on one CPU, the last of those it may use (the first
    takes more of the machine's interrupts); the CPU, or None where there is only one to use or
    the platform does not allow it (nothing changed).

    Why, for the idle-scheduled worker: each task that wakes up preempts it, and the scheduler
    then moved it to the other CPU, where it was preempted again. Measured under single-event
    ingest (wrk, 32 clients, 2 vCPUs, alternated): unpinned 9,510 and 9,465 requests/s, pinned to
    the last CPU 10,610 and 10,646 (+12%; 10,125 and 10,375 on the first); the log writer waited
    on a run queue for 17-18% of the time unpinned, 6-9% pinned, and the worker's CPU per event
    fell from 42-44 to 34-37 µs. A SCHED_IDLE busy loop in its place did the same (-14% of the
    request rate unpinned, -4% pinned): the moves cost, not the work."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if len(allowed) < 2:
        return None
    cpu = max(allowed)
    try:
        for thread in _threads():
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.sched_setaffinity(thread, {cpu})
    except OSError as exc:  # a cpuset that forbids it: the worker runs unpinned
        logger.warning("could not pin the analysis worker to CPU %d: %s", cpu, exc)
        return None
    return cpu


def _threads() -> list[int]:
    """This process's threads (Linux keeps a policy, a niceness and a CPU affinity per thread,
    and imports have started threads already, a BLAS library's pool: each is changed; threads
    started later inherit them from the thread that starts them)."""
    tasks = Path("/proc/self/task")
    return [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]


def _schedule_idle(thread: int) -> bool:
    """Put one thread under ``SCHED_IDLE``; False where the platform does not offer or allow it."""
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:
        return False
    try:
        os.sched_setscheduler(thread, policy, os.sched_param(0))
    except ProcessLookupError:
        raise
    except OSError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Signals:
    """The events a server shares with its worker process."""

    appended: Wakeup  # the server acknowledged an append
    enqueued: Wakeup  # a delivery is waiting (a redelivery asked through the API)
    stop: Wakeup  # the server is shutting down
    ready: Wakeup  # the worker runs


def run_worker(settings: Settings, signals: Signals, parent: int) -> None:
    """The worker process's body."""
    logging.basicConfig(level=logging.WARNING, format="blackbox-worker: %(levelname)s %(message)s")
    name_this_process(WORKER_NAME)
    services = Services.open(settings)  # at full priority: starved from the start, it never starts
    # Before our threads start (they inherit it); threads already started are lowered one by one.
    idle = yield_cpu(settings.analysis_nice, idle=settings.analysis_idle)
    if settings.analysis_pin and idle:  # a niced worker (a starved one's replacement) shares every CPU
        pin_to_one_cpu()
    services.appended, services.webhooks.enqueued = signals.appended, signals.enqueued
    workers = start_workers(services)
    signals.ready.set()
    try:
        while not signals.stop.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent:
                break  # the server is gone without telling us: nothing left to serve
    finally:
        for worker in workers:
            worker.stop()
        services.close()
