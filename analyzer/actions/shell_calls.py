"""Shell calls → ``Action``: the verdicts of every command of a line, folded into one action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from analyzer.actions.kinds import _SEVERITY, REVERSIBLE
from analyzer.actions.passes import _environments, _finish
from analyzer.actions.programs import _handler
from analyzer.actions.runners import _expand_runners
from analyzer.actions.verdicts import _names, _unique, _Verdict
from analyzer.nodes import Action, InspectKind, Step
from analyzer.shell import Command, program_name, split_argv, split_commands


def _verdicts(commands: Sequence[Command]) -> list[_Verdict]:
    verdicts: list[_Verdict] = []
    for index, command in enumerate(commands):
        neighbours = (commands[index - 1] if index else None,
                      commands[index + 1] if index + 1 < len(commands) else None)
        for inner, hints, credentials in _expand_runners(command):
            verdict = _handler(inner.program)(inner)
            verdicts.extend(_finish(inner, verdict, neighbours, hints, credentials))
    return verdicts


@lru_cache(maxsize=8192)
def _shell_action(tool: str, line: str) -> Action:
    return _action(tool, line, _verdicts(split_commands(line)))


@lru_cache(maxsize=2048)
def _argv_action(tool: str, argv: tuple[str, ...]) -> Action:
    script = argv[2] if len(argv) == 3 and program_name(argv[0]) in _SHELLS and argv[1].startswith("-") and (
        "c" in argv[1]) else " ".join(argv)
    return _action(tool, script, _verdicts(split_argv(argv)))


_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "fish", "ash"})


def _action(tool: str, command: str | None, verdicts: Sequence[_Verdict]) -> Action:
    """Fold the verdicts of a call's steps into one Action (one pass: this runs per tool call)."""
    if len(verdicts) == 1:
        return _single_action(tool, command, verdicts[0])
    fold = _Fold()
    for verdict in verdicts:
        fold.add(verdict)
    worst = fold.worst
    chosen = worst or fold.first_mutating or fold.first_with_family
    operations = [v.step.operation for v in (fold.destroying or verdicts) if v.step.operation]
    return Action(
        tool=tool,
        command=command,
        steps=tuple(fold.steps),
        destructive=worst is not None,
        family=chosen.step.family if chosen else None,
        reversibility=worst.reversibility if worst else REVERSIBLE,
        operations=_unique(operations),
        targets=_unique(fold.targets),
        force_flags=_unique(fold.force),
        environments=_environments(fold.hints) if fold.hints else (),
        credentials=_unique(fold.credentials),
        inspects=tuple(dict.fromkeys(fold.inspects)),
        inspected=_unique(fold.inspected),
        read_only=not fold.mutates,
        summary=_summary(verdicts, fold.destroying),
    )


def _single_action(tool: str, command: str | None, verdict: _Verdict) -> Action:
    """``_action`` for the common one-step call, without the fold's bookkeeping."""
    step = verdict.step
    inspecting = step.inspects is not None
    return Action(tool, command, (step,), step.destructive, step.family,
                  verdict.reversibility if step.destructive else REVERSIBLE,
                  (step.operation,) if step.operation else (), step.targets, _unique(verdict.force),
                  _environments(verdict.hints) if verdict.hints else (), _unique(verdict.credentials),
                  (step.inspects,) if step.inspects is not None else (), step.targets if inspecting else (),
                  not verdict.mutates, verdict.phrase or _summary([verdict], ()))


@dataclass(slots=True)
class _Fold:
    """Running totals of ``_action``'s single pass."""

    steps: list[Step] = field(default_factory=list)
    destroying: list[_Verdict] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    force: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)
    inspects: list[InspectKind] = field(default_factory=list)
    inspected: list[str] = field(default_factory=list)
    worst: _Verdict | None = None
    first_mutating: _Verdict | None = None  # the first mutating step with a family
    first_with_family: _Verdict | None = None
    mutates: bool = False

    def add(self, verdict: _Verdict) -> None:
        step = verdict.step
        self.steps.append(step)
        self.targets.extend(step.targets)
        self.force.extend(verdict.force)
        self.hints.extend(verdict.hints)
        self.credentials.extend(verdict.credentials)
        if step.destructive:
            self.destroying.append(verdict)
            if self.worst is None or _SEVERITY[verdict.reversibility] > _SEVERITY[self.worst.reversibility]:
                self.worst = verdict
        if verdict.mutates:
            self.mutates = True
            if self.first_mutating is None and step.family is not None:
                self.first_mutating = verdict
        if self.first_with_family is None and step.family is not None:
            self.first_with_family = verdict
        if step.inspects is not None:
            self.inspects.append(step.inspects)
            self.inspected.extend(step.targets)


def _summary(verdicts: Sequence[_Verdict], destroying: Sequence[_Verdict]) -> str:
    phrases = [v.phrase for v in (destroying or verdicts) if v.phrase]
    if not phrases:
        programs = _unique([v.step.argv[0] for v in verdicts if v.step.argv])
        return f"runs {_names(programs)} (nothing changed or checked)" if programs else "runs nothing"
    text = "; ".join(dict.fromkeys(phrases[:4]))
    if len(phrases) > 4:
        text += f"; and {len(phrases) - 4} more"
    return text if len(text) <= 400 else text[:397] + "..."
