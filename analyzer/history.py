"""A session as it unfolded: its events and linked cloud records in log order, replayed through a
fresh analyzer to know the risk after every event, when the session was first flagged, and when
each finding first appeared.

The live analyzer (and its projections) keep only the current verdict; the viewer's risk curve
and the report's detection section need the verdict *as it was* at each moment. A replay of the
same records gives the same history every time, so figures and reports are reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from analyzer.engine import Analyzer, SessionReport
from analyzer.projector import Projector
from analyzer.risk import RiskModel
from ingest.envelope import format_time
from ingest.log import EventLog, Recorded

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class RiskPoint:
    """The session's verdict right after one event."""

    position: int
    event_id: str
    time: str  # the event's own time (canonical UTC)
    risk: float
    flagged: bool


@dataclass(frozen=True, slots=True)
class SessionHistory:
    session_id: str
    records: tuple[Recorded, ...]  # the session's events and its linked cloud records, log order
    points: tuple[RiskPoint, ...]  # one per record
    report: SessionReport | None  # the verdict after the last record
    first_flagged: RiskPoint | None  # the first moment risk reached the threshold
    finding_seen: dict[str, RiskPoint] = field(default_factory=dict)  # finding id -> first appearance

    def point_of(self, event_id: str) -> RiskPoint | None:
        return next((p for p in self.points if p.event_id == event_id), None)


def replay(session_id: str, records: Sequence[Recorded], *, model: RiskModel | None = None,
           threshold: float | None = None) -> SessionHistory:
    """Feed ``records`` (log order) to a fresh analyzer, noting the verdict after each one."""
    analyzer = Analyzer(model=model, threshold=threshold)
    points: list[RiskPoint] = []
    seen: dict[str, RiskPoint] = {}
    first_flagged: RiskPoint | None = None
    for record in records:
        changed = analyzer.feed(record.event)
        risk = round(analyzer.risk(session_id), 4)
        point = RiskPoint(record.position, record.event.id, format_time(record.event.time), risk,
                          risk >= analyzer.threshold)
        points.append(point)
        if first_flagged is None and point.flagged:
            first_flagged = point
        if session_id in changed:
            for finding in analyzer.findings(session_id):
                seen.setdefault(finding.id, point)
    return SessionHistory(session_id, tuple(records), tuple(points), analyzer.report(session_id),
                          first_flagged, seen)


def session_records(log: EventLog, projector: Projector, session_id: str) -> list[Recorded]:
    """Every event of the session plus the cloud audit records the live analyzer linked to it."""
    own: list[Recorded] = []
    after = 0
    while page := log.read_session(session_id, after_position=after, limit=_PAGE):
        own += page
        after = page[-1].position
    effect_ids = projector.consult(lambda analyzer: analyzer.effect_event_ids(session_id))
    linked = log.read_events(effect_ids)
    return sorted(own + linked, key=lambda r: r.position)


def session_history(log: EventLog, projector: Projector, session_id: str) -> SessionHistory:
    analyzer = projector.analyzer
    return replay(session_id, session_records(log, projector, session_id), model=analyzer.model,
                  threshold=analyzer.threshold)
