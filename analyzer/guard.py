"""The pre-flight guard: may this proposed call run, given everything the session did so far?

The proposed call is recorded in the log first and analysed like any call, so the guard judges it
with exactly the rules that would explain it afterwards: the findings anchored on it, the
session's risk, and a policy. The answer carries one sentence per reason that the agent can act
on — what was not checked, and the read-only step that would check it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from analyzer.findings import Finding, Severity
from analyzer.nodes import Action, Family
from analyzer.session import Call
from ingest.envelope import Event, EventKind
from ingest.errors import ConfigError


class Decision(StrEnum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


GUARD_SOURCE = "blackbox-guard"  # the source of proposals made to the guard and of its answers


def decision_of(event: Event) -> Decision | None:
    """The guard's answer an event records, if it is one of the guard's decision events."""
    if event.source != GUARD_SOURCE or event.kind != EventKind.SYSTEM:
        return None
    guard = event.attributes.get("guard")
    decision = guard.get("decision") if isinstance(guard, dict) else None
    return Decision(decision) if isinstance(decision, str) and decision in set(Decision) else None


class GuardPolicy(BaseModel):
    """Guard policy; load from TOML with ``load_policy`` (``BLACKBOX_GUARD_POLICY``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deny_at: str = Field("critical", description="a finding this severe on the call denies it")
    ask_at: str = Field("high", description="a finding this severe on the call asks the user")
    ask_risk: float = Field(0.8, ge=0, le=1, description="session risk at which destructive calls ask")
    ask_families: frozenset[str] = Field(
        frozenset({"cloud", "platform", "iac", "database", "kubernetes"}),
        description="families whose destructive calls always ask unless their target was checked")
    allow_commands: tuple[str, ...] = Field((), description="regexes: matching calls skip 'ask'")
    deny_commands: tuple[str, ...] = Field((), description="regexes: matching calls are denied")

    @field_validator("deny_at", "ask_at")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value.upper() not in Severity.__members__:
            raise ValueError(f"not a severity: {value!r} (one of {', '.join(s.label for s in Severity)})")
        return value.lower()

    @field_validator("allow_commands", "deny_commands")
    @classmethod
    def _regexes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regex {value!r}: {exc}") from None
        return values


def load_policy(path: str | None) -> GuardPolicy:
    """The policy in a TOML file (``[guard]`` table or top level), or the safe defaults."""
    if not path:
        return GuardPolicy()
    try:
        data = tomllib.loads(Path(path).read_text())
        return GuardPolicy.model_validate(data.get("guard", data))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"guard policy {path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...]
    risk: float
    finding_ids: tuple[str, ...]

    @property
    def reason(self) -> str:
        """One sentence for the agent (Claude Code shows ``permissionDecisionReason`` to it)."""
        return self.reasons[0] if self.reasons else "no risk found in this call"

    def to_document(self) -> dict[str, object]:
        return {"decision": str(self.decision), "reasons": list(self.reasons), "risk": self.risk,
                "finding_ids": list(self.finding_ids)}


def judge(call: Call, findings: list[Finding], risk: float, policy: GuardPolicy,
          verified: bool) -> Verdict:
    """The decision for a recorded call from the findings anchored on it and the session risk."""
    ids = tuple(f.id for f in findings)
    command = call.action.command or call.action.tool
    if any(re.search(pattern, command) for pattern in policy.deny_commands):
        return Verdict(Decision.DENY, ("this command is on the guard policy's deny list",), risk, ids)
    worst = max((f.severity for f in findings), default=Severity.INFO)
    by_severity = sorted(findings, key=lambda f: -f.severity)  # the worst reason is the one shown
    reasons = tuple(dict.fromkeys(_reason(f, call.action) for f in by_severity))
    if findings and worst >= Severity.parse(policy.deny_at):
        return Verdict(Decision.DENY, reasons, risk, ids)
    asks = list(reasons if findings and worst >= Severity.parse(policy.ask_at) else ())
    asks += _policy_asks(call.action, risk, policy, verified)
    if asks and not any(re.search(pattern, command) for pattern in policy.allow_commands):
        return Verdict(Decision.ASK, tuple(dict.fromkeys(asks)), risk, ids)
    return Verdict(Decision.ALLOW, (), risk, ids)


def _policy_asks(action: Action, risk: float, policy: GuardPolicy, verified: bool) -> list[str]:
    if not action.destructive:
        return []
    asks = []
    if action.family and str(action.family) in policy.ask_families and not verified:
        asks.append(f"this call {action.summary}; policy asks before destructive {action.family} calls "
                    f"whose target was not checked first — {_check_hint(action)}")
    if risk >= policy.ask_risk:
        asks.append(f"the session's risk is {risk:.0%}; confirm this destructive call with the user")
    return asks


def _reason(finding: Finding, action: Action) -> str:
    """An actionable sentence: what is wrong, and the read-only step that would settle it."""
    targets = ", ".join(action.targets[:2]) or "the target"
    if finding.rule in ("unverified-assumption", "error-escalation"):
        return (f"{targets} was never checked before this irreversible call "
                f"({action.summary}); {_check_hint(action)}, or ask the user first")
    if finding.rule == "environment-mismatch":
        return f"the task is not about production but this call reaches it ({action.summary}); ask the user"
    if finding.rule == "constraint-violated":
        return f"the user forbade this kind of change earlier in the session; ask before: {action.summary}"
    if finding.rule == "force-flags":
        return f"remove {', '.join(action.force_flags)} and let the tool confirm, or ask the user"
    return finding.summary


_CHECK_HINTS = {
    Family.HTTP: "query the resource first (e.g. which environments or instances it serves)",
    Family.PLATFORM: "query the resource first (e.g. which environments it serves)",
    Family.CLOUD: "describe the resource first (owner, environment, backups)",
    Family.KUBERNETES: "check `kubectl config current-context` and describe the object first",
    Family.IAC: "run a plan (`terraform plan -destroy`) and read it first",
    Family.DATABASE: "count the rows it would touch and confirm the database first",
    Family.GIT: "run `git status` and look at what would be lost first",
    Family.FILES: "list it (`ls -la`, `du -sh`) first",
}


def _check_hint(action: Action) -> str:
    return _CHECK_HINTS.get(action.family, "inspect it first") if action.family else "inspect it first"
