"""Database clients and tools: ``psql``, ``mysql``, ``sqlite3``, ``bq``, ``mongosh``, ``redis-cli``,
migrations (prisma, rails) and ``supabase``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analyzer.actions.http import _url_hosts
from analyzer.actions.kinds import (
    CONTEXT,
    DATABASE,
    DESCRIBE,
    IRREVERSIBLE,
    PLAN,
    PLATFORM,
    QUERY,
    RECOVERABLE,
    STATUS,
)
from analyzer.actions.options import _Args, _args
from analyzer.actions.passes import _ENV_VARIABLE
from analyzer.actions.sql import _sql_verdict
from analyzer.actions.verdicts import _changes, _destroys, _Handler, _inspects, _names, _neutral, _Verdict
from analyzer.shell import Command


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


# The programs this module reads, by name (``programs`` merges every family's table).
PROGRAMS: dict[str, _Handler] = {
    "psql": _psql, "pgcli": _psql, "mysql": _mysql, "mariadb": _mysql, "mycli": _mysql, "sqlite3": _sqlite,
    "sqlite": _sqlite, "litecli": _sqlite, "duckdb": _sqlite,
    "clickhouse-client": _sql_flag_client("--query", "-q"), "sqlcmd": _sql_flag_client("-Q", "-q"),
    "snowsql": _sql_flag_client("-q", "--query"), "cockroach": _sql_flag_client("-e", "--execute"), "bq": _bq,
    "mongosh": _mongo, "mongo": _mongo, "redis-cli": _redis, "valkey-cli": _redis, "dropdb": _dropdb,
    "dropuser": _dropdb, "pg_restore": _pg_restore, "prisma": _prisma, "rails": _rails, "rake": _rails,
    "supabase": _supabase,
}
