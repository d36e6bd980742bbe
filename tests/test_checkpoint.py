"""WAL checkpoints of a SQLite log off the commit path (``ingest.log.checkpoint``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.envelope import Event, EventKind
from ingest.log import encode
from ingest.log.checkpoint import _WRITER_TRIES, SAFETY_NET_PAGES, WalCheckpointer
from ingest.log.engines import WAL_AUTOCHECKPOINT_PAGES
from ingest.log.sql import SqlRecorder
from tests.backends import postgres_backend

BASE = datetime(2026, 4, 24, 8, 31, tzinfo=UTC)
PAGE = 4096


def shipped(n: int, streams: int = 32) -> tuple[object, ...]:
    stream = f"cp-{n % streams}"
    return encode(Event.create(
        source="test", native_id=f"{stream}/{n}", stream=stream, session_id=stream,
        kind=EventKind.TOOL_CALL, time=BASE + timedelta(seconds=n), received_at=BASE,
        tool_name="Bash", call_id=f"c{n}", tool_input={"command": f"echo {n}"}, raw={"n": n},
    )).shipped()


def write_small_commits(recorder: SqlRecorder, commits: int, *, first: int = 0) -> None:
    """Single-event-like load: 10-event commits one after another, the writer process's loop;
    events numbered from ``first``."""
    for c in range(commits):
        recorder.write([[shipped(first + c * 10 + i) for i in range(10)]])  # type: ignore[list-item]
        recorder.checkpoint_if_due()


@contextmanager
def reader_snapshot(db: Path) -> Iterator[sqlite3.Connection]:
    """A reader inside a read transaction: it holds a snapshot of the WAL until the block ends."""
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()
        yield reader
        reader.execute("COMMIT")
    finally:
        reader.close()


def writer_autocheckpoint(recorder: SqlRecorder) -> int:
    raw = recorder._writer.raw_connection()
    try:
        return int(raw.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    finally:
        raw.close()


def wal_pages(db: Path) -> float:
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size / (PAGE + 24) if wal.exists() else 0.0


@contextmanager
def checkpointed_log(tmp_path: Path, **options: float) -> Iterator[
        tuple[Path, SqlRecorder, WalCheckpointer]]:
    """A SQLite log with background checkpoints: (its file, the recorder, the checkpointer)."""
    db = tmp_path / "log.db"
    recorder = SqlRecorder(f"sqlite:///{db}")
    try:
        checkpointer = recorder.start_background_checkpoints(**options)
        assert checkpointer is not None
        yield db, recorder, checkpointer
    finally:
        recorder.close()


def wal_restarts(db: Path) -> int:
    """The WAL header's checkpoint sequence number: SQLite adds one each time the WAL starts over."""
    header = db.with_name(db.name + "-wal").read_bytes()[:16]
    return int.from_bytes(header[12:16], "big")


def test_the_thread_copies_the_wal_and_the_writer_starts_it_over(tmp_path: Path) -> None:
    with checkpointed_log(tmp_path, period=0.01, restart_after=500) as (db, recorder, checkpointer):
        assert writer_autocheckpoint(recorder) == SAFETY_NET_PAGES  # commits no longer copy
        write_small_commits(recorder, 1_500)
        assert checkpointer.passes > 0 and recorder.catch_ups > 0
        # Over 1,500 commits of ~4 frames per event the WAL would pass 10,000 pages if it never
        # started over (the safety net alone lets it reach 40,000); restarted, its file stays
        # near the size the thread lets it grow to.
        assert wal_pages(db) < WAL_AUTOCHECKPOINT_PAGES / 2
        assert checkpointer.largest_wal_frames < WAL_AUTOCHECKPOINT_PAGES / 2
    reopened = SqlRecorder(f"sqlite:///{db}")
    try:
        assert reopened.count_events() == 15_000 and reopened.verify().ok
    finally:
        reopened.close()


def test_without_the_writers_catch_up_the_wal_keeps_growing(tmp_path: Path) -> None:
    """Why the writer takes part: beside back-to-back commits the thread alone rarely finds a
    moment with every frame copied, so the WAL would grow up to the safety net."""
    with checkpointed_log(tmp_path, period=0.01, restart_after=500) as (_db, recorder, checkpointer):
        for c in range(1_500):
            recorder.write([[shipped(c * 10 + i) for i in range(10)]])  # type: ignore[list-item]
        assert checkpointer.passes > 0 and recorder.catch_ups == 0
        assert checkpointer.largest_wal_frames > WAL_AUTOCHECKPOINT_PAGES / 2


