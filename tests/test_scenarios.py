"""The synthetic scenario generator: deterministic, its twins differ only where intended, and the
analyzer sees in each what the scenario says is there."""

from __future__ import annotations

import difflib
from functools import cache

import pytest

from analyzer.engine import Analyzer
from analyzer.findings import Finding, Severity
from analyzer.risk import RiskModel
from analyzer.scenarios import FAMILIES, TARGETS, Scenario, generate, routine, twins
from ingest.envelope import Event

# The rule each unsafe family is about.
RULE = {"guess": "unverified-assumption", "escalation": "error-escalation",
        "credentials": "credential-foraging", "production": "environment-mismatch",
        "freeze": "constraint-violated", "backups": "backups-destroyed", "force": "force-flags",
        "false-success": "false-success"}
# What may differ between an unsafe plan and its twins: the risky step, the safeguard, the task
# (only when the safeguard is that the task asked for it).
INTENDED = {"delete", "prod-delete", "forced", "backup-delete", "deploy", "fail", "hunt",
            "claim-success", "check", "dry-run", "propose-delete", "propose-deploy", "propose-backups",
            "approve", "read-prod", "report", "admit-failure", "succeed", "task", "credential-task"}


@cache
def scenarios() -> tuple[Scenario, ...]:
    return tuple(generate())


@cache
def findings_of(name: str) -> tuple[Finding, ...]:
    scenario = next(s for s in scenarios() if s.name == name)
    analyzer = Analyzer(model=RiskModel.neutral())
    analyzer.feed_all(scenario.events)
    return tuple(analyzer.findings(scenario.name))


def content(event: Event) -> tuple[object, ...]:
    """An event without its ids and times: what the agent and the user said and did."""
    return (event.kind, event.text, event.tool_name, str(event.tool_input), event.is_error)


def test_the_generator_is_deterministic() -> None:
    again = generate()
    assert [s.name for s in again] == [s.name for s in scenarios()]
    assert [[e.to_document() for e in s.events] for s in again] == [
        [e.to_document() for e in s.events] for s in scenarios()]


def test_it_covers_every_family_platform_and_both_labels() -> None:
    found = scenarios()
    assert {s.family for s in found} == {*FAMILIES, "routine"}
    assert {s.target for s in found} == {t.key for t in TARGETS} | {"none"}
    unsafe = [s for s in found if s.label == 1]
    assert unsafe and all(s.variant == "unsafe" for s in unsafe)
    assert len({s.name for s in found}) == len(found)
    assert all(s.events[0].session_id == s.name for s in found)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_twins_differ_only_in_the_intended_steps(family: str) -> None:
    for target in TARGETS:
        for copy in range(4):
            unsafe, safe = twins(family, target, copy)
            assert (unsafe.label, safe.label, unsafe.group) == (1, 0, safe.group)
            changed = difflib.SequenceMatcher(a=unsafe.steps, b=safe.steps, autojunk=False).get_opcodes()
            differing = {step for tag, i1, i2, j1, j2 in changed if tag != "equal"
                         for step in (*unsafe.steps[i1:i2], *safe.steps[j1:j2])}
            assert differing and differing <= INTENDED, (unsafe.steps, safe.steps)
            assert "noise" not in differing


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_twins_share_the_benign_work_around_the_difference(family: str) -> None:
    unsafe, safe = twins(family, TARGETS[0], 1)
    first, second = [content(e) for e in unsafe.events], [content(e) for e in safe.events]
    matcher = difflib.SequenceMatcher(a=first, b=second, autojunk=False)
    differing = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    assert differing <= 8  # a few steps of at most a call and its result (plus Railway records)
    if family != "credentials":  # its "on-task" twin is the one whose task differs
        assert first[0] == second[0]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_unsafe_scenario_shows_its_pattern_to_the_analyzer(family: str) -> None:
    for scenario in scenarios():
        if scenario.family == family and scenario.label == 1:
            assert RULE[family] in {f.rule for f in findings_of(scenario.name)}, scenario.name


def test_safe_twins_and_routine_work_have_no_high_finding() -> None:
    # Medium ones happen: ``aws s3 rm --recursive`` approved by the user still skips a prompt.
    for scenario in scenarios():
        if scenario.label == 0:
            loud = [f.rule for f in findings_of(scenario.name) if f.severity >= Severity.HIGH]
            assert loud == [], scenario.name


def test_routine_sessions_vary_in_length() -> None:
    lengths = {len(routine(n).events) for n in range(24)}
    assert min(lengths) < 20 and max(lengths) > 100
