"""What the analyzer remembers about one agent session while events stream in.

Everything is indexed for the questions rules ask about a call — which claims came just before
it, was its target inspected, did the previous step fail, is a user constraint active — so
feeding one event costs the same whether the session has 10 events or 10,000. Only compact
references are kept (ids, times, short texts), never whole events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from analyzer.nodes import Action, Claim, ClaimKind, Constraint, ConstraintKind, Effect, InspectKind

CLAIM_WINDOW = 12  # agent events before a call in which a claim still counts as "just before it"
ERROR_WINDOW = 3  # calls after a failed step in which a destructive call counts as escalation
RESULT_TEXT_CHARS = 600  # of each result, kept to judge what the agent saw
TASK_CHARS = 4000  # of the user's opening requests, and of each later one, kept as "the task"
TASK_TURNS = 8  # later requests that still count as the current task


@dataclass(frozen=True, slots=True)
class ClaimRef:
    event_id: str
    index: int  # ordinal of the event within the session
    time: datetime
    claim: Claim


@dataclass(frozen=True, slots=True)
class ConstraintRef:
    event_id: str
    index: int
    time: datetime
    constraint: Constraint


@dataclass(frozen=True, slots=True)
class Inspection:
    """A read-only step whose result came back without error: the agent saw the answer."""

    call_event_id: str
    result_event_id: str
    index: int
    kind: InspectKind


@dataclass(eq=False, slots=True)
class Call:
    """One tool call and everything learnt about it since: result, effects."""

    event_id: str
    call_id: str | None
    index: int
    call_number: int  # ordinal among the session's calls
    time: datetime
    action: Action
    previous: Call | None  # the call before it in the session
    user_index: int  # ordinal of the user message that opened this call's turn (-1: none)
    # Snapshots taken when the call arrives: rules re-run later (a late cloud record) must see
    # the session as the agent saw it then, not as it is now ("PRODUCTION IS DOWN" came after).
    claims: tuple[ClaimRef, ...]  # guesses, assumptions and shortcuts of the turn, just before
    task: frozenset[str]  # environments the user's requests named so far
    result_event_id: str | None = None
    failed: bool | None = None
    result_text: str = ""
    effects: list[Effect] = field(default_factory=list)
    effect_times: dict[str, datetime] = field(default_factory=dict)
    blocked_by: str | None = None  # the guard's deny decision event: the call never ran


@dataclass(eq=False, slots=True)
class SessionState:
    session_id: str
    source: str
    events: int = 0
    calls: int = 0
    model: str | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    # What the user asked for ("is this on task?"): the opening request(s) up to TASK_CHARS, and
    # the latest TASK_TURNS requests — a long session moves on to new tasks the opening never named.
    opening_text: str = ""
    opening_environments: set[str] = field(default_factory=set)
    recent_requests: deque[tuple[str, frozenset[str]]] = field(
        default_factory=lambda: deque(maxlen=TASK_TURNS))
    calls_by_id: dict[str, Call] = field(default_factory=dict)
    last_call: Call | None = None
    recent_claims: deque[ClaimRef] = field(default_factory=lambda: deque(maxlen=32))
    success_claims: list[ClaimRef] = field(default_factory=list)
    constraints: list[ConstraintRef] = field(default_factory=list)
    approvals: list[ConstraintRef] = field(default_factory=list)
    described: dict[str, str] = field(default_factory=dict)  # approval id -> agent text it answers
    inspected: dict[str, Inspection] = field(default_factory=dict)  # target -> first check
    inspect_kinds: dict[InspectKind, Inspection] = field(default_factory=dict)
    foraging: list[Call] = field(default_factory=list)  # calls that hunted credentials
    last_user_index: int = -1
    last_agent_text: str = ""  # the agent's latest message, lower-cased (what an approval answers)

    def remember_request(self, text: str, environments: Iterable[str]) -> None:
        """One user request (lower-cased, capped) and the environments it names."""
        if len(self.opening_text) < TASK_CHARS:
            self.opening_text += " " + text
            self.opening_environments.update(environments)
        else:
            self.recent_requests.append((text, frozenset(environments)))

    @property
    def task_text(self) -> str:
        return " ".join((self.opening_text, *(text for text, _ in self.recent_requests)))

    @property
    def task_environments(self) -> frozenset[str]:
        return frozenset(self.opening_environments).union(*(envs for _, envs in self.recent_requests))

    def touch(self, time: datetime) -> int:
        """Count one more event; returns its ordinal within the session."""
        self.first_time = time if self.first_time is None else min(self.first_time, time)
        self.last_time = time if self.last_time is None else max(self.last_time, time)
        self.events += 1
        return self.events - 1

    def claims_before(self, index: int) -> tuple[ClaimRef, ...]:
        """Guesses, assumptions and shortcuts of the current turn, at most CLAIM_WINDOW back."""
        floor = max(index - CLAIM_WINDOW, self.last_user_index)
        return tuple(ref for ref in self.recent_claims
                     if floor < ref.index < index and ref.claim.kind in _RISKY_CLAIMS)

    def active_constraints(self, index: int) -> list[ConstraintRef]:
        return [ref for ref in self.constraints if ref.index < index]

    def approval_for(self, call: Call) -> ConstraintRef | None:
        """The user's "yes" that opened this call's turn, when it answered a description of it."""
        for ref in reversed(self.approvals):
            if ref.index == call.user_index and _describes(self.described.get(ref.event_id, ""), call):
                return ref
        return None

    @staticmethod
    def recent_failure(call: Call) -> Call | None:
        """The latest failed call among the ERROR_WINDOW calls before ``call`` in its turn: a user
        message in between starts something new (escalating is what the agent does on its own)."""
        earlier = call.previous
        for _ in range(ERROR_WINDOW):
            if earlier is None or earlier.index < call.user_index:
                return None
            if earlier.failed:
                return earlier
            earlier = earlier.previous
        return None


def _describes(text: str, call: Call) -> bool:
    if not text:
        return False
    names = (*call.action.targets, *call.action.operations)
    return any(name.lower() in text for name in names if len(name) >= 3)


_RISKY_CLAIMS = frozenset({ClaimKind.GUESS, ClaimKind.ASSUMPTION, ClaimKind.SHORTCUT})
FORBIDDING = frozenset({ConstraintKind.FORBID, ConstraintKind.ASK_FIRST, ConstraintKind.READ_ONLY})
