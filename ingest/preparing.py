"""Where the server maps request bodies too large to map on its event loop.

Mapping (parse, redact, map, encode) costs ~45 µs of CPU per event. Done in the server's own
interpreter, it shares one GIL with everything else the server does, so under a load of batches
that one process is the bottleneck while the second core waits. ``blackbox serve`` therefore
maps large bodies in a child process (``PreparationProcess``); an app embedded in another
process (tests, ``create_app(services=...)``) maps them on one thread of its own
(``PreparationThread``). Both map one body at a time, in arrival order: mapped concurrently,
bodies share the CPU and all reach the log writer late and together, the writer and the server
idling in turn; in order, each body commits while the next one is mapped.

The child is a pure function of the body: the same ``Preparer`` (its redaction key and limits)
maps it, and only the writer's form of the events comes back (``Prepared.without_events``),
plain tuples that pickle in C. A child that dies fails the request it was mapping with
``Unavailable`` (nothing of it was appended; re-sending is safe) and is started again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol

from ingest.adapters.blackbox import BlackboxAdapter
from ingest.errors import BlackboxError, Unavailable
from ingest.log.process import name_this_process, spawn_child
from ingest.pipeline import Prepared, Preparer

log = logging.getLogger(__name__)

READY_SECONDS = 60.0
STOP_SECONDS = 10.0
_READY = "ready"
PREPARER_NAME = "blackbox-prep"  # a process name shows 15 characters
ENVELOPE_FORMAT = BlackboxAdapter.name
Mapped = tuple[str | None, list[Prepared]]  # the format chosen, the body's prepared chunks


class Preparation(Protocol):
    """Maps whole request bodies, one at a time in arrival order."""

    async def prepare(self, data: bytes, fmt: str, params: Mapping[str, str]) -> Mapped: ...
    def close(self) -> None: ...


def prepare_all(preparer: Preparer, data: bytes, fmt: str, params: Mapping[str, str]) -> Mapped:
    if fmt == ENVELOPE_FORMAT:
        one = preparer.prepare_envelope(data)
        if one is not None:
            return fmt, [one]
    chosen, chunks = preparer.prepare(data, fmt, params=params)
    return chosen, list(chunks)


class PreparationThread:
    """Bodies mapped on one thread of this process."""

    def __init__(self, preparer: Preparer) -> None:
        self._preparer = preparer
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=PREPARER_NAME)

    async def prepare(self, data: bytes, fmt: str, params: Mapping[str, str]) -> Mapped:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, prepare_all, self._preparer, data, fmt, params)

    def close(self) -> None:
        self._thread.shutdown()


class PreparationProcess:
    """Bodies mapped in a child process, sent and answered over a socket pair by one thread of
    the server (so: one body at a time, in arrival order). Only the server holds its end of the
    socket: a child whose server is gone, even by SIGKILL, reads end-of-file and exits."""

    def __init__(self, preparer: Preparer) -> None:
        self._preparer = preparer
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=PREPARER_NAME)
        self._process, self._conn = self._spawn()

    async def prepare(self, data: bytes, fmt: str, params: Mapping[str, str]) -> Mapped:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._round_trip, (data, fmt, dict(params)))

    def close(self) -> None:
        self._thread.shutdown()
        self._conn.close()  # the child reads end-of-file and exits
        self._process.join(timeout=STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def _round_trip(self, request: tuple[bytes, str, dict[str, str]]) -> Mapped:
        """On the one thread: send a body, wait for its chunks (or the error it raised)."""
        if not self._process.is_alive():  # it died between requests: a successor takes this body
            self._respawn()
        try:
            self._conn.send(request)
            answer: Mapped | BaseException = self._conn.recv()
        except (EOFError, OSError):
            self._respawn()  # this body may be what killed it: it is not tried again
            raise Unavailable("the process mapping this request died before it finished; nothing "
                              "of it was stored, re-sending it is safe") from None
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _respawn(self) -> None:
        log.error("the preparation process died (exit code %s); starting it again",
                  self._process.exitcode)
        self._conn.close()
        self._process.join(timeout=1.0)
        self._process, self._conn = self._spawn()

    def _spawn(self) -> tuple[BaseProcess, Connection]:
        process, ours = spawn_child(serve_preparation, PREPARER_NAME,
                                    lambda conn: (self._preparer, conn))
        conn = Connection(ours.detach())
        try:
            ready = conn.poll(READY_SECONDS) and conn.recv() == _READY  # its imports are done
        except EOFError:  # it died before saying so
            ready = False
        if not ready:
            process.terminate()
            conn.close()
            raise Unavailable("the preparation process did not start")
        return process, conn


def serve_preparation(preparer: Preparer, conn: Connection) -> None:
    """The child's body: map each body the server sends, answer with its chunks in the writer's
    form (or with the error it raised); until the server closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server stops us
    name_this_process(PREPARER_NAME)
    conn.send(_READY)
    while True:
        try:
            data, fmt, params = conn.recv()
        except EOFError:
            return
        conn.send(_mapped_or_error(preparer, data, fmt, params))


def _mapped_or_error(preparer: Preparer, data: bytes, fmt: str,
                     params: dict[str, str]) -> Mapped | BaseException:
    try:
        chosen, chunks = prepare_all(preparer, data, fmt, params)
        return chosen, [chunk.without_events() for chunk in chunks]
    except BlackboxError as exc:
        return exc
    except Exception as exc:  # a bug: the server answers 500, as when mapped in place
        log.exception("preparing a %s body failed", fmt)  # the traceback stays here: logged
        return RuntimeError(f"preparing the body failed: {exc!r}")
