"""Canonical encoding and the per-stream SHA-256 hash chain.

``body`` is the envelope's document encoded as JSON with sorted keys and no whitespace (orjson:
deterministic, and fast enough for the ingest hot path). Each event's hash covers the previous
hash of its stream, its sequence number and its body, so altering, removing or reordering any
stored event breaks the chain from that event on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from ingest.envelope import Event
from ingest.errors import RecordError

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event with its canonical body, ready for the log's writer."""

    event: Event
    body: bytes


def encode(event: Event) -> Encoded:
    """Canonical body of an event; RecordError when a value can not be encoded as JSON."""
    try:
        body = orjson.dumps(event.to_document(), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise RecordError(f"can not be stored as JSON: {exc}") from None
    return Encoded(event, body)


def decode(body: bytes | str) -> Event:
    """The event stored in a body (validated, so a hand-edited body fails loudly)."""
    return Event.from_document(orjson.loads(body))


def chain_hash(prev_hash: str, seq: int, body: bytes) -> str:
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(b"\n%d\n" % seq)
    digest.update(body)
    return digest.hexdigest()
