"""The one event envelope. Every adapter produces it, the log stores it, everything reads it.

An event's ``id`` is derived from its ``source`` and the record's native id, so re-ingesting the
same record yields the same id and the log treats it as a duplicate instead of a new event.
The native record is kept verbatim (after secret redaction) in ``raw``: nothing a source said is
lost, even fields no adapter understands yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from ingest.errors import RecordError

JSON = Any  # a value made of dict / list / str / int / float / bool / None


class EventKind(StrEnum):
    USER_MESSAGE = "user_message"
    AGENT_REASONING = "agent_reasoning"
    AGENT_MESSAGE = "agent_message"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    CLOUD_CALL = "cloud_call"
    SYSTEM = "system"
    OTHER = "other"


def event_id(source: str, native_id: str) -> str:
    """Stable id: the same record from the same source always gets the same id (128 bits)."""
    return hashlib.sha256(f"{source}\x00{native_id}".encode()).hexdigest()[:32]


def content_id(record: JSON) -> str:
    """A native id for records that carry none: the hash of their canonical encoding."""
    try:
        encoded = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise RecordError(f"can not be encoded as JSON: {exc}") from None
    return hashlib.sha256(encoded).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened: an agent's thought, call or result, or a cloud audit record."""

    id: str
    source: str
    native_id: str
    stream: str
    kind: EventKind
    time: datetime
    received_at: datetime
    session_id: str | None = None
    actor: str | None = None
    text: str | None = None
    tool_name: str | None = None
    call_id: str | None = None
    tool_input: JSON = None
    is_error: bool | None = None
    attributes: Mapping[str, JSON] = field(default_factory=dict)
    raw: JSON = None

    @classmethod
    def create(cls, *, source: str, native_id: str, **fields: Any) -> Event:
        """Build an event whose id is derived from ``source`` and ``native_id``."""
        return cls(id=event_id(source, native_id), source=source, native_id=native_id, **fields)

    def to_document(self) -> dict[str, JSON]:
        """Plain JSON-ready form (times as canonical UTC strings); inverse of from_document."""
        return {
            "id": self.id,
            "source": self.source,
            "native_id": self.native_id,
            "stream": self.stream,
            "kind": str(self.kind),
            "time": format_time(self.time),
            "received_at": format_time(self.received_at),
            "session_id": self.session_id,
            "actor": self.actor,
            "text": self.text,
            "tool_name": self.tool_name,
            "call_id": self.call_id,
            "tool_input": self.tool_input,
            "is_error": self.is_error,
            "attributes": dict(self.attributes),
            "raw": self.raw,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, JSON]) -> Event:
        """Validate a JSON document into an event; raises RecordError naming the bad field."""
        from ingest.documents import event_from_document  # validation lives beside its rules

        return event_from_document(doc)


@lru_cache(maxsize=4096)  # hot: every event formats two times, and received_at repeats per input
def format_time(value: datetime) -> str:
    """Canonical UTC form with microseconds, e.g. ``2026-04-24T08:31:44.593000Z``."""
    return format_time_once(value)


def format_time_once(value: datetime) -> str:
    """``format_time`` of a time that will not come again (the receipt time of a request of one
    event): not cached, where it would only push out times that do repeat."""
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(value: JSON, *, field_name: str = "time") -> datetime:
    """Parse ISO-8601 (``Z`` or offset; naive means UTC) or epoch seconds/milliseconds."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"expected a timestamp, got {type_name(value)}", field=field_name)
    if isinstance(value, int | float):
        return _from_epoch(value, field_name)
    if not isinstance(value, str):
        raise RecordError(f"expected a timestamp, got {type_name(value)}", field=field_name)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"not an ISO-8601 timestamp: {value[:60]!r}", field=field_name) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_epoch(value: float, field_name: str) -> datetime:
    """Epoch seconds, or milliseconds when the number is too large to be seconds."""
    try:
        seconds = value / 1000 if abs(value) > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"timestamp out of range: {value!r:.40}", field=field_name) from None


def type_name(value: object) -> str:
    """A JSON-ish type name for error messages (``null`` for None)."""
    return "null" if value is None else type(value).__name__


def utc_now() -> datetime:
    return datetime.now(UTC)
