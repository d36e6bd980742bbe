"""Kubernetes: ``kubectl`` and ``helm``."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.actions.kinds import CONTEXT, DESCRIBE, IRREVERSIBLE, KUBERNETES, PLAN, RECOVERABLE
from analyzer.actions.options import _Args, _args
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _neutral, _Verdict
from analyzer.shell import Command

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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "kubectl": _kubectl, "oc": _kubectl, "helm": _helm,
}
