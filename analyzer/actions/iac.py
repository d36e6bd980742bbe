"""Infrastructure as code: ``terraform``/``tofu``, ``pulumi``, ``cdk``/``serverless``."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.actions.kinds import CONTEXT, DESCRIBE, IAC, IRREVERSIBLE, PLAN, RECOVERABLE
from analyzer.actions.options import _args
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _Verdict
from analyzer.shell import Command


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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "terraform": _terraform, "tofu": _terraform, "terragrunt": _terraform, "opentofu": _terraform,
    "pulumi": _pulumi, "cdk": _cdk, "cdktf": _cdk, "serverless": _cdk, "sls": _cdk,
}
