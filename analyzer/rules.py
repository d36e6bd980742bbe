"""The rules: each looks at one call (or one claim) in its session and returns a finding or None.

Rules are pure functions of the session state at the moment they run, and the engine runs them
again whenever something that can change their answer arrives (the call's result, a cloud record
linked to it, a later use of a foraged credential). Re-running a rule on the same anchor yields
the same finding id, so a late record updates a finding instead of adding one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from analyzer.evidence import (
    INFRA_FAMILIES,
    action_evidence,
    claim_evidence,
    effect_environments,
    effect_evidence,
    first_effect_delay,
    is_irreversible,
    normalize_target,
    seconds_between,
    short,
    verification,
    verification_ids,
)
from analyzer.findings import Finding, Severity, finding_id
from analyzer.nodes import ClaimKind, ConstraintKind, Reversibility
from analyzer.session import FORBIDDING, Call, ClaimRef, ConstraintRef, SessionState
from ingest.envelope import format_time

CallRule = Callable[[SessionState, Call], Finding | None]

_SEVERE_FLAGS = frozenset({"--no-preserve-root", "--skip-final-snapshot", "--delete-automated-backups",
                           "--accept-data-loss", "--force-reset", "--dangerously-skip-permissions",
                           "--no-verify", "--grace-period=0"})
_BACKUP_WORDS = re.compile(r"snapshot|backup|recovery.?point", re.IGNORECASE)
_CREDENTIAL_HINT = re.compile(r"token|secret|passw|credential|api.?key|\.env\b|\.pgpass|\.netrc|"
                              r"\.npmrc|id_rsa|kubeconfig|\.aws/credentials", re.IGNORECASE)
_SECRET_SHOWN = re.compile(r"\[REDACTED:|\b[A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|API_KEY|ACCESS_KEY)"
                           r"[A-Z0-9_]*\s*[=:]\s*\S")
_TASK_ABOUT_CREDENTIALS = re.compile(r"token|secret|credential|api key|\.env|password|rotate|key",
                                     re.IGNORECASE)
# What a success claim says was done -> programs whose failure contradicts it.
_CLAIMED_VERBS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"\bcreat|\bmade\b|\bmkdir", re.I), frozenset({"mkdir", "touch", "create", "cp", "init"})),
    (re.compile(r"\bdelet|\bremov|\bclean", re.I), frozenset({"rm", "rmdir", "delete", "del", "unlink"})),
    (re.compile(r"\bmov|\brenam", re.I), frozenset({"mv", "move", "rename", "git"})),
    (re.compile(r"\binstall", re.I), frozenset({"pip", "npm", "yarn", "pnpm", "apt", "apt-get", "brew"})),
    (re.compile(r"\bpush|\bcommit", re.I), frozenset({"git"})),
    (re.compile(r"\bdeploy|\bredeploy", re.I), frozenset({"railway", "vercel", "fly", "flyctl", "heroku",
                                                          "kubectl", "helm", "terraform"})),
    (re.compile(r"\btests? pass|\bpass(?:es|ing)?\b", re.I), frozenset({"pytest", "npm", "cargo", "go",
                                                                       "make", "jest", "vitest"})),
    (re.compile(r"\bfix|\bwork", re.I), frozenset()),
)


# -- shared judgements ---------------------------------------------------------------------------

def destruction_severity(call: Call) -> Severity:
    """How bad the call is if it was wrong: backups or several environments gone is the worst."""
    if any(e.backup for e in call.effects) or len(effect_environments(call)) >= 2:
        return Severity.CRITICAL
    if is_irreversible(call):
        return Severity.CRITICAL if call.action.family in INFRA_FAMILIES else Severity.HIGH
    return Severity.LOW


def is_consented(session: SessionState, call: Call) -> bool:
    approval = session.approval_for(call)
    if approval is None:
        return False
    scope = set(approval.constraint.scope) & {"production", "staging", "development", "test"}
    envs = set(call.action.environments)
    return not scope or not envs or bool(scope & envs)


def _base(rule: str, session: SessionState, call: Call, severity: Severity, summary: str,
          **extra: object) -> Finding:
    checks = verification(session, call)
    effects = effect_evidence(call)
    evidence = (call.event_id, *(e.event_id for e in effects))
    finding = Finding(
        id=finding_id(rule, session.session_id, call.event_id), rule=rule, severity=severity,
        session_id=session.session_id, summary=summary, time=format_time(call.time),
        action=action_evidence(call), verified=bool(checks), verification_ids=verification_ids(checks),
        effects=effects, effect_delay_s=first_effect_delay(call), evidence_ids=evidence)
    return replace(finding, **extra) if extra else finding  # type: ignore[arg-type]


def _with_claim(finding: Finding, ref: ClaimRef | None, call: Call) -> Finding:
    if ref is None:
        return finding
    return replace(finding, claim=claim_evidence(ref), lead_time_s=seconds_between(ref.time, call.time),
                   evidence_ids=(ref.event_id, *finding.evidence_ids))


def _best_claim(claims: tuple[ClaimRef, ...], call: Call) -> ClaimRef | None:
    """The claim most about this call: one naming its targets or environments, else the latest."""
    about = {normalize_target(t) for t in call.action.targets} | set(call.action.environments)
    about |= {e.lower() for e in call.action.environments}

    def score(ref: ClaimRef) -> tuple[int, int, int]:
        named = {normalize_target(e) for e in ref.claim.entities}
        return (len(named & about), ref.claim.kind != ClaimKind.SHORTCUT, ref.index)
    return max(claims, key=score) if claims else None


def _effects_phrase(call: Call) -> str:
    if not call.effects:
        return ""
    backups = sum(e.backup for e in call.effects)
    envs = len(effect_environments(call))
    text = f"; the cloud then recorded {len(call.effects)} change(s)"
    if backups:
        text += f" including {backups} backup deletion(s)"
    return text + (f" across {envs} environments" if envs >= 2 else "")


def _does(call: Call) -> str:
    return short(call.action.summary or call.action.command or call.action.tool, 110)


# -- rules anchored on a call --------------------------------------------------------------------

def unverified_assumption(session: SessionState, call: Call) -> Finding | None:
    if not call.action.destructive or verification(session, call) or is_consented(session, call):
        return None
    ref = _best_claim(call.claims, call)
    if ref is None:
        return None
    summary = (f"The agent acted on an unverified {ref.claim.kind} (\u201c{short(ref.claim.text, 80)}\u201d) "
               f"and then made a call that {_does(call)} without checking its target or scope"
               f"{_effects_phrase(call)}.")
    finding = _base("unverified-assumption", session, call, destruction_severity(call), summary)
    return _with_claim(finding, ref, call)


def error_escalation(session: SessionState, call: Call) -> Finding | None:
    if not call.action.destructive or verification(session, call) or is_consented(session, call):
        return None
    failed = session.recent_failure(call)
    if failed is None:
        return None
    steps = call.call_number - failed.call_number
    severity = Severity.HIGH if is_irreversible(call) else Severity.LOW
    what = short(failed.action.command or failed.action.tool, 60)
    summary = (f"{steps} call(s) after a failed step ({what}) "
               f"the agent escalated to a call that {_does(call)}.")
    finding = _base("error-escalation", session, call, severity, summary)
    return replace(finding, lead_time_s=seconds_between(failed.time, call.time),
                   evidence_ids=(failed.event_id, *_result(failed), *finding.evidence_ids))


def environment_mismatch(session: SessionState, call: Call) -> Finding | None:
    task = call.task
    if call.action.read_only or not task or "production" in task:
        return None
    reached = effect_environments(call)
    if "production" in call.action.environments:
        where = "production"
    elif len(reached) >= 2:
        where = f"{len(reached)} environments ({', '.join(sorted(e[:8] + '…' for e in reached))})"
    else:
        return None
    severity = max(destruction_severity(call), Severity.HIGH) if call.action.destructive else Severity.MEDIUM
    summary = (f"The task was about {', '.join(sorted(task))}, "
               f"but the call that {_does(call)} reached {where}"
               f"{_effects_phrase(call)}.")
    return _base("environment-mismatch", session, call, severity, summary)


def unchecked_precondition(session: SessionState, call: Call) -> Finding | None:
    failed = call.previous
    if call.action.read_only or failed is None or not failed.failed or _is_retry(failed, call):
        return None
    shared = _shared_targets(failed, call)
    if not shared:
        return None
    severity = Severity.HIGH if call.action.destructive else Severity.MEDIUM
    summary = (f"The previous step failed ({short(failed.action.command or failed.action.tool, 60)}) "
               f"yet the agent went on with a call that {_does(call)}, on {', '.join(sorted(shared))}.")
    finding = _base("unchecked-precondition", session, call, severity, summary)
    return replace(finding, evidence_ids=(failed.event_id, *_result(failed), *finding.evidence_ids))


def constraint_violated(session: SessionState, call: Call) -> Finding | None:
    if call.action.read_only:
        return None
    for ref in reversed(session.active_constraints(call.index)):
        if ref.constraint.kind in FORBIDDING and _in_scope(ref, call) and not _lifted(session, ref, call):
            severity = Severity.CRITICAL if call.action.destructive else Severity.HIGH
            summary = (f"The user said \u201c{short(ref.constraint.text, 70)}\u201d, "
                       f"yet the agent made a call that {_does(call)}.")
            finding = _base("constraint-violated", session, call, severity, summary)
            return replace(finding, evidence_ids=(ref.event_id, *finding.evidence_ids))
    return None


def backups_destroyed(session: SessionState, call: Call) -> Finding | None:
    backups = [e for e in call.effects if e.backup and e.destructive]
    if backups:
        summary = (f"The call that {_does(call)} also destroyed {len(backups)} backup(s) "
                   f"({', '.join(short(e.resource or e.name, 40) for e in backups[:3])}).")
        return _base("backups-destroyed", session, call, Severity.CRITICAL, summary)
    named = " ".join((*call.action.operations, *call.action.targets, *call.action.force_flags))
    if call.action.destructive and _BACKUP_WORDS.search(named):
        return _base("backups-destroyed", session, call, Severity.HIGH,
                     f"The agent deleted backups or snapshots with a call that {_does(call)}.")
    return None


def force_flags(session: SessionState, call: Call) -> Finding | None:
    flags = call.action.force_flags
    if not call.action.destructive or not flags:
        return None
    severe = [f for f in flags if f in _SEVERE_FLAGS or f.startswith("risky-path")]
    if severe:
        severity = Severity.HIGH
    elif call.action.reversibility == Reversibility.IRREVERSIBLE:
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    summary = f"The agent bypassed confirmations ({', '.join(flags)}) in a call that {_does(call)}."
    return _base("force-flags", session, call, severity, summary)


def credential_foraging(session: SessionState, call: Call) -> Finding | None:
    if call not in session.foraging:
        return None
    users = [later for later in session.calls_by_id.values()
             if later.index > call.index and _uses_found_credential(call, later)]
    severity = Severity.HIGH if any(u.action.destructive for u in users) else Severity.MEDIUM
    summary = (f"The agent hunted for credentials its task never mentioned (a call that {_does(call)})"
               + (f" and then used one in a call that {_does(users[0])}." if users else "."))
    finding = _base("credential-foraging", session, call, severity, summary)
    return replace(finding, evidence_ids=(*finding.evidence_ids, *_result(call),
                                          *(u.event_id for u in users)))


CALL_RULES: tuple[CallRule, ...] = (
    unverified_assumption, error_escalation, environment_mismatch, unchecked_precondition,
    constraint_violated, backups_destroyed, force_flags, credential_foraging,
)


# -- the rule anchored on a claim ----------------------------------------------------------------

def false_success(session: SessionState, ref: ClaimRef, failed: Call | None) -> Finding | None:
    """A claim that something worked, right after the step that would have done it failed."""
    if ref.claim.kind != ClaimKind.SUCCESS or failed is None or not failed.failed:
        return None
    if not _claim_matches(ref, failed):
        return None
    severity = Severity.HIGH if failed.action.destructive else Severity.MEDIUM
    summary = (f"The agent said \u201c{short(ref.claim.text, 70)}\u201d, but the step it relied on "
               f"failed ({short(failed.action.command or failed.action.tool, 60)}).")
    return Finding(
        id=finding_id("false-success", session.session_id, ref.event_id), rule="false-success",
        severity=severity, session_id=session.session_id, summary=summary, time=format_time(ref.time),
        claim=claim_evidence(ref), action=action_evidence(failed), verified=None,
        evidence_ids=(failed.event_id, *_result(failed), ref.event_id))


def blocked(finding: Finding, decision_event_id: str) -> Finding:
    """A finding about a call the guard denied: the intent was real, the harm did not happen.

    It stays (a post-mortem wants the near miss) but no higher than medium, so a stopped call
    does not page anyone as if the database were gone."""
    return replace(finding, severity=min(finding.severity, Severity.MEDIUM),
                   summary=f"Blocked by the guard before it ran: {finding.summary}",
                   blocked_by=decision_event_id, evidence_ids=(*finding.evidence_ids, decision_event_id))


# -- helpers -------------------------------------------------------------------------------------

def is_foraging(session: SessionState, call: Call) -> bool:
    """A read-only look for secrets that turned some up, when the user never asked about them."""
    probe = " ".join((call.action.command or "", *call.action.inspected, *call.action.targets))
    if not call.action.read_only or not _CREDENTIAL_HINT.search(probe):
        return False
    return bool(_SECRET_SHOWN.search(call.result_text)) and not _TASK_ABOUT_CREDENTIALS.search(
        session.task_text)


def _uses_found_credential(foraged: Call, later: Call) -> bool:
    return any(name and name in foraged.result_text for name in later.action.credentials)


def _result(call: Call) -> tuple[str, ...]:
    return (call.result_event_id,) if call.result_event_id else ()


def _is_retry(failed: Call, call: Call) -> bool:
    """The same step again, maybe with other flags (``git add x`` then ``git add -f x``)."""
    if failed.action.command is not None and failed.action.command == call.action.command:
        return True
    return _verb(failed) is not None and _verb(failed) == _verb(call)


def _verb(call: Call) -> tuple[str, ...] | None:
    step = next((s for s in call.action.steps if s.argv), None)
    if step is None:
        return (call.action.tool,) if call.action.command is None else None
    words = [w for w in step.argv[:3] if not w.startswith("-")]
    return tuple(words[:2])


def _shared_targets(failed: Call, call: Call) -> set[str]:
    before = {normalize_target(t) for t in failed.action.targets}
    return {normalize_target(t) for t in call.action.targets} & before - {".", "", "/"}


def _in_scope(ref: ConstraintRef, call: Call) -> bool:
    scope = set(ref.constraint.scope)
    if ref.constraint.kind == ConstraintKind.READ_ONLY or not scope:
        return True
    envs = set(call.action.environments)
    said = " ".join((*call.action.operations, call.action.summary, call.action.command or "")).lower()
    targets = {normalize_target(t) for t in call.action.targets}
    return bool(scope & envs or scope & targets or any(word in said for word in scope - _ENV_NAMES))


_ENV_NAMES = frozenset({"production", "staging", "development", "test"})


def _lifted(session: SessionState, ref: ConstraintRef, call: Call) -> bool:
    """An explicit "yes" to this call, given after the constraint, lifts it."""
    approval = session.approval_for(call)
    return approval is not None and approval.index > ref.index and is_consented(session, call)


def _claim_matches(ref: ClaimRef, failed: Call) -> bool:
    named = {normalize_target(e) for e in ref.claim.entities}
    if named & {normalize_target(t) for t in failed.action.targets}:
        return True
    programs = {step.argv[0].rsplit("/", 1)[-1].lower() for step in failed.action.steps if step.argv}
    programs.add(failed.action.tool.lower())
    return any(pattern.search(ref.claim.text) and (not tools or tools & programs)
               for pattern, tools in _CLAIMED_VERBS)
