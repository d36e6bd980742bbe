"""Derive the post-mortem from a session's replayed history: every sentence from recorded facts.

Nothing here guesses. Where the log does not know something (an audit record that names an
environment by id only), the report says what it does know and where that came from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from analyzer.entities import environments_in
from analyzer.evidence import short
from analyzer.findings import Finding
from analyzer.history import CallCheck, SessionHistory
from dashboards.report import texts
from dashboards.report.model import (
    ActionItem,
    ChainCheck,
    Destroyed,
    Detection,
    Fact,
    Factor,
    FindingRow,
    GuardAnswer,
    Impact,
    PostMortem,
    Quote,
    RootCause,
)
from dashboards.report.timeline import Context, evidence_rows, figure_data, timeline
from ingest.envelope import Event, EventKind
from ingest.log import Recorded

_SERIOUS = ("critical", "high")


@dataclass(frozen=True, slots=True)
class Incident:
    """The finding the report is about and the call it anchors on."""

    primary: Finding
    call: CallCheck | None
    effects: tuple[Destroyed, ...]
    findings: tuple[Finding, ...]  # all of them, most severe first


def build(history: SessionHistory, chain: ChainCheck, threshold: float) -> PostMortem:
    context = Context.of(history, threshold)
    incident = _incident(history, context)
    if incident is None:
        return _no_incident(history, context, chain)
    return _post_mortem(history, context, incident, chain)


def _incident(history: SessionHistory, context: Context) -> Incident | None:
    findings = tuple(history.report.findings) if history.report else ()
    if not findings or not (history.first_flagged or findings[0].severity.label in _SERIOUS):
        return None
    primary = next((f for f in findings if f.action and f.action.destructive), findings[0])
    effects = _effects(findings)
    call = context.calls.get(primary.action.event_id) if primary.action else None
    return Incident(primary, call, effects, findings)


def _effects(findings: tuple[Finding, ...]) -> tuple[Destroyed, ...]:
    seen: dict[str, Destroyed] = {}
    for finding in findings:
        for e in finding.effects:
            seen.setdefault(e.event_id, Destroyed(e.name, e.resource or e.native_id, e.environment,
                                                  e.backup, e.time or finding.time, e.event_id,
                                                  e.native_id))
    return tuple(sorted(seen.values(), key=lambda d: (d.time, d.event_id)))


# -- the incident report -------------------------------------------------------------------------

def _post_mortem(history: SessionHistory, context: Context, incident: Incident,
                 chain: ChainCheck) -> PostMortem:
    impact = _impact(context, incident)
    detection = _detection(history, context, incident)
    rows = timeline(context, incident.findings, incident.primary)
    return PostMortem(
        session_id=history.session_id, incident=True, title=_title(incident),
        status=_status(context, incident), summary=_summary(context, incident, impact, detection),
        facts=_facts(history, context), impact=impact,
        timeline=rows, timeline_note=context.note,
        root_cause=_root_cause(context, incident, impact), factors=_factors(incident),
        detection=detection, prevention=_prevention(context, incident),
        action_items=_action_items(incident.findings), findings=_finding_rows(incident.findings),
        evidence=evidence_rows(context, incident.findings), chain=chain,
        figure=figure_data(context, rows))


def _what(incident: Incident) -> str:
    if incident.call is not None:
        return incident.call.summary
    action = incident.primary.action
    return short(action.command or action.tool, 100) if action else incident.primary.rule


def _title(incident: Incident) -> str:
    backups = sum(d.backup for d in incident.effects)
    tail = f", {backups} backup(s) destroyed with it" if backups else ""
    return f"Agent call {_what(incident)}{tail}"


def _status(context: Context, incident: Incident) -> tuple[Fact, ...]:
    outcome = (f"impact: the cloud recorded {len(incident.effects)} change(s) caused by the call"
               if incident.effects else "no cloud record of an effect was linked to the call")
    return (Fact("Status", "Draft, written by Blackbox from the recorded log; review before publishing"),
            Fact("Severity", incident.primary.severity.label),
            Fact("Outcome", outcome),
            Fact("Date", context.date),
            Fact("Session", context.session_id))


def _summary(context: Context, incident: Incident, impact: Impact, detection: Detection) -> tuple[str, ...]:
    primary = incident.primary
    task = context.task
    opening = (f"While working on the task \u201c{short(task.text, 160)}\u201d, " if task
               else "During the session, ")
    paragraphs = [f"{opening}the agent ({context.source}) made a call that {_what(incident)} "
                  f"at {context.clock(primary.time)} UTC."]
    if primary.claim:
        paragraphs.append(f"It acted on an unverified {primary.claim.kind}, "
                          f"\u201c{short(primary.claim.text, 200)}\u201d, without checking the target first.")
    if incident.effects:
        paragraphs.append(impact.blast_radius + " " + impact.environment_note)
    paragraphs.append(detection.summary)
    return tuple(paragraphs)


def _facts(history: SessionHistory, context: Context) -> tuple[Fact, ...]:
    report = history.report
    destructive = [c for c in history.calls if c.destructive]
    checked = sum(c.verified or c.approved for c in destructive)
    peak = max((p.risk for p in history.points), default=0.0)
    return (
        Fact("Agent", context.source + (f" ({report.model})" if report and report.model else "")),
        Fact("Started", context.stamp(context.start)),
        Fact("Ended", context.stamp(max(r.event.time for r in history.records))),
        Fact("Events", f"{context.own_events} of the session, {context.cloud_events} linked cloud record(s)"),
        Fact("Tool calls", f"{len(history.calls)} ({len(destructive)} destructive, {checked} of them "
                           "checked first or approved by the user)"),
        Fact("Risk", f"peak {peak:.0%}, final {report.risk if report else 0.0:.0%} "
                     f"(flag threshold {context.threshold:.0%})"),
    )


# -- impact --------------------------------------------------------------------------------------

def _impact(context: Context, incident: Incident) -> Impact:
    effects = incident.effects
    env_ids = tuple(dict.fromkeys(d.environment for d in effects if d.environment))
    believed = _believed(context, incident)
    reported = _reported(context, incident, believed)
    backups = sum(d.backup for d in effects)
    return Impact(effects, env_ids, believed, reported, backups, _blast_radius(effects, env_ids),
                  _environment_note(env_ids, believed, reported, bool(effects)))


def _believed(context: Context, incident: Incident) -> tuple[str, ...]:
    """Environments the task, the call or the agent's claim named before the call."""
    action = incident.primary.action
    names = list(action.environments) if action else []
    claim = next((f.claim for f in incident.findings if f.claim), None)
    if claim:
        names += environments_in(claim.text)
    if context.task:
        names += environments_in(context.task.text)
    return tuple(dict.fromkeys(names))


