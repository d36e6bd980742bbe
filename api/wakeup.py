"""What wakes a waiting worker: a ``threading.Event`` within one process, a ``PipeSignal`` across
processes (the server and its worker process). Both have the ``Wakeup`` shape."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
from multiprocessing.connection import Connection
from typing import Protocol


class Wakeup(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class PipeSignal:
    """An event over a pipe: ``set`` writes a byte, ``wait`` waits for one, ``clear`` drains them.

    A pipe rather than ``multiprocessing.Event``: its semaphores outlive a server stopped by a
    signal (the resource tracker then warns about leaks), and ``set`` must never block the
    request that calls it — the write end is non-blocking, and a full pipe is already "set".
    Picklable for a spawned child (the ends are duplicated into it).
    """

    def __init__(self) -> None:
        self._reader, self._writer = multiprocessing.get_context("spawn").Pipe(duplex=False)
        os.set_blocking(self._writer.fileno(), False)
        os.set_blocking(self._reader.fileno(), False)

    def set(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full of undrained wake-ups: it is set
            os.write(self._writer.fileno(), b"\x01")

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):  # drained
            while os.read(self._reader.fileno(), 4096):
                pass

    def is_set(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> bool:
        readable, _, _ = select.select([self._reader.fileno()], [], [], timeout)
        return bool(readable)

    def __getstate__(self) -> tuple[Connection, Connection]:
        return self._reader, self._writer

    def __setstate__(self, state: tuple[Connection, Connection]) -> None:
        self._reader, self._writer = state
        os.set_blocking(self._writer.fileno(), False)
        os.set_blocking(self._reader.fileno(), False)
