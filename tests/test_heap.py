"""The analysis worker's garbage-collection policy (analyzer/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from analyzer.heap import Survivors, paused


class Node:
    """A cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Nothing frozen before the test; the test process's collector as it was after it."""
    gc.unfreeze()
    gc.collect()
    yield
    gc.unfreeze()
    gc.collect()


def dropped_cycle() -> weakref.ref[Node]:
    return weakref.ref(Node())


def test_paused_turns_the_collector_off_and_back() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()  # it was off: left off
    finally:
        gc.enable()


def test_what_survives_a_round_is_frozen() -> None:
    kept = [Node() for _ in range(100)]
    Survivors().settle(5)
    assert gc.get_freeze_count() >= len(kept)


def test_a_round_without_events_freezes_nothing() -> None:
    Survivors().settle(0)
    assert gc.get_freeze_count() == 0


def test_frozen_cycles_wait_for_the_full_collection() -> None:
    survivors = Survivors(every=100)
    garbage = dropped_cycle()
    survivors.settle(60)
    gc.collect()
    assert garbage() is not None  # frozen: ordinary collections leave it
    assert survivors.full_collections == 0
    survivors.settle(40)  # 100 events since the start: a full collection
    assert garbage() is None
    assert survivors.full_collections == 1


def test_a_full_collection_comes_every_so_many_events() -> None:
    survivors = Survivors(every=10)
    full_at = []
    for analysed in range(1, 36):
        before = survivors.full_collections
        survivors.settle(1)
        if survivors.full_collections > before:
            full_at.append(analysed)
    assert full_at == [10, 20, 30]


def test_a_full_collection_also_comes_after_so_long_while_events_come() -> None:
    survivors = Survivors(every=1_000_000, every_seconds=0.0)
    garbage = dropped_cycle()
    survivors.settle(0)  # no events: nothing happens, however long it has been
    assert survivors.full_collections == 0
    survivors.settle(1)
    assert survivors.full_collections == 1 and garbage() is None
