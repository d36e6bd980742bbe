"""The append-only, tamper-evident event log, and the interface every backend implements.

Callers use ``EventLog`` only; it is the same over every ``Recorder`` (SQLite, PostgreSQL, and
later Kafka), which all pass one contract test suite (``tests/test_log_contract.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Protocol

from ingest.envelope import Event
from ingest.log.chain import Encoded, Shipped, encode, ship_fields
from ingest.log.commit import Committer, GroupCommitter
from ingest.log.types import (
    AppendOutcome,
    ChainBreak,
    Recorded,
    Rejected,
    SessionSummary,
    StoredReject,
    VerifyReport,
)

__all__ = [
    "AppendOutcome", "ChainBreak", "Encoded", "EventLog", "Recorded", "Recorder", "Rejected",
    "SessionSummary", "Shipped", "StoredReject", "VerifyReport", "encode", "open_log",
    "ship_fields",
]


class Recorder(Protocol):
    """A storage backend of the log."""

    def write(self, batches: Sequence[Sequence[Shipped]]) -> list[AppendOutcome]: ...
    def record_rejects(self, rejects: Sequence[Rejected]) -> None: ...
    def read_stream(self, stream: str, after_seq: int = 0, limit: int = 1000) -> list[Recorded]: ...
    def read_session(self, session_id: str, after_position: int = 0,
                     limit: int = 1000) -> list[Recorded]: ...
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Recorded]: ...
    def read_events(self, event_ids: Sequence[str]) -> list[Recorded]: ...
    def head_position(self) -> int: ...
    def sessions(self, limit: int = 1000, offset: int = 0) -> list[SessionSummary]: ...
    def count_events(self) -> int: ...
    def rejects(self, limit: int = 1000) -> list[StoredReject]: ...
    def verify(self) -> VerifyReport: ...
    def secret(self, name: str) -> str: ...
    def close(self) -> None: ...


class EventLog:
    """Append (durably, group-committed) and read events; verify the chains."""

    def __init__(self, recorder: Recorder, *, max_commit_events: int = 10_000,
                 committer: Committer | None = None) -> None:
        """``committer``: one that commits elsewhere (``ProcessCommitter``); by default a
        thread of this process commits through ``recorder``."""
        self.recorder = recorder
        self._committer: Committer = committer or GroupCommitter(recorder.write, max_events=max_commit_events)

    @property
    def commits(self) -> int:
        return self._committer.commits

    def append(self, events: Iterable[Event]) -> AppendOutcome:
        """Append events; returns once they are committed. RecordError if one can't be encoded."""
        return self.append_encoded([encode(event) for event in events])

    def append_encoded(self, encoded: Sequence[Encoded]) -> AppendOutcome:
        return self.submit(encoded).result()

    async def append_encoded_async(self, encoded: Sequence[Encoded]) -> AppendOutcome:
        return await self.append_shipped_async([e.shipped() for e in encoded])

    async def append_shipped_async(self, shipped: Sequence[Shipped]) -> AppendOutcome:
        if not shipped:
            return AppendOutcome(0, 0)
        return await self._committer.submit_async(shipped)

    def submit(self, encoded: Sequence[Encoded]) -> Future[AppendOutcome]:
        if not encoded:
            done: Future[AppendOutcome] = Future()
            done.set_result(AppendOutcome(0, 0))
            return done
        return self._committer.submit([e.shipped() for e in encoded])

    def record_rejects(self, rejects: Sequence[Rejected]) -> None:
        self.recorder.record_rejects(rejects)

    def read_stream(self, stream: str, after_seq: int = 0, limit: int = 1000) -> list[Recorded]:
        return self.recorder.read_stream(stream, after_seq, limit)

    def read_session(self, session_id: str, after_position: int = 0,
                     limit: int = 1000) -> list[Recorded]:
        return self.recorder.read_session(session_id, after_position, limit)

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Recorded]:
        return self.recorder.read_all(after_position, limit)

    def read_events(self, event_ids: Sequence[str]) -> list[Recorded]:
        """The stored events among ``event_ids``, in log order (unknown ids are skipped)."""
        return self.recorder.read_events(event_ids) if event_ids else []

    def head_position(self) -> int:
        """The position of the newest event (0 for an empty log)."""
        return self.recorder.head_position()

    def sessions(self, limit: int = 1000, offset: int = 0) -> list[SessionSummary]:
        return self.recorder.sessions(limit, offset)

    def count_events(self) -> int:
        return self.recorder.count_events()

    def rejects(self, limit: int = 1000) -> list[StoredReject]:
        return self.recorder.rejects(limit)

    def verify(self) -> VerifyReport:
        return self.recorder.verify()

    def secret(self, name: str) -> str:
        return self.recorder.secret(name)

    def close(self) -> None:
        self._committer.close()
        self.recorder.close()


def open_log(url: str, *, writer_process: bool = False) -> EventLog:
    """The log at a database URL (``sqlite:///PATH`` or ``postgresql://…``).

    ``writer_process``: commit in a child process (a long-running server: see
    ``ingest.log.process``); reads stay in this one."""
    from ingest.log.process import ProcessCommitter
    from ingest.log.sql import SqlRecorder  # SQLAlchemy loads only when a SQL log is opened

    recorder = SqlRecorder(url)  # first: it creates the schema the child will find
    if not writer_process:
        return EventLog(recorder)
    try:
        return EventLog(recorder, committer=ProcessCommitter(url))
    except BaseException:
        recorder.close()
        raise
