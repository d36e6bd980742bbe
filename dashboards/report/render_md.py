"""The post-mortem as GitHub-flavoured Markdown that also pastes into wikis.

Text from the log is escaped (it may contain Markdown or HTML: nothing of it may turn into
markup), table cells escape ``|`` and never span lines, commands go into code spans or fences
longer than any backtick run inside them. The figure is a PNG beside the file when one could be
exported, otherwise the report says it was omitted and why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dashboards.report.model import PostMortem, Quote, RootCause

_ESCAPE = re.compile(r"([\\`*_\[\]<>|~&])")
_LINE_START = re.compile(r"^([#+=-])|^(\d+)([.)])")


def text(value: str) -> str:
    """Inline text: one line, every character that could start markup backslash-escaped."""
    flat = " ".join(value.split())
    escaped = _ESCAPE.sub(r"\\\1", flat)
    # A line may not start a heading, list or rule: escape the marker (for "1." the dot, since a
    # backslash before a digit is not an escape).
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3),
                           escaped)


def code(value: str, *, in_table: bool = False) -> str:
    """A code span whose backtick fence is longer than any run of backticks inside it."""
    flat = " ".join(value.split())
    if in_table:
        flat = flat.replace("|", "\\|")  # GFM splits cells on pipes even inside code spans
    fence = "`" * (_longest_run(flat, "`") + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def fenced(value: str, info: str = "") -> list[str]:
    fence = "`" * max(3, _longest_run(value, "`") + 1)
    return [f"{fence}{info}", *value.splitlines(), fence]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Cells are already formatted (``text``/``code(in_table=True)``); pipes inside are escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _longest_run(value: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", value)
    return max((len(r) for r in runs), default=0)


def _cell(value: str) -> str:
    return text(value)  # text() escapes | already


def _quote(quote: Quote) -> list[str]:
    return [f"> {text(quote.text)}", ">", f"> — {text(quote.who)}, {quote.time[11:23]} UTC, "
            f"event {code(quote.event_id)}", ""]


# -- sections ------------------------------------------------------------------------------------

def render_md(pm: PostMortem, figure: str) -> str:
    """``figure``: the Markdown for the figure (an image link, or the note saying why not)."""
    lines = [f"# {text(pm.title)}", ""]
    lines += [f"- **{text(f.label)}:** {text(f.value)}" for f in pm.status] + [""]
    lines += ["## Summary", ""] + [line for p in pm.summary for line in (text(p), "")]
    lines += ["## The session at a glance", ""]
    lines += table(["Fact", "Value"], [[_cell(f.label), _cell(f.value)] for f in pm.facts])
    if pm.impact:
        lines += _impact(pm)
    if pm.incident:
        lines += _timeline(pm, figure)
    if pm.root_cause:
        lines += _root_cause(pm.root_cause)
    if pm.factors:
        lines += ["## Contributing factors", ""]
        lines += [f"- **{f.severity.upper()}: {text(f.title)}.** {text(f.detail)}" for f in pm.factors] + [""]
    if pm.incident:
        lines += _detection(pm) + _prevention(pm) + _action_items(pm)
    if pm.findings:
        lines += _findings(pm)
    lines += _evidence(pm)
    lines += ["---", "", f"Written by Blackbox from the recorded log of session {code(pm.session_id)}. "
              "The same log gives the same report; each generation is recorded with the report's "
              f"SHA-256 on the log stream {code('report:' + pm.session_id)}.", ""]
    return "\n".join(lines)


def _impact(pm: PostMortem) -> list[str]:
    impact = pm.impact
    assert impact is not None
    lines = ["## Impact", "", f"**{text(impact.blast_radius)}**", "", text(impact.environment_note), ""]
    if impact.backups:
        lines += [f"> **Backups went too:** {impact.backups} backup(s) were destroyed by the same call, "
                  "so the data can not be restored from them.", ""]
    rows = [[d.time[11:23], code(d.operation, in_table=True), code(d.resource, in_table=True),
             code(d.environment, in_table=True) if d.environment else "not named",
             "yes" if d.backup else "no", code(d.native_id, in_table=True)] for d in impact.destroyed]
    if rows:
        lines += table(["Time (UTC)", "Operation", "Resource", "Environment (as recorded)", "Backup",
                        "Audit record"], rows)
    return lines


def _timeline(pm: PostMortem, figure: str) -> list[str]:
    lines = ["## Timeline", "", figure, ""]
    rows = [[r.time, r.offset, _cell(r.actor), _cell(r.what), _cell(r.role), str(r.seq)] for r in pm.timeline]
    lines += table(["Time (UTC)", "Since start", "Who", "What", "Role", "Seq"], rows)
    return [*lines, f"*{text(pm.timeline_note)}*", ""]


def _root_cause(rc: RootCause) -> list[str]:
    lines = ["## Root cause and trigger", ""]
    step = 1
    if rc.trigger:
        lines += [f"### {step}. Trigger: a step failed", "", *fenced(rc.trigger, "sh"), ""]
        lines += [*fenced(rc.trigger_detail), ""] if rc.trigger_detail else []
        step += 1
    if rc.claim:
        kind = text(rc.claim_kind or "claim")
        lines += [f"### {step}. Belief: an unverified {kind}", "", *_quote(rc.claim)]
        if rc.reasoning and rc.reasoning.text != rc.claim.text:
            lines += [f"The whole thought: \u201c{text(rc.reasoning.text)}\u201d", ""]
        step += 1
    lines += [f"### {step}. Action: a call that {text(rc.call_summary)}", ""]
    lines += [*fenced(rc.command, "sh"), ""] if rc.command else []
    creds = ", ".join(code(c) for c in rc.credentials)
    lines += [f"Target checked first: **{'yes' if rc.verified else 'no'}**."
              + (f" Credentials used: {creds}." if creds else ""), ""]
    lines += [f"### {step + 1}. Effects: what the cloud recorded", ""]
    lines += [f"- {code(d.operation)} of {code(d.resource)}"
              + (f" in environment {code(d.environment)}" if d.environment else "")
              + (" **(backup)**" if d.backup else "") + f", {d.time[11:23]} UTC" for d in rc.effects]
    lines += [""] if rc.effects else ["No cloud audit record was linked to this call.", ""]
    if rc.afterwards:
        lines += ["### The agent's own account afterwards", "", *_quote(rc.afterwards)]
    return lines


def _detection(pm: PostMortem) -> list[str]:
    d = pm.detection
    rows = [["First flagged", text(d.flagged_at or "never") + (f" — after {text(d.flagged_event)}"
                                                                if d.flagged_event else "")],
            ["Risk at the flag", (f"{d.flagged_risk:.0%}" if d.flagged_risk is not None else "—")
             + f" (threshold {d.threshold:.0%})"],
            ["Lead time before the call", f"{d.lead_to_call_s} s" if d.lead_to_call_s is not None else "—"],
            ["Main finding raised", d.finding_raised_at or "—"],
            ["Lead time before the impact",
             f"{d.lead_to_impact_s} s" if d.lead_to_impact_s is not None else "—"]]
    rows += [["Pre-flight guard", f"{'answered' if a.recorded else 'would have answered'} "
              f"**{a.decision.upper()}**: {text(a.reason)}"] for a in d.guard]
    return ["## Detection", "", text(d.summary), "", *table(["Signal", "Value"], rows)]


def _prevention(pm: PostMortem) -> list[str]:
    said = pm.prevention or "No single read-only check would have settled this: see the contributing factors."
    return ["## What would have prevented it", "", text(said), ""]


def _action_items(pm: PostMortem) -> list[str]:
    rows = [[item.priority, _own_code(item.text), code(item.rule, in_table=True), "to assign"]
            for item in pm.action_items]
    return ["## Action items", "", *table(["Priority", "Action", "From rule", "Owner"], rows)]


def _own_code(value: str) -> str:
    """Our fixed texts mark commands with backticks: keep those as code spans, escape the rest."""
    parts = value.split("`")
    return "".join(code(p, in_table=True) if n % 2 else text(p) if p.strip() else p
                   for n, p in enumerate(parts))


def _findings(pm: PostMortem) -> list[str]:
    title = "Findings" if pm.incident else "Observations"
    rows = [[f.severity, code(f.rule, in_table=True), f.time[11:23], _cell(f.summary),
             code(f.id, in_table=True)] for f in pm.findings]
    return [f"## {title}", "", *table(["Severity", "Rule", "Time (UTC)", "Summary", "Finding"], rows)]


def _evidence(pm: PostMortem) -> list[str]:
    chain = pm.chain
    state = "intact" if chain.ok else "BROKEN"
    lines = ["## Evidence appendix", "",
             f"Chain verification: **{state}**: every event of the session's {len(chain.streams)} "
             f"stream(s) ({chain.events} events) had its hash recomputed from its content and linked to "
             f"the previous one. Re-check the whole log with {code('blackbox verify')}.", ""]
    lines += table(["Stream", "Events", "Head seq", "Head hash", "Result"],
                   [[code(s.stream, in_table=True), str(s.events), str(s.head_seq),
                     code(s.head_hash, in_table=True), "ok" if s.ok else _cell(s.problem or "")]
                    for s in chain.streams])
    if pm.evidence:
        lines += table(["Role", "Event id", "Kind", "Seq", "Position", "Time (UTC)", "Hash"],
                       [[_cell(e.role), code(e.event_id, in_table=True), e.kind, str(e.seq), str(e.position),
                         e.time[11:23], code(e.hash, in_table=True)] for e in pm.evidence])
    return lines
