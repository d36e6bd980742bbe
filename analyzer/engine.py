"""The analyzer: feed it events in log order; it keeps every session's findings current.

``feed`` does a bounded amount of work per event — classify one call, extract one text's claims,
link one cloud record — and re-runs only the rules anchored on what changed. That keeps live
scoring cheap however long a session grows, and makes a rebuild (feeding the whole log again)
produce exactly what live feeding produced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from analyzer import rules
from analyzer.actions import classify
from analyzer.claims import extract_claims, extract_constraints
from analyzer.correlate import EffectLinker
from analyzer.effects import effect_of
from analyzer.entities import environments_in
from analyzer.evidence import normalize_target, verification
from analyzer.features import SessionFeatures
from analyzer.findings import Finding, ordered
from analyzer.guard import Decision, decision_of
from analyzer.nodes import Action, ClaimKind, ConstraintKind, Effect, InspectKind
from analyzer.risk import RiskModel, configured_threshold, default_model
from analyzer.session import (
    RESULT_TEXT_CHARS,
    TASK_CHARS,
    Call,
    ClaimRef,
    ConstraintRef,
    Inspection,
    SessionState,
)
from ingest.envelope import Event, EventKind, format_time

_KEPT_CALLS = 512  # calls per session whose results can still arrive (older ones are done)


@dataclass(frozen=True, slots=True)
class SessionReport:
    session_id: str
    source: str
    model: str | None
    risk: float
    flagged: bool
    findings: list[Finding]
    events: int
    first_time: str | None
    last_time: str | None
    # Destructive calls by (family, state): "verified" (a read-only step checked the target first),
    # "unverified", or "blocked" (the guard denied it). Every call counts, however long the session.
    actions: tuple[tuple[str, str, int], ...] = ()


@dataclass(eq=False, slots=True)
class _Findings:
    by_id: dict[str, Finding] = field(default_factory=dict)
    by_anchor: dict[str, set[str]] = field(default_factory=dict)

    def replace(self, anchor: str, found: Iterable[Finding]) -> bool:
        """Set the findings of one anchor; True when anything changed."""
        new = {f.id: f for f in found}
        old_ids = self.by_anchor.get(anchor, set())
        changed = set(new) != old_ids or any(self.by_id.get(i) != f for i, f in new.items())
        for gone in old_ids - set(new):
            del self.by_id[gone]
        self.by_id.update(new)
        self.by_anchor[anchor] = set(new)
        return changed


class Analyzer:
    """Incremental analysis of every session in a log."""

    def __init__(self, *, threshold: float | None = None, model: RiskModel | None = None) -> None:
        # One state per thread of a session: a subagent (Claude Code sidechain) has its own turns,
        # its own "user" (the parent agent's prompt) and its own constraints.
        self.sessions: dict[str, list[SessionState]] = {}
        self._threads: dict[tuple[str, str], SessionState] = {}
        self._findings: dict[str, _Findings] = {}
        self._linker = EffectLinker()
        # The risk model scores whole sessions (every thread), from features kept per session id.
        self.model = model if model is not None else default_model()
        self.threshold = threshold if threshold is not None else configured_threshold(self.model)
        self._features: dict[str, SessionFeatures] = {}
        self._effect_events: dict[str, dict[str, None]] = {}  # session -> linked cloud event ids
        # Links made since the projector last took them, (session, ordinal in the session, cloud
        # event id): it stores them, so a session's history never needs the whole log replayed.
        self._new_links: list[tuple[str, int, str]] = []
        self._actions: dict[str, Counter[tuple[str, str]]] = {}

    def feed(self, event: Event) -> set[str]:
        """Take one event; returns the ids of the sessions whose findings changed."""
        if event.session_id is None:
            return self._feed_cloud(event)
        session = self._session(event)
        index = session.touch(event.time)
        self._features[event.session_id].observe(event)
        handler = _HANDLERS.get(event.kind)
        return handler(self, session, event, index) if handler else set()

    def feed_all(self, events: Iterable[Event]) -> set[str]:
        changed: set[str] = set()
        for event in events:
            changed |= self.feed(event)
        return changed

    def findings(self, session_id: str) -> list[Finding]:
        held = self._findings.get(session_id)
        return ordered(list(held.by_id.values())) if held else []

    def features(self, session_id: str) -> SessionFeatures | None:
        return self._features.get(session_id)

    def effect_event_ids(self, session_id: str) -> list[str]:
        """The cloud audit events linked to the session's calls, in the order they were linked."""
        return list(self._effect_events.get(session_id, ()))

    def take_new_links(self) -> list[tuple[str, int, str]]:
        """The links made since the last call, numbered per session in the order they were made."""
        taken, self._new_links = self._new_links, []
        return taken

    def risk(self, session_id: str) -> float:
        """P(the session is doing something unsafe | its events so far), from the risk model."""
        features = self._features.get(session_id)
        if features is None:
            return 0.0
        held = self._findings.get(session_id)
        findings = held.by_id.values() if held else ()
        return self.model.probability(features.signals(findings), features.text.dot())

    def report(self, session_id: str) -> SessionReport | None:
        threads = self.sessions.get(session_id)
        if not threads:
            return None
        found = self.findings(session_id)
        first = min(t.first_time for t in threads if t.first_time)
        last = max(t.last_time for t in threads if t.last_time)
        model = next((t.model for t in threads if t.model), None)
        risk = round(self.risk(session_id), 4)
        actions = tuple(sorted((family, state, n) for (family, state), n
                               in self._actions.get(session_id, Counter()).items() if n > 0))
        return SessionReport(session_id, threads[0].source, model, risk, risk >= self.threshold, found,
                             sum(t.events for t in threads), format_time(first), format_time(last),
                             actions)

    def recorded_call(self, session_id: str, call_id: str) -> tuple[SessionState, Call] | None:
        """A call of the session by the agent's call id (the guard's view of a proposed call)."""
        for session in self.sessions.get(session_id, ()):
            if (call := session.calls_by_id.get(call_id)) is not None:
                return session, call
        return None

    def propose(self, event: Event) -> tuple[SessionState, Call, list[Finding]]:
        """What the rules would say about a tool call event if it came next — nothing is kept.

        The guard asks this before the call is appended, so the proposal and the answer can be
        made durable together; feeding the same event afterwards yields the same findings."""
        assert event.session_id is not None
        session = self._threads.get((event.session_id, _thread(event))) or SessionState(
            event.session_id, event.source)
        call = _new_call(session, event, session.events)
        return session, call, [f for rule in rules.CALL_RULES if (f := rule(session, call)) is not None]

    def anchored(self, session_id: str, event_id: str) -> list[Finding]:
        """The findings about one event (a call or a claim)."""
        held = self._findings.get(session_id)
        if held is None:
            return []
        return ordered([held.by_id[i] for i in held.by_anchor.get(event_id, ())])

    # -- per kind ------------------------------------------------------------------------------

    def _session(self, event: Event) -> SessionState:
        assert event.session_id is not None
        key = (event.session_id, _thread(event))
        session = self._threads.get(key)
        if session is None:
            session = self._threads[key] = SessionState(event.session_id, event.source)
            self.sessions.setdefault(event.session_id, []).append(session)
            self._features.setdefault(event.session_id, SessionFeatures(self.model.text_bag()))
        if session.model is None and isinstance(model := event.attributes.get("model"), str):
            session.model = model
        return session

    def _on_user(self, session: SessionState, event: Event, index: int) -> set[str]:
        text = event.text or ""
        session.last_user_index = index
        request = text[:TASK_CHARS]
        session.remember_request(request.lower(), environments_in(request))
        for constraint in extract_constraints(text):
            ref = ConstraintRef(event.id, index, event.time, constraint)
            if constraint.kind == ConstraintKind.APPROVE:
                session.approvals.append(ref)
                session.described[event.id] = session.last_agent_text
            else:
                session.constraints.append(ref)
        return set()

    def _on_agent_text(self, session: SessionState, event: Event, index: int) -> set[str]:
        text = event.text or ""
        if event.kind == EventKind.AGENT_MESSAGE:
            session.last_agent_text = text[:TASK_CHARS].lower()
        changed = False
        for claim in extract_claims(text):
            self._features[session.session_id].observe_claim(claim.kind)
            ref = ClaimRef(event.id, index, event.time, claim)
            session.recent_claims.append(ref)
            if claim.kind == ClaimKind.SUCCESS:
                found = rules.false_success(session, ref, session.last_call)
                changed |= self._store(session, f"claim:{event.id}", [found] if found else [])
        return {session.session_id} if changed else set()

    def _on_call(self, session: SessionState, event: Event, index: int) -> set[str]:
        if event.call_id and event.call_id in session.calls_by_id:
            return set()  # the same call reported twice (hook and transcript)
        call = _new_call(session, event, index)
        session.calls += 1
        session.last_call = call
        verified = not call.action.destructive or bool(verification(session, call))
        self._features[session.session_id].observe_call(call.action, verified=verified)
        if call.action.destructive:
            self._count_action(session.session_id, call.action, "verified" if verified else "unverified")
        self._remember(session, call)
        self._note_effects(session, self._linker.add_call(session, call))  # records seen first
        changed = self._evaluate(session, call)
        if call.action.credentials and session.foraging:
            for foraged in session.foraging:
                changed |= self._evaluate(session, foraged)
        return {session.session_id} if changed else set()

    def _on_result(self, session: SessionState, event: Event, index: int) -> set[str]:
        call = session.calls_by_id.get(event.call_id or "")
        if call is None or call.result_event_id is not None:
            return set()
        call.result_event_id = event.id
        call.failed = bool(event.is_error)
        call.result_text = (event.text or "")[:RESULT_TEXT_CHARS]
        if call.failed:
            self._features[session.session_id].observe_failure(call.action)
        if not call.failed and call.action.read_only:
            self._record_inspection(session, call, event, index)
        if rules.is_foraging(session, call):
            session.foraging.append(call)
        return {session.session_id} if self._evaluate(session, call) else set()

    def _on_system(self, session: SessionState, event: Event, index: int) -> set[str]:
        """The guard denied a call: it never ran, so its findings and risk say so."""
        if decision_of(event) != Decision.DENY or not event.call_id:
            return set()
        found = self.recorded_call(session.session_id, event.call_id)
        if found is None or found[1].blocked_by is not None:
            return set()
        owner, call = found
        call.blocked_by = event.id
        verified = bool(verification(owner, call))
        self._features[session.session_id].observe_blocked(call.action, verified=verified)
        if call.action.destructive:
            self._count_action(session.session_id, call.action, "verified" if verified else "unverified", -1)
            self._count_action(session.session_id, call.action, "blocked")
        self._evaluate(owner, call)
        return {session.session_id}

    def _feed_cloud(self, event: Event) -> set[str]:
        effect = effect_of(event)
        if effect is None:
            return set()
        linked = self._linker.add_effect(effect, event.time)
        if linked is None:
            return set()
        session, call, effects = linked
        self._note_effects(session, effects)
        return {session.session_id} if self._evaluate(session, call) else set()

    # -- helpers -------------------------------------------------------------------------------

    def _remember(self, session: SessionState, call: Call) -> None:
        if call.call_id:
            session.calls_by_id[call.call_id] = call
            if len(session.calls_by_id) > _KEPT_CALLS:
                del session.calls_by_id[next(iter(session.calls_by_id))]

    def _count_action(self, session_id: str, action: Action, state: str, n: int = 1) -> None:
        self._actions.setdefault(session_id, Counter())[(str(action.family or "other"), state)] += n

    def _note_effects(self, session: SessionState, effects: list[Effect]) -> None:
        if effects:
            self._features[session.session_id].observe_effects(effects)
            known = self._effect_events.setdefault(session.session_id, {})
            for effect in effects:
                if effect.event_id not in known:
                    known[effect.event_id] = None
                    self._new_links.append((session.session_id, len(known) - 1, effect.event_id))

    def _record_inspection(self, session: SessionState, call: Call, event: Event, index: int) -> None:
        kinds = call.action.inspects or (InspectKind.READ,)
        check = Inspection(call.event_id, event.id, index, kinds[0])
        # The first check of a target is kept: rules ask "was it checked before this call?".
        for target in call.action.inspected:
            session.inspected.setdefault(normalize_target(target), check)
        for kind in kinds:
            session.inspect_kinds.setdefault(kind, Inspection(call.event_id, event.id, index, kind))
        if not call.action.inspected and InspectKind.LISTING in kinds:
            session.inspected.setdefault(".", check)  # a bare ``ls`` looks at the working directory

    def _evaluate(self, session: SessionState, call: Call) -> bool:
        found = [f for rule in rules.CALL_RULES if (f := rule(session, call)) is not None]
        if call.blocked_by is not None:
            found = [rules.blocked(f, call.blocked_by) for f in found]
        return self._store(session, call.event_id, found)

    def _store(self, session: SessionState, anchor: str, found: list[Finding]) -> bool:
        held = self._findings.setdefault(session.session_id, _Findings())
        return held.replace(anchor, found)


def _new_call(session: SessionState, event: Event, index: int) -> Call:
    """A call as the session sees it when it arrives (its turn's claims, the task so far)."""
    return Call(event.id, event.call_id, index, session.calls, event.time,
                classify(event.tool_name, event.tool_input), session.last_call,
                session.last_user_index, session.claims_before(index),
                session.task_environments)


def _thread(event: Event) -> str:
    """Which agent of the session wrote the event: the main agent, or one subagent."""
    if event.attributes.get("is_sidechain") is not True:
        return ""
    agent = event.attributes.get("agent_id")
    return f"sidechain:{agent}" if isinstance(agent, str) else "sidechain"


_HANDLERS = {
    EventKind.USER_MESSAGE: Analyzer._on_user,
    EventKind.AGENT_REASONING: Analyzer._on_agent_text,
    EventKind.AGENT_MESSAGE: Analyzer._on_agent_text,
    EventKind.TOOL_CALL: Analyzer._on_call,
    EventKind.TOOL_RESULT: Analyzer._on_result,
    EventKind.SYSTEM: Analyzer._on_system,
}
