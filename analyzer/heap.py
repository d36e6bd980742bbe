"""Garbage collection in a process that keeps the analyzer's working memory.

CPython's cyclic collector scans tracked objects again and again: new ones at every young
collection, everything whenever the heap has grown by a quarter. The analyzer's working memory is
a large heap that lives as long as the process, and an analysis round adds to it. Measured on the
ingest bench's events (60,000 events in rounds of 250, 2 cores): the collector took about 30 µs of
the ~85 µs the worker spent per event, most of it in full collections.

So a process that analyses round after round (``api.analysis.AnalysisWorker``):
1. runs each round with the collector off (``paused``): reference counting frees what a round
   drops; only cycles would wait, and a round makes none (measured: a young collection after each
   round found no unreachable object);
2. freezes what survived the round (``Survivors.settle``): the collector leaves it alone;
3. now and then unfreezes everything for one full collection, so cycles that did become garbage
   are freed: when the events analysed since the last one outnumber those before it (so each
   object is scanned about once over the process's life, not about six times), and at least every
   ``FULL_EVERY_MAX`` events.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FULL_EVERY_MIN = 10_000  # events between full collections, at first
FULL_EVERY_MAX = 1_000_000  # and at most


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

    def __init__(self, *, every_min: int = FULL_EVERY_MIN, every_max: int = FULL_EVERY_MAX) -> None:
        self._every_min, self._every_max = every_min, every_max
        self._analysed = 0  # events analysed before the last full collection
        self._since_full = 0
        self.full_collections = 0

    def settle(self, analysed: int) -> None:
        """After a round that analysed ``analysed`` events."""
        if analysed <= 0:
            return
        self._since_full += analysed
        if self._since_full >= self._next_full():
            self._collect_everything()
        gc.freeze()

    def _next_full(self) -> int:
        return min(max(self._analysed, self._every_min), self._every_max)

    def _collect_everything(self) -> None:
        gc.unfreeze()
        gc.collect()
        self._analysed += self._since_full
        self._since_full = 0
        self.full_collections += 1
