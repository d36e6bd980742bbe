"""A session as it unfolded: its events and linked cloud records in log order, replayed through a
fresh analyzer to know the risk after every event, when the session was first flagged, and when
each finding first appeared.

The live analyzer (and its projections) keep only the current verdict; the viewer's risk curve
and the report's detection section need the verdict *as it was* at each moment. A replay of the
same records gives the same history every time, so figures and reports are reproducible.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from analyzer.engine import Analyzer, SessionReport
from analyzer.evidence import verification
from analyzer.findings import Finding
from analyzer.guard import GuardPolicy, Verdict, judge
from analyzer.projector import Projector
from analyzer.risk import RiskModel
from analyzer.rules import is_consented
from analyzer.session import Call
from ingest.envelope import Event, EventKind, format_time
from ingest.log import EventLog, Recorded

_PAGE = 5000
T = TypeVar("T")
# Findings that mean "the target was never looked at": the guard's reason for them names the
# read-only step that would have settled it (the post-mortem's "what would have prevented it").
_UNCHECKED_RULES = frozenset({"unverified-assumption", "error-escalation"})
_EXPLAIN = GuardPolicy(ask_at="info")  # a policy that gives its reasons for findings of any severity


@dataclass(frozen=True, slots=True)
class RiskPoint:
    """The session's verdict right after one event."""

    position: int
    event_id: str
    time: str  # the event's own time (canonical UTC)
    risk: float
    flagged: bool


@dataclass(frozen=True, slots=True)
class CallCheck:
    """A tool call as the pre-flight guard would have judged it, just before it ran.

    Judged with what the analyzer knew at that moment (the risk before the call, the findings the
    call would raise, the checks made so far), whether or not a guard was actually consulted."""

    event_id: str
    position: int
    summary: str  # what the call does ("deletes Railway volume vol_3f9a… (GraphQL volumeDelete)")
    destructive: bool
    verified: bool  # a read-only check looked at its target or scope first
    approved: bool  # the user said yes to this call before it ran
    verdict: Verdict | None  # for destructive calls and calls that raise findings; else None
    skipped_check: str | None  # the guard's sentence naming the read-only step that was skipped


@dataclass(frozen=True, slots=True)
class SessionHistory:
    session_id: str
    records: tuple[Recorded, ...]  # the session's events and its linked cloud records, log order
    points: tuple[RiskPoint, ...]  # one per record
    report: SessionReport | None  # the verdict after the last record
    first_flagged: RiskPoint | None  # the first moment risk reached the threshold
    finding_seen: dict[str, RiskPoint] = field(default_factory=dict)  # finding id -> first appearance
    calls: tuple[CallCheck, ...] = ()  # every distinct tool call of the session, log order

    def point_of(self, event_id: str) -> RiskPoint | None:
        return next((p for p in self.points if p.event_id == event_id), None)


class Replay:
    """A replay that can be resumed: feed it the session's records in log order, take its history
    at any moment, and feed it the records appended since (a live timeline replays only those)."""

    def __init__(self, session_id: str, *, model: RiskModel | None = None,
                 threshold: float | None = None, policy: GuardPolicy | None = None) -> None:
        self.session_id = session_id
        self._analyzer = Analyzer(model=model, threshold=threshold)
        self._policy = policy if policy is not None else GuardPolicy()
        self._records: list[Recorded] = []
        self._points: list[RiskPoint] = []
        self._seen: dict[str, RiskPoint] = {}
        self._calls: list[CallCheck] = []
        self._first_flagged: RiskPoint | None = None
        self.own_position = 0  # of the last of the session's own events fed
        self.linked = 0  # cloud records fed (the analyzer's links, in the order it made them)

    @property
    def position(self) -> int:
        """The log position of the last record fed (0 before any)."""
        return self._records[-1].position if self._records else 0

    @property
    def records(self) -> int:
        return len(self._records)

    def recorded_since(self, count: int) -> list[Recorded]:
        """The records fed after the first ``count``."""
        return self._records[count:]

    @property
    def analyzer(self) -> Analyzer:
        """The analyzer fed this session (and its linked cloud records) so far."""
        return self._analyzer

    def extend(self, records: Sequence[Recorded]) -> None:
        """Feed more records; each must come after every record fed so far (log order)."""
        for record in records:
            if record.position <= self.position:
                raise ValueError(f"record at position {record.position} is not after {self.position}")
            self._feed(record)

    def history(self) -> SessionHistory:
        return SessionHistory(self.session_id, tuple(self._records), tuple(self._points),
                              self._analyzer.report(self.session_id), self._first_flagged,
                              dict(self._seen), tuple(self._calls))

    def _feed(self, record: Recorded) -> None:
        session_id, analyzer = self.session_id, self._analyzer
        if record.event.kind == EventKind.TOOL_CALL and record.event.session_id == session_id:
            before = self._points[-1].risk if self._points else 0.0
            if (check := _would_judge(analyzer, record, before, self._policy)) is not None:
                self._calls.append(check)
        changed = analyzer.feed(record.event)
        risk = round(analyzer.risk(session_id), 4)
        point = RiskPoint(record.position, record.event.id, format_time(record.event.time), risk,
                          risk >= analyzer.threshold)
        self._records.append(record)
        self._points.append(point)
        if record.event.session_id == session_id:
            self.own_position = record.position
        else:
            self.linked += 1
        if self._first_flagged is None and point.flagged:
            self._first_flagged = point
        if session_id in changed:
            for finding in analyzer.findings(session_id):
                self._seen.setdefault(finding.id, point)


def replay(session_id: str, records: Sequence[Recorded], *, model: RiskModel | None = None,
           threshold: float | None = None, policy: GuardPolicy | None = None) -> SessionHistory:
    """Feed ``records`` (log order) to a fresh analyzer, noting the verdict after each one and
    what the guard (under ``policy``, default the safe defaults) would have answered each call."""
    resumable = Replay(session_id, model=model, threshold=threshold, policy=policy)
    resumable.extend(records)
    return resumable.history()


def _would_judge(analyzer: Analyzer, record: Recorded, risk: float, policy: GuardPolicy) -> CallCheck | None:
    """The guard's answer to a call before it is fed (api/guard.py ``verdict_on_proposal``)."""
    event = record.event
    if _already_recorded(analyzer, event):
        return None  # the same call reported twice (hook and transcript): judged the first time
    session, call, findings = analyzer.propose(event)
    verified = bool(verification(session, call))
    if not (call.action.destructive or findings):
        return CallCheck(event.id, record.position, call.action.summary, False, verified, False, None, None)
    verdict = judge(call, findings, risk, policy, verified=verified)
    unchecked = [f for f in findings if f.rule in _UNCHECKED_RULES]
    return CallCheck(event.id, record.position, call.action.summary, call.action.destructive, verified,
                     is_consented(session, call), verdict, _skipped_check(call, unchecked))


def _skipped_check(call: Call, unchecked: list[Finding]) -> str | None:
    """The guard's own sentence for an unchecked target: it names the read-only step to take."""
    if not unchecked:
        return None
    reasons = judge(call, unchecked, 0.0, _EXPLAIN, verified=False).reasons
    return reasons[0] if reasons else None


def _already_recorded(analyzer: Analyzer, event: Event) -> bool:
    assert event.session_id is not None
    return bool(event.call_id) and analyzer.recorded_call(event.session_id, event.call_id or "") is not None


def session_records(log: EventLog, projector: Projector, session_id: str, *,
                    after: int = 0, linked_known: int = 0, wait: bool = True) -> list[Recorded]:
    """Every event of the session plus the cloud audit records the live analyzer linked to it.

    Resuming: only the session's events after position ``after``, and only the links made after
    the first ``linked_known`` (links are stored in the order the analyzer made them). The links
    come from the analysis projections, brought up to the log's end first (unless ``wait`` is
    False: the guard answers at once, with the links stored so far): no replay of the log.
    """
    if wait:
        projector.catch_up()
    own: list[Recorded] = []
    while page := log.read_session(session_id, after_position=after, limit=_PAGE):
        own += page
        after = page[-1].position
    linked = log.read_events(projector.store.links(session_id, after=linked_known))
    return sorted(own + linked, key=lambda r: r.position)


