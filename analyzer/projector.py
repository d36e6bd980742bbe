"""Keeps the analysis projections current: reads the log after the checkpoint, feeds the
analyzer, and commits changed sessions together with the new checkpoint.

The analyzer's working memory is not persisted, so a fresh projector first replays the events
up to the checkpoint without writing (``warm``) and then carries on from there. Per batch:
1. read up to ``batch`` events after the last processed position;
2. feed them to the analyzer, collecting the sessions they touched or whose findings changed
   (a cloud record can change a session it does not belong to);
3. write those sessions' findings and verdicts and the batch's last position in one transaction.

A *following* projector (``follow=True``) is the view of a process whose projections another
process writes — ``blackbox serve`` runs analysis in a worker process so that ingest does not
share its interpreter with the analyzer. It writes nothing: ``catch_up`` waits for the writer's
checkpoint to reach the log's end. (Questions about one session — the guard's — are answered
by that session's own replay, ``analyzer.history.SessionAnalyzers``, in any process.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from analyzer import heap
from analyzer.engine import Analyzer, SessionReport
from analyzer.store import FindingStore, Link, StoredSession
from ingest.log import EventLog, Recorded

# Bump when rules or extraction change what the analyzer concludes: projections written by an
# older version are then recomputed from the log on the next catch-up.
ANALYZER_VERSION = 8
CHECKPOINT = f"analyzer/v{ANALYZER_VERSION}"
BATCH = 5000
WAIT_SECONDS = 10.0  # how long a follower waits for the writer before serving what is there
logger = logging.getLogger("blackbox.analysis")


class Projector:
    def __init__(self, log: EventLog, store: FindingStore, *, batch: int = BATCH,
                 on_change: Callable[[list[SessionReport]], None] | None = None,
                 follow: bool = False) -> None:
        self.log = log
        self.follow = follow
        self.store = store
        self.analyzer = Analyzer()
        self.position = 0  # the last log position fed to the analyzer
        self._batch = batch
        self._warm = False
        self._on_change = on_change
        self._lock = threading.RLock()

    def catch_up(self) -> int:
        """Process every event appended so far; returns how many were new to the projections.

        A follower only waits until the writing process has (and returns 0)."""
        if self.follow:
            self._wait_for_writer()
            return 0
        with self._lock, heap.paused():
            if not self._warm:
                checkpoint = self.store.checkpoint(CHECKPOINT)
                if not self.log.read_all(after_position=checkpoint, limit=1):
                    return 0  # the projections are current: no need to warm up yet
                if checkpoint == 0:
                    self.store.reset()  # rows of an older analyzer version, if any
                self._replay_to(checkpoint)
            processed = 0
            while batch := self.log.read_all(after_position=self.position, limit=self._batch):
                self._project(batch)
                processed += len(batch)
                if len(batch) < self._batch:
                    # The log's end as of this read: what arrived since is the next round's. Chasing
                    # it under a steady load made rounds of a few dozen events, each paying the
                    # reports and the commit (measured: 1,167 commits in 13 s of single events).
                    break
            return processed

    def _project(self, batch: list[Recorded]) -> None:
        """Steps 2 and 3 for one batch read from the log."""
        try:
            changed = self.analyzer.feed_all(r.event for r in batch)
            changed |= {r.event.session_id for r in batch if r.event.session_id}
            reports = self._reports(changed)
            self.store.commit(CHECKPOINT, batch[-1].position, reports, self._new_links())
        except BaseException:
            # The analyzer has taken the batch but the projections have not: fed again on the
            # next round it would count twice. Start over from the stored checkpoint instead.
            self.analyzer, self.position, self._warm = Analyzer(), 0, False
            raise
        self.position = batch[-1].position
        if reports and self._on_change:
            self._on_change(reports)

    def rebuild(self) -> int:
        """Drop every projection and recompute it from the first event."""
        if self.follow:
            raise RuntimeError("a following projector writes no projections")
        with self._lock:
            self.store.reset()
            self.analyzer, self.position, self._warm = Analyzer(), 0, True
        return self.catch_up()

    def _wait_for_writer(self, timeout: float = WAIT_SECONDS) -> None:
        """Read-your-writes across processes: the writer's checkpoint reaches the end as of now."""
        target = self.log.head_position()
        deadline = time.monotonic() + timeout
        while self.store.checkpoint(CHECKPOINT) < target:
            if time.monotonic() >= deadline:
                logger.warning("analysis is %.0fs behind the log; serving the projections as they are",
                               timeout)
                return
            time.sleep(0.005)

    def _replay_to(self, checkpoint: int) -> None:
        while self.position < checkpoint:
            batch = self.log.read_all(after_position=self.position, limit=self._batch)
            batch = [r for r in batch if r.position <= checkpoint]
            if not batch:
                break
            self.analyzer.feed_all(r.event for r in batch)
            self.position = batch[-1].position
        self._warm = True
        self.analyzer.take_new_links()  # made up to the checkpoint: stored already

    def _new_links(self) -> list[Link]:
        return [Link(*link) for link in self.analyzer.take_new_links()]

    def _reports(self, session_ids: set[str]) -> list[SessionReport]:
        reports = [self.analyzer.report(s) for s in sorted(session_ids)]
        return [r for r in reports if r is not None]


def analysis(log: EventLog, store: FindingStore, session_ids: list[str] | None = None) -> list[StoredSession]:
    """The current verdicts: bring the projections up to the log's end, then read them."""
    Projector(log, store).catch_up()
    return store.sessions(session_ids or None)
