"""The guard service: judge a proposed call, record it with the answer, answer allow / ask / deny.

Shared by ``POST /v1/guard`` and the Claude Code PreToolUse hook. The answer is recorded as a
``system`` event of source ``blackbox-guard`` next to the call, so a post-mortem can say what
the guard answered and when. ``POST /v1/guard`` judges the proposal first (the analyzer's
``propose`` keeps nothing) and appends proposal and answer in one durable commit; the hook's
payload is already in the log when it is judged, so only the answer is appended afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from analyzer.engine import Analyzer
from analyzer.evidence import verification
from analyzer.findings import Finding
from analyzer.guard import GUARD_SOURCE, Decision, Verdict, judge
from analyzer.session import Call, SessionState
from api.services import Services
from ingest.envelope import Event, EventKind
from ingest.log import Encoded, encode

SOURCE = GUARD_SOURCE


# A call to judge: its session thread, the call, and the findings about it.
_Judged = tuple[SessionState, Call, list[Finding]]


def verdict_on_proposal(services: Services, event: Event) -> Verdict:
    """Judge a tool call event that is not in the log yet."""
    assert event.session_id is not None
    return _verdict(services, event.session_id, lambda analyzer: analyzer.propose(event))


def verdict_for(services: Services, session_id: str, call_id: str | None) -> Verdict:
    """Judge the session's recorded call ``call_id`` (else its latest call) after catching up."""

    def recorded(analyzer: Analyzer) -> _Judged | None:
        found = analyzer.recorded_call(session_id, call_id) if call_id else _latest(analyzer, session_id)
        if found is None:
            return None
        session, call = found
        return session, call, analyzer.anchored(session_id, call.event_id)

    return _verdict(services, session_id, recorded)


def _verdict(services: Services, session_id: str,
             find: Callable[[Analyzer], _Judged | None]) -> Verdict:
    """Judge the call ``find`` picks, by its findings and the session's risk so far.

    Both run inside ``consult``, so the analyzer's state can not change between them. The
    analyzer is the session's own (``SessionAnalyzers``): no analyzer of the whole log is needed.
    """

    def question(analyzer: Analyzer) -> Verdict:
        found = find(analyzer)
        if found is None:
            return Verdict(Decision.ALLOW, ("no recorded call to judge",), 0.0, ())
        session, call, findings = found
        report = analyzer.report(session_id)
        return judge(call, findings, report.risk if report else 0.0, services.policy,
                     verified=bool(verification(session, call)))

    return services.sessions.consult(session_id, question)


def verdict_event(session_id: str, call_id: str | None, verdict: Verdict) -> Encoded:
    now = datetime.now(UTC)
    return encode(Event.create(
        source=SOURCE, native_id=f"{session_id}/{call_id or now.isoformat()}/decision",
        stream=session_id, session_id=session_id, kind=EventKind.SYSTEM, time=now, received_at=now,
        actor="blackbox", call_id=call_id, text=f"guard {verdict.decision}: {verdict.reason}",
        attributes={"guard": verdict.to_document()}))


def record_verdict(services: Services, session_id: str, call_id: str | None, verdict: Verdict) -> None:
    """Append the answer without waiting: it is our output, not something a client handed us."""
    services.log.submit([verdict_event(session_id, call_id, verdict)])


def _latest(analyzer: Analyzer, session_id: str) -> tuple[SessionState, Call] | None:
    for session in analyzer.sessions.get(session_id, ()):
        if session.last_call is not None:
            return session, session.last_call
    return None
