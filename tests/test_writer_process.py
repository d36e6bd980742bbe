"""The log's writer process (``blackbox serve``): appends from the event loop, group commits,
a writer that dies, closing with appends in flight."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.envelope import Event, EventKind
from ingest.errors import StorageError
from ingest.log import AppendOutcome, EventLog, encode, open_log
from ingest.log.process import ProcessCommitter

BASE = datetime(2026, 4, 24, 8, 31, tzinfo=UTC)


def event(n: int, stream: str = "w-1") -> Event:
    return Event.create(source="test", native_id=f"{stream}/{n}", stream=stream, session_id=stream,
                        kind=EventKind.TOOL_CALL, time=BASE + timedelta(seconds=n),
                        received_at=BASE, tool_name="Bash", call_id=f"c{n}",
                        tool_input={"command": f"echo {n}"}, raw={"n": n})


def writer_pid(log: EventLog) -> int:
    committer = log._committer
    assert isinstance(committer, ProcessCommitter)
    pid = committer._process.pid
    assert pid is not None
    return pid


async def append_each(log: EventLog, numbers: Sequence[int]) -> list[AppendOutcome | BaseException]:
    appends = [log.append_encoded_async([encode(event(n, f"w-{n % 4}"))]) for n in numbers]
    return await asyncio.gather(*appends, return_exceptions=True)


def test_appends_from_the_loop_are_group_committed(tmp_path: Path) -> None:
    async def run() -> tuple[list[AppendOutcome | BaseException], int]:
        log = open_log(f"sqlite:///{tmp_path / 'g.db'}", writer_process=True)
        try:
            outcomes = await append_each(log, range(300))
            return outcomes, log.commits
        finally:
            log.close()

    outcomes, commits = asyncio.run(run())
    assert outcomes == [AppendOutcome(1, 0)] * 300
    assert commits == 1  # all 300 went out on one turn of the loop: one transaction
    reopened = open_log(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        assert reopened.count_events() == 300 and reopened.verify().ok
    finally:
        reopened.close()


def test_a_writer_that_dies_fails_only_what_it_held_and_is_started_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"

    async def run() -> tuple[list[AppendOutcome | BaseException], list[AppendOutcome | BaseException]]:
        log = open_log(url, writer_process=True)
        try:
            first = writer_pid(log)
            during = asyncio.ensure_future(append_each(log, range(200)))
            await asyncio.sleep(0)  # the batches are on their way
            os.kill(first, signal.SIGKILL)
            held = await during
            after = await asyncio.wait_for(append_each(log, range(200, 260)), timeout=60)
            assert writer_pid(log) != first
            return held, after
        finally:
            log.close()

    held, after = asyncio.run(run())
    assert after == [AppendOutcome(1, 0)] * 60
    failed = [o for o in held if isinstance(o, BaseException)]
    assert all(isinstance(o, StorageError) and "re-sending" in str(o) for o in failed)
    acked = [n for n, o in enumerate(held) if o == AppendOutcome(1, 0)]
    reopened = open_log(url)
    try:  # every acknowledged event is stored; the chains hold
        stored = {r.event.native_id for r in reopened.read_all(limit=1000)}
        assert {f"w-{n % 4}/{n}" for n in acked} <= stored
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_closing_commits_what_is_in_flight(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"

    async def run() -> list[asyncio.Future[AppendOutcome]]:
        log = open_log(url, writer_process=True)
        futures = [log._committer.submit_async([encode(event(n)).shipped()]) for n in range(100)]
        log.close()  # before the loop got to send them
        return futures

    futures = asyncio.run(run())
    assert [f.result() for f in futures] == [AppendOutcome(1, 0)] * 100
    reopened = open_log(url)
    try:
        assert reopened.count_events() == 100 and reopened.verify().ok
    finally:
        reopened.close()


def test_a_writer_process_needs_a_running_loop(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="running event loop"):
        open_log(f"sqlite:///{tmp_path / 'n.db'}", writer_process=True)
