"""The post-mortem as data: every fact a renderer prints, already derived from the log.

Renderers (HTML, Markdown) only lay these values out; they decide nothing. That keeps the two
formats saying the same things, and keeps the facts testable without parsing either format.
All texts are plain (unescaped) strings taken from the redacted log: renderers escape them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Destroyed:
    """One resource a cloud audit record says was destroyed or changed by the agent's call."""

    operation: str
    resource: str
    environment: str | None  # as the audit record names it (often an id, not a name)
    backup: bool
    time: str
    event_id: str
    native_id: str


@dataclass(frozen=True, slots=True)
class Quote:
    """Someone's own words from the session, with where they were said."""

    who: str  # "user", "agent", "agent (thinking)"
    text: str
    time: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Impact:
    destroyed: tuple[Destroyed, ...]
    environment_ids: tuple[str, ...]  # environments the audit records name
    believed: tuple[str, ...]  # environment names the task, the call or the agent's claim named
    reported: tuple[Quote, ...]  # later words naming an environment ("PRODUCTION IS DOWN")
    backups: int
    blast_radius: str  # one sentence: how many resources of which kinds, in how many environments
    environment_note: str  # what is and is not known about the environment, said plainly


@dataclass(frozen=True, slots=True)
class TimelineRow:
    time: str  # HH:MM:SS.mmm UTC
    offset: str  # T+mm:ss from the session's first event
    actor: str
    what: str
    role: str  # why the row is here: "task", "trigger", "claim", "action", "effect", "flag", ...
    event_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class RootCause:
    trigger: str | None  # the failed step the agent reacted to
    trigger_detail: str | None  # its error output
    claim: Quote | None  # the unverified belief, in the agent's own words
    claim_kind: str | None
    reasoning: Quote | None  # the whole thought the claim came from
    command: str | None  # what the agent ran
    call_summary: str
    credentials: tuple[str, ...]
    verified: bool
    effects: tuple[Destroyed, ...]
    afterwards: Quote | None  # the agent's own account after the impact


@dataclass(frozen=True, slots=True)
class Factor:
    title: str
    detail: str
    severity: str
    finding_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GuardAnswer:
    decision: str
    reason: str
    recorded: bool  # True: the guard was asked at the time; False: what it would have answered


@dataclass(frozen=True, slots=True)
class Detection:
    flagged_at: str | None
    flagged_event: str | None  # what the event that raised the risk over the threshold was
    flagged_risk: float | None
    threshold: float
    lead_to_call_s: float | None  # first flag -> the destructive call (negative: flagged after)
    lead_to_impact_s: float | None  # first flag -> the first cloud effect
    finding_raised_at: str | None  # when the report's main finding first appeared in the replay
    guard: tuple[GuardAnswer, ...]
    summary: str


@dataclass(frozen=True, slots=True)
class ActionItem:
    priority: str  # P0 / P1 / P2
    text: str
    rule: str
    finding_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: str
    rule: str
    severity: str
    time: str
    summary: str


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    role: str
    event_id: str
    stream: str
    seq: int
    position: int
    time: str
    kind: str
    hash: str
    prev_hash: str


@dataclass(frozen=True, slots=True)
class StreamCheck:
    stream: str
    events: int
    head_seq: int
    head_hash: str
    problem: str | None  # None: every hash recomputed and linked

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    streams: tuple[StreamCheck, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.streams)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.streams)


@dataclass(frozen=True, slots=True)
class FigurePoint:
    time: str
    risk: float
    label: str  # hover text
    role: str


@dataclass(frozen=True, slots=True)
class FigureData:
    """What the report's compact figure shows: the risk curve (decimated) and the key moments."""

    curve: tuple[tuple[str, float], ...]
    marks: tuple[FigurePoint, ...]
    threshold: float
    flagged_at: str | None


@dataclass(frozen=True, slots=True)
class PostMortem:
    session_id: str
    incident: bool
    title: str
    status: tuple[Fact, ...]
    summary: tuple[str, ...]  # paragraphs in plain words
    facts: tuple[Fact, ...]  # the session at a glance
    impact: Impact | None
    timeline: tuple[TimelineRow, ...]
    timeline_note: str  # how the rows were chosen
    root_cause: RootCause | None
    factors: tuple[Factor, ...]
    detection: Detection
    prevention: str | None
    action_items: tuple[ActionItem, ...]
    findings: tuple[FindingRow, ...]  # most severe first, then earliest
    evidence: tuple[EvidenceRow, ...]
    chain: ChainCheck
    figure: FigureData
