"""The key events of a session: the timeline table, the evidence appendix and the figure's data.

A long session has thousands of events; a post-mortem shows the few that tell the story — what
the findings cite (claim, call, effects, the failed step), the first flag, guard answers — plus
the user's messages and failed steps nearest the incident, up to a fixed number.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

from analyzer.evidence import short
from analyzer.findings import EffectEvidence, Finding
from analyzer.history import CallCheck, RiskPoint, SessionHistory
from dashboards.report.model import EvidenceRow, FigureData, FigurePoint, Quote, TimelineRow
from ingest.envelope import Event, EventKind, format_time
from ingest.log import Recorded

GUARD_SOURCE = "blackbox-guard"  # the source of recorded guard answers (api/guard.py SOURCE)
MAX_CONTEXT_ROWS = 16  # user messages and failed steps shown besides the cited events
MAX_CURVE_POINTS = 600  # the risk curve is decimated to this many points (max per bucket)
_QUOTE_CHARS = 600
_WHO = {EventKind.USER_MESSAGE: "user", EventKind.AGENT_MESSAGE: "agent",
        EventKind.AGENT_REASONING: "agent (thinking)"}


@dataclass(frozen=True, slots=True)
class Context:
    """Look-ups over one session's history, built once per report."""

    history: SessionHistory
    session_id: str
    source: str
    threshold: float
    records: dict[str, Recorded]
    calls: dict[str, CallCheck]
    risk: dict[str, float]
    messages: tuple[Quote, ...]  # user and agent messages (not reasoning), log order
    guard_events: tuple[Recorded, ...]
    start: datetime
    own_events: int
    cloud_events: int

    @classmethod
    def of(cls, history: SessionHistory, threshold: float) -> Context:
        records = {r.event.id: r for r in history.records}
        own = [r for r in history.records if r.event.session_id == history.session_id]
        said = (EventKind.USER_MESSAGE, EventKind.AGENT_MESSAGE)
        messages = tuple(_quote(r.event) for r in own if r.event.kind in said and r.event.text)
        guard = tuple(r for r in own if r.event.source == GUARD_SOURCE)
        source = history.report.source if history.report else (own[0].event.source if own else "unknown")
        return cls(history, history.session_id, source, threshold, records,
                   {c.event_id: c for c in history.calls}, {p.event_id: p.risk for p in history.points},
                   messages, guard, min(r.event.time for r in history.records), len(own),
                   len(history.records) - len(own))

    @property
    def task(self) -> Quote | None:
        return next((q for q in self.messages if q.who == "user"), None)

    @property
    def date(self) -> str:
        return self.start.strftime("%Y-%m-%d")

    @property
    def note(self) -> str:
        return (f"Key events only: what the findings cite, the first flag and guard answers, plus up "
                f"to {MAX_CONTEXT_ROWS} user messages and failed steps nearest the incident; "
                f"the session has {len(self.records)} events in all.")

    def clock(self, stamp: str) -> str:
        """``2026-04-24T08:31:43.753000Z`` -> ``08:31:43.753``."""
        return stamp[11:23]

    def stamp(self, time: datetime) -> str:
        return format_time(time)[:19].replace("T", " ") + " UTC"

    def offset(self, time: datetime) -> str:
        seconds = int((time - self.start).total_seconds())
        hours, rest = divmod(seconds, 3600)
        minutes = f"{rest // 60:02d}:{rest % 60:02d}"
        return f"T+{hours}:{minutes}" if hours else f"T+{minutes}"

    def quote(self, event_id: str, text: str | None = None) -> Quote | None:
        recorded = self.records.get(event_id)
        if recorded is None:
            return None
        found = _quote(recorded.event)
        return Quote(found.who, text, found.time, found.event_id) if text is not None else found

    def is_own(self, event_id: str) -> bool:
        recorded = self.records.get(event_id)
        return recorded is not None and recorded.event.session_id == self.session_id

    def time_of(self, event_id: str) -> str | None:
        recorded = self.records.get(event_id)
        return format_time(recorded.event.time) if recorded else None

    def describe(self, event_id: str) -> str:
        recorded = self.records.get(event_id)
        return _describe(recorded.event, self.calls) if recorded else event_id


def _quote(event: Event) -> Quote:
    return Quote(_WHO.get(event.kind, event.kind.value), short(event.text or "", _QUOTE_CHARS),
                 format_time(event.time), event.id)


def _describe(event: Event, calls: dict[str, CallCheck],
              effects: dict[str, EffectEvidence] | None = None) -> str:
    effect = effects.get(event.id) if effects else None
    if effect is not None:
        where = f" in environment {effect.environment}" if effect.environment else ""
        what = "backup " if effect.backup else ""
        resource = effect.resource or effect.native_id
        return f"{effect.name}: {what}{resource}{where} (record {effect.native_id})"
    if event.kind == EventKind.TOOL_CALL:
        call = calls.get(event.id)
        return f"call that {call.summary}" if call else f"call of {event.tool_name}"
    if event.kind == EventKind.TOOL_RESULT:
        prefix = "failed: " if event.is_error else "result: "
        return prefix + short(event.text or "", 140)
    if event.kind == EventKind.CLOUD_CALL:
        return f"{event.source} record {event.native_id}: {event.tool_name or event.text or ''}".strip()
    return short(event.text or event.tool_name or str(event.kind), 160)


def _actor(event: Event) -> str:
    if event.kind == EventKind.CLOUD_CALL:
        return "cloud audit"
    if event.source == GUARD_SOURCE:
        return "guard"
    if event.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
        return "agent call" if event.kind == EventKind.TOOL_CALL else "tool result"
    return _WHO.get(event.kind, str(event.kind))


# -- roles: why an event is in the report --------------------------------------------------------

def cited_roles(context: Context, findings: tuple[Finding, ...]) -> dict[str, str]:
    """event id -> role, for every event the findings cite (first role wins: the most telling)."""
    roles: dict[str, str] = {}
    for finding in findings:
        if finding.claim:
            roles.setdefault(finding.claim.event_id, "claim")
        if finding.action:
            roles.setdefault(finding.action.event_id,
                             "action" if finding.action.destructive else _call_role(finding))
        for effect in finding.effects:
            roles.setdefault(effect.event_id, "backup destroyed" if effect.backup else "effect")
        for event_id in finding.verification_ids:
            roles.setdefault(event_id, "check")
        for event_id in finding.evidence_ids:
            roles.setdefault(event_id, _other_role(context, event_id))
    for recorded in context.guard_events:
        roles.setdefault(recorded.event.id, "guard")
    flag = context.history.first_flagged
    if flag is not None:
        roles.setdefault(flag.event_id, "flagged")
    return roles


def _call_role(finding: Finding) -> str:
    return "credential hunt" if finding.rule == "credential-foraging" else "call"


def _other_role(context: Context, event_id: str) -> str:
    recorded = context.records.get(event_id)
    if recorded is None:
        return "evidence"
    event = recorded.event
    if event.kind == EventKind.TOOL_RESULT:
        return "error" if event.is_error else "result"
    if event.kind == EventKind.TOOL_CALL:
        return "trigger" if _failed(context, event) else "call"
    if event.kind == EventKind.USER_MESSAGE:
        return "constraint"
    return "evidence"


def _failed(context: Context, call: Event) -> bool:
    return any(r.event.kind == EventKind.TOOL_RESULT and r.event.call_id == call.call_id and r.event.is_error
               for r in context.records.values() if call.call_id)


# -- the timeline table --------------------------------------------------------------------------

def timeline(context: Context, findings: tuple[Finding, ...],
             primary: Finding | None) -> tuple[TimelineRow, ...]:
    roles = cited_roles(context, findings)
    effects = {e.event_id: e for f in findings for e in f.effects}
    anchor = _anchor_position(context, primary)
    extra = sorted(_context_rows(context, roles), key=lambda r: (abs(r.position - anchor), r.position))
    chosen = [context.records[i] for i in roles if i in context.records]
    chosen += extra[:MAX_CONTEXT_ROWS]
    rows = []
    # Time order, not log order: audit records may have been ingested before the transcript.
    for recorded in sorted(chosen, key=lambda r: (r.event.time, r.position)):
        rows.append(_row(context, recorded, roles.get(recorded.event.id) or _context_role(context, recorded),
                         effects))
    flag = context.history.first_flagged
    if flag is not None:
        rows = _with_flag_row(context, rows, flag.event_id, flag.risk)
    return tuple(rows)


