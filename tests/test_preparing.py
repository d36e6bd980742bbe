"""Where large request bodies are mapped: a child process of ``blackbox serve``, or one thread."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ingest.errors import PayloadTooLarge, RecordError, Unavailable
from ingest.pipeline import Prepared, Preparer
from ingest.preparing import Mapped, PreparationProcess, PreparationThread
from ingest.redact import Redactor
from tests.helpers import envelope

KEY = b"preparing-test-key"


class DyingPreparer(Preparer):
    """Dies (SIGKILL) on a body that says so: a child process that crashes mid-body."""

    def prepare(self, data: bytes, fmt: str, **kwargs: Any) -> tuple[str | None, Iterator[Prepared]]:
        if b"die now" in data:
            os.kill(os.getpid(), signal.SIGKILL)
        if b"refuse now" in data:
            raise PayloadTooLarge("refused in the child")
        if b"fail now" in data:
            raise ValueError("a bug in the child")
        return super().prepare(data, fmt, **kwargs)


def _exit_at_once() -> None:
    os._exit(3)


class UnstartablePreparer(Preparer):
    """Kills the child that unpickles it: a preparer process that dies before it is ready."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _exit_at_once, ()


def _preparer() -> DyingPreparer:
    return DyingPreparer(Redactor(KEY), max_depth=16, chunk_size=50)


def _body() -> bytes:
    docs: list[Any] = [envelope(n, session="prep", note="AKIAQYLPMN5HFIQR7XYZ") for n in range(120)]
    docs[7] = {**docs[7], "kind": "telepathy"}  # rejected, by field and index
    return orjson.dumps(docs)


def _rows(chunk: Prepared) -> list[tuple[Any, ...]]:
    """The writer's rows, but for the time each process received the body at."""
    return [(*row[:-1], {**orjson.loads(row[-1]), "received_at": None}) for row in chunk.to_ship()]


def _summary(mapped: Mapped) -> tuple[Any, ...]:
    chosen, chunks = mapped
    return (chosen, [_rows(chunk) for chunk in chunks], [chunk.records for chunk in chunks],
            [[(e.reason, e.field, e.index, e.line) for e in chunk.errors] for chunk in chunks],
            [chunk.rejects for chunk in chunks])


def test_a_record_error_pickles_with_its_place() -> None:
    error = RecordError("unknown kind", field="kind", index=7, line=3, location="a.jsonl")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.field, copy.index, copy.line, copy.location) == (
        "unknown kind", "kind", 7, 3, "a.jsonl")
    assert str(copy) == str(error)


def test_the_child_maps_a_body_as_this_process_would() -> None:
    body = _body()
    chosen, chunks = _preparer().prepare(body, "blackbox")
    here = (chosen, list(chunks))
    process = PreparationProcess(_preparer())
    try:
        there = asyncio.run(process.prepare(body, "blackbox", {}))
    finally:
        process.close()
    assert len(there[1]) == 3 and all(not chunk.encoded for chunk in there[1])  # the writer's form only
    assert _summary(there) == _summary(here)
    shipped = [row for chunk in there[1] for row in chunk.to_ship()]
    assert len(shipped) == 119 and not any(b"AKIAQYLPMN5HFIQR7XYZ" in row[-1] for row in shipped)
    assert [(e.field, e.index) for chunk in there[1] for e in chunk.errors] == [("kind", 7)]


@pytest.mark.slow
def test_a_dead_child_is_replaced_and_only_its_body_fails() -> None:
    process = PreparationProcess(_preparer())
    try:
        first = process._process
        os.kill(first.pid or 0, signal.SIGKILL)  # dies between requests: the next body does not notice
        first.join(10)
        mapped = asyncio.run(process.prepare(_body(), "blackbox", {}))
        assert sum(len(chunk.to_ship()) for chunk in mapped[1]) == 119
        second = process._process
        assert second.pid != first.pid
        with pytest.raises(Unavailable, match="re-sending it is safe"):
            asyncio.run(process.prepare(b'[{"note": "die now"}]', "blackbox", {}))
        assert not second.is_alive()
        mapped = asyncio.run(process.prepare(_body(), "blackbox", {}))  # a successor maps it
        assert sum(len(chunk.to_ship()) for chunk in mapped[1]) == 119
    finally:
        process.close()
    assert not process._process.is_alive()  # closed: it read end-of-file and exited


def test_a_child_that_dies_before_it_is_ready_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="did not start"):
        PreparationProcess(UnstartablePreparer(Redactor(KEY), max_depth=16, chunk_size=50))


def test_an_error_in_the_child_reaches_the_caller(capfd: pytest.CaptureFixture[str]) -> None:
    process = PreparationProcess(_preparer())
    try:
        with pytest.raises(PayloadTooLarge, match="refused in the child"):  # ours: as raised
            asyncio.run(process.prepare(b'["refuse now"]', "blackbox", {}))
        with pytest.raises(RuntimeError, match="a bug in the child"):  # a bug: a 500
            asyncio.run(process.prepare(b'["fail now"]', "blackbox", {}))
        logged = capfd.readouterr().err  # the child logs the bug's traceback where it happened
        assert "Traceback" in logged and "ValueError: a bug in the child" in logged
        mapped = asyncio.run(process.prepare(_body(), "blackbox", {}))  # the child lives on
        assert sum(len(chunk.to_ship()) for chunk in mapped[1]) == 119
    finally:
        process.close()


def test_a_thread_maps_bodies_with_their_events() -> None:
    thread = PreparationThread(_preparer())
    try:
        chosen, chunks = asyncio.run(thread.prepare(_body(), "blackbox", {}))
    finally:
        thread.close()
    assert chosen == "blackbox" and sum(len(chunk.encoded) for chunk in chunks) == 119
