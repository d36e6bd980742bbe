"""Which handler reads a program: the table of known programs, read-only and neutral ones."""

from __future__ import annotations

from analyzer.actions import cloud, databases, files, git, http, iac, kubernetes, platforms
from analyzer.actions.databases import _python
from analyzer.actions.files import _listing, _mkfs, _read_files
from analyzer.actions.verdicts import _changes, _Handler, _neutral, _Verdict
from analyzer.shell import Command

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


def _handler(program: str) -> _Handler:
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


_FAMILIES = (files, git, databases, iac, kubernetes, cloud, http, platforms)
_PROGRAMS: dict[str, _Handler] = {name: handler for family in _FAMILIES
                                  for name, handler in family.PROGRAMS.items()}
