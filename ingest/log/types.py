"""Values the log hands back to its callers, whatever the backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ingest.envelope import Event


@dataclass(frozen=True, slots=True)
class Recorded:
    """A stored event with its place in the log: global position, per-stream seq, chain hashes."""

    event: Event
    position: int
    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    appended: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    source: str
    first_time: datetime
    last_time: datetime
    event_count: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be accepted, kept verbatim (secrets redacted) with the reason."""

    format: str
    reason: str
    payload: str
    origin: str | None = None
    line: int | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class StoredReject:
    position: int
    received_at: datetime
    rejected: Rejected


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event of a stream whose stored form does not match its chain."""

    stream: str
    seq: int
    event_id: str | None
    position: int | None
    reason: str


@dataclass
class VerifyReport:
    streams: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks
