"""Generic passes over every command: credentials, environments, force flags, silencing,
``--dry-run`` and ``> file`` truncation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from analyzer.actions.http import _SINKS, _URL_HOST
from analyzer.actions.kinds import FILES, PLAN, RECOVERABLE, REVERSIBLE
from analyzer.actions.verdicts import _changes, _destroys, _Verdict, _words
from analyzer.shell import Command

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
