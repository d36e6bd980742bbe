"""The log's writer in a process of its own: ``blackbox serve``'s commits, off the server's GIL.

Measured under single-event load (wrk, 32 clients): with the group committer as a thread of the
server, a commit's statements released and retook the GIL at every SQLite step, and the writer
thread and the event loop handed the GIL back and forth thousands of times a second; with the
commits in a child process but threads of the server still feeding it and reading its answers,
those two threads alone cost 66 µs of CPU per request, most of it in context switches.

So the child commits, and the server's event loop talks to it directly over a socket: a request
adds its batch to what goes out on this turn of the loop, the loop writes it without blocking,
and the child's answers are read and resolved on the loop when the socket is readable. No other
thread of the server takes part. The socket is the commit queue: while the child commits (and
fsyncs) one group, the next accumulates, and the child takes all of it at once. Durability is
unchanged: the child answers only after the transaction holding a batch has committed, and
callers are acknowledged only then. Callers on other threads hand their batch to the loop.

A child that dies fails the batches it held with ``StorageError`` (they may or may not be
stored: re-sending is safe, appends are idempotent by event id) and is started again. A child
whose server is gone (even by SIGKILL) sees its socket close and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ingest.errors import BlackboxError, StorageError
from ingest.log.chain import Shipped
from ingest.log.commit import Result, Waiter, commit_together, resolve
from ingest.log.types import AppendOutcome

if TYPE_CHECKING:
    from ingest.log.sql import SqlRecorder

log = logging.getLogger(__name__)

READY_SECONDS = 60.0
STOP_SECONDS = 30.0
_READY = "ready"
_READ_BYTES = 256 * 1024

# Server → child: a list of (id, batch), or None (stop). Child → server: a list of (id, result)
# per transaction, an outcome travelling as a plain (appended, duplicates) tuple: as frozen
# dataclasses, one commit's eleven answers cost 17 µs to pickle and 19 µs to unpickle, as
# tuples 1 µs. Frames as multiprocessing's Connection writes and reads them (the child uses
# one): a signed 32-bit big-endian length, or -1 and an unsigned 64-bit length, then a pickle.
_Message = list[tuple[int, Sequence[Shipped]]]
_WireResult = tuple[int, int] | BlackboxError
_Answer = list[tuple[int, _WireResult]]


def _to_wire(result: Result) -> _WireResult:
    return result if isinstance(result, BlackboxError) else (result.appended, result.duplicates)


def _from_wire(result: _WireResult) -> Result:
    return result if isinstance(result, BlackboxError) else AppendOutcome(*result)


def frame(obj: object) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    if len(payload) > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, len(payload)) + payload
    return struct.pack("!i", len(payload)) + payload


class Frames:
    """Incremental decoder of a stream of frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Any]:
        self._buffer += data
        while True:
            found = self._next()
            if found is None:
                return
            yield found[0]

    def _next(self) -> tuple[Any] | None:
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        (size,), start = struct.unpack_from("!i", buffer), 4
        if size == -1:
            if len(buffer) < 12:
                return None
            (size,), start = struct.unpack_from("!Q", buffer, 4), 12
        if len(buffer) < start + size:
            return None
        obj = pickle.loads(bytes(buffer[start:start + size]))
        del buffer[:start + size]
        return (obj,)