def session_history(log: EventLog, projector: Projector, session_id: str, *,
                    policy: GuardPolicy | None = None) -> SessionHistory:
    return start_replay(log, projector, session_id, policy=policy).history()


def start_replay(log: EventLog, projector: Projector, session_id: str, *,
                 policy: GuardPolicy | None = None, wait: bool = True) -> Replay:
    """A resumable replay of the session as the log holds it now."""
    analyzer = projector.analyzer  # its model and threshold, not its state
    replayed = Replay(session_id, model=analyzer.model, threshold=analyzer.threshold, policy=policy)
    replayed.extend(session_records(log, projector, session_id, wait=wait))
    return replayed


def newer_records(log: EventLog, projector: Projector, replayed: Replay, *,
                  wait: bool = True) -> list[Recorded]:
    """What the session gained since ``replayed`` was fed: its own later events and new links."""
    return session_records(log, projector, replayed.session_id, after=replayed.own_position,
                           linked_known=replayed.linked, wait=wait)


class Replays:
    """Resumable replays of single sessions, each brought up to the log's end when asked about.

    ``start(session_id)`` replays a session as the log holds it; ``newer(replay)`` lists what it
    gained since. A newer record that belongs *before* what was fed (a cloud record stored
    earlier and linked only now) cannot be appended: the session is replayed again from the
    start, so a replay always equals a fresh one. Questions about one session wait for one
    refresh instead of each doing their own; other sessions are not held up. Least recently asked
    sessions are dropped past ``size`` sessions or ``max_records`` records (``on_evict`` hears).
    """

    def __init__(self, start: Callable[[str], Replay], newer: Callable[[Replay], list[Recorded]], *,
                 size: int = 64, max_records: int = 200_000,
                 on_evict: Callable[[str], None] | None = None) -> None:
        self._start, self._newer = start, newer
        self._size, self._max_records = size, max_records
        self._on_evict = on_evict
        self._replays: OrderedDict[str, Replay] = OrderedDict()
        self._gates: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def consult(self, session_id: str, question: Callable[[Replay], T]) -> T:
        with self._lock:
            gate = self._gates.setdefault(session_id, threading.Lock())
        with gate:
            replayed = self._current(session_id)
            answer = question(replayed)
        with self._lock:
            self._replays[session_id] = replayed
            self._replays.move_to_end(session_id)
            self._evict()
        return answer

    def _current(self, session_id: str) -> Replay:
        with self._lock:
            replayed = self._replays.get(session_id)
        if replayed is not None:
            newer = self._newer(replayed)
            if not newer or newer[0].position > replayed.position:
                replayed.extend(newer)
                return replayed
        return self._start(session_id)

    def _evict(self) -> None:
        held = sum(r.records for r in self._replays.values())
        while len(self._replays) > 1 and (len(self._replays) > self._size or held > self._max_records):
            gone_id, gone = self._replays.popitem(last=False)
            self._gates.pop(gone_id, None)
            held -= gone.records
            if self._on_evict is not None:
                self._on_evict(gone_id)


class SessionAnalyzers:
    """Live analyzers of single sessions, for questions about one session (the guard's).

    Each is a resumable replay of the session's events and its linked cloud records: no process
    has to hold an analyzer of the whole log to answer "may this session run that?", and the
    answer is the one the session's history gives. The guard answers at once, with the links
    stored so far (it does not wait for the analysis to reach the log's end).
    """

    def __init__(self, log: EventLog, projector: Projector, *, size: int = 64,
                 max_records: int = 200_000) -> None:
        self._replays = Replays(
            lambda session_id: start_replay(log, projector, session_id, wait=False),
            lambda replayed: newer_records(log, projector, replayed, wait=False),
            size=size, max_records=max_records)

    def consult(self, session_id: str, question: Callable[[Analyzer], T]) -> T:
        return self._replays.consult(session_id, lambda replayed: question(replayed.analyzer))
