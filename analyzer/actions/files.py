"""File commands: ``rm``, ``mv``, ``find -delete``, ``dd``, ``tee``, ``sed -i``, readers and listers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from analyzer.actions.http import _SINKS, _url_hosts
from analyzer.actions.kinds import FILES, IRREVERSIBLE, LISTING, PLAN, READ, RECOVERABLE, REVERSIBLE
from analyzer.actions.options import _NUMBER, _args
from analyzer.actions.passes import _ENV_VARIABLE, _SECRET_NAME
from analyzer.actions.paths import _path_damage
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _neutral, _Verdict
from analyzer.shell import Command, find_roots, find_scope


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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "rm": _rm, "rmdir": _rmdir, "unlink": _unlink, "shred": _shred, "mv": _mv, "find": _find,
    "truncate": _truncate, "dd": _dd, "del": _del, "erase": _del, "rd": _rd, "remove-item": _remove_item,
    "ri": _remove_item, "tee": _tee, "mkdir": _creates, "touch": _creates, "cp": _creates, "ln": _creates,
    "chmod": _creates, "chown": _creates, "chgrp": _creates, "install": _creates, "new-item": _creates,
    "copy-item": _creates, "crontab": _crontab, "rsync": _rsync, "sed": _sed,
    "head": _read_files(frozenset({"-n", "-c", "--lines", "--bytes"})),
    "tail": _read_files(frozenset({"-n", "-c", "--lines", "--bytes", "--pid", "-s", "--sleep-interval"})),
    "jq": _read_files(frozenset({"--arg", "--argjson", "--slurpfile", "--rawfile", "-f", "--from-file"}), 1),
    "yq": _read_files(frozenset({"--arg"}), 1), "grep": _grep, "egrep": _grep, "fgrep": _grep, "zgrep": _grep,
    "rg": _grep, "ag": _grep, "ack": _grep, "source": _source, ".": _source, "export": _export,
}
