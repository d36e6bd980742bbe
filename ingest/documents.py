"""Validation of envelope documents (``POST /v1/events``, Blackbox JSONL, rows read back).

Kept apart from ``envelope`` so the envelope module stays a plain data definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.envelope import JSON, Event, EventKind, event_id, parse_time
from ingest.errors import RecordError

_REQUIRED = ("source", "native_id", "stream", "kind", "time")
_KINDS = {str(kind): kind for kind in EventKind}


def event_from_document(doc: Mapping[str, JSON], *, received_at: Any = None) -> Event:
    """Build an event from its document form, checking every field's type.

    ``id`` may be omitted (it is derived); when present it must equal the derived id, so a
    document can not claim another record's identity. ``received_at`` is kept when present
    (lossless re-import), otherwise the given default is used.
    """
    return Event(**envelope_fields(doc, received_at=received_at))


def envelope_fields(doc: Mapping[str, JSON], *, received_at: Any = None) -> dict[str, Any]:
    """Every field of the event a document describes, by name, each checked (RecordError names
    the bad one): what ``Event`` is built from, and, times formatted, its ``to_document()``."""
    if not isinstance(doc, Mapping):
        raise RecordError(f"expected an object, got {type(doc).__name__}")
    for name in _REQUIRED:
        if doc.get(name) in (None, ""):
            raise RecordError("is required", field=name)
    source, native_id = _text(doc, "source"), _text(doc, "native_id")
    derived = event_id(source, native_id)
    if doc.get("id") not in (None, derived):
        raise RecordError("does not match sha256(source, native_id)", field="id")
    return {  # a literal, not a loop over names: this runs once per ingested record
        "id": derived,
        "source": source,
        "native_id": native_id,
        "stream": _text(doc, "stream"),
        "kind": _kind(doc.get("kind")),
        "time": parse_time(doc.get("time"), field_name="time"),
        "received_at": _received_at(doc, received_at),
        "session_id": _optional_text(doc, "session_id"),
        "actor": _optional_text(doc, "actor"),
        "text": _optional_text(doc, "text"),
        "tool_name": _optional_text(doc, "tool_name"),
        "call_id": _optional_text(doc, "call_id"),
        "tool_input": doc.get("tool_input"),
        "is_error": _optional_bool(doc, "is_error"),
        "attributes": _attributes(doc.get("attributes")),
        "raw": doc.get("raw"),
    }


def _received_at(doc: Mapping[str, JSON], default: Any) -> Any:
    value = doc.get("received_at")
    if value is None:
        if default is None:
            raise RecordError("is required", field="received_at")
        return default
    return parse_time(value, field_name="received_at")


def _text(doc: Mapping[str, JSON], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {type(value).__name__}", field=name)
    return value


def _optional_text(doc: Mapping[str, JSON], name: str) -> str | None:
    value = doc.get(name)
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"expected a string, got {type(value).__name__}", field=name)


def _optional_bool(doc: Mapping[str, JSON], name: str) -> bool | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, bool):
        raise RecordError(f"expected true/false, got {type(value).__name__}", field=name)
    return value


def _kind(value: JSON) -> EventKind:
    kind = _KINDS.get(value) if isinstance(value, str) else None
    if kind is None:
        raise RecordError(f"unknown kind {value!r}; one of {sorted(_KINDS)}", field="kind")
    return kind


def _attributes(value: JSON) -> dict[str, JSON]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type(value).__name__}", field="attributes")
    return dict(value)