class ProcessCommitter:
    """Group commits in a child process on ``url``, driven by the running event loop.

    Create it on the loop that will use it (the server's lifespan)."""

    def __init__(self, url: str, *, max_events: int = 10_000) -> None:
        self.url = url
        self._max_events = max_events
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise StorageError("a ProcessCommitter needs a running event loop") from None
        self._loop_thread = threading.get_ident()
        self._ids = itertools.count()
        self._waiting: dict[int, Waiter] = {}
        self._outgoing: _Message = []  # batches of this turn of the loop, not framed yet
        self._unsent = bytearray()  # framed, not taken by the socket yet
        self._frames = Frames()
        self._flush_due = False
        self._closed = False
        self._restarting = False
        self.commits = 0  # observed by metrics: how many transactions the child ran
        self._process, self._sock = self._spawn()
        self._attach()

    # -- callers ------------------------------------------------------------------------------

    def submit_async(self, batch: Sequence[Shipped]) -> asyncio.Future[AppendOutcome]:
        """For a caller on the loop: its batch goes out on this turn of the loop."""
        if asyncio.get_running_loop() is not self._loop:
            return asyncio.wrap_future(self.submit(batch))
        future: asyncio.Future[AppendOutcome] = self._loop.create_future()
        self._enqueue(batch, future)
        return future

    def submit(self, batch: Sequence[Shipped]) -> Future[AppendOutcome]:
        """From any thread. On the loop's own thread, never wait for the result: the loop is
        what resolves it."""
        future: Future[AppendOutcome] = Future()
        if threading.get_ident() == self._loop_thread:
            self._enqueue(batch, future)
            return future
        try:
            self._loop.call_soon_threadsafe(self._enqueue, batch, future)
        except RuntimeError:  # the loop is closed: the server is gone
            resolve(future, StorageError("the log is closed"))
        return future

    def close(self) -> None:
        """Send what is queued, let the child commit it and stop; resolve every caller."""
        if threading.get_ident() != self._loop_thread and self._loop.is_running():
            done: Future[None] = Future()
            self._loop.call_soon_threadsafe(self._close_for, done)
            done.result()
            return
        if self._closed:
            return
        self._closed = True
        self._detach()
        self._drain()

    def _close_for(self, done: Future[None]) -> None:
        try:
            self.close()
        finally:
            done.set_result(None)

    # -- on the loop --------------------------------------------------------------------------

    def _enqueue(self, batch: Sequence[Shipped], waiter: Waiter) -> None:
        if self._closed:
            resolve(waiter, StorageError("the log is closed"))
            return
        ident = next(self._ids)
        self._waiting[ident] = waiter
        self._outgoing.append((ident, batch))
        if not self._flush_due:
            self._flush_due = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        if self._restarting or not self._outgoing or self._closed:
            return  # a restarted child takes them once it is ready; close() drains them
        self._unsent += frame(self._outgoing)
        self._outgoing = []
        self._send()

    def _send(self) -> None:
        try:
            sent = self._sock.send(self._unsent)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._child_lost()
            return
        del self._unsent[:sent]
        if self._unsent:
            self._loop.add_writer(self._sock.fileno(), self._send)
        else:
            self._loop.remove_writer(self._sock.fileno())

    def _receive(self) -> None:
        try:
            data = self._sock.recv(_READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._child_lost()
            return
        self._settle(self._frames.feed(data))

    def _settle(self, answers: Iterator[_Answer]) -> None:
        for answer in answers:
            self.commits += 1
            for ident, result in answer:
                resolve(self._waiting.pop(ident), _from_wire(result))

    # -- the child ----------------------------------------------------------------------------

    def _spawn(self) -> tuple[BaseProcess, socket.socket]:
        process, ours = spawn_child(serve_writes, "blackbox-log-writer",
                                    lambda conn: (self.url, conn, self._max_events))
        _await_ready(process, ours, self.url)
        return process, ours

    def _attach(self) -> None:
        self._sock.setblocking(False)
        self._frames = Frames()
        self._loop.add_reader(self._sock.fileno(), self._receive)

    def _detach(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.remove_reader(self._sock.fileno())
        self._loop.remove_writer(self._sock.fileno())

    def _child_lost(self) -> None:
        """The child is gone: fail what it held, start another off the loop."""
        self._detach()
        self._sock.close()
        self._unsent.clear()
        self._process.join(timeout=1.0)  # it closed its end: it is exiting (code for the log)
        error = _died(self._process)
        held, self._waiting = self._waiting, {}
        queued = {ident for ident, _ in self._outgoing}
        for ident, waiter in held.items():
            if ident in queued:
                self._waiting[ident] = waiter  # never sent: the next child takes it
            else:
                resolve(waiter, error)
        log.error("%s; starting it again", error)
        self._restarting = True
        self._loop.run_in_executor(None, self._spawn).add_done_callback(self._restarted)

    def _restarted(self, spawned: asyncio.Future[tuple[BaseProcess, socket.socket]]) -> None:
        self._restarting = False
        try:
            self._process, self._sock = spawned.result()
        except Exception as exc:
            log.error("the log writer process could not be started again: %s", exc)
            self._closed = True  # nothing can be appended; the server answers 503
            for waiter in self._waiting.values():
                resolve(waiter, StorageError(f"the log writer process is down: {exc}"))
            self._waiting.clear()
            return
        if self._closed:
            self._drain()
            return
        self._attach()
        self._flush()

    def _drain(self) -> None:
        """Blocking, at close: send the rest and a stop, read answers until the child exits."""
        if self._restarting:
            return  # _restarted drains once the new child is there
        try:
            self._sock.setblocking(True)
            rest = frame(self._outgoing) if self._outgoing else b""
            self._sock.sendall(bytes(self._unsent) + rest + frame(None))
            self._outgoing = []
            while data := self._sock.recv(_READ_BYTES):
                self._settle(self._frames.feed(data))
        except OSError:
            pass
        self._process.join(timeout=STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._sock.close()
        error = StorageError("the log was closed before this append was committed")
        for waiter in self._waiting.values():
            resolve(waiter, error)
        self._waiting.clear()


def spawn_child(target: Callable[..., None], name: str,
                args: Callable[[Connection], tuple[Any, ...]]) -> tuple[BaseProcess, socket.socket]:
    """Start ``target(*args(conn))`` in a child process talking to us over a socket pair; our
    end is returned. Only the child holds its end, so each side sees end-of-file when the other
    is gone (even by SIGKILL)."""
    ours, theirs = socket.socketpair()
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    process = cast(BaseProcess, context.Process(
        target=target, args=args(Connection(theirs.detach())), name=name, daemon=True))
    try:
        process.start()
    finally:
        theirs.close()
    return process, ours


def _await_ready(process: BaseProcess, sock: socket.socket, url: str) -> None:
    sock.settimeout(READY_SECONDS)
    frames = Frames()
    try:
        while True:
            data = sock.recv(_READ_BYTES)
            if not data:
                process.join()
                raise StorageError(f"the log writer process could not open {url}")
            for ready in frames.feed(data):
                if isinstance(ready, BaseException):
                    process.join()
                    raise ready
                return
    except TimeoutError:
        process.terminate()
        raise StorageError(f"the log writer process did not start within {READY_SECONDS:.0f} s") from None


def _died(process: BaseProcess) -> StorageError:
    return StorageError(
        f"the log writer process died (exit code {process.exitcode}) before answering; "
        "these events may or may not be stored, re-sending them is safe")


def name_this_process(name: str) -> None:
    """Show ``name`` for this process in ps/top (Linux; elsewhere nothing happens)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])


WRITER_NAME = "blackbox-writer"


def serve_writes(url: str, conn: Connection, max_events: int) -> None:
    """The child's body: commit what the server sent, in as few transactions as the queue
    allows, and answer each; until told to stop or the server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server stops us
    name_this_process(WRITER_NAME)
    from ingest.log.sql import SqlRecorder

    try:
        recorder = SqlRecorder(url)
    except BlackboxError as exc:
        conn.send(exc)
        return
    conn.send(_READY)
    try:
        _start_checkpoints(recorder)
        _serve(recorder, conn, max_events)
    finally:
        recorder.close()


def _serve(recorder: SqlRecorder, conn: Connection, max_events: int) -> None:
    pending: _Message = []
    stopping = False
    while pending or not stopping:
        if not stopping:
            stopping = _gather(conn, pending, max_events)
        take = _fill(pending, max_events)
        group, pending = pending[:take], pending[take:]
        if group:
            results = commit_together(recorder.write, [batch for _, batch in group])
            conn.send([(ident, _to_wire(result))
                       for (ident, _), result in zip(group, results, strict=True)])
            _checkpoint_if_due(recorder)


def _start_checkpoints(recorder: SqlRecorder) -> None:
    try:
        recorder.start_background_checkpoints()
    except BlackboxError as exc:  # commits then checkpoint on their own, as SQLite does by default
        log.warning("%s; commits will checkpoint the WAL themselves", exc)


def _checkpoint_if_due(recorder: SqlRecorder) -> None:
    """After the answers are out: a failed pass costs nobody's append (the safety net remains)."""
    try:
        recorder.checkpoint_if_due()
    except BlackboxError as exc:
        log.warning("WAL checkpoint between commits failed: %s", exc)


def _gather(conn: Connection, pending: _Message, max_events: int) -> bool:
    """Add to ``pending`` every message already sent (waiting for one when nothing is pending),
    until ``max_events``; True when the server said stop or is gone."""
    size = sum(len(batch) for _, batch in pending)
    while size < max_events and (not pending or conn.poll()):
        try:
            message: _Message | None = conn.recv()
        except EOFError:
            return True
        if message is None:
            return True
        pending.extend(message)
        size += sum(len(batch) for _, batch in message)
    return False


def _fill(group: _Message, max_events: int) -> int:
    """How many batches of ``group`` one transaction takes (at least one, however large)."""
    size = 0
    for count, (_, batch) in enumerate(group):
        size += len(batch)
        if size > max_events and count:
            return count
    return len(group)
