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
from typing import Any, Protocol

import orjson

from ingest.envelope import Event, EventKind
from ingest.errors import RecordError

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class WriteKey:
    """What the log's writer needs of an event besides its body (dedupe, chain, index columns)."""

    id: str
    stream: str
    session_id: str | None
    source: str
    kind: str


class Writable(Protocol):
    """An event as the log's writer takes it: ``Encoded``, or ``Shipped`` in a writer process."""

    @property
    def key(self) -> WriteKey: ...
    @property
    def body(self) -> bytes: ...
    @property
    def time(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event with its canonical body, ready for the log's writer."""

    event: Event
    body: bytes
    time: str  # the event's time in canonical form, as in the body: the writer's index column

    @property
    def key(self) -> WriteKey:
        event = self.event
        return WriteKey(event.id, event.stream, event.session_id, event.source, str(event.kind))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as what the writer needs (the form in which batches travel to a writer
        process, ``ingest.log.process``): a fraction of the event's own pickle, and nothing to
        decode on arrival."""
        return Shipped, (self.key, self.body, self.time)


@dataclass(frozen=True, slots=True)
class Shipped:
    """An ``Encoded`` as a writer process receives it: its key and body, not the event."""

    key: WriteKey
    body: bytes
    time: str


def encode(event: Event) -> Encoded:
    """Canonical body of an event; RecordError when a value can not be encoded as JSON."""
    document = event.to_document()
    try:
        body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise RecordError(f"can not be stored as JSON: {exc}") from None
    return Encoded(event, body, str(document["time"]))


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
