"""Git: which subcommands discard work (``reset --hard``, ``clean``, ``push --force``, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from analyzer.actions.kinds import GIT, IRREVERSIBLE, PLAN, RECOVERABLE, STATUS
from analyzer.actions.options import _args
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _neutral, _Verdict
from analyzer.shell import Command

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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "git": _git,
}
