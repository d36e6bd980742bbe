"""The incident timeline of one session as plain data: swimlanes, a window of events, the risk
curve and each finding's claim → action → effects chain.

Pure functions over an ``analyzer.history.SessionHistory`` (the session's events plus the cloud
records linked to it, replayed for the risk after every event). The API serves the result as
JSON and the page draws it with plotly; nothing here knows about HTTP.

Server-side windowing keeps a 10,000-event session cheap to draw: a request names a time range
and a point budget; a range holding more events than the budget gets a decimated sample that
always keeps what matters (finding evidence, destructive calls, errors, user messages), and the
risk curve keeps only the points where the risk moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from analyzer.actions import classify
from analyzer.history import Replay, Replays, RiskPoint, SessionHistory
from ingest.envelope import Event, EventKind, format_time
from ingest.log import Recorded

DEFAULT_POINTS = 2000  # events drawn per window: WebGL handles far more; the JSON and hover stay light
MAX_POINTS = 10_000
RISK_POINTS = 1000
LABEL_CHARS = 160

# Lane keys, top to bottom; cloud lanes ("cloud:<source>") follow, one per audit source.
CORE_LANES: tuple[tuple[str, str], ...] = (
    ("user", "user"), ("reasoning", "agent reasoning"), ("message", "agent messages"),
    ("call", "tool calls"), ("result", "tool results"))
_LANE_OF_KIND = {EventKind.USER_MESSAGE: "user", EventKind.AGENT_REASONING: "reasoning",
                 EventKind.AGENT_MESSAGE: "message", EventKind.TOOL_CALL: "call",
                 EventKind.TOOL_RESULT: "result"}


def lane_key(event: Event) -> str:
    if event.kind == EventKind.CLOUD_CALL:
        return f"cloud:{event.source}"
    return _LANE_OF_KIND.get(event.kind, "system")  # guard decisions, hook notices, unknown lines


def lanes_of(records: Iterable[Recorded]) -> list[dict[str, str]]:
    """The core lanes always (an empty lane says "nothing happened there"), then any others seen."""
    seen = {lane_key(r.event) for r in records}
    lanes = [{"key": key, "label": label} for key, label in CORE_LANES]
    if "system" in seen:
        lanes.append({"key": "system", "label": "system"})
    for key in sorted(k for k in seen if k.startswith("cloud:")):
        lanes.append({"key": key, "label": key.removeprefix("cloud:")})
    return lanes


def _short(text: str | None, limit: int = LABEL_CHARS) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _call_text(event: Event) -> str:
    data = event.tool_input
    if isinstance(data, dict):
        for name in ("command", "cmd", "file_path", "path", "url", "query", "pattern", "prompt"):
            value = data.get(name)
            if isinstance(value, str) and value:
                return value
    return "" if data is None else str(data)


def label_of(event: Event) -> str:
    """One line saying what the event is (the hover text and the list entry)."""
    if event.kind == EventKind.TOOL_CALL:
        return _short(f"{event.tool_name or 'tool'}: {_call_text(event)}")
    if event.kind == EventKind.CLOUD_CALL:
        return _short(event.text or event.tool_name)
    return _short(event.text or event.tool_name or str(event.kind))


@dataclass(frozen=True, slots=True)
class Marker:
    """One event as the timeline draws it."""

    position: int
    event_id: str
    time: str
    lane: str
    kind: str
    label: str
    family: str | None = None
    destructive: bool = False
    error: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"p": self.position, "id": self.event_id, "t": self.time, "lane": self.lane,
                "kind": self.kind, "label": self.label, "family": self.family,
                "destructive": self.destructive, "error": self.error}


def marker_of(recorded: Recorded) -> Marker:
    event = recorded.event
    family, destructive, label = None, False, label_of(event)
    if event.kind == EventKind.TOOL_CALL:
        action = classify(event.tool_name, event.tool_input)
        family = str(action.family) if action.family is not None else None
        destructive = action.destructive
        if destructive and action.summary:  # what it destroys first: a long command hides it
            label = _short(f"{event.tool_name or 'tool'}: {action.summary} · {_call_text(event)}")
    return Marker(recorded.position, event.id, format_time(event.time), lane_key(event),
                  str(event.kind), label, family, destructive, bool(event.is_error))


def _important_ids(history: SessionHistory) -> set[str]:
    report = history.report
    return {i for f in report.findings for i in f.evidence_ids} if report else set()


def window(markers: Sequence[Marker], *, start: str | None, end: str | None, points: int,
           keep: set[str]) -> tuple[list[Marker], int]:
    """The markers in [start, end] (canonical UTC strings compare in time order); at most
    ``points`` of them, keeping ``keep`` and every notable event before sampling the rest evenly.
    Returns the chosen markers (log order) and how many the range held."""
    inside = [m for m in markers if (start is None or m.time >= start) and (end is None or m.time <= end)]
    if len(inside) <= points:
        return inside, len(inside)
    notable = [m for m in inside if m.event_id in keep or m.destructive or m.error or m.lane == "user"]
    chosen = {m.position: m for m in notable[:points]}
    rest = [m for m in inside if m.position not in chosen]
    room = points - len(chosen)
    if room > 0 and rest:
        step = len(rest) / room
        for i in range(min(room, len(rest))):
            sample = rest[int(i * step)]
            chosen[sample.position] = sample
    return sorted(chosen.values(), key=lambda m: m.position), len(inside)


def risk_curve(points: Sequence[RiskPoint], limit: int = RISK_POINTS) -> list[dict[str, Any]]:
    """The points where the risk moved (plus the ends): a step curve drawn from them is exact.

    In time order: a cloud record is logged after the call that caused it but happened before
    later agent events, and the curve's x axis is time."""
    points = sorted(points, key=lambda p: p.time)  # stable: log order among equal times
    kept = [p for i, p in enumerate(points)
            if i in (0, len(points) - 1) or p.risk != points[i - 1].risk]
    if len(kept) > limit:  # a risk that moves on every event: sample evenly, keep the ends
        step = (len(kept) - 1) / (limit - 1)
        kept = [kept[round(i * step)] for i in range(limit)]
    return [{"t": p.time, "risk": p.risk, "p": p.position, "flagged": p.flagged} for p in kept]


