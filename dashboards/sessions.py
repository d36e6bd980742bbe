"""The sessions list: one row per session (what the log knows joined with the analysis verdict),
filtered and sorted. Pure functions over plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from analyzer.store import StoredSession
from ingest.envelope import format_time
from ingest.log import SessionSummary

SortKey = Literal["last_time", "first_time", "risk", "events", "duration_s", "source"]
SORT_KEYS: tuple[str, ...] = ("last_time", "first_time", "risk", "events", "duration_s", "source")


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    source: str
    model: str | None
    first_time: str
    last_time: str
    duration_s: float
    events: int
    risk: float | None  # None: the analysis has not reached the session yet
    flagged: bool
    finding_count: int
    top_rule: str | None
    top_severity: str | None
    top_summary: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    flagged_only: bool = False
    source: str | None = None
    since: str | None = None  # canonical UTC text: sessions still active at or after it
    until: str | None = None  # sessions started at or before it
    text: str | None = None  # in the id, source, model or top finding, any case
    sort: SortKey = "last_time"
    descending: bool = True


def session_rows(summaries: Sequence[SessionSummary], verdicts: Sequence[StoredSession]) -> list[SessionRow]:
    by_id = {v.session_id: v for v in verdicts}
    return [_row(s, by_id.get(s.session_id)) for s in summaries]


def _row(summary: SessionSummary, verdict: StoredSession | None) -> SessionRow:
    top = verdict.findings[0] if verdict and verdict.findings else None
    return SessionRow(
        summary.session_id, summary.source, verdict.model if verdict else None,
        format_time(summary.first_time), format_time(summary.last_time),
        round((summary.last_time - summary.first_time).total_seconds(), 3), summary.event_count,
        verdict.risk if verdict else None, verdict.flagged if verdict else False,
        len(verdict.findings) if verdict else 0,
        top["rule"] if top else None, top["severity"] if top else None, top["summary"] if top else None)


def _matches(row: SessionRow, wanted: SessionFilter) -> bool:
    if wanted.flagged_only and not row.flagged:
        return False
    if wanted.source and row.source != wanted.source:
        return False
    if wanted.since and row.last_time < wanted.since:
        return False
    if wanted.until and row.first_time > wanted.until:
        return False
    if wanted.text:
        needle = wanted.text.casefold()
        haystack = " ".join(v for v in (row.session_id, row.source, row.model, row.top_rule,
                                         row.top_summary) if v)
        return needle in haystack.casefold()
    return True


def _sort_value(row: SessionRow, key: SortKey) -> tuple[int, Any]:
    value = getattr(row, key)
    return (0, value) if value is not None else (-1, 0)  # unknown risk sorts below every known one


def filter_rows(rows: Sequence[SessionRow], wanted: SessionFilter) -> list[SessionRow]:
    kept = [r for r in rows if _matches(r, wanted)]
    kept.sort(key=lambda r: r.session_id)  # a stable tie-break: equal keys keep one order
    kept.sort(key=lambda r: _sort_value(r, wanted.sort), reverse=wanted.descending)
    return kept
