"""SQL: what a statement does (drops, unfiltered deletes and updates, reads), whichever client sends it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from analyzer.actions.kinds import _SEVERITY, DATABASE, DESCRIBE, IRREVERSIBLE, QUERY, RECOVERABLE, REVERSIBLE
from analyzer.actions.verdicts import (
    _changes,
    _destroys,
    _inspects,
    _names,
    _neutral,
    _unique,
    _verb,
    _Verdict,
)
from analyzer.nodes import Reversibility

_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_SQL_STATEMENT = re.compile(r"(?:'(?:[^']|'')*'|\"[^\"]*\"|\$\$.*?\$\$|[^;'\"$]|\$)+", re.S)
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'|\$\$.*?\$\$", re.S)
_SQL_DROP = re.compile(
    r"DROP\s+(?:TEMP(?:ORARY)?\s+)?(MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|TABLE|DATABASE|SCHEMA|VIEW|INDEX|"
    r"SEQUENCE|FUNCTION|PROCEDURE|TRIGGER|TYPE|EXTENSION|ROLE|USER|COLLECTION|KEYSPACE|OWNED\s+BY|POLICY|"
    r"DOMAIN|RULE|PUBLICATION|SUBSCRIPTION|SERVER|TABLESPACE)\b\s*(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(.*)",
    re.I | re.S)
_SQL_TRUNCATE = re.compile(r"TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?(.*)", re.I | re.S)
_SQL_DELETE = re.compile(r"DELETE\s+(?:FROM\s+)?(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_UPDATE = re.compile(r"UPDATE\s+(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_ALTER = re.compile(r"ALTER\s+(\w+)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w.\"`\[\]]+)(.*)", re.I | re.S)
_SQL_DROP_COLUMN = re.compile(
    r"\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\b|INDEX\b|PRIMARY\b|FOREIGN\b|IDENTITY\b|EXPRESSION\b|"
    r"PARTITION\b|KEY\b|CHECK\b)(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w\"`]+)", re.I)
_SQL_WHERE = re.compile(r"\bWHERE\b(.*)", re.I | re.S)
_SQL_TAUTOLOGY = re.compile(r"^\s*(?:1\s*=\s*1|true|1|'1'\s*=\s*'1'|''\s*=\s*'')\s*$", re.I)
_SQL_TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|TABLE)\s+([\w.\"`\[\]]+)", re.I)
_SQL_READS = frozenset({"SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE", "PRAGMA"})
_SQL_NEUTRAL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SET", "RESET", "START", "END", "USE", "SAVEPOINT",
                          "RELEASE", "DISCARD", "ABORT"})
_SQL_IRREVERSIBLE_DROPS = frozenset({"TABLE", "DATABASE", "SCHEMA", "COLLECTION", "KEYSPACE", "FOREIGN TABLE",
                                     "OWNED BY", "TABLESPACE"})


@dataclass(frozen=True, slots=True)
class _Sql:
    """One statement: ``effect`` is destroys / changes / queries / describes / none."""

    effect: str
    operation: str
    targets: tuple[str, ...] = ()
    reversibility: Reversibility = REVERSIBLE


def _sql_statements(text: str) -> list[str]:
    text = _SQL_COMMENT.sub(" ", text)
    return [statement.strip() for statement in _SQL_STATEMENT.findall(text) if statement.strip()]


def _sql_names(text: str) -> tuple[str, ...]:
    names = []
    for piece in text.split(","):
        words = piece.split()
        if words:
            names.append(words[0].strip("\"`[]();"))
    return tuple(name for name in names if name)


def _sql_statement(statement: str) -> _Sql:
    if statement.startswith("\\"):
        meta = statement.split()
        return _Sql("describes", f"psql {meta[0]}", tuple(meta[1:2]))
    blanked = _SQL_LITERAL.sub("''", statement)
    head = blanked.split(None, 1)[0].upper().strip("(")
    handler = _SQL_BY_KEYWORD.get(head)
    if handler is not None:
        return handler(blanked)
    if head in _SQL_READS:
        return _sql_read(blanked, head)
    if head in _SQL_NEUTRAL:
        return _Sql("none", head)
    return _Sql("changes", head, _unique(_SQL_TABLES.findall(blanked))[:1])


_SQL_WRITES = re.compile(r"\b(DELETE|UPDATE|INSERT|MERGE)\b", re.I)


def _sql_read(statement: str, head: str) -> _Sql:
    write = _SQL_WRITES.search(statement) if head == "WITH" else None
    if write is not None:
        return _Sql("changes", f"WITH ... {write.group(1).upper()}")
    tables = tuple(name.strip("\"`[]") for name in _SQL_TABLES.findall(statement))
    return _Sql("queries", head, _unique(tables))


def _sql_drop(statement: str) -> _Sql:
    match = _SQL_DROP.match(statement)
    if match is None:
        return _Sql("destroys", "DROP", (), RECOVERABLE)
    kind = " ".join(match.group(1).upper().split())
    names = tuple(name for name in _sql_names(match.group(2)) if name.upper() not in ("CASCADE", "RESTRICT"))
    reversibility = IRREVERSIBLE if kind in _SQL_IRREVERSIBLE_DROPS else RECOVERABLE
    return _Sql("destroys", f"DROP {kind}", names, reversibility)


_SQL_TRUNCATE_OPTIONS = re.compile(r"\b(?:RESTART|CONTINUE|CASCADE|RESTRICT)\b", re.I)


def _sql_truncate(statement: str) -> _Sql:
    match = _SQL_TRUNCATE.match(statement)
    listed = _SQL_TRUNCATE_OPTIONS.split(match.group(1))[0] if match else ""
    names = _sql_names(listed)
    return _Sql("destroys", "TRUNCATE", names, IRREVERSIBLE)


def _sql_delete(statement: str) -> _Sql:
    return _sql_filtered(statement, _SQL_DELETE, "DELETE")


def _sql_update(statement: str) -> _Sql:
    return _sql_filtered(statement, _SQL_UPDATE, "UPDATE")


def _sql_filtered(statement: str, pattern: re.Pattern[str], verb: str) -> _Sql:
    """DELETE/UPDATE hit every row unless a real WHERE narrows them (``WHERE 1=1`` does not)."""
    match = pattern.match(statement)
    if match is None:
        return _Sql("changes", verb)
    table = match.group(1).strip("\"`[]")
    where = _SQL_WHERE.search(match.group(2))
    condition = re.split(r"\b(?:RETURNING|ORDER|LIMIT)\b", where.group(1), flags=re.I)[0] if where else ""
    if where is None or _SQL_TAUTOLOGY.match(condition):
        return _Sql("destroys", f"{verb} without WHERE", (table,), IRREVERSIBLE)
    return _Sql("changes", verb, (table,))


def _sql_alter(statement: str) -> _Sql:
    match = _SQL_ALTER.match(statement)
    if match is None:
        return _Sql("changes", "ALTER")
    kind, name = match.group(1).upper(), match.group(2).strip("\"`[]")
    column = _SQL_DROP_COLUMN.search(match.group(3)) if kind == "TABLE" else None
    if column is not None:
        dropped = column.group(1).strip("`\"")
        return _Sql("destroys", "ALTER TABLE DROP COLUMN", (name, f"{name}.{dropped}"), IRREVERSIBLE)
    return _Sql("changes", f"ALTER {kind}", (name,))


_SQL_BY_KEYWORD: dict[str, Callable[[str], _Sql]] = {
    "DROP": _sql_drop, "TRUNCATE": _sql_truncate, "DELETE": _sql_delete, "UPDATE": _sql_update,
    "ALTER": _sql_alter,
}
_SQL_EFFECT_RANK = {"destroys": 4, "changes": 3, "queries": 2, "describes": 1, "none": 0}


def _sql_verdict(argv: Sequence[str], sql: str, via: str, hints: Iterable[str] = ()) -> _Verdict:
    """The verdict of the worst statement of ``sql``, run by ``via`` (psql, mysql, a tool)."""
    statements = [_sql_statement(statement) for statement in _sql_statements(sql[:100_000])]
    if not statements:
        return _changes(argv, DATABASE, via, hints=hints)
    worst = max(statements, key=lambda sql: (_SQL_EFFECT_RANK[sql.effect], _SEVERITY[sql.reversibility]))
    same = [sql for sql in statements if sql.effect == worst.effect]
    targets = _unique(target for sql in same for target in sql.targets)
    if worst.effect == "destroys":
        phrase = f"{_verb(worst.operation)} {_names(targets)} ({worst.operation} via {via})"
        return _destroys(argv, DATABASE, worst.operation, targets, worst.reversibility, phrase, hints=hints)
    if worst.effect == "changes":
        return _changes(argv, DATABASE, worst.operation, targets, f"runs {worst.operation} via {via}",
                        hints=hints)
    if worst.effect in ("queries", "describes"):
        kind = QUERY if worst.effect == "queries" else DESCRIBE
        return _inspects(argv, DATABASE, kind, worst.operation, targets,
                         f"queries {_names(targets) or 'the database'} ({worst.operation} via {via})",
                         hints=hints)
    return _neutral(argv, worst.operation, family=DATABASE, hints=hints)


def _looks_like_sql(text: str) -> bool:
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    return head in _SQL_BY_KEYWORD or head in _SQL_READS or head in (
        "INSERT", "CREATE", "GRANT", "REVOKE", "MERGE", "COPY", "REPLACE", "UPSERT", "VACUUM")
