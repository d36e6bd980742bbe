"""Cloud CLIs: ``aws``, ``gcloud``/``gsutil``, ``az``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from analyzer.actions.http import _url_hosts
from analyzer.actions.kinds import CLOUD, CONTEXT, DESCRIBE, IRREVERSIBLE, LISTING, QUERY, READ, RECOVERABLE
from analyzer.actions.options import _Args, _args
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _verb, _Verdict
from analyzer.shell import Command

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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "aws": _aws, "gcloud": _gcloud, "gsutil": _gsutil, "az": _az,
}