def test_a_reader_keeps_its_snapshot_while_the_thread_copies(tmp_path: Path) -> None:
    with checkpointed_log(tmp_path, period=0.005, restart_after=100) as (db, recorder, _):
        write_small_commits(recorder, 50)
        with reader_snapshot(db) as reader:
            write_small_commits(recorder, 300, first=500)
            time.sleep(0.05)  # passes run meanwhile
            assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 500
        assert recorder.count_events() == 3_500


def test_stopping_ends_the_thread_and_a_failing_pass_is_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "log.db"
    SqlRecorder(f"sqlite:///{db}").close()
    checkpointer = WalCheckpointer(str(db), period=0.005)
    checkpointer._conn.close()  # every pass now fails: the thread must survive and say so
    checkpointer.start()
    time.sleep(0.05)
    names = {thread.name for thread in threading.enumerate()}
    assert "blackbox-wal-checkpoint" in names
    checkpointer.stop()
    assert "blackbox-wal-checkpoint" not in {thread.name for thread in threading.enumerate()}
    assert "background WAL checkpoint failed" in caplog.text


def test_postgresql_has_no_wal_checkpointer() -> None:
    with postgres_backend() as made:
        recorder = SqlRecorder(made.url)
        try:
            assert recorder.start_background_checkpoints() is None
            recorder.checkpoint_if_due()  # a no-op
        finally:
            recorder.close()


def test_the_writer_tries_again_while_a_reader_pins_frames_then_gives_up(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    SqlRecorder(f"sqlite:///{db}").close()
    checkpointer = WalCheckpointer(str(db))
    try:
        checkpointer.restart_due = True
        checkpointer.caught_up(every_frame=False)  # a reader's snapshot kept some frames back
        assert checkpointer.restart_due  # so the writer tries again after its next commit
        checkpointer.caught_up(every_frame=True)
        assert not checkpointer.restart_due
        checkpointer.restart_due = True
        for _ in range(_WRITER_TRIES - 1):
            checkpointer.caught_up(every_frame=False)
        assert checkpointer.restart_due
        checkpointer.caught_up(every_frame=False)
        assert not checkpointer.restart_due  # bounded: the thread's next pass sets it again
    finally:
        checkpointer.stop()


def test_a_reader_in_a_transaction_delays_the_restart_until_it_ends(tmp_path: Path) -> None:
    # The thread sleeps: passes run here, one at a time.
    with checkpointed_log(tmp_path, period=3_600, restart_after=100) as (db, recorder, checkpointer):
        write_small_commits(recorder, 20)  # not copied yet: the reader's snapshot uses the WAL
        with reader_snapshot(db):
            pinned_at = wal_restarts(db)
            checkpointer._catch_up()
            write_small_commits(recorder, 300, first=200)  # the writer tries, and gives up
            assert wal_restarts(db) == pinned_at  # its frames must stay while it may read them
        checkpointer._catch_up()
        write_small_commits(recorder, 2, first=3_200)
        assert recorder.catch_ups > 0 and wal_restarts(db) > pinned_at


def test_a_pass_that_leaves_many_frames_still_hands_the_rest_to_the_writer(tmp_path: Path) -> None:
    """Large commits (500-event batches: ~1,500 frames each) add more during a pass than a pass
    ever leaves; waiting for a pass that leaves only a few let the WAL grow to the safety net."""
    # The thread sleeps: passes run here, one at a time.
    with checkpointed_log(tmp_path, period=3_600, restart_after=500) as (db, recorder, checkpointer):
        write_small_commits(recorder, 20)
        with reader_snapshot(db):  # the pass stops at its snapshot
            write_small_commits(recorder, 100, first=200)
            checkpointer._catch_up()
            assert checkpointer.restart_due  # though thousands of frames are left
        before = wal_restarts(db)
        recorder.checkpoint_if_due()  # the writer copies the rest...
        write_small_commits(recorder, 1, first=1_200)  # ...and its next commit starts the WAL over
        assert wal_restarts(db) == before + 1 and not checkpointer.restart_due
