"""Platform CLIs: railway, heroku, vercel, fly, netlify, docker, gh, npm."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.actions.kinds import (
    CONTEXT,
    DESCRIBE,
    HTTP,
    IRREVERSIBLE,
    LISTING,
    PLATFORM,
    QUERY,
    RECOVERABLE,
)
from analyzer.actions.options import _Args, _args
from analyzer.actions.sql import _sql_verdict
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _neutral, _Verdict
from analyzer.shell import Command

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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "railway": _railway, "heroku": _heroku, "vercel": _vercel, "fly": _fly, "flyctl": _fly,
    "netlify": _netlify, "docker": _docker, "podman": _docker, "docker-compose": _docker,
    "podman-compose": _docker, "gh": _gh, "npm": _npm,
}
