"""The server's analysis worker: a thread that keeps findings current while events arrive.

It polls the log's end (a cheap indexed read) a few times a second and lets the projector do
the rest; a failure is logged and retried on the next tick, never allowed to stop ingest.
"""

from __future__ import annotations

import logging
import threading

from analyzer.projector import Projector

logger = logging.getLogger("blackbox.analysis")

POLL_SECONDS = 0.25


class AnalysisWorker:
    def __init__(self, projector: Projector, *, poll: float = POLL_SECONDS) -> None:
        self._projector = projector
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blackbox-analysis", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._projector.catch_up()
            except Exception:
                logger.exception("analysis failed; retrying")
            self._stop.wait(self._poll)