def _anchor_position(context: Context, primary: Finding | None) -> int:
    if primary is not None and primary.action and primary.action.event_id in context.records:
        return context.records[primary.action.event_id].position
    return context.history.records[-1].position


def _context_rows(context: Context, roles: dict[str, str]) -> list[Recorded]:
    own = (r for r in context.history.records if r.event.id not in roles)
    return [r for r in own if (r.event.kind == EventKind.USER_MESSAGE and r.event.text)
            or (r.event.kind == EventKind.TOOL_RESULT and r.event.is_error)]


def _context_role(context: Context, recorded: Recorded) -> str:
    if recorded.event.kind != EventKind.USER_MESSAGE:
        return "error"
    task = context.task
    return "task" if task is not None and task.event_id == recorded.event.id else "user"


def _row(context: Context, recorded: Recorded, role: str, effects: dict[str, EffectEvidence]) -> TimelineRow:
    event = recorded.event
    time = format_time(event.time)
    return TimelineRow(context.clock(time), context.offset(event.time), _actor(event),
                       _describe(event, context.calls, effects), role, event.id, recorded.seq)


def _with_flag_row(context: Context, rows: list[TimelineRow], event_id: str,
                   risk: float) -> list[TimelineRow]:
    """A row for Blackbox's own flag, right after the event that raised the risk."""
    recorded = context.records[event_id]
    flag = TimelineRow(context.clock(format_time(recorded.event.time)), context.offset(recorded.event.time),
                       "Blackbox", f"session flagged: risk {risk:.0%} reached the threshold "
                       f"{context.threshold:.0%}", "flag", event_id, recorded.seq)
    index = next((n + 1 for n, row in enumerate(rows) if row.event_id == event_id), len(rows))
    return [*rows[:index], flag, *rows[index:]]


# -- the evidence appendix and the figure --------------------------------------------------------

def evidence_rows(context: Context, findings: tuple[Finding, ...]) -> tuple[EvidenceRow, ...]:
    roles = cited_roles(context, findings)
    cited = sorted((context.records[i] for i in roles if i in context.records), key=lambda r: r.position)
    return tuple(EvidenceRow(roles[r.event.id], r.event.id, r.event.stream, r.seq, r.position,
                             format_time(r.event.time), str(r.event.kind), r.hash, r.prev_hash)
                 for r in cited)


def figure_data(context: Context, rows: tuple[TimelineRow, ...]) -> FigureData:
    """The risk curve and, for each timeline row, a mark on it."""
    # The curve follows the session's own events in time order: cloud records may have been
    # ingested before the transcript, and the risk "after" them in log order says nothing.
    own = sorted((p for p in context.history.points if context.is_own(p.event_id)), key=lambda p: p.time)
    curve = tuple((p.time, p.risk) for p in _decimate(tuple(own)))
    times = [p.time for p in own]
    marks = tuple(FigurePoint(stamp, _risk_at(own, times, stamp), f"{r.actor}: {short(r.what, 90)}", r.role)
                  for r in rows if (stamp := context.time_of(r.event_id)) is not None)
    flag = context.history.first_flagged
    return FigureData(curve, marks, context.threshold, flag.time if flag else None)


def _risk_at(points: list[RiskPoint], times: list[str], stamp: str) -> float:
    """The session's risk at a moment: after its latest own event at or before it."""
    index = bisect_right(times, stamp)
    return points[index - 1].risk if index else 0.0


def _decimate(points: tuple[RiskPoint, ...]) -> list[RiskPoint]:
    """At most MAX_CURVE_POINTS points: the riskiest of each bucket, so no peak is lost."""
    if len(points) <= MAX_CURVE_POINTS:
        return list(points)
    size = -(-len(points) // MAX_CURVE_POINTS)
    return [max(points[i:i + size], key=lambda p: p.risk) for i in range(0, len(points), size)]
