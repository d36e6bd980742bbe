"""Canonical encoding and the per-stream SHA-256 hash chain.

``body`` is the envelope's document encoded as JSON with sorted keys and no whitespace (orjson:
deterministic, and fast enough for the ingest hot path). Each event's hash covers the previous
hash of its stream, its sequence number and its body, so altering, removing or reordering any
stored event breaks the chain from that event on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.envelope import Event, EventKind, format_time, format_time_once
from ingest.errors import RecordError

GENESIS_HASH = "0" * 64


# What the log's writer takes of an event: its index columns and its canonical body, in this
# order (id, stream, session_id, source, kind, time, body). Plain values in a plain tuple on
# purpose: batches travel to a writer process pickled (``ingest.log.process``), and a list of
# such tuples pickles and unpickles in C. As dataclasses they cost 9 µs per event to pickle in
# the server and 7 µs to unpickle in the writer (bench machine, 500-event batches); as tuples,
# under 1 µs together.
Shipped = tuple[str, str, str | None, str, str, str, bytes]


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event with its canonical body, ready for the log's writer."""

    event: Event
    body: bytes
    time: str  # the event's time in canonical form, as in the body: the writer's index column

    def shipped(self) -> Shipped:
        event = self.event
        return (event.id, event.stream, event.session_id, event.source, str(event.kind),
                self.time, self.body)


def encode(event: Event) -> Encoded:
    """Canonical body of an event; RecordError when a value can not be encoded as JSON."""
    document = event.to_document()
    return Encoded(event, _canonical_body(document), str(document["time"]))


def ship_fields(fields: dict[str, Any]) -> Shipped:
    """The writer's form of the event whose checked fields these are (``envelope_fields``),
    without building the ``Event``: the same canonical body ``encode`` gives, as the document
    ``to_document`` gives is those fields with the kind and times in their string forms. For a
    request of one envelope, building the event and its document again cost more than the rest
    of preparing it. Its ``received_at`` is that request's own, formatted once, uncached."""
    time = format_time(fields["time"])
    kind = str(fields["kind"])
    document = {**fields, "kind": kind, "time": time,
                "received_at": format_time_once(fields["received_at"])}
    return (fields["id"], fields["stream"], fields["session_id"], fields["source"], kind, time,
            _canonical_body(document))


def _canonical_body(document: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise RecordError(f"can not be stored as JSON: {exc}") from None


def decode(body: bytes | str) -> Event:
    """The event stored in a body; a hand-edited body that is not a valid envelope fails loudly.

    Bodies the log wrote are canonical, so the common case skips the full field-by-field
    validation (it was done on the way in, and ``verify`` proves the body unchanged since):
    reading the log back is the analyzer's hot path. Anything unexpected takes the validating
    path, which raises RecordError naming the field.
    """
    doc = orjson.loads(body)
    try:
        return _canonical_event(doc)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Event.from_document(doc)


_KIND_OF = {str(kind): kind for kind in EventKind}
_TEXT_FIELDS = ("id", "source", "native_id", "stream")
_OPTIONAL_TEXT = ("session_id", "actor", "text", "tool_name", "call_id")


def _canonical_event(doc: dict[str, Any]) -> Event:
    for name in _TEXT_FIELDS:
        if type(doc[name]) is not str:
            raise TypeError(name)
    for name in _OPTIONAL_TEXT:
        value = doc[name]
        if value is not None and type(value) is not str:
            raise TypeError(name)
    if type(doc["attributes"]) is not dict or doc["is_error"] not in (None, True, False):
        raise TypeError("attributes")
    return Event(
        id=doc["id"], source=doc["source"], native_id=doc["native_id"], stream=doc["stream"],
        kind=_KIND_OF[doc["kind"]], time=_utc(doc["time"]), received_at=_utc(doc["received_at"]),
        session_id=doc["session_id"], actor=doc["actor"], text=doc["text"],
        tool_name=doc["tool_name"], call_id=doc["call_id"], tool_input=doc["tool_input"],
        is_error=doc["is_error"], attributes=doc["attributes"], raw=doc["raw"])


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not UTC:
        raise ValueError("not canonical UTC")
    return parsed


def chain_hash(prev_hash: str, seq: int, body: bytes) -> str:
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(b"\n%d\n" % seq)
    digest.update(body)
    return digest.hexdigest()
