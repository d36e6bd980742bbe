"""Runners: commands whose meaning is the command they run (``railway run``, ``kubectl exec``,
``docker exec``, ``npx``, ``ssh host CMD``, ``dotenv --``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from analyzer.actions.kubernetes import _KUBECTL_VALUES, _kube_hints
from analyzer.actions.options import _Args, _args
from analyzer.actions.platforms import _RAILWAY_VALUES
from analyzer.shell import Command, program_name, unwrap_command

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
