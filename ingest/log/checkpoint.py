"""WAL checkpoints of a SQLite log, off the commit path.

SQLite copies the WAL back into the database file (a checkpoint) on the commit that finds the
WAL past ``wal_autocheckpoint`` pages, and that commit's callers wait for it. The log's writer
checkpoints every 10,000 pages (``ingest.log.engines``): under single-event load that was one
commit in ~200, and it took 5-23 ms, while every client waited (`bench/traced_serve.py`: 84
commits over 5 ms in 15 s; the p99 of a request was 18 ms).

So the writer process runs a ``WalCheckpointer``: a thread with a connection of its own that
copies the WAL every ``period`` seconds while commits go on (SQLite lets a checkpoint run beside
a writer; the copying happens with the GIL released). The WAL file can only start over when a
write transaction begins with every frame copied, which a checkpoint beside back-to-back commits
rarely sees; so after a pass over a large WAL the thread says so (``restart_due``), and the
writer, between two commits, copies what was committed during that pass itself
(``SqlRecorder.checkpoint_if_due``): its next transaction starts the WAL over. (Waiting instead
for a pass that leaves only a few frames never happened under 500-event batches, whose commits
add ~1,500 frames each: the WAL reached 100 MB.) The writer's own
``wal_autocheckpoint`` stays as a safety net at ``SAFETY_NET_PAGES`` (if the thread fails or
falls behind, commits checkpoint as before, only later).

Same setup, 15 s of single events (32 clients): commits over 5 ms 83-84 -> 10-22, longest
commit 21 ms -> 6-11 ms, request p99 18 ms -> 12-13 ms (three alternated pairs: 20.0 / 18.5 / 17.3
against 13.2 / 12.9 / 12.3 ms), the same throughput. The WAL file's high-water mark: 36-56 MB
under single events, 55 MB under 500-event batches (59 MB before, with commits checkpointing). A
reader's snapshot (the analysis worker, the server's reads) can keep the last frames from being
copied, and then the WAL can not start over; the writer tries again after each of its next
commits (``_WRITER_TRIES``), and the safety net bounds the WAL at 40,000 pages (160 MB).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

PERIOD_SECONDS = 0.2  # about the time 10,000 pages take to fill at full single-event load
CAUGHT_UP_FRAMES = 300  # a pass that leaves fewer is done (more passes while commits add more)
RESTART_AFTER_FRAMES = 2_000  # smaller WALs are not worth a pass on the writer's thread
SAFETY_NET_PAGES = 40_000
_CATCH_UP_PASSES = 5  # passes per period while commits keep adding frames
_WRITER_TRIES = 8  # a reader's snapshot pins frames for a few ms; each try copies a commit's worth


class WalCheckpointer:
    """Copies a SQLite database's WAL into it from a thread, every ``period`` seconds."""

    def __init__(self, path: str, *, period: float = PERIOD_SECONDS,
                 restart_after: int = RESTART_AFTER_FRAMES) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous=FULL")  # the copy is synced before the WAL reuses it
        self._period = period
        self._restart_after = restart_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blackbox-wal-checkpoint",
                                         daemon=True)
        self.restart_due = False  # set here, cleared by the writer when it has acted on it
        self._writer_tries = 0
        self.passes = 0
        self.largest_wal_frames = 0  # the most frames a pass found in the WAL (observability)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._conn.close()

    def caught_up(self, *, every_frame: bool) -> None:
        """The writer's pass for a due restart: done when it copied every frame, else it tries
        again after its next commits, up to ``_WRITER_TRIES`` times."""
        self._writer_tries += 1
        if every_frame or self._writer_tries >= _WRITER_TRIES:
            self.restart_due = False
            self._writer_tries = 0

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self._catch_up()
            except sqlite3.Error as exc:  # the safety net still checkpoints; say why it is needed
                log.warning("background WAL checkpoint failed: %s", exc)

    def _catch_up(self) -> None:
        frames = copied = 0
        for _ in range(_CATCH_UP_PASSES):
            _busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.passes += 1
            self.largest_wal_frames = max(self.largest_wal_frames, frames)
            if frames - copied < CAUGHT_UP_FRAMES:
                break
        if frames >= self._restart_after:  # the writer copies the rest: what came during the pass
            self.restart_due = True
