"""What the transcript adapters (Claude Code, Codex) share: per-input state and line events.

Transcript lines do not all say which session they belong to or when they were written: a line
without a session takes the last one seen (or, before any, the one ``prescan`` found), and a line
without a timestamp takes the last one seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ingest.envelope import JSON, Event, EventKind, parse_time


@dataclass
class TranscriptState:
    """Kept in ``ctx.state`` for one input; adapters subclass it for what else they track."""

    session_id: str | None = None  # the session the last line that named one started
    next_session_id: str | None = None  # learnt by prescan for lines before any session
    last_time: datetime | None = None
    tool_names: dict[str, str] = field(default_factory=dict)  # call id -> tool name

    def expect_session(self, find: Callable[[], str | None]) -> None:
        """Prescan: learn the session of the first lines, unless one is known already."""
        if self.session_id is None and self.next_session_id is None:
            self.next_session_id = find()

    def stamp(self, record: Mapping[str, JSON]) -> datetime | None:
        """The line's own ``timestamp`` (remembered for the lines after it), None without one."""
        if record.get("timestamp") is None:
            return None
        self.last_time = parse_time(record["timestamp"], field_name="timestamp")
        return self.last_time


class TranscriptLine(Protocol):
    """What every event made from one transcript line shares."""

    @property
    def record(self) -> Mapping[str, JSON]: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def time(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def attributes(self) -> dict[str, JSON]: ...


def line_event(source: str, no_session_stream: str, line: TranscriptLine, native_id: str,
               kind: EventKind, *, actor: str | None, extra: Mapping[str, JSON], **fields: Any) -> Event:
    """An event of one line: in its session's stream (lines of no session share one stream)."""
    return Event.create(
        source=source,
        native_id=native_id,
        stream=line.session_id or no_session_stream,
        kind=kind,
        time=line.time,
        received_at=line.received_at,
        session_id=line.session_id,
        actor=actor,
        attributes={**line.attributes, **extra},
        raw=line.record,
        **fields,
    )