def finding_chains(history: SessionHistory, by_id: dict[str, Marker]) -> list[dict[str, Any]]:
    """Each finding with its evidence as markers in time order: claim → action → effects."""
    report = history.report
    if report is None:
        return []
    chains = []
    for finding in report.findings:
        links: list[tuple[str, str]] = []
        if finding.claim is not None:
            links.append(("claim", finding.claim.event_id))
        if finding.action is not None:
            links.append(("action", finding.action.event_id))
        links += [("effect", e.event_id) for e in finding.effects]
        chain = [{"role": role, **by_id[event_id].to_json()} for role, event_id in links
                 if event_id in by_id]
        seen = history.finding_seen.get(finding.id)
        chains.append({**finding.to_document(), "chain": chain,
                       "seen_at": seen.time if seen else None,
                       "seen_position": seen.position if seen else None})
    return chains


def timeline(history: SessionHistory, *, start: str | None = None, end: str | None = None,
             points: int = DEFAULT_POINTS, markers: Sequence[Marker] | None = None) -> dict[str, Any]:
    """Everything the timeline page draws for one window of a session."""
    markers = list(markers) if markers is not None else [marker_of(r) for r in history.records]
    shown, total = window(markers, start=start, end=end, points=points, keep=_important_ids(history))
    report = history.report
    first = history.first_flagged
    return {
        "session_id": history.session_id,
        "position": history.records[-1].position if history.records else 0,
        "lanes": lanes_of(history.records),
        "range": {"start": min((m.time for m in markers), default=None),
                  "end": max((m.time for m in markers), default=None)},
        "window": {"start": start, "end": end, "total": total, "shown": len(shown),
                   "decimated": len(shown) < total},
        "events": [m.to_json() for m in shown],
        "risk": risk_curve(history.points),
        "risk_now": report.risk if report else None,
        "flagged": report.flagged if report else False,
        "first_flagged": {"t": first.time, "p": first.position, "risk": first.risk} if first else None,
        "findings": finding_chains(history, {m.event_id: m for m in markers}),
    }


def result_of(history: SessionHistory, call: Recorded) -> Recorded | None:
    """The tool result answering a tool call (same call id), if recorded."""
    return _paired(history, call, EventKind.TOOL_CALL, EventKind.TOOL_RESULT)


def call_of(history: SessionHistory, result: Recorded) -> Recorded | None:
    """The tool call a tool result answers, if recorded."""
    return _paired(history, result, EventKind.TOOL_RESULT, EventKind.TOOL_CALL)


def _paired(history: SessionHistory, one: Recorded, kind: EventKind, other: EventKind) -> Recorded | None:
    call_id = one.event.call_id
    if one.event.kind != kind or not call_id:
        return None
    return next((r for r in history.records if r.event.kind == other and r.event.call_id == call_id), None)


def findings_about(history: SessionHistory, event_id: str) -> list[str]:
    report = history.report
    return [f.id for f in report.findings if event_id in f.evidence_ids] if report else []


@dataclass(frozen=True, slots=True)
class Cached:
    history: SessionHistory
    markers: tuple[Marker, ...]


@dataclass(frozen=True, slots=True)
class _View:
    replay: Replay
    records: int  # how many of its records the view shows
    cached: Cached


class HistoryCache:
    """Replayed sessions for the timeline, kept resumable (``analyzer.history.Replays``): a
    running session's page asks again after each append, and only what was appended since is
    replayed (a full replay costs ~0.1 ms per event) and turned into markers."""

    def __init__(self, start: Callable[[str], Replay], newer: Callable[[Replay], list[Recorded]],
                 *, size: int = 16, max_records: int = 100_000) -> None:
        # A history holds every record with its native body: bound the memory by records too.
        self._replays = Replays(start, newer, size=size, max_records=max_records,
                                on_evict=self._forget)
        self._views: dict[str, _View] = {}

    def get(self, session_id: str) -> Cached:
        return self._replays.consult(session_id, self._view)

    def _view(self, replay: Replay) -> Cached:
        """The replay as history and markers, reusing the markers of the records shown before."""
        held = self._views.get(replay.session_id)
        if held is not None and held.replay is not replay:
            held = None  # replayed from the start: nothing shown before carries over
        if held is not None and held.records == replay.records:
            return held.cached
        shown = held.cached.markers if held is not None else ()
        added = replay.recorded_since(held.records if held is not None else 0)
        cached = Cached(replay.history(), shown + tuple(marker_of(r) for r in added))
        self._views[replay.session_id] = _View(replay, replay.records, cached)
        return cached

    def _forget(self, session_id: str) -> None:
        self._views.pop(session_id, None)
