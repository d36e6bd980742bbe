"""Verify the hash chains the report's evidence sits on, so a reader can trust it later.

Only the streams the session's events live on are checked (``blackbox verify`` checks the whole
log): that keeps a report's cost proportional to its session, not to the log. Each event's hash
is recomputed from its canonical encoding (the log stores exactly that encoding, see
``ingest.log.chain``), its ``prev_hash`` must be the previous event's hash and seqs must have no
gap, so an altered, removed or reordered event of these streams shows up in the report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dashboards.report.model import ChainCheck, StreamCheck
from ingest.errors import RecordError
from ingest.log import EventLog, Recorded, encode
from ingest.log.chain import GENESIS_HASH, chain_hash

_PAGE = 5000


def verify_streams(log: EventLog, records: Sequence[Recorded]) -> ChainCheck:
    """Check every stream ``records`` live on, reusing them: usually only a tail is read again."""
    by_stream: dict[str, list[Recorded]] = {}
    for recorded in records:
        by_stream.setdefault(recorded.event.stream, []).append(recorded)
    return ChainCheck(tuple(_verify_stream(log, stream, sorted(known, key=lambda r: r.seq))
                            for stream, known in sorted(by_stream.items())))


def _verify_stream(log: EventLog, stream: str, known: list[Recorded]) -> StreamCheck:
    seq, head, count = 0, GENESIS_HASH, 0
    for recorded in _stream(log, stream, known):
        problem = _problem(recorded, seq, head)
        if problem is not None:
            return StreamCheck(stream, count, seq, head, f"seq {recorded.seq}: {problem}")
        seq, head, count = recorded.seq, recorded.hash, count + 1
    return StreamCheck(stream, count, seq, head, None)


def _stream(log: EventLog, stream: str, known: list[Recorded]) -> Iterator[Recorded]:
    """The stream from seq 1: the records in hand when they cover 1..n without a gap (a session's
    own stream), then whatever the log holds after them; else the whole stream from the log."""
    if not known or known[0].seq != 1 or known[-1].seq != len(known):
        known = []
    yield from known
    seq = known[-1].seq if known else 0
    while page := log.read_stream(stream, after_seq=seq, limit=_PAGE):
        yield from page
        seq = page[-1].seq


def _problem(recorded: Recorded, seq: int, head: str) -> str | None:
    if recorded.seq != seq + 1:
        return f"seq {seq + 1} to {recorded.seq - 1} missing (event removed?)"
    if recorded.prev_hash != head:
        return "prev_hash does not match the previous event's hash (reordered or replaced?)"
    try:
        body = encode(recorded.event).body
    except RecordError as exc:
        return f"event can not be encoded ({exc})"
    if chain_hash(recorded.prev_hash, recorded.seq, body) != recorded.hash:
        return "hash does not match the event's content (event altered)"
    return None
