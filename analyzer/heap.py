"""Garbage collection in a process that keeps the analyzer's working memory.

CPython's cyclic collector scans tracked objects again and again: new ones at every young
collection, everything whenever the heap has grown by a quarter. The analyzer's working memory is
a large heap that lives as long as the process, and an analysis round adds to it. Measured with the
worker's rounds replayed in one process (60,000 of the ingest bench's events, rounds of 250): the
collector took about 30 µs of the ~85 µs spent per event, most of it in full collections.

So a process that analyses round after round (``api.analysis.AnalysisWorker``):
1. runs each round with the collector off (``paused``): reference counting frees what a round
   drops; only cycles would wait, and a round makes none (measured: a young collection after each
   round found no unreachable object);
2. freezes what survived the round (``Survivors.settle``): the collector leaves it alone;
3. every ``FULL_EVERY`` events (or, when events are few, every ``FULL_EVERY_SECONDS`` with at
   least one), unfreezes everything for one full collection, so cycles that did become garbage
   are freed after all — including those of other threads, whose objects a freeze takes too. A
   full collection scans the whole process — the worker's imports alone are about 200,000
   objects, 0.15 s — so it is rare: collecting whenever the analysed events doubled cost the
   worker 1.1 s of its first 13 s.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

FULL_EVERY = 1_000_000  # events analysed between full collections
FULL_EVERY_SECONDS = 3600.0  # and at most this long, while events come


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off while the block runs (restored as it was).

    Any catch-up, not only a worker's: it allocates thousands of short-lived dicts beside the
    analyzer's state, and a collector left on re-scanned that state over and over (measured: it
    halved rebuild throughput)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Survivors:
    """Freezes what each round leaves behind; runs the occasional full collection."""

    def __init__(self, *, every: int = FULL_EVERY, every_seconds: float = FULL_EVERY_SECONDS) -> None:
        self._every, self._every_seconds = every, every_seconds
        self._since_full = 0
        self._last_full = time.monotonic()
        self.full_collections = 0

    def settle(self, analysed: int) -> None:
        """After a round that analysed ``analysed`` events."""
        if analysed <= 0:
            return
        self._since_full += analysed
        if self._since_full >= self._every or time.monotonic() - self._last_full >= self._every_seconds:
            gc.unfreeze()
            gc.collect()
            self._since_full, self._last_full = 0, time.monotonic()
            self.full_collections += 1
        gc.freeze()
