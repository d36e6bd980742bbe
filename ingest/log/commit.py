"""Group commit: one writer thread turns many callers' small appends into one transaction.

Durability costs one fsync per commit, not per request: while a commit is in flight, new appends
queue up, and the next commit takes all of them (up to ``max_events``). Each caller waits on its
own future, which resolves only after the transaction holding its events has committed.
If a combined commit fails, each batch is retried alone so one bad batch fails only its caller.

The hand-offs are cheap on purpose (single-event ingest does one per request): callers enqueue on
a C-level ``SimpleQueue`` rather than a ``Condition``, and the waiters of one commit that await
on an event loop are resolved there with one thread-safe call, not one per waiter.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Protocol

from ingest.errors import BlackboxError, StorageError
from ingest.log.chain import Shipped
from ingest.log.types import AppendOutcome

log = logging.getLogger(__name__)

WriteBatches = Callable[[Sequence[Sequence[Shipped]]], list[AppendOutcome]]
Waiter = Future[AppendOutcome] | asyncio.Future[AppendOutcome]
_Pending = tuple[Sequence[Shipped], Waiter]
Result = AppendOutcome | BlackboxError


class Committer(Protocol):
    """What the log appends through: a thread of this process (``GroupCommitter``) or a child
    process driven by the event loop (``ingest.log.process.ProcessCommitter``)."""

    commits: int  # transactions run, observed by metrics and tests

    def submit(self, batch: Sequence[Shipped]) -> Future[AppendOutcome]: ...
    def submit_async(self, batch: Sequence[Shipped]) -> asyncio.Future[AppendOutcome]: ...
    def close(self) -> None: ...


class GroupCommitter:
    def __init__(self, write: WriteBatches, *, max_events: int = 10_000) -> None:
        self._write = write
        self._max_events = max_events
        # None in the queue: close() was called; commit what came before it, then stop.
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._carried: _Pending | None = None  # dequeued, but it would have overfilled a commit
        self._lock = threading.Lock()  # orders appends against close: none is queued after None
        self._closed = False
        self.commits = 0  # observed by metrics and tests: how many transactions ran
        self._thread = threading.Thread(target=self._run, name="blackbox-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: Sequence[Shipped]) -> Future[AppendOutcome]:
        future: Future[AppendOutcome] = Future()
        self._enqueue((batch, future))
        return future

    def submit_async(self, batch: Sequence[Shipped]) -> asyncio.Future[AppendOutcome]:
        """Like ``submit``, for a caller on an event loop: the future is that loop's own."""
        future: asyncio.Future[AppendOutcome] = asyncio.get_running_loop().create_future()
        self._enqueue((batch, future))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    def _enqueue(self, pending: _Pending) -> None:
        with self._lock:
            if self._closed:
                raise StorageError("the log is closed")
            self._queue.put(pending)

    def _run(self) -> None:
        closed = False
        while not closed:
            taken, closed = self._take()
            if taken:
                self._commit(taken)

    def _take(self) -> tuple[list[_Pending], bool]:
        """What is queued (waiting for a first append), up to ``max_events``; and whether the log
        was closed after it."""
        first = self._carried if self._carried is not None else self._queue.get()
        self._carried = None
        if first is None:
            return [], True
        taken, size = [first], len(first[0])
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return taken, False
            if item is None:
                return taken, True
            if size + len(item[0]) > self._max_events:
                self._carried = item
                return taken, False
            taken.append(item)
            size += len(item[0])

    def _commit(self, taken: list[_Pending]) -> None:
        results = commit_together(self._write, [batch for batch, _ in taken])
        self.commits += 1
        settle([waiter for _, waiter in taken], results)


def commit_together(write: WriteBatches, batches: list[Sequence[Shipped]]) -> list[Result]:
    """One outcome or error per batch: all in one transaction, or, if that fails, each batch
    in its own (so one bad batch fails only its caller)."""
    try:
        return list(write(batches))
    except Exception as exc:  # the writer must survive anything; callers get the error
        if len(batches) > 1:
            return [commit_together(write, [batch])[0] for batch in batches]
        return [_as_blackbox_error(exc)]


def settle(waiters: Sequence[Waiter], results: Sequence[Result]) -> None:
    """Resolve each waiter: thread futures here, loop futures in one call per loop."""
    on_loops: defaultdict[asyncio.AbstractEventLoop, list[tuple[Waiter, Result]]] = defaultdict(list)
    for waiter, result in zip(waiters, results, strict=True):
        if isinstance(waiter, asyncio.Future):
            on_loops[waiter.get_loop()].append((waiter, result))
        else:
            resolve(waiter, result)
    for loop, settled in on_loops.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, settled)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            log.debug("event loop closed before %d appends were acknowledged", len(settled))


def _resolve_all(settled: list[tuple[Waiter, Result]]) -> None:
    for waiter, result in settled:
        resolve(waiter, result)


def resolve(waiter: Waiter, result: Result) -> None:
    if waiter.done():  # the caller gave up (cancelled); its events are committed all the same
        return
    try:
        if isinstance(result, BlackboxError):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)
    except InvalidStateError:  # a thread future cancelled between the check and here
        pass


def _as_blackbox_error(exc: Exception) -> BlackboxError:
    if isinstance(exc, BlackboxError):
        return exc
    log.exception("unexpected error in the log writer")
    return StorageError(f"append failed: {exc}")
