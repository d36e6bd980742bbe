"""Tool calls → ``Action`` nodes: what one call does, how bad it would be, and what it checks.

``classify(tool, tool_input)`` is called on every tool call of every session, while streaming and
on rebuilds, so it is built to be cheap and total: it never raises (a bug falls back to a
non-destructive action) and caches per command line.

How a call is read:

* Shell calls (Claude Code ``Bash``, Codex ``shell``/``exec_command`` with a string or an argv
  list, OTel and trajectory tools with a ``command``/``cmd`` field) are split by
  ``analyzer.shell`` into simple commands, wrappers already unwrapped. Program *runners* whose
  meaning lies in the command they run (``railway run --``, ``kubectl exec --``, ``docker exec``,
  ``npx``, ``bundle exec``, ``ssh host CMD``, ``dotenv --``) are unwrapped here, their
  environment and credential hints carried over to the inner command.
* Each command goes to a handler picked from ``_PROGRAMS`` by program name: one small function
  per family (files, git, databases, IaC, Kubernetes, cloud CLIs, HTTP/GraphQL, platform CLIs),
  which returns a ``_Verdict``: the ``Step`` plus what does not fit in it (whether it mutates,
  reversibility, force flags, environment hints, credentials, a phrase for the summary).
  Unknown programs mutate (conservatively: not read-only) but are not destructive.
* Generic passes then add what any command can carry: ``$TOKEN``-like variables and sourced
  secret files (credentials); environment words in ``--environment``/``--context``-style flags,
  URL hosts and ``RAILS_ENV=``-style assignments; force flags; ``> file`` truncation (its own
  destructive step, RECOVERABLE: the file may not have existed); ``2>/dev/null`` and ``|| true``
  (silencing, reported as force flags); ``--dry-run`` turns a mutation into a PLAN check.
* Non-shell tools: ``Write``/``NotebookEdit`` (operation ``write``), ``Edit``/``MultiEdit``,
  ``Read``, ``Glob``/``Grep``/``LS``, ``WebFetch``, Codex ``apply_patch`` (``*** Delete File``
  is destructive), SQL or GraphQL carried in a tool input, and any other tool by the words of its
  name (``mcp__db__drop_table``, ``DeleteFile``: destructive; ``EmailSend``: mutates).

Conventions callers rely on:

* ``reversibility`` of an action is that of its worst destructive step (REVERSIBLE when none is).
  ``rm`` of well-known regenerable build/cache paths (``build``, ``dist``, ``node_modules``,
  ``__pycache__``, ``/tmp/...``) is RECOVERABLE; other deletions are IRREVERSIBLE.
* A dangerous *path* is reported in ``force_flags`` as ``"risky-path:<reason>"`` (reasons:
  ``root``, ``home``, ``cwd``, ``system-dir``, ``unexpanded-variable``), the path itself being in
  ``targets``. ``rm -rf $DIR/`` with ``$DIR`` unset is the classic.
* ``credentials`` holds variable names (``RAILWAY_API_TOKEN``), sourced secret files
  (``scripts/domains/.env``), ``profile:NAME`` for ``--profile``, and flag names (``--token``)
  or ``header:Authorization`` for literal secrets; never a secret's value.
* ``environments`` are normalized (``production``, ``staging``, ``development``, ``test``) from
  whole words only: ``prod-cluster`` is production, ``product`` is not.

Cost: a short command takes ~20-40 µs the first time (lexing and building frozen nodes dominate),
about 1 µs when the same (tool, line) was seen before (``lru_cache`` of 8192 lines); non-shell
tools take ~5 µs. Railway's operation list is loaded once, on the first GraphQL call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources

from analyzer.nodes import Action, Family, InspectKind, Reversibility, Step
from analyzer.shell import (
    CACHED_LINE,
    Command,
    find_roots,
    find_scope,
    program_name,
    split_argv,
    split_commands,
    unwrap_command,
)

FILES, GIT, DATABASE, IAC = Family.FILES, Family.GIT, Family.DATABASE, Family.IAC
KUBERNETES, CLOUD, HTTP, PLATFORM, TOOL = (Family.KUBERNETES, Family.CLOUD, Family.HTTP,
                                           Family.PLATFORM, Family.TOOL)
REVERSIBLE, RECOVERABLE, IRREVERSIBLE = (Reversibility.REVERSIBLE, Reversibility.RECOVERABLE,
                                         Reversibility.IRREVERSIBLE)
LISTING, STATUS, DESCRIBE, CONTEXT, PLAN, QUERY, READ = (
    InspectKind.LISTING, InspectKind.STATUS, InspectKind.DESCRIBE, InspectKind.CONTEXT,
    InspectKind.PLAN, InspectKind.QUERY, InspectKind.READ)
_SEVERITY = {REVERSIBLE: 0, RECOVERABLE: 1, IRREVERSIBLE: 2}


# ---------------------------------------------------------------------------------------------
# Verdicts: a Step plus what does not fit in it


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


# ---------------------------------------------------------------------------------------------
# Option parsing shared by the handlers

_NUMBER = re.compile(r"^-\d+(?:\.\d+)?$")


@dataclass(slots=True)
class _Args:
    positional: list[str] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)

    def has(self, *names: str) -> bool:
        return any(name in self.options for name in names)

    def get(self, *names: str) -> str | None:
        for name in names:
            values = self.options.get(name)
            if values and values[-1]:
                return values[-1]
        return None

    def values(self, *names: str) -> list[str]:
        return [value for name in names for value in self.options.get(name, ()) if value]

    def letters(self) -> str:
        """Letters of the short-flag clusters: ``-rf -v`` → ``rfv``."""
        return "".join(name[1:] for name in self.options if not name.startswith("--"))


def _args(argv: Sequence[str], start: int = 1, takes_value: frozenset[str] = frozenset(),
          booleans: frozenset[str] | None = None) -> _Args:
    """Split options from positional words. ``--flag=value`` always splits; ``--flag value`` takes
    the next word when the flag is in ``takes_value`` or, in loose mode (``booleans`` given, for
    CLIs whose flags mostly take values: aws, gcloud, az), when the next word is not a flag and
    the flag is not one of the known ``booleans``."""
    parsed = _Args()
    index = start
    while index < len(argv):
        word = argv[index]
        if word == "--":
            parsed.positional.extend(argv[index + 1:])
            break
        if word.startswith("-") and len(word) > 1 and not _NUMBER.match(word):
            name, equals, value = word.partition("=")
            nxt = argv[index + 1] if index + 1 < len(argv) else None
            loose = booleans is not None and name not in booleans and nxt is not None
            if not equals and nxt is not None and (name in takes_value or (loose and nxt[:1] != "-")):
                value = nxt
                index += 1
            parsed.options.setdefault(name, []).append(value)
        else:
            parsed.positional.append(word)
        index += 1
    return parsed


# ---------------------------------------------------------------------------------------------
# Paths: how bad deleting them is


_REGENERABLE = frozenset({
    "build", "dist", "node_modules", ".cache", "__pycache__", "target", ".pytest_cache", ".venv",
    "venv", ".tox", ".mypy_cache", ".ruff_cache", ".next", ".nuxt", ".turbo", ".parcel-cache",
    "coverage", "htmlcov", ".coverage", ".gradle", ".terraform", "_build", ".eggs", "out",
    ".svelte-kit", ".angular", "bower_components", ".DS_Store", ".nyc_output", "tmp", ".tmp"})
_REGENERABLE_SUFFIXES = (".pyc", ".pyo", ".o", ".class", ".egg-info")
_TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "$TMPDIR", "${TMPDIR}", "/private/tmp/")
_SYSTEM_DIRS = frozenset({"/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/opt", "/home",
                          "/root", "/srv", "/sys", "/proc", "/dev", "/mnt", "/Users", "/System", "/Library",
                          "/Applications", "c:/windows", "c:/users", "c:/program files", "/var/lib",
                          "/usr/local", "/var/log"})
_SAFE_VARIABLES = frozenset({"HOME", "PWD", "TMPDIR", "TMP", "TEMP", "USER"})
_LEADING_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}?")
_DRIVE_ROOT = re.compile(r"^[a-zA-Z]:/?\*?$")


def _risky_reason(path: str) -> str | None:
    """Why deleting ``path`` is reckless, or None. ``/*``, ``~/`` and ``./**`` count as their root."""
    normal = path.strip().replace("\\", "/")
    bare = normal.rstrip("/*") if len(normal) > 1 else normal
    if (normal.startswith("/") and bare in ("", "/", "/.")) or _DRIVE_ROOT.match(normal):
        return "root"
    if bare in ("~", "$HOME", "${HOME}", "~/.", "$env:USERPROFILE", "%USERPROFILE%"):
        return "home"
    if bare in ("", "*", ".", "..", "./.", "$PWD", "${PWD}"):
        return "cwd"
    variable = _LEADING_VARIABLE.match(normal)
    if variable and variable.group(1) not in _SAFE_VARIABLES and ":?" not in variable.group(2):
        return "unexpanded-variable"
    if bare in _SYSTEM_DIRS or bare.lower() in _SYSTEM_DIRS:
        return "system-dir"
    return None


def _regenerable(path: str) -> bool:
    normal = path.replace("\\", "/")
    if normal.startswith(_TEMP_PREFIXES):
        return True
    parts = [part for part in normal.split("/") if part not in ("", ".", "..", "*")]
    return bool(parts) and (any(part in _REGENERABLE for part in parts)
                            or normal.rstrip("/").endswith(_REGENERABLE_SUFFIXES))


def _path_damage(paths: Sequence[str]) -> tuple[Reversibility, tuple[str, ...]]:
    """Reversibility of deleting ``paths`` and their ``risky-path:`` notes."""
    notes = _unique(f"risky-path:{reason}" for path in paths if (reason := _risky_reason(path)))
    recoverable = bool(paths) and not notes and all(_regenerable(path) for path in paths)
    return (RECOVERABLE if recoverable else IRREVERSIBLE), notes


# ---------------------------------------------------------------------------------------------
# Files


def _rm(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv)
    letters = parsed.letters().lower()
    recursive = "r" in letters or parsed.has("--recursive", "-Recurse", "-recurse")
    force = "f" in letters or parsed.has("--force", "-Force", "-force")
    operation = "rm" + (" -r" if recursive else "") + ("f" if recursive and force else " -f" if force else "")
    targets = parsed.positional
    if not targets:
        return _changes(argv, FILES, operation, phrase=f"runs {operation} without a path")
    reversibility, notes = _path_damage(targets)
    return _destroys(argv, FILES, operation, targets, reversibility,
                     f"deletes {_names(targets)} ({operation})", force=notes)


def _rmdir(command: Command) -> _Verdict:
    words = [word.lower() for word in command.argv[1:]]
    if "/s" in words or any(word.startswith("-recurse") for word in words):
        return _windows_delete(command, "rmdir /s")
    targets = [word for word in command.argv[1:] if not word.startswith("-")]
    return _destroys(command.argv, FILES, "rmdir", targets, REVERSIBLE,
                     f"removes empty directories {_names(targets)} (rmdir)")


def _windows_delete(command: Command, operation: str) -> _Verdict:
    """``del /f /s /q``, ``rd /s /q``, PowerShell ``Remove-Item -Recurse -Force``."""
    argv = command.argv
    targets: list[str] = []
    index = 1
    while index < len(argv):
        word = argv[index]
        lower = word.lower()
        if lower in ("-path", "-literalpath") and index + 1 < len(argv):
            targets.append(argv[index + 1])
            index += 1
        elif not (lower.startswith("-") or (lower.startswith("/") and len(lower) <= 3)):
            targets.append(word)
        index += 1
    reversibility, notes = _path_damage(targets)
    return _destroys(argv, FILES, operation, targets, reversibility,
                     f"deletes {_names(targets)} ({operation})", force=notes)


def _del(command: Command) -> _Verdict:
    return _windows_delete(command, "del")


def _rd(command: Command) -> _Verdict:
    return _windows_delete(command, "rd /s" if any(w.lower() == "/s" for w in command.argv) else "rd")


def _remove_item(command: Command) -> _Verdict:
    recurse = any(word.lower().startswith("-r") for word in command.argv[1:])
    return _windows_delete(command, "Remove-Item -Recurse" if recurse else "Remove-Item")


def _unlink(command: Command) -> _Verdict:
    targets = [word for word in command.argv[1:] if not word.startswith("-")]
    reversibility, notes = _path_damage(targets)
    return _destroys(command.argv, FILES, "unlink", targets, reversibility, force=notes)


def _shred(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-n", "-s", "--iterations", "--size"}))
    return _destroys(command.argv, FILES, "shred", parsed.positional, IRREVERSIBLE,
                     f"shreds {_names(parsed.positional)} (shred)")


_FILE_NAME = re.compile(r"[^/\\]\.[A-Za-z0-9]{1,8}$")


def _mv(command: Command) -> _Verdict:
    """Destructive only when it overwrites: ``-f``, or a destination that looks like a file."""
    parsed = _args(command.argv, takes_value=frozenset({"-t", "--target-directory", "-S", "--suffix"}))
    paths = parsed.positional
    letters = parsed.letters()
    if "n" in letters or parsed.has("--no-clobber", "-b", "--backup", "-t", "--target-directory"):
        return _changes(command.argv, FILES, "mv", paths[-1:])
    forced = "f" in letters or parsed.has("--force")
    if len(paths) >= 2 and (forced or (len(paths) == 2 and _FILE_NAME.search(paths[-1]))):
        return _destroys(command.argv, FILES, "mv (overwrite)", paths[-1:], RECOVERABLE,
                         f"moves {_names(paths[:-1])} over {paths[-1]} (mv)")
    return _changes(command.argv, FILES, "mv", paths[-1:])


def _find(command: Command) -> _Verdict:
    roots = find_roots(command.argv) or (".",)
    if "-delete" in command.argv:
        scope = find_scope(command.argv)
        reversibility, notes = _path_damage(scope)
        return _destroys(command.argv, FILES, "find -delete", scope, reversibility,
                         f"deletes {_names(scope)} (find -delete)", force=notes)
    if any(word in ("-exec", "-execdir", "-ok", "-okdir") for word in command.argv):
        return _neutral(command.argv, "find -exec", family=FILES)  # the exec'd command is a step
    return _inspects(command.argv, FILES, LISTING, "find", roots, f"lists {_names(roots)} (find)")


def _truncate(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-s", "--size", "-r", "--reference"}))
    size = parsed.get("-s", "--size") or next(
        (name[2:] for name in parsed.options if name.startswith("-s") and len(name) > 2), "")
    if size.startswith("+"):
        return _changes(command.argv, FILES, "truncate", parsed.positional)
    return _destroys(command.argv, FILES, f"truncate -s {size}".strip(), parsed.positional,
                     IRREVERSIBLE, f"truncates {_names(parsed.positional)} (truncate)")


def _dd(command: Command) -> _Verdict:
    outputs = [word[3:] for word in command.argv[1:] if word.startswith("of=")]
    outputs = [path for path in outputs if path not in _SINKS]
    if not outputs:
        return _neutral(command.argv, "dd", family=FILES)
    return _destroys(command.argv, FILES, "dd of=", outputs, IRREVERSIBLE,
                     f"overwrites {_names(outputs)} (dd)")


def _mkfs(command: Command) -> _Verdict:
    devices = [word for word in command.argv[1:] if not word.startswith("-")][-1:]
    return _destroys(command.argv, FILES, command.program, devices, IRREVERSIBLE,
                     f"formats {_names(devices)} ({command.program})")


def _tee(command: Command) -> _Verdict:
    parsed = _args(command.argv)
    files = [path for path in parsed.positional if path not in _SINKS]
    if not files:
        return _neutral(command.argv, "tee")
    if "a" in parsed.letters() or parsed.has("--append"):
        return _changes(command.argv, FILES, "tee -a", files, f"appends to {_names(files)}")
    return _destroys(command.argv, FILES, "tee (overwrite)", files, RECOVERABLE,
                     f"overwrites {_names(files)} (tee)")


def _crontab(command: Command) -> _Verdict:
    letters = _args(command.argv).letters()
    if "r" in letters:
        return _destroys(command.argv, FILES, "crontab -r", ["crontab"], IRREVERSIBLE,
                         "removes every cron job (crontab -r)")
    if "l" in letters:
        return _inspects(command.argv, FILES, READ, "crontab -l", ["crontab"])
    return _changes(command.argv, FILES, "crontab", ["crontab"])


def _rsync(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-e", "--rsh", "--exclude", "--include", "--filter",
                                                        "-f", "--exclude-from"}))
    destination = parsed.positional[-1:]
    if "n" in parsed.letters():
        return _inspects(command.argv, FILES, PLAN, "rsync -n", destination)
    if any(name.startswith("--delete") for name in parsed.options):
        return _destroys(command.argv, FILES, "rsync --delete", destination, IRREVERSIBLE,
                         f"deletes files in {_names(destination)} missing from the source (rsync --delete)",
                         hints=_url_hosts(destination))
    return _changes(command.argv, FILES, "rsync", destination, hints=_url_hosts(destination))


def _sed(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-e", "-f", "--expression", "--file"}))
    in_place = "i" in parsed.letters() or any(name.startswith("--in-place") for name in parsed.options)
    files = parsed.positional[0 if parsed.has("-e", "--expression") else 1:]
    if in_place:
        return _changes(command.argv, FILES, "sed -i", files, f"edits {_names(files)} (sed -i)")
    return _reads(command, files)


def _reads(command: Command, files: Sequence[str]) -> _Verdict:
    """cat/head/grep...: a READ check of named files; just a filter when reading stdin."""
    files = [path for path in files if path != "-" and not _NUMBER.match(path)]  # tail -40
    if not files:
        return _neutral(command.argv, command.program)
    return _inspects(command.argv, FILES, READ, command.program, files)


def _read_files(takes_value: frozenset[str] = frozenset(), skip: int = 0) -> Callable[[Command], _Verdict]:
    def handler(command: Command) -> _Verdict:
        return _reads(command, _args(command.argv, takes_value=takes_value).positional[skip:])
    return handler


_GREP_VALUES = frozenset({"-e", "-f", "-m", "-A", "-B", "-C", "--include", "--exclude", "--exclude-dir",
                          "--regexp", "--file", "--max-count", "-g", "--glob", "-t", "--type", "--color",
                          "-d", "-D", "--context", "--after-context", "--before-context"})


def _grep(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=_GREP_VALUES)
    files = parsed.positional[0 if parsed.has("-e", "-f", "--regexp", "--file") else 1:]
    recursive = command.program in ("rg", "ag", "ack") or "r" in parsed.letters().lower()
    if recursive and not files and not command.piped:
        files = ["."]
    return _reads(command, files)


def _listing(command: Command) -> _Verdict:
    paths = [word for word in command.argv[1:] if not word.startswith("-")] or ["."]
    return _inspects(command.argv, FILES, LISTING, command.program, paths)


def _creates(command: Command) -> _Verdict:
    """mkdir, touch, cp, ln, chmod...: file changes that destroy nothing."""
    paths = [word for word in command.argv[1:] if not word.startswith("-")]
    return _changes(command.argv, FILES, command.program, paths[-1:])


def _source(command: Command) -> _Verdict:
    """``source scripts/.env``: loads secrets into the shell; the file is a credential source."""
    files = command.argv[1:2]
    secret = [path for path in files if _SECRET_FILE.search(path.replace("\\", "/").rsplit("/", 1)[-1])]
    return _neutral(command.argv, "source", hints=secret, credentials=secret)


_SECRET_FILE = re.compile(r"(?i)(^|\.)env($|\.)|envrc|secret|credential|token|password|\.key$|\.pem$|auth")


def _export(command: Command) -> _Verdict:
    names = [word.split("=", 1)[0] for word in command.argv[1:] if "=" in word]
    secrets = [name for name in names if _SECRET_NAME.search(name)]
    hints = [word.split("=", 1)[1] for word in command.argv[1:]
             if "=" in word and _ENV_VARIABLE.search(word.split("=", 1)[0])]
    return _neutral(command.argv, command.program, hints=hints, credentials=secrets)


# ---------------------------------------------------------------------------------------------
# Git

_GIT_GLOBAL_VALUES = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
_GIT_STATUS = frozenset({"status", "diff", "log", "show", "blame", "ls-files", "ls-tree", "rev-parse",
                         "describe", "shortlog", "grep", "cat-file", "show-ref", "whatchanged", "rev-list",
                         "ls-remote", "fsck", "count-objects", "name-rev", "merge-base", "check-ignore",
                         "var", "help", "version", "--version", "difftool", "range-diff"})


def _git(command: Command) -> _Verdict:
    argv = command.argv
    index = 1
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in _GIT_GLOBAL_VALUES else 1
    if index >= len(argv):
        return _neutral(argv, "git", family=GIT)
    subcommand = argv[index]
    rest = argv[index + 1:]
    handler = _GIT_SUBCOMMANDS.get(subcommand)
    if handler is not None:
        return handler(argv, rest)
    if subcommand in _GIT_STATUS:
        paths = [word for word in rest if not word.startswith("-")] or ["."]
        return _inspects(argv, GIT, STATUS, f"git {subcommand}", paths)
    return _changes(argv, GIT, f"git {subcommand}")


def _git_reset(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    refs = [word for word in rest if not word.startswith("-")]
    if "--hard" in rest:
        return _destroys(argv, GIT, "git reset --hard", [".", *refs], IRREVERSIBLE,
                         "discards uncommitted changes (git reset --hard" + (f" {refs[0]})" if refs else ")"))
    return _changes(argv, GIT, "git reset", refs)


def _git_clean(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    parsed = _args(rest, 0, frozenset({"-e", "--exclude"}))
    letters = parsed.letters()
    paths = parsed.positional or ["."]
    flags = " ".join(word for word in rest if word.startswith("-"))
    if "n" in letters or parsed.has("--dry-run"):
        return _inspects(argv, GIT, PLAN, "git clean -n", paths,
                         f"previews what git clean would delete in {_names(paths)}")
    if "f" in letters or parsed.has("--force"):
        operation = f"git clean {flags}"
        return _destroys(argv, GIT, operation, paths, IRREVERSIBLE,
                         f"deletes untracked files in {_names(paths)} ({operation})")
    return _changes(argv, GIT, "git clean", paths)  # refuses to run without -f by default


_FILE_LIKE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$|/$")


def _git_checkout(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    if "--" in rest:
        paths = list(rest[rest.index("--") + 1:])
        return _discards(argv, "git checkout --", paths)
    words = [word for word in rest if not word.startswith("-")]
    if "." in words:
        return _discards(argv, "git checkout .", ["."])
    if "-f" in rest or "--force" in rest:
        return _discards(argv, "git checkout -f", words or ["."])
    if not any(flag in rest for flag in ("-b", "-B", "--orphan")) and words and all(
            _FILE_LIKE.search(word) for word in words):
        return _discards(argv, "git checkout <paths>", words)
    return _changes(argv, GIT, "git checkout", words)


def _discards(argv: Sequence[str], operation: str, paths: Sequence[str]) -> _Verdict:
    return _destroys(argv, GIT, operation, paths, IRREVERSIBLE,
                     f"discards uncommitted changes to {_names(paths)} ({operation})")


def _git_restore(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    parsed = _args(rest, 0, frozenset({"-s", "--source"}))
    staged_only = parsed.has("--staged", "-S") and not parsed.has("--worktree", "-W")
    if staged_only:
        return _changes(argv, GIT, "git restore --staged", parsed.positional)
    return _discards(argv, "git restore", parsed.positional or ["."])


def _git_switch(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    words = [word for word in rest if not word.startswith("-")]
    if any(flag in rest for flag in ("--discard-changes", "-f", "--force")):
        return _discards(argv, "git switch --discard-changes", ["."])
    return _changes(argv, GIT, "git switch", words)


def _git_push(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    parsed = _args(rest, 0, frozenset({"-o", "--push-option", "--repo", "--receive-pack", "--exec"}))
    refs = parsed.positional
    if "n" in parsed.letters() or parsed.has("--dry-run"):
        return _inspects(argv, GIT, PLAN, "git push --dry-run", refs)
    lease = next((name for name in parsed.options if name.startswith("--force-with-lease")), None)
    forced = "f" in parsed.letters() or parsed.has("--force", "--mirror", "--force-if-includes")
    deleting = "d" in parsed.letters() or parsed.has("--delete", "--prune") or any(
        ref.startswith(":") for ref in refs[1:])
    if forced or lease or any(ref.startswith("+") for ref in refs[1:]):
        operation = "git push --force-with-lease" if lease and not forced else "git push --force"
        return _destroys(argv, GIT, operation, refs, RECOVERABLE,
                         f"overwrites remote history of {_names(refs)} ({operation})", hints=refs[1:])
    if deleting:
        return _destroys(argv, GIT, "git push --delete", refs, RECOVERABLE,
                         f"deletes remote branches {_names(refs[1:])} (git push --delete)", hints=refs[1:])
    return _changes(argv, GIT, "git push", refs, hints=refs[1:])


def _git_branch(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    parsed = _args(rest, 0)
    letters = parsed.letters()
    names = parsed.positional
    deleting = "d" in letters or parsed.has("--delete")
    if "D" in letters or (deleting and ("f" in letters or parsed.has("--force"))):
        return _destroys(argv, GIT, "git branch -D", names, RECOVERABLE,
                         f"force-deletes branches {_names(names)} (git branch -D)")
    if names or any(letter in letters for letter in "dmMcC") or parsed.has("--delete", "--move", "--copy"):
        return _changes(argv, GIT, "git branch", names)
    return _inspects(argv, GIT, STATUS, "git branch", ["branches"])


def _git_stash(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    action = rest[0] if rest and not rest[0].startswith("-") else "push"
    if action in ("drop", "clear"):
        targets = list(rest[1:2]) or (["stash@{0}"] if action == "drop" else ["all stashes"])
        return _destroys(argv, GIT, f"git stash {action}", targets, RECOVERABLE)
    if action in ("list", "show"):
        return _inspects(argv, GIT, STATUS, f"git stash {action}", ["stash"])
    return _changes(argv, GIT, f"git stash {action}")


def _git_rm(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    parsed = _args(rest, 0)
    if "n" in parsed.letters() or parsed.has("--dry-run"):
        return _inspects(argv, GIT, PLAN, "git rm -n", parsed.positional)
    if parsed.has("--cached"):
        return _changes(argv, GIT, "git rm --cached", parsed.positional)
    return _destroys(argv, GIT, "git rm", parsed.positional, RECOVERABLE)


def _git_reflog(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    if rest and rest[0] in ("expire", "delete"):
        return _destroys(argv, GIT, f"git reflog {rest[0]}", ["reflog"], IRREVERSIBLE,
                         "expires the reflog, the last way back to lost commits (git reflog expire)")
    return _inspects(argv, GIT, STATUS, "git reflog", ["reflog"])


def _git_gc(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    if any(word in ("--prune=now", "--prune=all") for word in rest):
        return _destroys(argv, GIT, "git gc --prune=now", ["unreachable objects"], IRREVERSIBLE)
    return _changes(argv, GIT, "git gc")


def _git_rewrite(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    operation = f"git {argv[argv.index(rest[0]) - 1] if rest else 'filter-branch'}"
    return _destroys(argv, GIT, operation, ["history"], RECOVERABLE, f"rewrites history ({operation})")


def _git_tag(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    names = [word for word in rest if not word.startswith("-")]
    if "-d" in rest or "--delete" in rest:
        return _destroys(argv, GIT, "git tag -d", names, RECOVERABLE)
    if not names or "-l" in rest or "--list" in rest:
        return _inspects(argv, GIT, STATUS, "git tag", ["tags"])
    return _changes(argv, GIT, "git tag", names)


def _git_config(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    reading = ("--get", "--list", "-l", "--get-all", "--get-regexp", "--show-origin")
    if any(word in reading for word in rest) or len([word for word in rest if not word.startswith("-")]) == 1:
        return _inspects(argv, GIT, STATUS, "git config", ["git config"])
    return _changes(argv, GIT, "git config")


def _git_remote(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    words = [word for word in rest if not word.startswith("-")]
    if not words or words[0] in ("show", "get-url"):
        return _inspects(argv, GIT, STATUS, "git remote", words[1:] or ["remotes"])
    return _changes(argv, GIT, f"git remote {words[0]}", words[1:])


def _git_update_ref(argv: Sequence[str], rest: Sequence[str]) -> _Verdict:
    refs = [word for word in rest if not word.startswith("-")]
    if "-d" in rest:
        return _destroys(argv, GIT, "git update-ref -d", refs[:1], RECOVERABLE)
    return _changes(argv, GIT, "git update-ref", refs[:1])


_GitHandler = Callable[[Sequence[str], Sequence[str]], _Verdict]
_GIT_SUBCOMMANDS: dict[str, _GitHandler] = {
    "reset": _git_reset, "clean": _git_clean, "checkout": _git_checkout, "restore": _git_restore,
    "switch": _git_switch, "push": _git_push, "branch": _git_branch, "stash": _git_stash,
    "rm": _git_rm, "reflog": _git_reflog, "gc": _git_gc, "filter-branch": _git_rewrite,
    "filter-repo": _git_rewrite, "tag": _git_tag, "config": _git_config, "remote": _git_remote,
    "update-ref": _git_update_ref,
}


# ---------------------------------------------------------------------------------------------
# SQL: what a statement does

_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_SQL_STATEMENT = re.compile(r"(?:'(?:[^']|'')*'|\"[^\"]*\"|\$\$.*?\$\$|[^;'\"$]|\$)+", re.S)
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'|\$\$.*?\$\$", re.S)
_SQL_DROP = re.compile(
    r"DROP\s+(?:TEMP(?:ORARY)?\s+)?(MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|TABLE|DATABASE|SCHEMA|VIEW|INDEX|"
    r"SEQUENCE|FUNCTION|PROCEDURE|TRIGGER|TYPE|EXTENSION|ROLE|USER|COLLECTION|KEYSPACE|OWNED\s+BY|POLICY|"
    r"DOMAIN|RULE|PUBLICATION|SUBSCRIPTION|SERVER|TABLESPACE)\b\s*(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(.*)",
    re.I | re.S)
_SQL_TRUNCATE = re.compile(r"TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?(.*)", re.I | re.S)
_SQL_DELETE = re.compile(r"DELETE\s+(?:FROM\s+)?(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_UPDATE = re.compile(r"UPDATE\s+(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_ALTER = re.compile(r"ALTER\s+(\w+)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_DROP_COLUMN = re.compile(
    r"\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\b|INDEX\b|PRIMARY\b|FOREIGN\b|IDENTITY\b|EXPRESSION\b|"
    r"PARTITION\b|KEY\b|CHECK\b)(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w\"`]+)", re.I)
_SQL_WHERE = re.compile(r"\bWHERE\b(.*)", re.I | re.S)
_SQL_TAUTOLOGY = re.compile(r"^\s*(?:1\s*=\s*1|true|1|'1'\s*=\s*'1'|''\s*=\s*'')\s*$", re.I)
_SQL_TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|TABLE)\s+([\w.\"`\[\]]+)", re.I)
_SQL_READS = frozenset({"SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE", "PRAGMA"})
_SQL_NEUTRAL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SET", "RESET", "START", "END", "USE", "SAVEPOINT",
                          "RELEASE", "DISCARD", "ABORT"})
_SQL_IRREVERSIBLE_DROPS = frozenset({"TABLE", "DATABASE", "SCHEMA", "COLLECTION", "KEYSPACE", "FOREIGN TABLE",
                                     "OWNED BY", "TABLESPACE"})


@dataclass(frozen=True, slots=True)
class _Sql:
    """One statement: ``effect`` is destroys / changes / queries / describes / none."""

    effect: str
    operation: str
    targets: tuple[str, ...] = ()
    reversibility: Reversibility = REVERSIBLE


def _sql_statements(text: str) -> list[str]:
    text = _SQL_COMMENT.sub(" ", text)
    return [statement.strip() for statement in _SQL_STATEMENT.findall(text) if statement.strip()]


def _sql_names(text: str) -> tuple[str, ...]:
    names = []
    for piece in text.split(","):
        words = piece.split()
        if words:
            names.append(words[0].strip("\"`[]();"))
    return tuple(name for name in names if name)


def _sql_statement(statement: str) -> _Sql:
    if statement.startswith("\\"):
        meta = statement.split()
        return _Sql("describes", f"psql {meta[0]}", tuple(meta[1:2]))
    blanked = _SQL_LITERAL.sub("''", statement)
    head = blanked.split(None, 1)[0].upper().strip("(")
    handler = _SQL_BY_KEYWORD.get(head)
    if handler is not None:
        return handler(blanked)
    if head in _SQL_READS:
        return _sql_read(blanked, head)
    if head in _SQL_NEUTRAL:
        return _Sql("none", head)
    return _Sql("changes", head, _unique(_SQL_TABLES.findall(blanked))[:1])


_SQL_WRITES = re.compile(r"\b(DELETE|UPDATE|INSERT|MERGE)\b", re.I)


def _sql_read(statement: str, head: str) -> _Sql:
    write = _SQL_WRITES.search(statement) if head == "WITH" else None
    if write is not None:
        return _Sql("changes", f"WITH ... {write.group(1).upper()}")
    tables = tuple(name.strip("\"`[]") for name in _SQL_TABLES.findall(statement))
    return _Sql("queries", head, _unique(tables))


def _sql_drop(statement: str) -> _Sql:
    match = _SQL_DROP.match(statement)
    if match is None:
        return _Sql("destroys", "DROP", (), RECOVERABLE)
    kind = " ".join(match.group(1).upper().split())
    names = tuple(name for name in _sql_names(match.group(2)) if name.upper() not in ("CASCADE", "RESTRICT"))
    reversibility = IRREVERSIBLE if kind in _SQL_IRREVERSIBLE_DROPS else RECOVERABLE
    return _Sql("destroys", f"DROP {kind}", names, reversibility)


_SQL_TRUNCATE_OPTIONS = re.compile(r"\b(?:RESTART|CONTINUE|CASCADE|RESTRICT)\b", re.I)


def _sql_truncate(statement: str) -> _Sql:
    match = _SQL_TRUNCATE.match(statement)
    listed = _SQL_TRUNCATE_OPTIONS.split(match.group(1))[0] if match else ""
    names = _sql_names(listed)
    return _Sql("destroys", "TRUNCATE", names, IRREVERSIBLE)


def _sql_delete(statement: str) -> _Sql:
    return _sql_filtered(statement, _SQL_DELETE, "DELETE")


def _sql_update(statement: str) -> _Sql:
    return _sql_filtered(statement, _SQL_UPDATE, "UPDATE")


def _sql_filtered(statement: str, pattern: re.Pattern[str], verb: str) -> _Sql:
    """DELETE/UPDATE hit every row unless a real WHERE narrows them (``WHERE 1=1`` does not)."""
    match = pattern.match(statement)
    if match is None:
        return _Sql("changes", verb)
    table = match.group(1).strip("\"`[]")
    where = _SQL_WHERE.search(match.group(2))
    condition = re.split(r"\b(?:RETURNING|ORDER|LIMIT)\b", where.group(1), flags=re.I)[0] if where else ""
    if where is None or _SQL_TAUTOLOGY.match(condition):
        return _Sql("destroys", f"{verb} without WHERE", (table,), IRREVERSIBLE)
    return _Sql("changes", verb, (table,))


def _sql_alter(statement: str) -> _Sql:
    match = _SQL_ALTER.match(statement)
    if match is None:
        return _Sql("changes", "ALTER")
    kind, name = match.group(1).upper(), match.group(2).strip("\"`[]")
    column = _SQL_DROP_COLUMN.search(match.group(3)) if kind == "TABLE" else None
    if column is not None:
        dropped = column.group(1).strip("`\"")
        return _Sql("destroys", "ALTER TABLE DROP COLUMN", (name, f"{name}.{dropped}"), IRREVERSIBLE)
    return _Sql("changes", f"ALTER {kind}", (name,))


_SQL_BY_KEYWORD: dict[str, Callable[[str], _Sql]] = {
    "DROP": _sql_drop, "TRUNCATE": _sql_truncate, "DELETE": _sql_delete, "UPDATE": _sql_update,
    "ALTER": _sql_alter,
}
_SQL_EFFECT_RANK = {"destroys": 4, "changes": 3, "queries": 2, "describes": 1, "none": 0}


def _sql_verdict(argv: Sequence[str], sql: str, via: str, hints: Iterable[str] = ()) -> _Verdict:
    """The verdict of the worst statement of ``sql``, run by ``via`` (psql, mysql, a tool)."""
    statements = [_sql_statement(statement) for statement in _sql_statements(sql[:100_000])]
    if not statements:
        return _changes(argv, DATABASE, via, hints=hints)
    worst = max(statements, key=lambda sql: (_SQL_EFFECT_RANK[sql.effect], _SEVERITY[sql.reversibility]))
    same = [sql for sql in statements if sql.effect == worst.effect]
    targets = _unique(target for sql in same for target in sql.targets)
    if worst.effect == "destroys":
        phrase = f"{_verb(worst.operation)} {_names(targets)} ({worst.operation} via {via})"
        return _destroys(argv, DATABASE, worst.operation, targets, worst.reversibility, phrase, hints=hints)
    if worst.effect == "changes":
        return _changes(argv, DATABASE, worst.operation, targets, f"runs {worst.operation} via {via}",
                        hints=hints)
    if worst.effect in ("queries", "describes"):
        kind = QUERY if worst.effect == "queries" else DESCRIBE
        return _inspects(argv, DATABASE, kind, worst.operation, targets,
                         f"queries {_names(targets) or 'the database'} ({worst.operation} via {via})",
                         hints=hints)
    return _neutral(argv, worst.operation, family=DATABASE, hints=hints)


def _looks_like_sql(text: str) -> bool:
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    return head in _SQL_BY_KEYWORD or head in _SQL_READS or head in (
        "INSERT", "CREATE", "GRANT", "REVOKE", "MERGE", "COPY", "REPLACE", "UPSERT", "VACUUM")


# ---------------------------------------------------------------------------------------------
# Database clients and tools


def _database_hints(parsed: _Args, *names: str) -> list[str]:
    hints = parsed.values(*names)
    hints.extend(word for word in parsed.positional if any(mark in word for mark in ("://", ".", "_", "-")))
    return hints


_PSQL_VALUES = frozenset({"-c", "--command", "-f", "--file", "-h", "--host", "-d", "--dbname", "-U",
                          "--username", "-p", "--port", "-v", "--set", "--variable", "-o", "--output", "-L",
                          "--log-file", "-P", "--pset", "-F", "-R", "-T"})


def _psql(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=_PSQL_VALUES)
    hints = _database_hints(parsed, "-h", "--host", "-d", "--dbname") + _url_hosts(parsed.positional)
    sql = ";".join(parsed.values("-c", "--command")) or command.stdin or ""
    if sql:
        return _sql_verdict(command.argv, sql, "psql", hints)
    scripts = parsed.values("-f", "--file")
    return _changes(command.argv, DATABASE, "psql -f" if scripts else "psql", scripts, hints=hints)


_MYSQL_VALUES = frozenset({"-e", "--execute", "-h", "--host", "-D", "--database", "-u", "--user", "-P",
                           "--port", "-S", "--socket"})


def _mysql(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=_MYSQL_VALUES)
    hints = _database_hints(parsed, "-h", "--host", "-D", "--database")
    sql = ";".join(parsed.values("-e", "--execute")) or command.stdin or ""
    return _sql_verdict(command.argv, sql, command.program, hints) if sql else _changes(
        command.argv, DATABASE, command.program, hints=hints)


def _sqlite(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-cmd", "-init", "-separator", "-newline",
                                                        "-nullvalue", "-c"}))
    database = parsed.positional[:1]
    sql = ";".join([*parsed.values("-cmd", "-c"), *parsed.positional[1:]]) or command.stdin or ""
    if sql:
        verdict = _sql_verdict(command.argv, sql, command.program, database)
        return verdict
    return _changes(command.argv, DATABASE, command.program, database)


def _sql_flag_client(*flags: str) -> Callable[[Command], _Verdict]:
    """Clients that take SQL in a flag: clickhouse --query, sqlcmd -Q, snowsql -q, cockroach -e."""
    takes = frozenset({*flags, "-h", "--host", "-d", "--database", "-S", "--server"})

    def handler(command: Command) -> _Verdict:
        parsed = _args(command.argv, takes_value=takes)
        hints = _database_hints(parsed, "-h", "--host", "-d", "--database", "-S", "--server")
        sql = ";".join(parsed.values(*flags)) or command.stdin or ""
        return _sql_verdict(command.argv, sql, command.program, hints) if sql else _changes(
            command.argv, DATABASE, command.program, hints=hints)

    return handler


def _bq(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"--project_id", "--location", "--format"}))
    words = parsed.positional
    subcommand = words[0] if words else ""
    if subcommand == "query":
        sql = " ".join(words[1:]) or command.stdin or ""
        return _sql_verdict(command.argv, sql, "bq", parsed.values("--project_id"))
    if subcommand == "rm":
        return _destroys(command.argv, DATABASE, "bq rm", words[1:], IRREVERSIBLE, hints=words[1:])
    if subcommand in ("ls", "show", "head"):
        return _inspects(command.argv, DATABASE, DESCRIBE, f"bq {subcommand}", words[1:])
    return _changes(command.argv, DATABASE, f"bq {subcommand}".strip(), words[1:2])


_MONGO_DESTROY = re.compile(r"\.dropDatabase\s*\(|\.drop\s*\(\s*\)|\.dropCollection\s*\("
                            r"|\.(?:deleteMany|remove)\s*\(\s*\{\s*\}\s*\)")
_MONGO_CHANGE = re.compile(r"\.(?:insert|update|delete|remove|replace|create|drop|rename)\w*\s*\(")


def _mongo(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"--eval", "--host", "-u", "--username", "--file",
                                                        "-f"}))
    script = " ".join(parsed.values("--eval")) or command.stdin or ""
    hints = parsed.values("--host") + _url_hosts(parsed.positional) + parsed.positional
    destroying = _MONGO_DESTROY.search(script)
    if destroying is not None:
        names = re.findall(r"db\.(\w+)\.(?:drop|deleteMany|remove)", script) or parsed.positional[:1]
        operation = "mongo " + destroying.group().strip(". ({})")
        return _destroys(command.argv, DATABASE, operation, names or ["database"], IRREVERSIBLE, hints=hints)
    if _MONGO_CHANGE.search(script) or not script:
        return _changes(command.argv, DATABASE, command.program, hints=hints)
    collections = re.findall(r"db\.(\w+)\.", script)
    return _inspects(command.argv, DATABASE, QUERY, command.program, collections, hints=hints)


_REDIS_VALUES = frozenset({"-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s", "--tls", "-c"})
_REDIS_READS = frozenset({"GET", "KEYS", "SCAN", "INFO", "TTL", "PTTL", "TYPE", "EXISTS", "HGETALL", "HGET",
                          "LRANGE", "SMEMBERS", "PING", "DBSIZE", "MONITOR", "MGET", "STRLEN", "LLEN",
                          "SCARD", "ZRANGE", "CONFIG", "CLIENT", "MEMORY", "SLOWLOG", "XRANGE"})


def _redis(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=_REDIS_VALUES)
    hints = parsed.values("-h", "-u") + _url_hosts(parsed.values("-u"))
    words = parsed.positional
    verb = words[0].upper() if words else ""
    if verb in ("FLUSHALL", "FLUSHDB"):
        database = parsed.get("-n") or ("all databases" if verb == "FLUSHALL" else "db 0")
        return _destroys(command.argv, DATABASE, verb, [database], IRREVERSIBLE,
                         f"deletes every key of {database} (redis {verb})", hints=hints)
    scanning = parsed.has("--scan", "--bigkeys", "--stat", "--latency")
    if verb in _REDIS_READS or scanning or (not verb and command.piped):
        return _inspects(command.argv, DATABASE, QUERY, f"redis {verb}".strip(), words[1:2], hints=hints)
    return _changes(command.argv, DATABASE, f"redis {verb}".strip(), words[1:2], hints=hints)


def _dropdb(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-h", "--host", "-p", "--port", "-U", "--username",
                                                        "--maintenance-db"}))
    names = parsed.positional[-1:]
    reversibility = IRREVERSIBLE if command.program == "dropdb" else RECOVERABLE  # dropuser: roles re-create
    return _destroys(command.argv, DATABASE, command.program, names, reversibility,
                     hints=[*names, *parsed.values("-h", "--host")])


def _pg_restore(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-d", "--dbname", "-h", "--host", "-U", "-p", "-j",
                                                        "-f"}))
    database = parsed.values("-d", "--dbname")
    if "c" in parsed.letters() or parsed.has("--clean"):
        return _destroys(command.argv, DATABASE, "pg_restore --clean", database, RECOVERABLE,
                         f"drops and restores objects of {_names(database)} (pg_restore --clean)",
                         hints=[*database, *parsed.values("-h", "--host")])
    return _changes(command.argv, DATABASE, "pg_restore", database, hints=database)


def _prisma(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"--schema", "--name", "-n"}))
    words = " ".join(parsed.positional[:2])
    if words == "migrate reset":
        return _destroys(command.argv, DATABASE, "prisma migrate reset", ["database"], IRREVERSIBLE,
                         "drops and recreates the database (prisma migrate reset)")
    if words == "db push" and parsed.has("--force-reset", "--accept-data-loss"):
        flag = "--force-reset" if parsed.has("--force-reset") else "--accept-data-loss"
        return _destroys(command.argv, DATABASE, f"prisma db push {flag}", ["database"], IRREVERSIBLE,
                         f"pushes the schema, dropping data (prisma db push {flag})")
    if words == "migrate status":
        return _inspects(command.argv, DATABASE, STATUS, "prisma migrate status", ["migrations"])
    if words == "migrate diff":
        return _inspects(command.argv, DATABASE, PLAN, "prisma migrate diff", ["schema"])
    if parsed.positional[:1] in (["validate"], ["format"], ["version"], ["studio"]):
        return _neutral(command.argv, f"prisma {words}", family=DATABASE)
    return _changes(command.argv, DATABASE, f"prisma {words}".strip())


_RAILS_DESTROY = frozenset({"db:drop", "db:drop:all", "db:reset", "db:schema:load", "db:structure:load",
                            "db:migrate:reset", "db:purge", "db:purge:all", "db:truncate_all",
                            "db:seed:replant", "db:test:purge"})


def _rails(command: Command) -> _Verdict:
    tasks = [word for word in command.argv[1:] if not word.startswith("-") and "=" not in word]
    settings = [value for name, _, value in (word.partition("=") for word in command.argv[1:])
                if value and _ENV_VARIABLE.search(name)]
    destroying = [task for task in tasks if task in _RAILS_DESTROY]
    if destroying:
        operation = f"{command.program} {destroying[0]}"
        return _destroys(command.argv, DATABASE, operation, ["database"], IRREVERSIBLE,
                         f"drops or reloads the database ({operation})", hints=settings)
    if any(task in ("db:migrate:status", "db:version", "about", "routes") for task in tasks):
        return _inspects(command.argv, DATABASE, STATUS, f"{command.program} {tasks[0]}", ["database"],
                         hints=settings)
    return _changes(command.argv, DATABASE, " ".join([command.program, *tasks[:1]]), hints=settings)


def _python(command: Command) -> _Verdict:
    """Only Django's ``manage.py flush`` / ``reset_db`` matter here; other scripts just run."""
    argv = command.argv
    manage = next((index for index, word in enumerate(argv) if word.endswith("manage.py")), None)
    if command.program == "django-admin":
        manage = 0
    if manage is not None and manage + 1 < len(argv) and argv[manage + 1] in ("flush", "reset_db"):
        operation = f"manage.py {argv[manage + 1]}"
        return _destroys(argv, DATABASE, operation, ["database"], IRREVERSIBLE,
                         f"deletes all data in the database ({operation})")
    script = next((word for word in argv[1:] if not word.startswith("-")), "")
    return _changes(argv, None, f"{command.program} {script}".strip())


def _supabase(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"--project-ref", "--db-url", "-p", "--password",
                                                        "--workdir", "--schema", "-s"}))
    words = parsed.positional
    path = " ".join(words[:2])
    fallback = "linked project" if parsed.has("--linked") else "local database"
    target = parsed.get("--db-url", "--project-ref") or fallback
    hints = [target, *words[2:]]
    if path == "db reset":
        return _destroys(command.argv, DATABASE, "supabase db reset", [target], IRREVERSIBLE,
                         f"drops and recreates {target} (supabase db reset)", hints=hints)
    destroying = {"projects delete": IRREVERSIBLE, "branches delete": IRREVERSIBLE,
                  "storage rm": IRREVERSIBLE, "functions delete": RECOVERABLE, "secrets unset": RECOVERABLE}
    if path in destroying:
        return _destroys(command.argv, PLATFORM, f"supabase {path}", words[2:], destroying[path], hints=hints)
    reads = {"status": CONTEXT, "projects list": DESCRIBE, "db dump": DESCRIBE, "db diff": PLAN,
             "migration list": STATUS, "db lint": STATUS, "functions list": DESCRIBE,
             "branches list": DESCRIBE}
    kind = reads.get(path) or reads.get(words[0] if words else "")
    if kind is not None:
        return _inspects(command.argv, DATABASE, kind, f"supabase {path}", [target], hints=hints)
    return _changes(command.argv, PLATFORM, f"supabase {path}".strip(), hints=hints)


# ---------------------------------------------------------------------------------------------
# Infrastructure as code


def _terraform(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-var", "-var-file", "-target", "-out", "-state",
                                                "-lock-timeout", "-parallelism", "-replace", "-chdir"}))
    words = parsed.positional
    subcommand = words[0] if words else ""
    tool = command.program
    hints = argv[1:]
    targets = parsed.values("-target") or parsed.values("-chdir") or ["."]
    if subcommand == "destroy" or (subcommand == "apply" and parsed.has("-destroy", "--destroy")):
        operation = f"{tool} destroy" if subcommand == "destroy" else f"{tool} apply -destroy"
        return _destroys(argv, IAC, operation, targets, IRREVERSIBLE,
                         f"destroys the infrastructure of {_names(targets)} ({operation})", hints=hints)
    if subcommand == "apply":
        if parsed.has("-auto-approve", "--auto-approve") and len(words) < 2:
            return _destroys(argv, IAC, f"{tool} apply -auto-approve", targets, RECOVERABLE,
                             f"applies unreviewed changes to {_names(targets)}, which may destroy resources "
                             f"({tool} apply -auto-approve)", hints=hints)
        return _changes(argv, IAC, f"{tool} apply", targets, hints=hints)
    if subcommand == "plan":
        operation = f"{tool} plan -destroy" if parsed.has("-destroy") else f"{tool} plan"
        return _inspects(argv, IAC, PLAN, operation, targets, hints=hints)
    return _terraform_other(command, words, hints)


def _terraform_other(command: Command, words: Sequence[str], hints: Sequence[str]) -> _Verdict:
    argv, tool = command.argv, command.program
    path = " ".join(words[:2])
    if path in ("state rm", "workspace delete"):
        return _destroys(argv, IAC, f"{tool} {path}", words[2:], RECOVERABLE, hints=hints)
    if path in ("state list", "state show", "state pull") or words[:1] in (
            ["show"], ["output"], ["validate"], ["providers"], ["graph"], ["version"], ["console"]):
        return _inspects(argv, IAC, DESCRIBE, f"{tool} {path}".strip(), words[2:] or ["state"], hints=hints)
    if path in ("workspace list", "workspace show"):
        return _inspects(argv, IAC, CONTEXT, f"{tool} {path}", ["workspace"], hints=hints)
    return _changes(argv, IAC, f"{tool} {path}".strip(), words[2:], hints=hints)


def _pulumi(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-s", "--stack", "--target", "-t", "-C", "--cwd", "-m",
                                                "--message"}))
    words = parsed.positional
    stack = parsed.values("-s", "--stack")
    targets = parsed.values("--target", "-t") or stack or ["stack"]
    hints = [*stack, *argv[1:]]
    path = " ".join(words[:2])
    if words[:1] == ["destroy"] or path in ("stack rm", "stack remove"):
        operation = "pulumi destroy" if words[:1] == ["destroy"] else "pulumi stack rm"
        return _destroys(argv, IAC, operation, targets, IRREVERSIBLE, hints=hints)
    if words[:1] == ["preview"]:
        return _inspects(argv, IAC, PLAN, "pulumi preview", targets, hints=hints)
    if words[:1] in (["whoami"], ["about"]) or path in ("stack ls", "stack select"):
        return _inspects(argv, IAC, CONTEXT, f"pulumi {path}", targets, hints=hints)
    if path in ("stack output", "stack history", "config get") or words[:1] in (["logs"],):
        return _inspects(argv, IAC, DESCRIBE, f"pulumi {path}", targets, hints=hints)
    return _changes(argv, IAC, f"pulumi {path}".strip(), targets, hints=hints)


def _cdk(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-c", "--context", "--profile", "-a", "--app"}))
    words = parsed.positional
    stacks = words[1:] or ["all stacks"]
    tool = command.program
    if words[:1] in (["destroy"], ["remove"]):
        return _destroys(argv, IAC, f"{tool} {words[0]}", stacks, IRREVERSIBLE, hints=argv[1:])
    if words[:1] in (["diff"], ["synth"], ["synthesize"], ["plan"], ["package"]):
        return _inspects(argv, IAC, PLAN, f"{tool} {words[0]}", stacks, hints=argv[1:])
    if words[:1] in (["list"], ["ls"], ["info"], ["print"], ["doctor"]):
        return _inspects(argv, IAC, DESCRIBE, f"{tool} {words[0]}", stacks, hints=argv[1:])
    return _changes(argv, IAC, f"{tool} {words[0] if words else ''}".strip(), stacks, hints=argv[1:])


# ---------------------------------------------------------------------------------------------
# Kubernetes

_KUBECTL_VALUES = frozenset({"-n", "--namespace", "--context", "--cluster", "--kubeconfig", "--user", "-l",
                             "--selector", "-o", "--output", "-f", "--filename", "-c", "--container",
                             "--grace-period", "--timeout", "--field-selector", "--replicas", "--type",
                             "--for", "-p", "--patch", "--template", "-L", "--sort-by", "--since", "--tail",
                             "--image", "--as", "-k", "--kustomize", "--server", "-s", "--token",
                             "--request-timeout"})
_KUBE_DATA_KINDS = frozenset({"pvc", "pv", "persistentvolumeclaim", "persistentvolumeclaims",
                              "persistentvolume", "persistentvolumes", "ns", "namespace", "namespaces",
                              "secret", "secrets", "crd", "crds", "customresourcedefinition",
                              "customresourcedefinitions", "statefulset", "statefulsets", "sts"})
_KUBE_DESCRIBE = frozenset({"get", "describe", "logs", "top", "explain", "api-resources", "api-versions",
                            "version", "cluster-info", "events", "auth", "wait"})


def _kube_hints(parsed: _Args) -> list[str]:
    return parsed.values("--context", "-n", "--namespace", "--cluster", "--kube-context")


def _kube_targets(parsed: _Args, words: Sequence[str]) -> list[str]:
    """``delete pod web-1 web-2`` → pod/web-1, pod/web-2; ``-f x.yaml`` → x.yaml; ``--all`` → pod/*."""
    files = parsed.values("-f", "--filename", "-k", "--kustomize")
    if not words:
        return files
    if "/" in words[0]:
        return [*files, *words]
    kind, names = words[0], words[1:]
    if parsed.has("--all") and not names:
        names = ["*"]
    selector = parsed.get("-l", "--selector")
    if selector and not names:
        names = [f"[{selector}]"]
    return [*files, *(f"{kind}/{name}" for name in names)] or [*files, kind]


def _kubectl(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=_KUBECTL_VALUES)
    words = parsed.positional
    subcommand = words[0] if words else ""
    targets = _kube_targets(parsed, words[1:])
    hints = [*_kube_hints(parsed), *targets]
    tool = command.program
    if subcommand == "delete":
        kinds = {target.split("/", 1)[0].lower() for target in targets}
        reversibility = IRREVERSIBLE if kinds & _KUBE_DATA_KINDS else RECOVERABLE
        kind = words[1].split("/", 1)[0] if len(words) > 1 else "resources"
        return _destroys(argv, KUBERNETES, f"{tool} delete {kind}", targets, reversibility, hints=hints)
    if subcommand == "drain":
        lossy = parsed.has("--delete-emptydir-data", "--delete-local-data")
        return _destroys(argv, KUBERNETES, f"{tool} drain", [f"node/{name}" for name in words[1:]],
                         IRREVERSIBLE if lossy else RECOVERABLE, hints=hints)
    pruning = subcommand == "apply" and parsed.has("--prune")
    if pruning or (subcommand == "replace" and parsed.has("--force")):
        operation = f"{tool} {subcommand} {'--prune' if pruning else '--force'}"
        return _destroys(argv, KUBERNETES, operation, targets, RECOVERABLE, hints=hints)
    if subcommand == "config":
        return _kubectl_config(argv, words[1:], hints)
    if subcommand in _KUBE_DESCRIBE:
        return _inspects(argv, KUBERNETES, DESCRIBE, f"{tool} {subcommand}", targets, hints=hints)
    if subcommand == "diff":
        return _inspects(argv, KUBERNETES, PLAN, f"{tool} diff", targets, hints=hints)
    if subcommand in ("port-forward", "proxy", "attach", "completion", "options", "plugin"):
        return _neutral(argv, f"{tool} {subcommand}", family=KUBERNETES, hints=hints)
    return _changes(argv, KUBERNETES, f"{tool} {subcommand}".strip(), targets, hints=hints)


def _kubectl_config(argv: Sequence[str], words: Sequence[str], hints: Sequence[str]) -> _Verdict:
    action = words[0] if words else "view"
    if action in ("current-context", "get-contexts", "view", "get-clusters", "get-users"):
        return _inspects(argv, KUBERNETES, CONTEXT, f"kubectl config {action}", hints,
                         f"checks the Kubernetes context (kubectl config {action})", hints=hints)
    return _changes(argv, KUBERNETES, f"kubectl config {action}", words[1:], hints=[*hints, *words[1:]])


_HELM_VALUES = frozenset({"-n", "--namespace", "--kube-context", "--kubeconfig", "-f", "--values", "--set",
                          "--set-string", "--version", "--timeout", "-o", "--output", "--repo", "--revision"})


def _helm(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=_HELM_VALUES)
    words = parsed.positional
    subcommand = words[0] if words else ""
    releases = words[1:]
    hints = [*parsed.values("-n", "--namespace", "--kube-context"), *releases]
    if subcommand in ("uninstall", "delete", "del", "un"):
        return _destroys(argv, KUBERNETES, "helm uninstall", releases, RECOVERABLE,
                         f"uninstalls helm releases {_names(releases)} (helm uninstall)", hints=hints)
    if subcommand in ("list", "ls", "status", "get", "history", "hist", "show", "search", "env", "version"):
        return _inspects(argv, KUBERNETES, DESCRIBE, f"helm {subcommand}", releases[:1] or ["releases"],
                         hints=hints)
    if subcommand in ("template", "lint", "diff"):
        return _inspects(argv, KUBERNETES, PLAN, f"helm {subcommand}", releases[:1], hints=hints)
    return _changes(argv, KUBERNETES, f"helm {subcommand}".strip(), releases[:1], hints=hints)


# ---------------------------------------------------------------------------------------------
# Cloud CLIs

_AWS_BOOLEANS = frozenset({
    "--skip-final-snapshot", "--no-skip-final-snapshot", "--delete-automated-backups",
    "--no-delete-automated-backups", "--force", "--recursive", "--dryrun", "--dry-run", "--no-dry-run",
    "--quiet", "--force-delete-without-recovery", "--no-cli-pager", "--debug", "--no-paginate",
    "--no-verify-ssl", "--no-sign-request", "--delete", "--exact-timestamps", "--only-show-errors",
    "--human-readable", "--summarize", "--include-deleted", "--all", "--no-include-email"})
_AWS_TARGET_SUFFIXES = frozenset({"id", "ids", "identifier", "name", "names", "arn", "arns", "bucket", "key",
                                  "cluster", "table", "stack", "function", "instance", "instances", "volume",
                                  "snapshot", "group", "queue", "topic", "repository", "domain",
                                  "distribution", "zone", "user", "role", "policy", "secret", "url",
                                  "service", "resource"})
_AWS_NOT_TARGETS = frozenset({"--profile", "--region", "--output", "--query", "--endpoint-url", "--color",
                              "--cli-input-json", "--cli-input-yaml", "--filters", "--ca-bundle"})


def _aws(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, booleans=_AWS_BOOLEANS)
    words = parsed.positional
    service, action = [*words, "", ""][:2]
    operation = f"{service}.{action}"
    targets = [*words[2:], *_flag_targets(parsed, _AWS_TARGET_SUFFIXES, _AWS_NOT_TARGETS)]
    profile = parsed.get("--profile")
    hints = [*targets, *([profile] if profile else []), *_url_hosts(parsed.values("--endpoint-url"))]
    credentials = [f"profile:{profile}"] if profile else []
    verdict = _aws_verdict(argv, parsed, service, action, operation, targets, hints)
    return replace(verdict, credentials=verdict.credentials + tuple(credentials))


def _aws_verdict(argv: Sequence[str], parsed: _Args, service: str, action: str, operation: str,
                 targets: list[str], hints: list[str]) -> _Verdict:
    if service == "s3" and (action in ("rm", "rb") or (action == "sync" and parsed.has("--delete"))):
        force = ["--recursive"] if parsed.has("--recursive") else []
        what = "bucket " if action == "rb" else ""
        phrase = f"{'removes' if action == 'rb' else 'deletes'} {what}{_names(targets)} ({operation})"
        return _destroys(argv, CLOUD, operation, targets, IRREVERSIBLE, phrase, force=force, hints=hints)
    if action.startswith(("delete-", "terminate-", "purge-", "remove-", "deregister-")):
        gone = action.startswith(("delete-", "terminate-", "purge-"))
        reversibility = IRREVERSIBLE if gone else RECOVERABLE  # remove-/deregister- unlink, keep the data
        if action in ("delete-db-instance", "delete-db-cluster"):  # a final snapshot is kept unless skipped
            lossy = parsed.has("--skip-final-snapshot", "--delete-automated-backups")
            reversibility = IRREVERSIBLE if lossy else RECOVERABLE
        return _destroys(argv, CLOUD, operation, targets, reversibility,
                         f"{_verb(action)} {_names(targets)} ({operation})", hints=hints)
    if operation in ("sts.get-caller-identity", "configure.list", "configure.get"):
        return _inspects(argv, CLOUD, CONTEXT, operation, targets, f"checks the AWS identity ({operation})",
                         hints=hints)
    if service == "s3" and action == "ls":
        return _inspects(argv, CLOUD, LISTING, operation, targets or ["buckets"], hints=hints)
    if action.startswith(("describe-", "list-", "get-", "head-", "lookup-", "search-")) or action in (
            "scan", "query"):
        kind = QUERY if action in ("scan", "query") else DESCRIBE
        return _inspects(argv, CLOUD, kind, operation, targets or [service], hints=hints)
    return _changes(argv, CLOUD, operation, targets, hints=hints)


def _flag_targets(parsed: _Args, suffixes: frozenset[str], excluded: frozenset[str]) -> list[str]:
    """Values of resource flags: ``--db-instance-identifier prod-db``, ``--instance-ids i-1``."""
    targets: list[str] = []
    for name, values in parsed.options.items():
        if name in excluded or not name.startswith("--"):
            continue
        if name.rsplit("-", 1)[-1] in suffixes:
            targets.extend(value for value in values if value and len(value) < 300)
    return targets


_GCLOUD_BOOLEANS = frozenset({"-q", "--quiet", "--async", "-r", "--recursive", "--all", "--force",
                              "--no-user-output-enabled", "--delete-disks=all", "--keep-disks=all",
                              "--no-backup", "--verbosity=debug", "--log-http", "--dry-run"})
_GCLOUD_VERBS = frozenset({"delete", "describe", "list", "create", "update", "get", "set", "add", "rm", "ls",
                           "cat", "cp", "mv", "reset", "start", "stop", "deploy", "ssh", "resize", "patch",
                           "import", "export", "restore", "clone", "enable", "disable", "undelete",
                           "get-value", "get-iam-policy", "set-iam-policy", "get-credentials",
                           "print-access-token", "rb", "mb", "rsync", "remove-iam-policy-binding",
                           "add-iam-policy-binding"})
_GCLOUD_CONTEXT = frozenset({"config.list", "config.get-value", "auth.list", "info", "config.get",
                             "config.configurations.list"})


def _gcloud(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, booleans=_GCLOUD_BOOLEANS)
    words = [word for word in parsed.positional if word not in ("alpha", "beta")]
    verb_at = next((index for index, word in enumerate(words) if word in _GCLOUD_VERBS), len(words) - 1)
    path, targets = words[:verb_at + 1], words[verb_at + 1:]
    operation = ".".join(path)
    verb = path[-1] if path else ""
    project = parsed.values("--project", "--configuration")
    hints = [*targets, *project]
    targets = targets or project
    if verb in ("delete", "rm", "rb"):
        return _destroys(argv, CLOUD, operation, targets, IRREVERSIBLE,
                         f"deletes {_names(targets)} (gcloud {' '.join(path)})", hints=hints)
    if operation in _GCLOUD_CONTEXT:
        return _inspects(argv, CLOUD, CONTEXT, operation, targets, f"checks the gcloud context ({operation})",
                         hints=hints)
    if verb in ("describe", "list", "get", "ls", "cat", "get-value", "get-iam-policy"):
        kind = LISTING if verb == "ls" else READ if verb == "cat" else DESCRIBE
        return _inspects(argv, CLOUD, kind, operation, targets or path[:-1], hints=hints)
    return _changes(argv, CLOUD, operation, targets, hints=hints)


def _gsutil(command: Command) -> _Verdict:
    parsed = _args(command.argv, takes_value=frozenset({"-o", "-h", "-p"}))
    words = parsed.positional
    action = words[0] if words else ""
    urls = words[1:]
    if action in ("rm", "rb") or (action == "rsync" and "d" in parsed.letters()):
        return _destroys(command.argv, CLOUD, f"gsutil {action}", urls, IRREVERSIBLE, hints=urls)
    if action in ("ls", "du", "stat"):
        return _inspects(command.argv, CLOUD, LISTING, f"gsutil {action}", urls or ["buckets"], hints=urls)
    if action == "cat":
        return _inspects(command.argv, CLOUD, READ, "gsutil cat", urls, hints=urls)
    return _changes(command.argv, CLOUD, f"gsutil {action}".strip(), urls[-1:], hints=urls)


def _az(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, booleans=frozenset({"--yes", "-y", "--no-wait", "--force", "--debug", "--verbose",
                                             "--only-show-errors", "--all", "--force-string"}))
    path = parsed.positional
    operation = ".".join(path)
    verb = path[-1] if path else ""
    targets = parsed.values("-n", "--name", "-g", "--resource-group", "--ids")
    hints = [*targets, *parsed.values("--subscription")]
    if verb in ("delete", "purge"):
        return _destroys(argv, CLOUD, operation, targets, IRREVERSIBLE,
                         f"deletes {_names(targets)} (az {' '.join(path)})", hints=hints)
    if operation in ("account.show", "account.list"):
        return _inspects(argv, CLOUD, CONTEXT, operation, targets, f"checks the Azure account ({operation})",
                         hints=hints)
    if verb in ("show", "list", "get"):
        return _inspects(argv, CLOUD, DESCRIBE, operation, targets or path[:-1], hints=hints)
    return _changes(argv, CLOUD, operation, targets, hints=hints)


# ---------------------------------------------------------------------------------------------
# HTTP and GraphQL

_URL_HOST = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^@/\s'\"]*@)?([^/:?#\s'\"\[\]]+)")
_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-", "NUL", "nul", "$null",
                    "/dev/fd/1", "/dev/fd/2"})
_CURL_SHORT_VALUES = frozenset("XHdoFuAebcwmTxKrEY:")
_CURL_LONG_VALUES = frozenset({
    "--request", "--header", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
    "--json", "--form", "--form-string", "--output", "--user", "--user-agent", "--referer", "--cookie",
    "--cookie-jar", "--write-out", "--max-time", "--connect-timeout", "--url", "--upload-file", "--proxy",
    "--config", "--retry", "--cacert", "--cert", "--key", "--range", "--resolve", "--oauth2-bearer",
    "--aws-sigv4", "--variable", "--retry-delay", "--retry-max-time", "--limit-rate", "--interface"})
_CURL_SHORT_NAMES = {"-X": "--request", "-H": "--header", "-d": "--data", "-F": "--form", "-o": "--output",
                     "-u": "--user", "-T": "--upload-file", "-w": "--write-out", "-b": "--cookie"}
_SECRET_HEADER = re.compile(r"(?i)^\s*(authorization|proxy-authorization|[\w-]*(?:token|api-?key|secret)"
                            r"[\w-]*)\s*:")


@dataclass(slots=True)
class _Request:
    method: str = ""
    urls: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    writes_file: bool = False
    head: bool = False
    get: bool = False


def _url_hosts(words: Iterable[str]) -> list[str]:
    return [host for word in words if "://" in word for host in _URL_HOST.findall(word)]


def _curl_request(argv: Sequence[str]) -> _Request:
    request = _Request()
    index = 1
    while index < len(argv):
        word = argv[index]
        name, value, consumed = _curl_option(argv, index)
        if name is None:
            request.urls.append(word)
        else:
            _curl_apply(request, name, value)
        index += consumed
    return request


def _curl_option(argv: Sequence[str], index: int) -> tuple[str | None, str, int]:
    """(long option name, value, words consumed); name None for a URL word."""
    word = argv[index]
    nxt = argv[index + 1] if index + 1 < len(argv) else ""
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        if name in _CURL_LONG_VALUES and not equals:
            return name, nxt, 2
        return name, value, 1
    if word.startswith("-") and len(word) > 1:
        for position, letter in enumerate(word[1:], start=1):
            if letter in _CURL_SHORT_VALUES:
                name = _CURL_SHORT_NAMES.get(f"-{letter}", f"-{letter}")
                attached = word[position + 1:]
                return (name, attached, 1) if attached else (name, nxt, 2)
            if letter in "IGO":
                return {"I": "--head", "G": "--get", "O": "--remote-name"}[letter], "", 1
        return word, "", 1
    return None, "", 1


def _curl_apply(request: _Request, name: str, value: str) -> None:
    if name == "--request":
        request.method = value.upper()
    elif name == "--header":
        request.headers.append(value)
    elif name.startswith("--data") or name in ("--json", "--form", "--form-string"):
        request.data.append(value)
    elif name == "--upload-file":
        request.method = request.method or "PUT"
    elif name == "--url":
        request.urls.append(value)
    elif name == "--output":
        request.writes_file = request.writes_file or value not in _SINKS
    elif name == "--remote-name":
        request.writes_file = True
    elif name == "--head":
        request.head = True
    elif name == "--get":
        request.get = True


def _curl(command: Command) -> _Verdict:
    request = _curl_request(command.argv)
    if request.data and any(data.startswith("@-") for data in request.data) and command.stdin:
        request.data.append(command.stdin)
    implied = "HEAD" if request.head else "GET" if request.get or not request.data else "POST"
    method = request.method or implied
    return _http_verdict(command, request, method, "curl")


def _http_verdict(command: Command, request: _Request, method: str, client: str) -> _Verdict:
    hosts = _url_hosts(request.urls)
    credentials = tuple(f"header:{match.group(1)}" for header in request.headers
                        if (match := _SECRET_HEADER.match(header)) and "$" not in header)  # literal secret
    graphql = _graphql_request(request) if request.data else None
    if graphql is not None:
        verdict = _graphql_verdict(command.argv, graphql, hosts, client)
    elif method == "DELETE":
        verdict = _destroys(command.argv, HTTP, "HTTP DELETE", [*request.urls, *hosts], IRREVERSIBLE,
                            f"deletes {_names(request.urls)} (HTTP DELETE via {client})", hints=hosts)
    elif method in ("GET", "HEAD", "OPTIONS"):
        verdict = _inspects(command.argv, HTTP, QUERY, f"HTTP {method}", request.urls,
                            f"requests {_names(request.urls)} (HTTP {method} via {client})", hints=hosts,
                            mutates=request.writes_file)
    else:
        verdict = _changes(command.argv, HTTP, f"HTTP {method}", request.urls,
                           f"sends HTTP {method} to {_names(request.urls)} via {client}", hints=hosts)
    return replace(verdict, credentials=verdict.credentials + credentials)


def _wget(command: Command) -> _Verdict:
    request = _Request(writes_file=True)
    argv = command.argv
    index = 1
    while index < len(argv):
        word = argv[index]
        name, equals, value = word.partition("=")
        nxt = argv[index + 1] if index + 1 < len(argv) else ""
        if name in ("--method", "--post-data", "--body-data", "--header", "--output-document") and not equals:
            value, index = nxt, index + 1
        if name == "--method":
            request.method = value.upper()
        elif name in ("--post-data", "--body-data", "--post-file"):
            request.data.append(value)
        elif name == "--header":
            request.headers.append(value)
        elif name == "--spider" or (name == "--output-document" and value in _SINKS):
            request.writes_file = False
        elif word.startswith("-") and not word.startswith("--") and "O" in word:
            attached = word.split("O", 1)[1]
            target = attached or nxt
            index += 0 if attached else 1
            request.writes_file = target not in _SINKS
        elif not word.startswith("-"):
            request.urls.append(word)
        index += 1
    method = request.method or ("POST" if request.data else "GET")
    return _http_verdict(command, request, method, "wget")


_HTTPIE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_HTTPIE_ITEM = re.compile(r"^([\w.\[\]-]+)(:=|==|=|:)(.*)$", re.S)


def _httpie(command: Command) -> _Verdict:
    words = [word for word in command.argv[1:] if not word.startswith("-")]
    request = _Request()
    if words and words[0].upper() in _HTTPIE_METHODS and words[0].isupper():
        request.method = words.pop(0)
    if words:
        url = words.pop(0)
        request.urls.append(url if "://" in url else f"http://{url.lstrip(':')}")
    fields: dict[str, object] = {}
    for item in words:
        match = _HTTPIE_ITEM.match(item)
        if match is None:
            continue
        key, separator, value = match.groups()
        if separator == ":":
            request.headers.append(f"{key}: {value}")
        elif separator in ("=", ":="):
            fields[key] = value
    if fields:
        request.data.append(json.dumps(fields))
    method = request.method or ("POST" if fields else "GET")
    return _http_verdict(command, request, method, command.program)


# GraphQL -------------------------------------------------------------------------------------

_GQL_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\]|\\.)*"|\.\.\.|\$?[A-Za-z_]\w*|[{}()\[\]:,!=@]|#[^\n]*|'
                        r'-?\d[\w.+-]*')
_DESTRUCTIVE_VERBS = {"delete": IRREVERSIBLE, "destroy": IRREVERSIBLE, "purge": IRREVERSIBLE,
                      "wipe": IRREVERSIBLE, "drop": IRREVERSIBLE, "truncate": IRREVERSIBLE,
                      "erase": IRREVERSIBLE, "terminate": IRREVERSIBLE, "remove": RECOVERABLE,
                      "reset": RECOVERABLE}
_NOT_DESTRUCTIVE_ENDINGS = frozenset({"cancel", "undo", "preview", "check", "status", "validate", "estimate",
                                      "restore", "recover", "dry", "can"})


@dataclass(frozen=True, slots=True)
class _GraphQL:
    kind: str  # "query" | "mutation" | "subscription"
    fields: tuple[str, ...]
    literals: tuple[str, ...]  # string arguments and referenced variable values


def _destructive_name(name: str) -> Reversibility | None:
    """``volumeDelete``, ``deleteUser``, ``projectScheduleDeleteForce`` are destructive;
    ``projectScheduleDeleteCancel`` is not."""
    words = [word.lower() for word in _words(name)]
    if not words or words[-1] in _NOT_DESTRUCTIVE_ENDINGS:
        return None
    found = [_DESTRUCTIVE_VERBS[word] for word in words if word in _DESTRUCTIVE_VERBS]
    return max(found, key=_SEVERITY.__getitem__) if found else None


@cache
def _railway_operations() -> dict[str, dict[str, list[str]]]:
    """Railway's GraphQL operations (MIT, see data/LICENSE-railway): name → argument names."""
    text = resources.files("analyzer.data").joinpath("railway_operations.json").read_text("utf-8")
    data = json.loads(text)
    return {"mutation": data["mutation"], "query": data["query"]}


_GRAPHQL_START = re.compile(r"\s*(mutation|query)\b\s*[\w({]")


def _graphql_request(request: _Request) -> _GraphQL | None:
    for data in request.data:
        body = _json_object(data)
        document = body.get("query") if body is not None else None
        if isinstance(document, str):
            return _parse_graphql(document, body.get("variables") if body is not None else None)
        if body is None and _GRAPHQL_START.match(data):
            return _parse_graphql(data, None)
    return None


def _json_object(text: str) -> dict[str, object] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _parse_graphql(document: str, variables: object) -> _GraphQL:
    """Operation type, top-level fields and string arguments of the first operation."""
    tokens = [token for token in _GQL_TOKEN.findall(document[:50_000]) if not token.startswith("#")]
    kind = tokens[0] if tokens and tokens[0] in ("query", "mutation", "subscription") else "query"
    index = 0
    while index < len(tokens) and tokens[index] != "{":
        index += _skip_parens(tokens, index) if tokens[index] == "(" else 1
    fields, literals = _selection(tokens, index, variables if isinstance(variables, dict) else {})
    railway = _railway_operations()
    shorthand = tokens[:1] == ["{"]
    if kind == "query" and shorthand and fields and all(name in railway["mutation"] for name in fields):
        kind = "mutation"  # shorthand braces around Railway mutation names: still an attempt to mutate
    return _GraphQL(kind, tuple(fields), tuple(literals))


def _skip_parens(tokens: Sequence[str], index: int) -> int:
    depth, start = 0, index
    while index < len(tokens):
        depth += {"(": 1, ")": -1}.get(tokens[index], 0)
        index += 1
        if depth == 0:
            break
    return index - start


def _selection(tokens: Sequence[str], index: int,
               variables: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """Top-level field names of the selection set opening at ``index``, and every string argument."""
    fields: list[str] = []
    literals: list[str] = []
    depth = parens = 0
    previous = ""
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token in ("{", "}"):
            depth += 1 if token == "{" else -1
            if depth == 0:
                break
        elif token in ("(", ")"):
            parens += 1 if token == "(" else -1
        elif parens and token.startswith('"'):
            literals.append(_graphql_string(token))
        elif parens and token.startswith("$"):
            literals.extend(_variable_strings(variables.get(token[1:])))
        elif (depth == 1 and not parens and (token[:1].isalpha() or token[:1] == "_")
              and following != ":" and previous not in ("...", "on", "@")):
            fields.append(token)  # not an alias (``a: field``), fragment spread or directive
        previous = token
        index += 1
    return fields, literals


def _graphql_string(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3].strip()
    try:
        value = json.loads(token)
    except ValueError:
        return token.strip('"')
    return value if isinstance(value, str) else token.strip('"')


def _variable_strings(value: object, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict) and depth < 3:
        return [text for item in value.values() for text in _variable_strings(item, depth + 1)]
    if isinstance(value, list) and depth < 3:
        return [text for item in value[:20] for text in _variable_strings(item, depth + 1)]
    return []


def _graphql_verdict(argv: Sequence[str], graphql: _GraphQL, hosts: Sequence[str], client: str) -> _Verdict:
    platform = "Railway " if any("railway" in host for host in hosts) else ""
    literals = [literal for literal in graphql.literals if literal and len(literal) < 300]
    if graphql.kind == "mutation":
        damage = [(name, harm) for name in graphql.fields if (harm := _destructive_name(name))]
        if damage:
            name, reversibility = max(damage, key=lambda pair: _SEVERITY[pair[1]])
            noun = " ".join(word.lower() for word in _words(name) if word.lower() not in _DESTRUCTIVE_VERBS)
            phrase = (f"{_verb(name)} {platform}{noun} {_names(literals) or '(no id given)'} "
                      f"(GraphQL {name} via {client})").replace("  ", " ")
            return _destroys(argv, HTTP, name, [*literals, *hosts], reversibility, phrase,
                             hints=[*literals, *hosts])
        name = graphql.fields[0] if graphql.fields else "mutation"
        return _changes(argv, HTTP, name, [*literals, *hosts],
                        f"runs {platform}GraphQL mutation {', '.join(graphql.fields) or name} via {client}",
                        hints=[*literals, *hosts])
    name = graphql.fields[0] if graphql.fields else "query"
    fields = ", ".join(graphql.fields) or "GraphQL"
    phrase = f"queries {platform}{fields} {_names(literals)} (GraphQL query via {client})".replace("  ", " ")
    return _inspects(argv, HTTP, QUERY, name, [*literals, *hosts], phrase, hints=[*literals, *hosts])


# ---------------------------------------------------------------------------------------------
# Platform CLIs: railway, heroku, vercel, fly, netlify, docker, gh, npm

_RAILWAY_VALUES = frozenset({"-e", "--environment", "-s", "--service", "-p", "--project", "-v", "--volume",
                             "-m", "--message", "-n", "--name", "--mount-path", "-d", "--deployment"})


def _railway(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=_RAILWAY_VALUES)
    words = parsed.positional
    services = parsed.values("-s", "--service")
    hints = [*parsed.values("-e", "--environment"), *services, *words[2:]]
    path = " ".join(words[:2])
    subject = parsed.values("-v", "--volume", "-s", "--service") or words[2:]
    destroying = {"volume delete": ("volume", IRREVERSIBLE), "volume rm": ("volume", IRREVERSIBLE),
                  "environment delete": ("environment", IRREVERSIBLE),
                  "env delete": ("environment", IRREVERSIBLE),
                  "service delete": ("service", IRREVERSIBLE), "variables delete": ("variable", RECOVERABLE),
                  "variable delete": ("variable", RECOVERABLE), "domain delete": ("domain", RECOVERABLE)}
    if path in destroying:
        noun, reversibility = destroying[path]
        chosen = _names(subject) or "(chosen interactively)"
        return _destroys(argv, PLATFORM, f"railway {path}", subject, reversibility,
                         f"deletes Railway {noun} {chosen} (railway {path})", hints=hints)
    if words[:1] in (["down"], ["delete"]):
        reversibility = RECOVERABLE if words[0] == "down" else IRREVERSIBLE
        what = "the latest deployment of" if words[0] == "down" else "the project"
        phrase = f"removes {what} {_names(services)} (railway {words[0]})".replace("  ", " ")
        return _destroys(argv, PLATFORM, f"railway {words[0]}", services or ["project"], reversibility,
                         phrase, hints=hints)
    return _railway_other(argv, parsed, words, hints)


def _railway_other(argv: Sequence[str], parsed: _Args, words: Sequence[str],
                   hints: Sequence[str]) -> _Verdict:
    first = words[0] if words else ""
    path = " ".join(words[:2])
    scope = parsed.values("-s", "--service", "-v", "--volume") or ["railway project"]
    if first in ("status", "whoami"):
        return _inspects(argv, PLATFORM, CONTEXT, f"railway {first}", scope, hints=hints)
    if path in ("volume list", "volume ls", "volumes list") or first == "list":
        return _inspects(argv, PLATFORM, LISTING, f"railway {path or first}", scope, hints=hints)
    if first == "logs" or (first in ("variables", "variable", "vars") and not parsed.has("--set", "-s")
                           and len(words) < 2):
        return _inspects(argv, PLATFORM, DESCRIBE, f"railway {first}", scope, hints=hints)
    if first in ("help", "version", "docs", "open", "completion", "--version"):
        return _neutral(argv, f"railway {first}", family=PLATFORM, hints=hints)
    return _changes(argv, PLATFORM, f"railway {path}".strip(), scope, hints=hints)


_HEROKU_DESTROY = {"apps:destroy": IRREVERSIBLE, "apps:delete": IRREVERSIBLE, "destroy": IRREVERSIBLE,
                   "pg:reset": IRREVERSIBLE, "addons:destroy": IRREVERSIBLE, "addons:remove": IRREVERSIBLE,
                   "pg:backups:delete": IRREVERSIBLE, "redis:destroy": IRREVERSIBLE,
                   "config:unset": RECOVERABLE, "domains:remove": RECOVERABLE}


_HEROKU_READ_TOPICS = frozenset({"logs", "ps", "releases", "apps", "addons", "config", "pg", "domains",
                                 "status"})


def _heroku(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-a", "--app", "-r", "--remote", "--confirm", "-c",
                                                "--command"}))
    words = parsed.positional
    topic = words[0] if words else ""
    apps = parsed.values("-a", "--app", "-r", "--remote", "--confirm")
    hints = [*apps, *words[1:]]
    if topic in _HEROKU_DESTROY:
        targets = [*words[1:], *apps] or ["app"]
        return _destroys(argv, PLATFORM, f"heroku {topic}", targets, _HEROKU_DESTROY[topic],
                         force=["--confirm"] if parsed.has("--confirm") else (), hints=hints)
    if topic == "pg:psql" and parsed.values("-c", "--command"):
        return _sql_verdict(argv, ";".join(parsed.values("-c", "--command")), "heroku pg:psql", hints)
    reading_topic = topic.split(":")[0] in _HEROKU_READ_TOPICS
    reading_command = ":" not in topic or topic.endswith((":info", ":list", ":whoami", ":get", ":wait"))
    if topic in ("auth:whoami", "whoami", "apps:info", "info") or (reading_topic and reading_command):
        kind = CONTEXT if "whoami" in topic else DESCRIBE
        return _inspects(argv, PLATFORM, kind, f"heroku {topic}", apps or ["app"], hints=hints)
    return _changes(argv, PLATFORM, f"heroku {topic}".strip(), apps, hints=hints)


def _vercel(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"--scope", "--token", "-t", "--target", "-e", "--env", "-m",
                                                "--meta", "--environment", "--cwd"}))
    words = parsed.positional
    first = words[0] if words else "deploy"
    path = " ".join(words[:2])
    hints = [*words[1:], *parsed.values("--target", "--environment")]
    if parsed.has("--prod"):
        hints.append("production")
    if first in ("remove", "rm"):
        return _destroys(argv, PLATFORM, "vercel remove", words[1:], RECOVERABLE, hints=hints)
    if path in ("env rm", "env remove", "domains rm", "domains remove", "projects rm", "projects remove",
                "project rm", "project remove", "dns rm", "alias rm"):
        reversibility = IRREVERSIBLE if words[0].startswith("project") else RECOVERABLE
        return _destroys(argv, PLATFORM, f"vercel {path}", words[2:], reversibility, hints=hints)
    if first in ("ls", "list", "inspect", "logs", "whoami") or path in ("env ls", "domains ls", "projects ls",
                                                                         "project ls"):
        kind = CONTEXT if first == "whoami" else DESCRIBE
        return _inspects(argv, PLATFORM, kind, f"vercel {path or first}", words[1:2] or ["project"],
                         hints=hints)
    return _changes(argv, PLATFORM, f"vercel {first}", words[1:2], hints=hints)


_FLY_DESTROY = {"apps destroy": IRREVERSIBLE, "apps delete": IRREVERSIBLE, "app destroy": IRREVERSIBLE,
                "destroy": IRREVERSIBLE, "volumes destroy": IRREVERSIBLE, "volumes delete": IRREVERSIBLE,
                "volume destroy": IRREVERSIBLE, "volume delete": IRREVERSIBLE, "vol destroy": IRREVERSIBLE,
                "vol delete": IRREVERSIBLE, "machines destroy": RECOVERABLE, "machine destroy": RECOVERABLE,
                "m destroy": RECOVERABLE, "machine remove": RECOVERABLE, "machines remove": RECOVERABLE,
                "machine rm": RECOVERABLE, "secrets unset": RECOVERABLE, "postgres detach": RECOVERABLE}


def _fly(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-a", "--app", "-c", "--config", "-r", "--region", "--org",
                                                "-o"}))
    words = parsed.positional
    apps = parsed.values("-a", "--app")
    hints = [*apps, *words[2:]]
    for path in (" ".join(words[:2]), words[0] if words else ""):
        if path in _FLY_DESTROY:
            targets = words[len(path.split()):] or apps
            return _destroys(argv, PLATFORM, f"fly {path}", targets, _FLY_DESTROY[path], hints=hints)
    first = words[0] if words else ""
    listing = len(words) > 1 and words[1] in ("list", "ls", "show")
    if first in ("status", "logs", "info", "releases") or listing:
        return _inspects(argv, PLATFORM, DESCRIBE, f"fly {' '.join(words[:2])}", apps or words[2:] or ["app"],
                         hints=hints)
    if " ".join(words[:2]) == "auth whoami":
        return _inspects(argv, PLATFORM, CONTEXT, "fly auth whoami", ["account"], hints=hints)
    return _changes(argv, PLATFORM, f"fly {' '.join(words[:2])}".strip(), apps, hints=hints)


def _netlify(command: Command) -> _Verdict:
    words = [word for word in command.argv[1:] if not word.startswith("-")]
    first = words[0] if words else ""
    hints = [*words[1:], *(["production"] if "--prod" in command.argv else [])]
    if first in ("sites:delete", "env:unset", "env:delete", "blobs:delete"):
        reversibility = IRREVERSIBLE if first in ("sites:delete", "blobs:delete") else RECOVERABLE
        return _destroys(command.argv, PLATFORM, f"netlify {first}", words[1:], reversibility, hints=hints)
    if first in ("status", "sites:list", "env:list", "logs", "env:get", "open", "watch"):
        kind = CONTEXT if first == "status" else DESCRIBE
        return _inspects(command.argv, PLATFORM, kind, f"netlify {first}", words[1:] or ["site"], hints=hints)
    return _changes(command.argv, PLATFORM, f"netlify {first}".strip(), words[1:2], hints=hints)


_DOCKER_VALUES = frozenset({"-f", "--file", "-p", "--project-name", "--filter", "--format", "-H", "--host",
                            "--context", "-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir",
                            "--name", "-v", "--volume", "--network", "-t", "--tag", "--platform",
                            "--profile"})


_DOCKER_READS = frozenset({"ps", "images", "logs", "inspect", "info", "version", "stats", "top", "events",
                           "port", "diff", "history", "volume ls", "volume inspect", "container ls",
                           "image ls", "network ls", "context ls", "system df"})


def _docker(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=_DOCKER_VALUES)
    words = parsed.positional
    if command.program in ("docker-compose", "podman-compose") or words[:1] == ["compose"]:
        return _docker_compose(command, words[1:] if words[:1] == ["compose"] else words, parsed)
    path = " ".join(words[:2])
    first = words[0] if words else ""
    if path in ("volume rm", "volume prune", "volume remove") or (
            path == "system prune" and parsed.has("--volumes")):
        return _destroys(argv, PLATFORM, f"docker {path}", words[2:] or ["volumes"], IRREVERSIBLE)
    if first in ("rm", "rmi") or path in ("system prune", "container prune", "image prune", "container rm",
                                          "image rm", "network rm", "network prune", "builder prune"):
        return _destroys(argv, PLATFORM, f"docker {path if first not in ('rm', 'rmi') else first}",
                         words[2:] if first not in ("rm", "rmi") else words[1:], RECOVERABLE)
    if first in _DOCKER_READS or path in _DOCKER_READS:
        grouped = first in ("volume", "container", "image", "network", "context", "system")
        return _inspects(argv, PLATFORM, DESCRIBE, f"docker {path if grouped else first}",
                         words[1:] or ["containers"])
    return _changes(argv, PLATFORM, f"docker {first}".strip(), words[1:2])


def _docker_compose(command: Command, words: Sequence[str], parsed: _Args) -> _Verdict:
    first = words[0] if words else ""
    project = parsed.values("-p", "--project-name") or ["compose project"]
    if first == "down" and ("v" in parsed.letters() or parsed.has("--volumes")):
        return _destroys(command.argv, PLATFORM, "docker compose down -v", project, IRREVERSIBLE,
                         f"removes containers and volumes of {_names(project)} (docker compose down -v)")
    if first == "rm":
        return _destroys(command.argv, PLATFORM, "docker compose rm", words[1:] or project, RECOVERABLE)
    if first in ("ps", "logs", "config", "images", "ls", "top", "version"):
        return _inspects(command.argv, PLATFORM, DESCRIBE, f"docker compose {first}", words[1:] or project)
    return _changes(command.argv, PLATFORM, f"docker compose {first}".strip(), words[1:] or project)


def _gh(command: Command) -> _Verdict:
    argv = command.argv
    parsed = _args(argv, takes_value=frozenset({"-R", "--repo", "-X", "--method", "-f", "-F", "--field",
                                                "--raw-field", "-H", "--header", "-q", "--jq", "-t",
                                                "--template"}))
    words = parsed.positional
    path = " ".join(words[:2])
    repo = parsed.values("-R", "--repo")
    destroying = {"repo delete": IRREVERSIBLE, "release delete": RECOVERABLE, "secret delete": RECOVERABLE,
                  "secret remove": RECOVERABLE, "variable delete": RECOVERABLE, "cache delete": RECOVERABLE,
                  "run delete": RECOVERABLE, "gist delete": IRREVERSIBLE, "label delete": RECOVERABLE}
    if path in destroying:
        return _destroys(argv, PLATFORM, f"gh {path}", words[2:] or repo, destroying[path])
    if words[:1] == ["api"]:
        implied = "POST" if parsed.has("-f", "-F", "--field", "--raw-field") else "GET"
        method = (parsed.get("-X", "--method") or implied).upper()
        endpoints = words[1:2]
        if method == "DELETE":
            return _destroys(argv, HTTP, "HTTP DELETE", endpoints, IRREVERSIBLE,
                             f"deletes {_names(endpoints)} (gh api DELETE)")
        if method == "GET":
            return _inspects(argv, HTTP, QUERY, "gh api", endpoints)
        return _changes(argv, HTTP, f"gh api {method}", endpoints)
    if len(words) > 1 and words[1] in ("view", "list", "status", "diff", "checks", "watch"):
        return _inspects(argv, PLATFORM, DESCRIBE, f"gh {path}", words[2:] or repo or [words[0]])
    if path == "auth status":
        return _inspects(argv, PLATFORM, CONTEXT, "gh auth status", ["account"])
    return _changes(argv, PLATFORM, f"gh {path}".strip(), words[2:3] or repo)


def _npm(command: Command) -> _Verdict:
    words = [word for word in command.argv[1:] if not word.startswith("-")]
    first = words[0] if words else ""
    if first == "unpublish":
        return _destroys(command.argv, PLATFORM, "npm unpublish", words[1:], IRREVERSIBLE)
    if first in ("ls", "list", "view", "info", "show", "outdated", "audit", "whoami", "config", "search",
                 "explain", "why", "help", "-v", "version", "root", "prefix", "bin"):
        return _neutral(command.argv, f"npm {first}")
    return _changes(command.argv, None, f"npm {first}".strip())


# ---------------------------------------------------------------------------------------------
# Runners: commands whose meaning is the command they run

_Inner = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # (inner argv, hints, credentials)
_Runner = Callable[[Command], _Inner | None]


def _after_options(argv: Sequence[str], start: int,
                   takes_value: frozenset[str]) -> tuple[tuple[str, ...], _Args]:
    """The command after ``prog [options] [--]`` and the parsed options before it."""
    index = start
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "--":
        index += 2 if argv[index] in takes_value and "=" not in argv[index] else 1
    options = _args(argv[:index], start, takes_value)
    if index < len(argv) and argv[index] == "--":
        index += 1
    return tuple(argv[index:]), options


def _run_railway(command: Command) -> _Inner | None:
    argv = command.argv
    if len(argv) < 3 or argv[1] not in ("run", "shell"):
        return None
    inner, options = _after_options(argv, 2, _RAILWAY_VALUES)
    hints = tuple(options.values("-e", "--environment", "-s", "--service"))
    return (inner, hints, ()) if inner else None


def _run_heroku(command: Command) -> _Inner | None:
    if len(command.argv) < 3 or command.argv[1] not in ("run", "run:detached"):
        return None
    inner, options = _after_options(command.argv, 2, frozenset({"-a", "--app", "-r", "--remote", "-s",
                                                                "--size", "-e", "--env"}))
    return (_as_script(inner), tuple(options.values("-a", "--app", "-r", "--remote")), ()) if inner else None


def _as_script(words: tuple[str, ...]) -> tuple[str, ...]:
    """A remote command given as one string (``ssh host 'a && b'``) is a script."""
    return ("sh", "-c", words[0]) if len(words) == 1 and " " in words[0] else words


_DOCKER_EXEC_VALUES = frozenset({"-u", "--user", "-w", "--workdir", "-e", "--env", "--env-file",
                                 "--detach-keys", "--index"})


def _run_docker(command: Command) -> _Inner | None:
    argv = command.argv
    words = [word for word in argv[1:3] if not word.startswith("-")]
    offset = 2 if words[:2] == ["compose", "exec"] else 1 if words[:1] == ["exec"] else 0
    if command.program in ("docker-compose", "podman-compose") and words[:1] == ["exec"]:
        offset = 1
    if not offset:
        return None
    rest, options = _after_options(argv, argv.index("exec") + 1, _DOCKER_EXEC_VALUES)
    if len(rest) < 2:
        return None
    credentials = tuple(options.values("--env-file"))
    return rest[1:], (rest[0],), credentials


def _run_kubectl(command: Command) -> _Inner | None:
    argv = command.argv
    if "exec" not in argv[1:3] or "--" not in argv:
        return None
    inner = tuple(argv[argv.index("--") + 1:])
    parsed = _args(argv[:argv.index("--")], takes_value=_KUBECTL_VALUES)
    hints = tuple([*_kube_hints(parsed), *parsed.positional[1:]])
    return (inner, hints, ()) if inner else None


_NODE_BINARIES = frozenset({"prisma", "supabase", "vercel", "netlify", "railway", "cdk", "cdktf",
                            "serverless", "sls", "sequelize", "knex", "typeorm", "drizzle-kit", "wrangler",
                            "firebase", "rimraf", "del-cli", "trash", "heroku", "pulumi"})


def _run_node(command: Command) -> _Inner | None:
    """npx/bunx/pnpx X, npm exec X, pnpm exec|dlx X, yarn dlx X, and ``yarn prisma`` style bins."""
    argv = command.argv
    program = command.program
    start = 1
    if program in ("npm", "pnpm", "yarn", "bun"):
        first = next((index for index, word in enumerate(argv[1:], 1) if not word.startswith("-")), None)
        if first is None:
            return None
        if argv[first] in ("exec", "x", "dlx"):
            start = first + 1
        elif program != "npm" and program_name(argv[first]) in _NODE_BINARIES:
            start = first
        else:
            return None
    inner, _ = _after_options(argv, start, frozenset({"-p", "--package", "-c", "--call"}))
    return (inner, (), ()) if inner else None


def _run_prefixed(*subcommands: str) -> _Runner:
    """``uv run X``, ``poetry run X``, ``bundle exec X``: the rest is the command."""

    def runner(command: Command) -> _Inner | None:
        argv = command.argv
        if len(argv) < 3 or argv[1] not in subcommands:
            return None
        inner, options = _after_options(argv, 2, frozenset({"--with", "--python", "-p", "--env-file",
                                                            "--group", "--extra", "--directory",
                                                            "--project"}))
        return (inner, (), tuple(options.values("--env-file"))) if inner else None

    return runner


def _run_dotenv(command: Command) -> _Inner | None:
    """``dotenv -e .env.prod -- cmd``, ``op run --env-file=.env -- cmd``, ``doppler run -- cmd``."""
    argv = command.argv
    start = 2 if command.program in ("op", "doppler", "infisical") else 1
    if start == 2 and (len(argv) < 3 or argv[1] != "run"):
        return None
    inner, options = _after_options(argv, start, frozenset({"-e", "--env-file", "-c", "--config", "-p",
                                                            "--project", "--env", "-v"}))
    files = tuple(options.values("-e", "--env-file"))
    hints = (*files, *options.values("-c", "--config", "--env"))
    return (inner, hints, files or (command.program,)) if inner else None


def _run_aws_vault(command: Command) -> _Inner | None:
    argv = command.argv
    if len(argv) < 4 or argv[1] != "exec":
        return None
    profile = argv[2]
    inner = tuple(argv[argv.index("--") + 1:]) if "--" in argv else tuple(argv[3:])
    return (inner, (profile,), (f"profile:{profile}",)) if inner else None


_SSH_VALUES = frozenset({"-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-E", "-S", "-W", "-b", "-c",
                         "-e", "-m", "-O", "-Q", "-w", "-B", "-I", "-P"})


def _run_ssh(command: Command) -> _Inner | None:
    rest, _ = _after_options(command.argv, 1, _SSH_VALUES)
    if len(rest) < 2:
        return None
    host = rest[0].split("@")[-1]
    return _as_script(tuple(rest[1:])), (host,), ()


_Expanded = tuple[Command, tuple[str, ...], tuple[str, ...]]  # (command, outer hints, outer credentials)
_RUNNERS: dict[str, _Runner] = {
    "railway": _run_railway, "heroku": _run_heroku, "docker": _run_docker, "podman": _run_docker,
    "docker-compose": _run_docker, "kubectl": _run_kubectl, "oc": _run_kubectl, "npx": _run_node,
    "bunx": _run_node, "pnpx": _run_node, "npm": _run_node, "pnpm": _run_node, "yarn": _run_node,
    "bun": _run_node, "uv": _run_prefixed("run"), "poetry": _run_prefixed("run"),
    "pipenv": _run_prefixed("run"),
    "pdm": _run_prefixed("run"), "hatch": _run_prefixed("run"), "rye": _run_prefixed("run"),
    "bundle": _run_prefixed("exec"), "dotenv": _run_dotenv, "op": _run_dotenv, "doppler": _run_dotenv,
    "infisical": _run_dotenv, "aws-vault": _run_aws_vault, "ssh": _run_ssh,
}


def _expand_runners(command: Command, depth: int = 0) -> list[_Expanded]:
    """``railway run -e staging -- psql -c ...`` → [(psql command, ("staging",), ())]."""
    runner = _RUNNERS.get(command.program)
    inner = runner(command) if runner is not None and depth < 4 else None
    if inner is None:
        return [(command, (), ())]
    argv, hints, credentials = inner
    label = " ".join(command.argv[:2])
    expanded = []
    for found in unwrap_command(replace(command, argv=argv, via=(*command.via, label))):
        for deeper, more_hints, more_credentials in _expand_runners(found, depth + 1):
            expanded.append((deeper, hints + more_hints, credentials + more_credentials))
    return expanded


# ---------------------------------------------------------------------------------------------
# Read-only and neutral programs

_NEUTRAL = frozenset({
    "echo", "printf", "pwd", "cd", "pushd", "popd", "true", "false", ":", "sleep", "which", "whereis", "type",
    "whoami", "id", "date", "uname", "hostname", "printenv", "set", "unset", "alias", "unalias", "test", "[",
    "[[", "sort", "uniq", "tr", "cmp", "comm", "basename", "dirname", "realpath", "readlink", "seq", "column",
    "fold", "fmt", "ps", "pgrep", "top", "htop", "free", "uptime", "nproc", "lscpu", "history", "man", "help",
    "exit", "return", "wait", "read", "ping", "dig", "nslookup", "host", "traceroute", "ss", "netstat",
    "lsof",
    "jobs", "clear", "tput", "base64", "shift", "local", "declare", "typeset", "let", "env", "cut", "awk",
    "paste", "rev", "tac", "expr", "bc", "yes", "watch", "git-lfs", "get-date", "write-host", "write-output",
    "select-string", "measure-object", "format-table", "select-object", "where-object", "sort-object",
    "get-location", "set-location", "get-process", "test-path", "resolve-path", "nvidia-smi", "df", "vmstat",
    "iostat", "groups", "tty", "locale", "timedatectl", "getent", "command", "hash", "fc", "trap", "ulimit",
    "umask", "times", "shopt", "caller", "disown", "bg", "fg", "logname", "users", "w", "last", "arch"})
_LISTING = frozenset({"ls", "ll", "la", "dir", "du", "stat", "tree", "fd", "fdfind", "locate", "file", "exa",
                      "eza", "lsd", "gci", "get-childitem", "lsblk", "findmnt", "mount"})
_READING = frozenset({"cat", "less", "more", "wc", "bat", "batcat", "nl", "xxd", "hexdump", "od", "strings",
                      "md5sum", "sha1sum", "sha256sum", "sha512sum", "shasum", "get-content", "gc", "diff",
                      "zcat", "gunzip -c", "view", "vimdiff"})


def _neutral_program(command: Command) -> _Verdict:
    return _neutral(command.argv, command.program)


def _unknown_program(command: Command) -> _Verdict:
    if not command.argv:
        return _neutral((), "assign")
    return _changes(command.argv, None, command.program, phrase=f"runs {command.program}")


def _handler(program: str) -> Callable[[Command], _Verdict]:
    handler = _PROGRAMS.get(program)
    if handler is not None:
        return handler
    if program in _NEUTRAL:
        return _neutral_program
    if program in _LISTING:
        return _listing
    if program in _READING:
        return _read_files()
    if program.startswith("mkfs") or program in ("mke2fs", "wipefs", "mkswap"):
        return _mkfs
    if program.startswith("python") or program in ("django-admin",):
        return _python
    return _unknown_program


_PROGRAMS: dict[str, Callable[[Command], _Verdict]] = {
    "rm": _rm, "rmdir": _rmdir, "unlink": _unlink, "shred": _shred, "mv": _mv, "find": _find,
    "truncate": _truncate, "dd": _dd, "del": _del, "erase": _del, "rd": _rd, "remove-item": _remove_item,
    "ri": _remove_item, "tee": _tee, "mkdir": _creates, "touch": _creates, "cp": _creates, "ln": _creates,
    "chmod": _creates, "chown": _creates, "chgrp": _creates, "install": _creates, "new-item": _creates,
    "copy-item": _creates, "crontab": _crontab, "rsync": _rsync, "sed": _sed,
    "head": _read_files(frozenset({"-n", "-c", "--lines", "--bytes"})),
    "tail": _read_files(frozenset({"-n", "-c", "--lines", "--bytes", "--pid", "-s", "--sleep-interval"})),
    "jq": _read_files(frozenset({"--arg", "--argjson", "--slurpfile", "--rawfile", "-f", "--from-file"}), 1),
    "yq": _read_files(frozenset({"--arg"}), 1),
    "grep": _grep, "egrep": _grep, "fgrep": _grep, "zgrep": _grep, "rg": _grep, "ag": _grep, "ack": _grep,
    "source": _source, ".": _source, "export": _export,
    "git": _git,
    "psql": _psql, "pgcli": _psql, "mysql": _mysql, "mariadb": _mysql, "mycli": _mysql, "sqlite3": _sqlite,
    "sqlite": _sqlite, "litecli": _sqlite, "duckdb": _sqlite,
    "clickhouse-client": _sql_flag_client("--query", "-q"), "sqlcmd": _sql_flag_client("-Q", "-q"),
    "snowsql": _sql_flag_client("-q", "--query"), "cockroach": _sql_flag_client("-e", "--execute"),
    "bq": _bq, "mongosh": _mongo, "mongo": _mongo, "redis-cli": _redis, "valkey-cli": _redis,
    "dropdb": _dropdb, "dropuser": _dropdb, "pg_restore": _pg_restore, "prisma": _prisma,
    "rails": _rails, "rake": _rails, "supabase": _supabase,
    "terraform": _terraform, "tofu": _terraform, "terragrunt": _terraform, "opentofu": _terraform,
    "pulumi": _pulumi, "cdk": _cdk, "cdktf": _cdk, "serverless": _cdk, "sls": _cdk,
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm,
    "aws": _aws, "gcloud": _gcloud, "gsutil": _gsutil, "az": _az,
    "curl": _curl, "wget": _wget, "http": _httpie, "https": _httpie, "xh": _httpie, "xhs": _httpie,
    "railway": _railway, "heroku": _heroku, "vercel": _vercel, "fly": _fly, "flyctl": _fly,
    "netlify": _netlify, "docker": _docker, "podman": _docker, "docker-compose": _docker,
    "podman-compose": _docker, "gh": _gh, "npm": _npm,
}


# ---------------------------------------------------------------------------------------------
# Generic passes over every command

_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_SECRET_NAME = re.compile(r"(?i)TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AWS_PROFILE")
_ENV_VARIABLE = re.compile(r"(?:^|_)(?:ENV|ENVIRONMENT|STAGE|PROFILE|WORKSPACE|CONTEXT|TIER)$", re.I)
_ENV_FLAGS = frozenset({"--environment", "--env", "--context", "--kube-context", "--namespace", "--stage",
                        "--profile", "--project", "--app", "--workspace", "--cluster", "--stack", "--target",
                        "--host", "--hostname", "--subscription", "--configuration", "--project-id",
                        "--region-env"})
_SECRET_FLAGS = frozenset({"--token", "--api-key", "--apikey", "--access-token", "--auth-token", "--password",
                           "--secret", "--client-secret", "--private-key"})
_ENVIRONMENT_WORDS = {
    "prod": "production", "production": "production", "prd": "production", "live": "production",
    "staging": "staging", "stage": "staging", "stg": "staging", "preprod": "staging", "uat": "staging",
    "dev": "development", "development": "development", "local": "development", "localhost": "development",
    "test": "test", "testing": "test"}
_FORCE_WORDS = frozenset({
    "--force", "--yes", "-y", "-auto-approve", "--auto-approve", "--quiet", "--no-confirm",
    "--skip-final-snapshot", "--accept-data-loss", "--force-reset", "--grace-period=0", "--no-preserve-root",
    "--delete-automated-backups", "--confirm", "-force", "--noinput", "--no-input", "--assume-yes",
    "--non-interactive", "--now", "--force-delete-without-recovery", "--no-prompt", "-confirm:$false",
    "-auto-approve=true", "--auto-approve=true", "--yes=true", "--force=true"})
_FORCE_PREFIXES = ("--force-with-lease", "--force-if-includes")
_DESTRUCTIVE_SHORT_FORCE = frozenset({"-f", "-q", "/f", "/q"})
_F_IS_NOT_FORCE = frozenset({"kubectl", "oc", "psql", "mysql", "helm", "docker-compose", "tar", "make",
                             "tail", "grep", "sed", "awk", "terraform", "crontab", "ssh", "pg_restore",
                             "cut"})
_SHORT_CLUSTER = re.compile(r"^-[a-zA-Z]{2,6}$")
_DRY_RUN = re.compile(r"(?i)^(?:--dry-?run(?:=(?!none$|false$).*)?|-whatif|--noop|--simulate|--plan-only)$")


def _finish(command: Command, verdict: _Verdict, neighbours: tuple[Command | None, Command | None],
            outer_hints: Sequence[str], outer_credentials: Sequence[str]) -> list[_Verdict]:
    """Add what any command can carry: dry runs, force flags, credentials, environment hints."""
    verdict = _dry_run(command, verdict)
    force = [*verdict.force, *_force_flags(command, verdict), *_silencing(command, *neighbours)]
    credentials = (*verdict.credentials, *_credentials(command), *outer_credentials)
    hints = (*verdict.hints, *_generic_hints(command), *outer_hints)
    verdict = _Verdict(verdict.step, verdict.mutates, verdict.reversibility, tuple(force), hints, credentials,
                       verdict.phrase)
    return [verdict, *_redirect_verdicts(command)] if command.redirects else [verdict]


def _silencing(command: Command, previous: Command | None, following: Command | None) -> list[str]:
    """Ways around a prompt or an error: ``2>/dev/null``, ``|| true``, ``yes |``, and Rails'
    ``DISABLE_DATABASE_ENVIRONMENT_CHECK=1`` (lets db:drop run against production)."""
    flags = [redirect.text() for redirect in command.redirects
             if redirect.target in _SINKS and redirect.op in (">", ">>", "&>", ">|", "&>>")]
    if command.then == "||" and following is not None and following.argv in (("true",), (":",)):
        flags.append("|| true")
    if command.piped and previous is not None and previous.argv[:1] == ("yes",):
        flags.append("yes |")
    flags.extend(f"{name}={value}" for name, value in command.assignments if name in _FORCE_VARIABLES)
    return flags


_FORCE_VARIABLES = frozenset({"DISABLE_DATABASE_ENVIRONMENT_CHECK", "TF_INPUT", "DEBIAN_FRONTEND"})


def _dry_run(command: Command, verdict: _Verdict) -> _Verdict:
    """``--dry-run`` turns a mutation into a PLAN check of the same targets."""
    if not verdict.mutates or not any(_DRY_RUN.match(word) for word in command.argv[1:]):
        return verdict
    step = replace(verdict.step, destructive=False, inspects=PLAN)
    return replace(verdict, step=step, mutates=False, reversibility=REVERSIBLE,
                   phrase=f"previews ({verdict.phrase})")


def _force_flags(command: Command, verdict: _Verdict) -> list[str]:
    if not verdict.mutates:
        return []
    destructive = verdict.step.destructive
    program_forces = command.program not in _F_IS_NOT_FORCE  # for kubectl, psql... -f names a file
    flags: list[str] = []
    for word in command.argv[1:]:
        lower = word.lower()
        if lower in _FORCE_WORDS:
            flags.append(word)
        elif lower.startswith(_FORCE_PREFIXES):
            flags.append(lower.split("=", 1)[0])
        elif destructive and lower in _DESTRUCTIVE_SHORT_FORCE and (program_forces or lower != "-f"):
            flags.append(lower)
        elif destructive and _SHORT_CLUSTER.match(word) and "f" in word[1:] and program_forces:
            flags.append("-f")  # -rf, -fdx
    return flags


def _credentials(command: Command) -> list[str]:
    found: list[str] = []
    words = [*command.argv, *(redirect.target for redirect in command.redirects)]
    if command.stdin:
        words.append(command.stdin[:20_000])
    for word in words:
        if "$" in word:
            found.extend(name for name in _VAR_REF.findall(word) if _SECRET_NAME.search(name))
    found.extend(name for name, _ in command.assignments if _SECRET_NAME.search(name))
    for index, word in enumerate(command.argv[1:], start=1):
        name, equals, value = word.partition("=")
        if name in _SECRET_FLAGS:
            value = value if equals else (command.argv[index + 1] if index + 1 < len(command.argv) else "")
            if "$" not in value:
                found.append(name)
        elif name == "--profile" and command.program != "aws":
            value = value if equals else (command.argv[index + 1] if index + 1 < len(command.argv) else "")
            found.append(f"profile:{value}")
    return found


def _generic_hints(command: Command) -> list[str]:
    hints: list[str] = []
    argv = command.argv
    for index, word in enumerate(argv):
        if "://" in word:
            hints.extend(_URL_HOST.findall(word))
        elif word.startswith("--"):
            name, equals, value = word.partition("=")
            if name in _ENV_FLAGS:
                hints.append(value if equals else argv[index + 1] if index + 1 < len(argv) else "")
    for name, value in command.assignments:
        if _ENV_VARIABLE.search(name):
            hints.append(value)
        elif "://" in value:
            hints.extend(_URL_HOST.findall(value))
    return hints


def _redirect_verdicts(command: Command) -> list[_Verdict]:
    """``> file`` truncates it (destructive, RECOVERABLE: it may be new); ``>> file`` appends."""
    verdicts = []
    for redirect in command.redirects:
        target = redirect.target
        if not target or target in _SINKS or redirect.op not in (">", ">|", "&>", ">&", ">>", "&>>"):
            continue
        if redirect.op == ">&" and (target.isdigit() or target == "-"):
            continue  # 2>&1: a descriptor copy, not a file
        argv = (f"{redirect.fd}{redirect.op}", target)
        if redirect.op in (">>", "&>>"):
            verdicts.append(_changes(argv, FILES, "append (>>)", [target], f"appends to {target}"))
        else:
            verdicts.append(_destroys(argv, FILES, "truncate (>)", [target], RECOVERABLE,
                                      f"overwrites {target} (> redirect)"))
    return verdicts


def _environments(hints: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for hint in hints:
        if not hint or len(hint) > 500:
            continue
        for word in _words(hint):
            environment = _ENVIRONMENT_WORDS.get(word.lower())
            if environment:
                found[environment] = None
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Shell calls → Action


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


# ---------------------------------------------------------------------------------------------
# Non-shell tools


def _tool_action(tool: str, verdicts: Sequence[_Verdict]) -> Action:
    return _action(tool, None, verdicts)


def _path_of(data: Mapping[str, object], *keys: str) -> list[str]:
    return [value for key in keys if isinstance(value := data.get(key), str) and value]


def _write_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "notebook_path", "path")
    verdict = _changes((tool, *paths), TOOL, "write", paths, f"writes {_names(paths) or 'a file'} ({tool})")
    return _tool_action(tool, [verdict])


def _edit_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "path")
    verdict = _changes((tool, *paths), TOOL, "edit", paths, f"edits {_names(paths) or 'a file'} ({tool})")
    return _tool_action(tool, [verdict])


def _read_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "path", "notebook_path")
    verdict = _inspects((tool, *paths), FILES, READ, "read", paths, f"reads {_names(paths)} ({tool})")
    return _tool_action(tool, [verdict])


def _listing_tool(tool: str, data: Mapping[str, object]) -> Action:
    scope = _path_of(data, "path", "pattern", "glob") or ["."]
    return _tool_action(tool, [_inspects((tool, *scope), FILES, LISTING, tool.lower(), scope,
                                         f"lists {_names(scope)} ({tool})")])


def _fetch_tool(tool: str, data: Mapping[str, object]) -> Action:
    urls = _path_of(data, "url", "query")
    verdict = _inspects((tool, *urls), HTTP, QUERY, tool.lower(), urls, f"fetches {_names(urls)} ({tool})",
                        hints=_url_hosts(urls))
    return _tool_action(tool, [verdict])


def _quiet_tool(tool: str, data: Mapping[str, object]) -> Action:
    return _tool_action(tool, [_neutral((tool,), tool)])


_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.M)


def _patch_action(tool: str, patch: str) -> Action:
    """Codex apply_patch: ``*** Delete File: x`` deletes x; Update edits; Add writes."""
    verdicts = []
    for kind, path in _PATCH_FILE.findall(patch[:1_000_000]):
        if kind == "Delete":
            reversibility, notes = _path_damage([path])
            verdicts.append(_destroys(("apply_patch", path), FILES, "delete file", [path], reversibility,
                                      f"deletes {path} (apply_patch)", force=notes))
        else:
            operation = "edit" if kind == "Update" else "write"
            verdicts.append(_changes(("apply_patch", path), FILES, operation, [path],
                                     f"{operation}s {path} (apply_patch)"))
    return _tool_action(tool, verdicts or [_changes(("apply_patch",), FILES, "apply_patch")])


_ToolHandler = Callable[[str, Mapping[str, object]], Action]
_TOOLS: dict[str, _ToolHandler] = {
    "Write": _write_tool, "NotebookEdit": _write_tool, "Edit": _edit_tool, "MultiEdit": _edit_tool,
    "Read": _read_tool, "view_image": _read_tool, "Glob": _listing_tool, "Grep": _listing_tool,
    "LS": _listing_tool,
    "WebFetch": _fetch_tool, "WebSearch": _fetch_tool, "web_search": _fetch_tool,
    "TodoWrite": _quiet_tool, "TodoRead": _quiet_tool, "Task": _quiet_tool, "Agent": _quiet_tool,
    "AskUserQuestion": _quiet_tool, "ExitPlanMode": _quiet_tool, "EnterPlanMode": _quiet_tool,
    "BashOutput": _quiet_tool, "Skill": _quiet_tool, "SlashCommand": _quiet_tool, "update_plan": _quiet_tool,
    "ListMcpResourcesTool": _quiet_tool, "ReadMcpResourceTool": _quiet_tool,
}

_TOOL_DESTROY_WORDS = {"delete": IRREVERSIBLE, "drop": IRREVERSIBLE, "destroy": IRREVERSIBLE,
                       "purge": IRREVERSIBLE, "wipe": IRREVERSIBLE, "truncate": IRREVERSIBLE,
                       "terminate": IRREVERSIBLE, "erase": IRREVERSIBLE, "remove": RECOVERABLE,
                       "reset": RECOVERABLE, "unlink": RECOVERABLE, "rm": IRREVERSIBLE, "rmdir": RECOVERABLE}
_TOOL_READ_WORDS = {"list": LISTING, "search": LISTING, "find": LISTING, "glob": LISTING, "ls": LISTING,
                    "read": READ, "view": READ, "open": READ, "cat": READ, "get": DESCRIBE,
                    "describe": DESCRIBE, "show": DESCRIBE, "inspect": DESCRIBE, "status": DESCRIBE,
                    "check": DESCRIBE, "info": DESCRIBE, "query": QUERY, "fetch": QUERY, "count": QUERY,
                    "lookup": QUERY, "select": QUERY}
_TOOL_CHANGE_WORDS = frozenset({
    "create", "write", "update", "send", "post", "put", "set", "insert", "upload", "edit", "modify", "add",
    "move",
    "rename", "transfer", "pay", "execute", "exec", "run", "deploy", "install", "apply", "commit", "push",
    "merge",
    "publish", "share", "invite", "grant", "book", "order", "buy", "submit", "reply", "forward", "schedule",
    "start",
    "stop", "restart", "kill", "scale", "patch", "replace", "save", "copy", "make", "generate", "change",
    "approve",
    "revoke", "disable", "enable", "cancel", "upsert", "download", "email", "message", "call", "sql",
    "migrate", "restore", "import", "withdraw", "deposit", "sell", "tweet", "comment", "like"})
_TARGET_KEY_WORDS = frozenset({
    "id", "ids", "name", "names", "path", "paths", "file", "files", "filename", "dir", "directory", "folder",
    "table", "tables", "bucket", "resource", "target", "url", "uri", "arn", "database", "db", "schema",
    "collection",
    "index", "volume", "service", "project", "environment", "env", "cluster", "namespace", "instance", "repo",
    "repository", "branch", "container", "pod", "app", "host", "hostname", "domain", "dataset", "stack",
    "topic",
    "queue", "account", "user", "username", "email", "recipient", "recipients", "to", "channel", "item",
    "record",
    "document", "doc", "node", "device", "key"})
_SECRET_KEY_WORDS = frozenset({"token", "password", "secret", "passwd", "credential", "credentials", "auth",
                               "apikey", "api_key", "private"})
_SQL_TOOL_HINT = re.compile(r"(?i)sql|postgres|mysql|sqlite|database|\bdb\b|_db_|supabase|neon|bigquery|"
                            r"snowflake|clickhouse|query|duckdb|planetscale|turso")


_NAMED_KEY_WORDS = frozenset({"object", "s3", "bucket", "cache"})  # "key" naming a resource, not a secret


def _scalar(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _input_targets(data: Mapping[str, object], depth: int = 0) -> list[str]:
    """Id-, name- and path-like values of a tool input (never the value of a secret-named key)."""
    targets: list[str] = []
    for key, value in list(data.items())[:50]:
        words = {word.lower() for word in _words(str(key))}
        if words & _SECRET_KEY_WORDS:
            continue
        if isinstance(value, Mapping) and depth < 1:
            targets.extend(_input_targets(value, depth + 1))
        elif words & _TARGET_KEY_WORDS and ("key" not in words or words & _NAMED_KEY_WORDS):
            values = value if isinstance(value, list) else [value]
            targets.extend(str(item)[:200] for item in values[:20] if _scalar(item) and str(item).strip())
    return targets


def _tool_verb(tool: str) -> tuple[str | None, Reversibility | InspectKind | None]:
    """The first telling verb of a tool name: ``mcp__db__drop_table`` → drop."""
    name = tool.split("__")[-1] if tool.startswith("mcp__") else tool
    words = [word.lower() for word in _words(name)]
    for word in words:
        if word in _TOOL_DESTROY_WORDS:
            return word, _TOOL_DESTROY_WORDS[word]
    for word in words:
        if word in _TOOL_CHANGE_WORDS:
            return word, None
        if word in _TOOL_READ_WORDS:
            return word, _TOOL_READ_WORDS[word]
    return None, None


def _named_tool(tool: str, data: Mapping[str, object]) -> Action:
    """Any other tool: SQL or GraphQL in its input, else the verb of its name."""
    embedded = _embedded_language(tool, data)
    if embedded is not None:
        return _tool_action(tool, [embedded])
    targets = _input_targets(data)
    operation = tool.split("__")[-1] if tool.startswith("mcp__") else tool
    argv = (tool, *targets[:5])
    verb, meaning = _tool_verb(tool)
    hints = [*targets, *(str(value) for key, value in data.items() if _ENV_VARIABLE.search(str(key))
                         or str(key).lower() in ("env", "environment", "stage", "context", "namespace"))]
    credentials = [name for value in data.values() if isinstance(value, str) and "$" in value
                   for name in _VAR_REF.findall(value) if _SECRET_NAME.search(name)]
    what = _names(targets)
    if isinstance(meaning, Reversibility):
        phrase = f"{_VERBS.get(verb or '', 'destroys')} {what or 'something'} ({tool})"
        verdict = _destroys(argv, TOOL, operation, targets, meaning, phrase, hints=hints)
    elif isinstance(meaning, InspectKind):
        phrase = f"{_INSPECT_VERBS[meaning]} {what} ({tool})".replace("  ", " ")
        verdict = _inspects(argv, TOOL, meaning, operation, targets, phrase, hints=hints)
    elif verb is not None:
        phrase = f"runs {tool}" + (f" on {what}" if targets else "")
        verdict = _changes(argv, TOOL, operation, targets, phrase, hints=hints)
    else:
        verdict = replace(_neutral(argv, operation, family=TOOL, hints=hints), phrase=f"calls {tool}")
    return _tool_action(tool, [replace(verdict, credentials=tuple(credentials))])


def _embedded_language(tool: str, data: Mapping[str, object]) -> _Verdict | None:
    """SQL in ``{"sql": ...}`` (or ``query`` for a database tool); GraphQL in ``{"query": ...}``."""
    for key in ("sql", "statement", "query", "command"):
        text = data.get(key)
        if not isinstance(text, str) or not text.strip():
            continue
        if key in ("sql", "statement") or (_SQL_TOOL_HINT.search(tool) and _looks_like_sql(text)):
            hints = [str(data[name]) for name in ("database", "db", "project", "environment")
                     if data.get(name)]
            return _sql_verdict((tool,), text, tool, hints)
        if key == "query" and _GRAPHQL_START.match(text):
            graphql = _parse_graphql(text, data.get("variables"))
            return _graphql_verdict((tool,), graphql, _url_hosts(_path_of(data, "url", "endpoint")), tool)
    return None


# ---------------------------------------------------------------------------------------------
# Public API

# Tool names that take a bare string or argv as a shell command (Bash, shell, exec_command, ...).
_SHELL_TOOL = re.compile(r"(?i)bash|shell|terminal|exec|command|console|powershell|^(?:sh|cmd|run|zsh)$")


def classify(tool: str | None, tool_input: object) -> Action:
    """What one tool call does. Never raises: a malformed input is a non-destructive action."""
    name = tool if isinstance(tool, str) else ""
    try:
        return _classify(name, tool_input)
    except Exception:  # a classifier bug must not stop ingestion or a rebuild
        return _action(name, None, [])


def _classify(tool: str, tool_input: object) -> Action:
    data = _as_input(tool_input)
    if tool == "apply_patch" or (isinstance(data, str) and data.lstrip().startswith("*** Begin Patch")):
        patch = data.get("input") or data.get("patch") if isinstance(data, dict) else data
        return _patch_action(tool or "apply_patch", patch if isinstance(patch, str) else "")
    command = _command_of(tool, data)
    if isinstance(command, str):
        classify_line = _shell_action if len(command) <= CACHED_LINE else _shell_action.__wrapped__
        return classify_line(tool, command[:200_000])
    if isinstance(command, tuple):
        if command[:1] == ("apply_patch",) and len(command) > 1:
            return _patch_action(tool, command[1])
        return _argv_action(tool, command[:1000])
    mapping = data if isinstance(data, dict) else {}
    handler = _TOOLS.get(tool)
    if handler is not None:
        return handler(tool, mapping)
    return _named_tool(tool, mapping) if tool else _action(tool, None, [])


def _as_input(tool_input: object) -> object:
    """JSON text (Codex function-call arguments) → its value; anything else unchanged."""
    if isinstance(tool_input, str | bytes) and tool_input[:1] in ("{", b"{", "[", b"["):
        try:
            return json.loads(tool_input)
        except ValueError:
            return tool_input.decode("utf-8", "replace") if isinstance(tool_input, bytes) else tool_input
    return tool_input.decode("utf-8", "replace") if isinstance(tool_input, bytes) else tool_input


def _command_of(tool: str, data: object) -> str | tuple[str, ...] | None:
    """The shell command a tool input carries: a string, an argv tuple, or None."""
    if isinstance(data, dict):
        for key in ("command", "cmd"):
            value = data.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and value and all(isinstance(word, str) for word in value):
                return tuple(value)
        return None
    if isinstance(data, str) and _SHELL_TOOL.search(tool):
        return data
    if isinstance(data, list) and data and all(isinstance(word, str) for word in data):
        return tuple(data) if _SHELL_TOOL.search(tool) else None
    return None
