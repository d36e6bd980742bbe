"""Group commit: one writer thread turns many callers' small appends into one transaction.

Durability costs one fsync per commit, not per request: while a commit is in flight, new appends
queue up, and the next commit takes all of them (up to ``max_events``). Each caller waits on its
own future, which resolves only after the transaction holding its events has committed.
If a combined commit fails, each batch is retried alone so one bad batch fails only its caller.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from ingest.errors import BlackboxError, StorageError
from ingest.log.chain import Encoded
from ingest.log.types import AppendOutcome

log = logging.getLogger(__name__)

WriteBatches = Callable[[Sequence[Sequence[Encoded]]], list[AppendOutcome]]
_Pending = tuple[Sequence[Encoded], "Future[AppendOutcome]"]


class GroupCommitter:
    def __init__(self, write: WriteBatches, *, max_events: int = 10_000) -> None:
        self._write = write
        self._max_events = max_events
        self._pending: deque[_Pending] = deque()
        self._wakeup = threading.Condition()
        self._closed = False
        self.commits = 0  # observed by metrics and tests: how many transactions ran
        self._thread = threading.Thread(target=self._run, name="blackbox-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: Sequence[Encoded]) -> Future[AppendOutcome]:
        future: Future[AppendOutcome] = Future()
        with self._wakeup:
            if self._closed:
                raise StorageError("the log is closed")
            self._pending.append((batch, future))
            self._wakeup.notify()
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        with self._wakeup:
            self._closed = True
            self._wakeup.notify()
        self._thread.join()

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            self._commit(taken)

    def _take(self) -> list[_Pending] | None:
        with self._wakeup:
            while not self._pending and not self._closed:
                self._wakeup.wait()
            taken: list[_Pending] = []
            size = 0
            while self._pending and (not taken or size + len(self._pending[0][0]) <= self._max_events):
                item = self._pending.popleft()
                taken.append(item)
                size += len(item[0])
            return taken or None

    def _commit(self, taken: list[_Pending]) -> None:
        try:
            outcomes = self._write([batch for batch, _ in taken])
        except Exception as exc:  # the writer thread must survive anything; callers get the error
            if len(taken) > 1:
                for item in taken:
                    self._commit([item])
                return
            taken[0][1].set_exception(_as_blackbox_error(exc))
            return
        self.commits += 1
        for (_, future), outcome in zip(taken, outcomes, strict=True):
            future.set_result(outcome)


def _as_blackbox_error(exc: Exception) -> BlackboxError:
    if isinstance(exc, BlackboxError):
        return exc
    log.exception("unexpected error in the log writer")
    return StorageError(f"append failed: {exc}")