def _reported(context: Context, incident: Incident, believed: tuple[str, ...]) -> tuple[Quote, ...]:
    """Words after the call naming an environment nobody meant to touch ("PRODUCTION IS DOWN")."""
    after = incident.primary.time
    found = []
    for quote in context.messages:
        if quote.time > after and set(environments_in(quote.text)) - set(believed):
            found.append(quote)
    return tuple(found[:2])


def _blast_radius(effects: tuple[Destroyed, ...], env_ids: tuple[str, ...]) -> str:
    if not effects:
        return "No cloud audit record of an effect was linked to the call."
    kinds = Counter(d.operation for d in effects)
    listed = ", ".join(f"{n} \u00d7 {op}" for op, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    backups = sum(d.backup for d in effects)
    where = f" across {len(env_ids)} environment(s)" if env_ids else ""
    also = f"; {backups} of them backup(s)" if backups else ""
    return f"One call destroyed or changed {len(effects)} resource(s){where} ({listed}){also}."


def _environment_note(env_ids: tuple[str, ...], believed: tuple[str, ...], reported: tuple[Quote, ...],
                      linked: bool) -> str:
    parts = []
    if env_ids:
        parts.append(f"The audit records name the environment(s) by id ({', '.join(env_ids)}), "
                     "not by name.")
    elif linked:
        parts.append("The audit records do not name an environment.")
    if believed:
        parts.append(f"The task and the agent's belief were about {', '.join(believed)}.")
    for quote in reported:
        named = ", ".join(n for n in environments_in(quote.text) if n not in believed)
        parts.append(f"After the call the {quote.who} named {named}: \u201c{short(quote.text, 160)}\u201d")
    return " ".join(parts)


# -- root cause, factors, detection, prevention --------------------------------------------------

def _root_cause(context: Context, incident: Incident, impact: Impact) -> RootCause:
    primary = incident.primary
    claimed = next((f for f in incident.findings if f.claim and f.action and primary.action
                    and f.action.event_id == primary.action.event_id), None)
    claim = claimed.claim if claimed else primary.claim
    trigger, detail = _trigger(context, incident.findings)
    action = primary.action
    return RootCause(
        trigger=trigger, trigger_detail=detail,
        claim=context.quote(claim.event_id, claim.text) if claim else None,
        claim_kind=claim.kind if claim else None,
        reasoning=context.quote(claim.event_id) if claim else None,
        command=action.command if action else None, call_summary=_what(incident),
        credentials=action.credentials if action else (),
        verified=bool(primary.verified), effects=incident.effects,
        afterwards=_afterwards(context, impact))


def _trigger(context: Context, findings: tuple[Finding, ...]) -> tuple[str | None, str | None]:
    """The failed step the agent answered with the destructive call (error-escalation's anchor)."""
    escalation = next((f for f in findings if f.rule in ("error-escalation", "unchecked-precondition")), None)
    if escalation is None:
        return None, None
    failed = context.records.get(escalation.evidence_ids[0])
    result = context.records.get(escalation.evidence_ids[1]) if len(escalation.evidence_ids) > 1 else None
    if failed is None:
        return None, None
    detail = (result.event.text or "") if result and result.event.kind == EventKind.TOOL_RESULT else ""
    return _command_of(failed.event), short(detail, 300) or None


def _command_of(event: Event) -> str:
    tool_input = event.tool_input
    if isinstance(tool_input, dict) and isinstance(command := tool_input.get("command"), str):
        return command
    return event.tool_name or event.text or event.id


def _afterwards(context: Context, impact: Impact) -> Quote | None:
    """The agent's first message after someone reported the damage: its own account."""
    if not impact.reported:
        return None
    reported_at = impact.reported[0].time
    return next((q for q in context.messages if q.who == "agent" and q.time > reported_at), None)


def _factors(incident: Incident) -> tuple[Factor, ...]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in incident.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    factors = [_factor(rule, found, incident) for rule, found in by_rule.items()]
    unconfirmed = [f for f in incident.findings if f.rule in texts.UNCONFIRMED_RULES]
    if unconfirmed:
        factors.insert(1, Factor(
            texts.NO_CONFIRMATION, "The agent did not ask the user before the irreversible call, and "
            "nothing in the session approved it.", unconfirmed[0].severity.label,
            tuple(f.id for f in unconfirmed)))
    return tuple(factors)


def _factor(rule: str, found: list[Finding], incident: Incident) -> Factor:
    first = found[0]
    detail = first.summary
    if rule == "credential-foraging" and incident.primary.action:
        used = ", ".join(incident.primary.action.credentials)
        envs = {d.environment for d in incident.effects if d.environment}
        reach = f"; with it the call reached {len(envs)} environment(s)" if envs else ""
        detail += f" Credential(s) used by the destructive call: {used or 'none named'}{reach}."
    elif rule == "backups-destroyed":
        backups = [d.resource for d in incident.effects if d.backup]
        if backups:
            detail = (f"The backups lived and died with the data: the same call deleted "
                      f"{len(backups)} backup(s) ({', '.join(backups)}).")
    title = texts.FACTOR_TITLES.get(rule, rule)
    return Factor(title, detail, first.severity.label, tuple(f.id for f in found))


def _detection(history: SessionHistory, context: Context, incident: Incident) -> Detection:
    flag = history.first_flagged
    call_time = incident.primary.action.time if incident.primary.action else incident.primary.time
    impact_time = incident.effects[0].time if incident.effects else None
    lead_call = _seconds(flag.time, call_time) if flag and call_time else None
    lead_impact = _seconds(flag.time, impact_time) if flag and impact_time else None
    guard = _guard_answers(context, incident)
    flagged_event = context.describe(flag.event_id) if flag else None
    summary = _detection_summary(context, flag.time if flag else None, lead_call, lead_impact, guard)
    raised = history.finding_seen.get(incident.primary.id)
    return Detection(flag.time if flag else None, flagged_event, flag.risk if flag else None,
                     context.threshold, lead_call, lead_impact, raised.time if raised else None, guard,
                     summary)


def _seconds(start: str, end: str) -> float:
    return round((_parse(end) - _parse(start)).total_seconds(), 3)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _guard_answers(context: Context, incident: Incident) -> tuple[GuardAnswer, ...]:
    action = incident.primary.action
    asked = [r for r in context.guard_events if action and action.tool_use_id
             and r.event.call_id == action.tool_use_id]
    answers = [_recorded_answer(r) for r in asked]
    if not answers and incident.call is not None and incident.call.verdict is not None:
        verdict = incident.call.verdict
        answers.append(GuardAnswer(str(verdict.decision), verdict.reason, recorded=False))
    return tuple(answers)


def _recorded_answer(recorded: Recorded) -> GuardAnswer:
    doc = recorded.event.attributes.get("guard")
    doc = doc if isinstance(doc, dict) else {}
    reasons = doc.get("reasons") if isinstance(doc.get("reasons"), list) else []
    reason = str(reasons[0]) if reasons else (recorded.event.text or "")
    return GuardAnswer(str(doc.get("decision", "unknown")), reason, recorded=True)


def _detection_summary(context: Context, flagged_at: str | None, lead_call: float | None,
                       lead_impact: float | None, guard: tuple[GuardAnswer, ...]) -> str:
    if flagged_at is None:
        said = "Blackbox did not flag the session (its risk stayed under the threshold)."
    elif lead_call is not None and lead_call >= 0:
        said = (f"Blackbox flagged the session at {context.clock(flagged_at)} UTC, "
                f"{lead_call:g} s before the destructive call")
        said += f" and {lead_impact:g} s before the first cloud record of its effect." \
            if lead_impact is not None else "."
    else:
        said = f"Blackbox flagged the session at {context.clock(flagged_at)} UTC, after the call."
    return f"{said} {_guard_sentence(guard)}"


def _guard_sentence(guard: tuple[GuardAnswer, ...]) -> str:
    if not guard:
        return "The pre-flight guard had nothing to judge."
    answer = guard[0]
    if answer.recorded:
        return f"The pre-flight guard was asked and answered {answer.decision.upper()}: {answer.reason}."
    return (f"No pre-flight guard was consulted; asked before the call, it would have answered "
            f"{answer.decision.upper()}: {answer.reason}.")


def _prevention(context: Context, incident: Incident) -> str | None:
    checks = [incident.call] if incident.call else []
    checks += [c for c in context.calls.values() if c.destructive]
    check = next((c.skipped_check for c in checks if c and c.skipped_check), None)
    if check is None:
        return None
    return f"One read-only check was skipped: {check}."


def _action_items(findings: tuple[Finding, ...]) -> tuple[ActionItem, ...]:
    items: dict[str, ActionItem] = {}
    for finding in findings:  # most severe first: an item takes its worst finding's priority
        text = texts.ACTION_ITEMS.get(finding.rule)
        if text is None:
            continue
        if finding.rule in items:
            old = items[finding.rule]
            items[finding.rule] = ActionItem(old.priority, old.text, old.rule, (*old.finding_ids, finding.id))
        else:
            priority = texts.PRIORITY.get(finding.severity.label, "P2")
            items[finding.rule] = ActionItem(priority, text, finding.rule, (finding.id,))
    return tuple(items.values())


def _finding_rows(findings: tuple[Finding, ...]) -> tuple[FindingRow, ...]:
    return tuple(FindingRow(f.id, f.rule, f.severity.label, f.time, f.summary) for f in findings)


# -- the short "no incident" report --------------------------------------------------------------

def _no_incident(history: SessionHistory, context: Context, chain: ChainCheck) -> PostMortem:
    findings = tuple(history.report.findings) if history.report else ()
    destructive = [c for c in history.calls if c.destructive]
    checked = sum(c.verified or c.approved for c in destructive)
    peak = max((p.risk for p in history.points), default=0.0)
    summary = [f"No incident. Blackbox found nothing in this session that needs a post-mortem: the agent "
               f"made {len(history.calls)} tool call(s), {_destructive_phrase(len(destructive), checked)}.",
               _flag_sentence(history, context, peak)]
    if findings:
        summary.append(f"{len(findings)} low-severity observation(s) are listed below; none is an incident.")
    return PostMortem(
        session_id=history.session_id, incident=False, title=f"No incident: session {history.session_id}",
        status=(Fact("Status", "No incident"), Fact("Date", context.date),
                Fact("Session", context.session_id)),
        summary=tuple(summary), facts=_facts(history, context), impact=None, timeline=(),
        timeline_note="", root_cause=None, factors=(), detection=_quiet_detection(context),
        prevention=None, action_items=(), findings=_finding_rows(findings),
        evidence=evidence_rows(context, findings), chain=chain,
        figure=figure_data(context, ()))


def _flag_sentence(history: SessionHistory, context: Context, peak: float) -> str:
    said = f"The session's risk peaked at {peak:.0%} (flag threshold {context.threshold:.0%}); "
    flag = history.first_flagged
    if flag is None:
        return said + "it was never flagged."
    return said + (f"it was flagged at {context.clock(flag.time)} UTC by the risk model, but no rule "
                   "found anything to explain: review the session's events.")


def _destructive_phrase(destructive: int, checked: int) -> str:
    if not destructive:
        return "none of them destructive"
    return f"{destructive} of them destructive, {checked} of those checked first or approved by the user"


def _quiet_detection(context: Context) -> Detection:
    return Detection(None, None, None, context.threshold, None, None, None, (),
                     "Blackbox did not flag the session.")
