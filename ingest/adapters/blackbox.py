"""Blackbox JSONL: our own envelopes, one per line — what ``blackbox events --json`` exports.

Re-importing an export into another instance is lossless: ids, times and ``received_at`` are
kept, so the same events hash the same way. The export's ``log`` member (position, seq, hashes
in the source instance) is ignored: the receiving log assigns its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from ingest.adapters.base import AdapterContext
from ingest.documents import event_from_document
from ingest.envelope import JSON, Event

_ENVELOPE_KEYS = frozenset({"source", "native_id", "stream", "kind", "time"})


class BlackboxAdapter:
    name: ClassVar[str] = "blackbox"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        events = document.get("events")
        return events if isinstance(events, list) and not _is_envelope(document) else None

    def accepts(self, record: JSON) -> bool:
        return _is_envelope(record)

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        return [event_from_document(record, received_at=ctx.received_at)]


def _is_envelope(record: JSON) -> bool:
    return isinstance(record, Mapping) and record.keys() >= _ENVELOPE_KEYS
