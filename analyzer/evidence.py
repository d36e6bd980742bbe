"""Turn the analyzer's working state into the evidence a finding shows: the claim, the action,
its verification and its effects — each pointing at the events that prove it."""

from __future__ import annotations

from datetime import datetime

from analyzer.findings import ActionEvidence, ClaimEvidence, EffectEvidence
from analyzer.nodes import Effect, Family, InspectKind, Reversibility
from analyzer.session import Call, ClaimRef, Inspection, SessionState
from ingest.envelope import format_time

# Checks that establish the scope of a whole family, not one target (``kubectl config
# current-context`` before ``kubectl delete``; ``terraform plan`` before ``apply``).
_SCOPE_CHECKS: dict[Family, frozenset[InspectKind]] = {
    Family.KUBERNETES: frozenset({InspectKind.CONTEXT}),
    Family.IAC: frozenset({InspectKind.PLAN}),
    Family.GIT: frozenset({InspectKind.STATUS}),
}
INFRA_FAMILIES = frozenset({Family.CLOUD, Family.PLATFORM, Family.HTTP, Family.DATABASE, Family.IAC,
                            Family.KUBERNETES})


def action_evidence(call: Call) -> ActionEvidence:
    action = call.action
    return ActionEvidence(
        event_id=call.event_id, tool=action.tool, tool_use_id=call.call_id,
        command=action.command, destructive=action.destructive, targets=action.targets,
        family=str(action.family) if action.family else None,
        reversibility=str(action.reversibility), force_flags=action.force_flags,
        environments=action.environments, credentials=action.credentials,
        time=format_time(call.time))


def claim_evidence(ref: ClaimRef) -> ClaimEvidence:
    return ClaimEvidence(ref.event_id, ref.claim.text, str(ref.claim.kind), ref.claim.cue)


def effect_evidence(call: Call) -> tuple[EffectEvidence, ...]:
    ordered = sorted(call.effects, key=lambda e: (call.effect_times[e.event_id], e.event_id))
    return tuple(_one_effect(e, call.effect_times[e.event_id]) for e in ordered)


def _one_effect(effect: Effect, time: datetime) -> EffectEvidence:
    return EffectEvidence(effect.event_id, effect.source, effect.native_id, effect.name,
                          effect.resource, effect.environment, effect.backup, format_time(time))


def verification(session: SessionState, call: Call) -> list[Inspection]:
    """The read-only checks before ``call`` that looked at its targets or its scope."""
    found = [check for target in _target_forms(call) if (check := session.inspected.get(target))
             and check.index < call.index]
    family = call.action.family
    for kind in _SCOPE_CHECKS.get(family, frozenset()) if family else ():
        check = session.inspect_kinds.get(kind)
        if check is not None and check.index < call.index:
            found.append(check)
    return sorted(set(found), key=lambda c: c.index)


def verification_ids(checks: list[Inspection]) -> tuple[str, ...]:
    return tuple(i for check in checks for i in (check.call_event_id, check.result_event_id))


def _target_forms(call: Call) -> set[str]:
    """A target and the directories above it: listing ``build/`` checks ``build/out.o``."""
    forms: set[str] = set()
    for target in call.action.targets:
        path = normalize_target(target)
        forms.add(path)
        if call.action.family == Family.FILES:
            forms.update(_parents(path))
    return forms


def normalize_target(target: str) -> str:
    path = target.strip()
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/") or path


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    parents = ["/".join(parts[:i]) for i in range(1, len(parts)) if parts[:i] != [""]]
    return [*parents, "."] if not path.startswith(("/", "~")) else parents


def seconds_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def first_effect_delay(call: Call) -> float | None:
    if not call.effect_times:
        return None
    return seconds_between(call.time, min(call.effect_times.values()))


def is_irreversible(call: Call) -> bool:
    return call.action.reversibility == Reversibility.IRREVERSIBLE


def effect_environments(call: Call) -> set[str]:
    return {e.environment for e in call.effects if e.environment and e.destructive}


def short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
