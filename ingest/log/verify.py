"""Chain verification: recompute every stream's hash chain from stored rows.

Rows arrive ordered by (stream, seq). For each stream the verifier checks, event by event: the
seq is the next one (nothing removed), ``prev_hash`` is the previous event's hash and positions
only grow (nothing reordered), the hash recomputed over the stored body matches (nothing
altered), and the indexed columns agree with the hashed body (no column edited beside it).
Finally the stream's head must name its last event, so removing the newest events shows too.
Only the first break of each stream is reported: every later event depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ingest.log.chain import GENESIS_HASH, chain_hash
from ingest.log.types import ChainBreak, VerifyReport

_COLUMNS_IN_BODY = ("id", "stream", "session_id", "source", "kind", "time")


class ChainVerifier:
    def __init__(self, heads: dict[str, tuple[int, str]]) -> None:
        self._heads = heads
        self._report = VerifyReport()
        self._stream: str | None = None
        self._seq = 0
        self._hash = GENESIS_HASH
        self._position = 0
        self._broken = False

    def run(self, rows: Iterable[Any]) -> VerifyReport:
        seen: set[str] = set()
        for row in rows:
            if row.stream != self._stream:
                self._finish_stream()
                self._start_stream(row.stream)
                seen.add(row.stream)
            self._report.events += 1
            if not self._broken:
                self._check(row)
        self._finish_stream()
        for stream in sorted(set(self._heads) - seen):
            if self._heads[stream][0] > 0:
                self._break(stream, 1, None, None, "every event of this stream is missing")
        self._report.streams = len(seen)
        return self._report

    def _start_stream(self, stream: str) -> None:
        self._stream, self._seq, self._hash = stream, 0, GENESIS_HASH
        self._position, self._broken = 0, False

    def _check(self, row: Any) -> None:
        reason = self._problem(row)
        if reason is not None:
            self._break(row.stream, row.seq, row.id, row.position, reason)
            return
        self._seq, self._hash, self._position = row.seq, row.hash, row.position

    def _problem(self, row: Any) -> str | None:
        if row.seq != self._seq + 1:
            return f"seq {self._seq + 1} to {row.seq - 1} missing (event removed?)"
        if row.prev_hash != self._hash:
            return "prev_hash does not match the previous event's hash (reordered or replaced?)"
        if row.position <= self._position:
            return "position precedes the previous event's (reordered?)"
        if chain_hash(row.prev_hash, row.seq, _as_bytes(row.body)) != row.hash:
            return "hash does not match the stored body (event altered)"
        return _column_mismatch(row)

    def _finish_stream(self) -> None:
        if self._stream is None or self._broken:
            return
        head_seq, head_hash = self._heads.get(self._stream, (0, GENESIS_HASH))
        if (head_seq, head_hash) != (self._seq, self._hash):
            self._break(self._stream, self._seq + 1, None, None,
                        f"stream head is seq {head_seq}: the newest events are missing or altered")

    def _break(self, stream: str, seq: int, event_id: str | None, position: int | None,
               reason: str) -> None:
        self._broken = True
        self._report.breaks.append(ChainBreak(stream, seq, event_id, position, reason))


def _column_mismatch(row: Any) -> str | None:
    try:
        body = orjson.loads(row.body)
    except orjson.JSONDecodeError:
        return "stored body is not valid JSON (event altered)"
    for name in _COLUMNS_IN_BODY:
        if getattr(row, name) != body.get(name):
            return f"column {name!r} differs from the hashed body (event altered)"
    return None


def _as_bytes(body: bytes | str | memoryview) -> bytes:
    """A body edited by hand may come back as text (SQLite's replace() returns TEXT)."""
    return body.encode() if isinstance(body, str) else bytes(body)
