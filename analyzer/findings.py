"""Findings: what a rule concluded about one session, with the evidence that proves it.

A finding's ``id`` is a hash of its rule, session and anchor event (the call or claim it is
about), so the same log always yields the same ids, a late cloud record *updates* a finding
instead of adding a twin, and other parts (alerts, reports) can refer to it for good.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ingest.envelope import JSON


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> Severity:
        return cls[label.upper()]


def finding_id(rule: str, session_id: str, anchor_event_id: str) -> str:
    digest = hashlib.sha256(f"{rule}\x00{session_id}\x00{anchor_event_id}".encode()).hexdigest()
    return f"f_{digest[:24]}"


@dataclass(frozen=True, slots=True)
class ClaimEvidence:
    event_id: str
    text: str
    kind: str
    cue: str = ""


@dataclass(frozen=True, slots=True)
class ActionEvidence:
    event_id: str
    tool: str
    tool_use_id: str | None
    command: str | None
    destructive: bool
    targets: tuple[str, ...]
    family: str | None = None
    reversibility: str | None = None
    force_flags: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()
    time: str | None = None


@dataclass(frozen=True, slots=True)
class EffectEvidence:
    event_id: str
    source: str
    native_id: str
    name: str
    resource: str | None
    environment: str | None = None
    backup: bool = False
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule: str
    severity: Severity
    session_id: str
    summary: str
    time: str  # when the anchor happened (canonical UTC); findings sort by severity, then time
    action: ActionEvidence | None = None
    claim: ClaimEvidence | None = None
    verified: bool | None = None
    verification_ids: tuple[str, ...] = ()
    effects: tuple[EffectEvidence, ...] = ()
    lead_time_s: float | None = None  # first warning signal -> destructive call
    effect_delay_s: float | None = None  # call -> its first cloud effect
    evidence_ids: tuple[str, ...] = field(default=())  # every event that proves the finding
    blocked_by: str | None = None  # the guard decision that stopped the call, when it did

    def to_document(self) -> dict[str, JSON]:
        return {
            "id": self.id, "rule": self.rule, "severity": self.severity.label,
            "session_id": self.session_id, "summary": self.summary, "time": self.time,
            "claim": _claim_doc(self.claim), "action": _action_doc(self.action),
            "verification": {"verified": self.verified,
                             "evidence_event_ids": list(self.verification_ids)},
            "effects": [_effect_doc(e) for e in self.effects],
            "lead_time_s": self.lead_time_s, "effect_delay_s": self.effect_delay_s,
            "evidence_event_ids": list(self.evidence_ids), "blocked_by": self.blocked_by,
        }


def _claim_doc(claim: ClaimEvidence | None) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {"event_id": claim.event_id, "text": claim.text, "kind": claim.kind, "cue": claim.cue}


def _action_doc(action: ActionEvidence | None) -> dict[str, Any] | None:
    if action is None:
        return None
    return {
        "event_id": action.event_id, "tool": action.tool, "tool_use_id": action.tool_use_id,
        "command": action.command, "destructive": action.destructive,
        "targets": list(action.targets), "family": action.family,
        "reversibility": action.reversibility, "force_flags": list(action.force_flags),
        "environments": list(action.environments), "credentials": list(action.credentials),
        "time": action.time,
    }


def _effect_doc(effect: EffectEvidence) -> dict[str, Any]:
    return {"event_id": effect.event_id, "source": effect.source, "native_id": effect.native_id,
            "name": effect.name, "resource": effect.resource, "environment": effect.environment,
            "backup": effect.backup, "time": effect.time}


# Among findings about the same moment, the one that explains *why* comes first.
RULE_ORDER = {rule: n for n, rule in enumerate((
    "unverified-assumption", "constraint-violated", "environment-mismatch", "backups-destroyed",
    "error-escalation", "unchecked-precondition", "credential-foraging", "false-success", "force-flags"))}


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then earliest, then the explaining rule first, then by id (a total order)."""
    return sorted(findings, key=lambda f: (-f.severity, f.time, RULE_ORDER.get(f.rule, 99), f.id))

