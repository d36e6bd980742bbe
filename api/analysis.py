"""The server's analysis worker: a thread that keeps findings current while events arrive.

It is woken by every acknowledged append (``wake``), so alerts follow the event that causes them
within milliseconds, and also polls the log's end (a cheap indexed read) for appends made by
other processes; the projector does the rest. A failure is logged and retried on the next tick,
never allowed to stop ingest.
"""

from __future__ import annotations

import logging
import threading

from analyzer.projector import Projector

logger = logging.getLogger("blackbox.analysis")

POLL_SECONDS = 0.25


class AnalysisWorker:
    def __init__(self, projector: Projector, *, poll: float = POLL_SECONDS,
                 wake: threading.Event | None = None) -> None:
        self._projector = projector
        self._poll = poll
        self._wake = wake or threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blackbox-analysis", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before catching up: an append meanwhile wakes the next round
            try:
                self._projector.catch_up()
            except Exception:
                logger.exception("analysis failed; retrying")
            self._wake.wait(self._poll)
