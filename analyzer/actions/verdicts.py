"""Verdicts (a ``Step`` plus what does not fit in it) and the helpers that build and phrase them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from analyzer.actions.kinds import CONTEXT, DESCRIBE, LISTING, PLAN, QUERY, READ, REVERSIBLE, STATUS
from analyzer.nodes import Family, InspectKind, Reversibility, Step
from analyzer.shell import Command


@dataclass(slots=True)  # not frozen: built per command on the hot path, never shared or cached
class _Verdict:
    step: Step
    mutates: bool
    reversibility: Reversibility = REVERSIBLE
    force: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()  # strings that may name an environment ("prod-db", a host)
    credentials: tuple[str, ...] = ()
    phrase: str = ""  # for the summary: "deletes ./build (rm -rf)"


def _destroys(argv: Sequence[str], family: Family, operation: str, targets: Iterable[str],
              reversibility: Reversibility, phrase: str = "", *, force: Iterable[str] = (),
              hints: Iterable[str] = ()) -> _Verdict:
    targets = _unique(targets)
    step = Step(tuple(argv), True, family, operation, targets, None)
    phrase = phrase or f"{_verb(operation)} {_names(targets)} ({operation})".replace("  ", " ")
    return _Verdict(step, True, reversibility, tuple(force), tuple(hints), (), phrase)


def _inspects(argv: Sequence[str], family: Family | None, kind: InspectKind, operation: str,
              inspected: Iterable[str] = (), phrase: str = "", *, hints: Iterable[str] = (),
              mutates: bool = False) -> _Verdict:
    inspected = _unique(inspected)
    step = Step(tuple(argv), False, family, operation, inspected, kind)
    phrase = phrase or f"{_INSPECT_VERBS[kind]} {_names(inspected)} ({operation})".replace("  ", " ")
    return _Verdict(step, mutates, REVERSIBLE, (), tuple(hints), (), phrase)


def _changes(argv: Sequence[str], family: Family | None, operation: str,
             targets: Iterable[str] = (), phrase: str = "", *, hints: Iterable[str] = (),
             force: Iterable[str] = ()) -> _Verdict:
    targets = _unique(targets)
    step = Step(tuple(argv), False, family, operation, targets, None)
    phrase = phrase or f"runs {operation}" + (f" on {_names(targets)}" if targets else "")
    return _Verdict(step, True, REVERSIBLE, tuple(force), tuple(hints), (), phrase)


def _neutral(argv: Sequence[str], operation: str | None = None, *, family: Family | None = None,
             hints: Iterable[str] = (), credentials: Iterable[str] = ()) -> _Verdict:
    """Read-only and no check of anything: echo, cd, sleep, a pipe's ``tail``."""
    step = Step(tuple(argv), False, family, operation, (), None)
    return _Verdict(step, False, REVERSIBLE, (), tuple(hints), tuple(credentials), "")


_INSPECT_VERBS = {LISTING: "lists", STATUS: "checks", DESCRIBE: "describes", CONTEXT: "checks context",
                  PLAN: "plans", QUERY: "queries", READ: "reads"}
_VERBS = {"delete": "deletes", "destroy": "destroys", "drop": "drops", "truncate": "truncates",
          "remove": "removes", "purge": "purges", "wipe": "wipes", "reset": "resets",
          "terminate": "terminates", "deregister": "deregisters", "uninstall": "uninstalls",
          "rm": "deletes", "rb": "removes", "flush": "flushes", "drain": "drains"}


def _verb(operation: str) -> str:
    for word in _words(operation):
        if word.lower() in _VERBS:
            return _VERBS[word.lower()]
    return "destroys"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:3])
    return shown + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """Non-empty items, first occurrence kept, in order."""
    if isinstance(items, tuple | list) and len(items) < 2:
        return tuple(items) if items and items[0] else ()
    return tuple(dict.fromkeys(item for item in items if item))


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(text: str) -> list[str]:
    """``volumeDelete`` → volume, Delete; ``prod-db.internal`` → prod, db, internal."""
    return _WORD.findall(text)


# What reads one program's command: one function per program (or family of programs).
_Handler = Callable[[Command], _Verdict]
