"""Non-shell tools: Write/Edit/Read, apply_patch, SQL or GraphQL in a tool input, and any other
tool by the words of its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from analyzer.actions.http import _GRAPHQL_START, _graphql_verdict, _parse_graphql, _url_hosts
from analyzer.actions.kinds import (
    DESCRIBE,
    FILES,
    HTTP,
    IRREVERSIBLE,
    LISTING,
    QUERY,
    READ,
    RECOVERABLE,
    TOOL,
)
from analyzer.actions.passes import _ENV_VARIABLE, _SECRET_NAME, _VAR_REF
from analyzer.actions.paths import _path_damage
from analyzer.actions.shell_calls import _action
from analyzer.actions.sql import _looks_like_sql, _sql_verdict
from analyzer.actions.verdicts import (
    _INSPECT_VERBS,
    _VERBS,
    _changes,
    _destroys,
    _inspects,
    _names,
    _neutral,
    _Verdict,
    _words,
)
from analyzer.nodes import Action, InspectKind, Reversibility


def _tool_action(tool: str, verdicts: Sequence[_Verdict]) -> Action:
    return _action(tool, None, verdicts)


def _path_of(data: Mapping[str, object], *keys: str) -> list[str]:
    return [value for key in keys if isinstance(value := data.get(key), str) and value]


def _write_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "notebook_path", "path")
    verdict = _changes((tool, *paths), TOOL, "write", paths, f"writes {_names(paths) or 'a file'} ({tool})")
    return _tool_action(tool, [verdict])


def _edit_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "path")
    verdict = _changes((tool, *paths), TOOL, "edit", paths, f"edits {_names(paths) or 'a file'} ({tool})")
    return _tool_action(tool, [verdict])


def _read_tool(tool: str, data: Mapping[str, object]) -> Action:
    paths = _path_of(data, "file_path", "path", "notebook_path")
    verdict = _inspects((tool, *paths), FILES, READ, "read", paths, f"reads {_names(paths)} ({tool})")
    return _tool_action(tool, [verdict])


def _listing_tool(tool: str, data: Mapping[str, object]) -> Action:
    scope = _path_of(data, "path", "pattern", "glob") or ["."]
    return _tool_action(tool, [_inspects((tool, *scope), FILES, LISTING, tool.lower(), scope,
                                         f"lists {_names(scope)} ({tool})")])


def _fetch_tool(tool: str, data: Mapping[str, object]) -> Action:
    urls = _path_of(data, "url", "query")
    verdict = _inspects((tool, *urls), HTTP, QUERY, tool.lower(), urls, f"fetches {_names(urls)} ({tool})",
                        hints=_url_hosts(urls))
    return _tool_action(tool, [verdict])


def _quiet_tool(tool: str, data: Mapping[str, object]) -> Action:
    return _tool_action(tool, [_neutral((tool,), tool)])


_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.M)


def _patch_action(tool: str, patch: str) -> Action:
    """Codex apply_patch: ``*** Delete File: x`` deletes x; Update edits; Add writes."""
    verdicts = []
    for kind, path in _PATCH_FILE.findall(patch[:1_000_000]):
        if kind == "Delete":
            reversibility, notes = _path_damage([path])
            verdicts.append(_destroys(("apply_patch", path), FILES, "delete file", [path], reversibility,
                                      f"deletes {path} (apply_patch)", force=notes))
        else:
            operation = "edit" if kind == "Update" else "write"
            verdicts.append(_changes(("apply_patch", path), FILES, operation, [path],
                                     f"{operation}s {path} (apply_patch)"))
    return _tool_action(tool, verdicts or [_changes(("apply_patch",), FILES, "apply_patch")])


_ToolHandler = Callable[[str, Mapping[str, object]], Action]
_TOOLS: dict[str, _ToolHandler] = {
    "Write": _write_tool, "NotebookEdit": _write_tool, "Edit": _edit_tool, "MultiEdit": _edit_tool,
    "Read": _read_tool, "view_image": _read_tool, "Glob": _listing_tool, "Grep": _listing_tool,
    "LS": _listing_tool,
    "WebFetch": _fetch_tool, "WebSearch": _fetch_tool, "web_search": _fetch_tool,
    "TodoWrite": _quiet_tool, "TodoRead": _quiet_tool, "Task": _quiet_tool, "Agent": _quiet_tool,
    "AskUserQuestion": _quiet_tool, "ExitPlanMode": _quiet_tool, "EnterPlanMode": _quiet_tool,
    "BashOutput": _quiet_tool, "Skill": _quiet_tool, "SlashCommand": _quiet_tool, "update_plan": _quiet_tool,
    "ListMcpResourcesTool": _quiet_tool, "ReadMcpResourceTool": _quiet_tool,
}

_TOOL_DESTROY_WORDS = {"delete": IRREVERSIBLE, "drop": IRREVERSIBLE, "destroy": IRREVERSIBLE,
                       "purge": IRREVERSIBLE, "wipe": IRREVERSIBLE, "truncate": IRREVERSIBLE,
                       "terminate": IRREVERSIBLE, "erase": IRREVERSIBLE, "remove": RECOVERABLE,
                       "reset": RECOVERABLE, "unlink": RECOVERABLE, "rm": IRREVERSIBLE, "rmdir": RECOVERABLE}
_TOOL_READ_WORDS = {"list": LISTING, "search": LISTING, "find": LISTING, "glob": LISTING, "ls": LISTING,
                    "read": READ, "view": READ, "open": READ, "cat": READ, "get": DESCRIBE,
                    "describe": DESCRIBE, "show": DESCRIBE, "inspect": DESCRIBE, "status": DESCRIBE,
                    "check": DESCRIBE, "info": DESCRIBE, "query": QUERY, "fetch": QUERY, "count": QUERY,
                    "lookup": QUERY, "select": QUERY}
_TOOL_CHANGE_WORDS = frozenset({
    "create", "write", "update", "send", "post", "put", "set", "insert", "upload", "edit", "modify", "add",
    "move",
    "rename", "transfer", "pay", "execute", "exec", "run", "deploy", "install", "apply", "commit", "push",
    "merge",
    "publish", "share", "invite", "grant", "book", "order", "buy", "submit", "reply", "forward", "schedule",
    "start",
    "stop", "restart", "kill", "scale", "patch", "replace", "save", "copy", "make", "generate", "change",
    "approve",
    "revoke", "disable", "enable", "cancel", "upsert", "download", "email", "message", "call", "sql",
    "migrate", "restore", "import", "withdraw", "deposit", "sell", "tweet", "comment", "like"})
_TARGET_KEY_WORDS = frozenset({
    "id", "ids", "name", "names", "path", "paths", "file", "files", "filename", "dir", "directory", "folder",
    "table", "tables", "bucket", "resource", "target", "url", "uri", "arn", "database", "db", "schema",
    "collection",
    "index", "volume", "service", "project", "environment", "env", "cluster", "namespace", "instance", "repo",
    "repository", "branch", "container", "pod", "app", "host", "hostname", "domain", "dataset", "stack",
    "topic",
    "queue", "account", "user", "username", "email", "recipient", "recipients", "to", "channel", "item",
    "record",
    "document", "doc", "node", "device", "key"})
_SECRET_KEY_WORDS = frozenset({"token", "password", "secret", "passwd", "credential", "credentials", "auth",
                               "apikey", "api_key", "private"})
_SQL_TOOL_HINT = re.compile(r"(?i)sql|postgres|mysql|sqlite|database|\bdb\b|_db_|supabase|neon|bigquery|"
                            r"snowflake|clickhouse|query|duckdb|planetscale|turso")


_NAMED_KEY_WORDS = frozenset({"object", "s3", "bucket", "cache"})  # "key" naming a resource, not a secret


def _scalar(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _input_targets(data: Mapping[str, object], depth: int = 0) -> list[str]:
    """Id-, name- and path-like values of a tool input (never the value of a secret-named key)."""
    targets: list[str] = []
    for key, value in list(data.items())[:50]:
        words = {word.lower() for word in _words(str(key))}
        if words & _SECRET_KEY_WORDS:
            continue
        if isinstance(value, Mapping) and depth < 1:
            targets.extend(_input_targets(value, depth + 1))
        elif words & _TARGET_KEY_WORDS and ("key" not in words or words & _NAMED_KEY_WORDS):
            values = value if isinstance(value, list) else [value]
            targets.extend(str(item)[:200] for item in values[:20] if _scalar(item) and str(item).strip())
    return targets


def _tool_verb(tool: str) -> tuple[str | None, Reversibility | InspectKind | None]:
    """The first telling verb of a tool name: ``mcp__db__drop_table`` → drop."""
    name = tool.split("__")[-1] if tool.startswith("mcp__") else tool
    words = [word.lower() for word in _words(name)]
    for word in words:
        if word in _TOOL_DESTROY_WORDS:
            return word, _TOOL_DESTROY_WORDS[word]
    for word in words:
        if word in _TOOL_CHANGE_WORDS:
            return word, None
        if word in _TOOL_READ_WORDS:
            return word, _TOOL_READ_WORDS[word]
    return None, None


def _named_tool(tool: str, data: Mapping[str, object]) -> Action:
    """Any other tool: SQL or GraphQL in its input, else the verb of its name."""
    embedded = _embedded_language(tool, data)
    if embedded is not None:
        return _tool_action(tool, [embedded])
    targets = _input_targets(data)
    operation = tool.split("__")[-1] if tool.startswith("mcp__") else tool
    argv = (tool, *targets[:5])
    verb, meaning = _tool_verb(tool)
    hints = [*targets, *(str(value) for key, value in data.items() if _ENV_VARIABLE.search(str(key))
                         or str(key).lower() in ("env", "environment", "stage", "context", "namespace"))]
    credentials = [name for value in data.values() if isinstance(value, str) and "$" in value
                   for name in _VAR_REF.findall(value) if _SECRET_NAME.search(name)]
    what = _names(targets)
    if isinstance(meaning, Reversibility):
        phrase = f"{_VERBS.get(verb or '', 'destroys')} {what or 'something'} ({tool})"
        verdict = _destroys(argv, TOOL, operation, targets, meaning, phrase, hints=hints)
    elif isinstance(meaning, InspectKind):
        phrase = f"{_INSPECT_VERBS[meaning]} {what} ({tool})".replace("  ", " ")
        verdict = _inspects(argv, TOOL, meaning, operation, targets, phrase, hints=hints)
    elif verb is not None:
        phrase = f"runs {tool}" + (f" on {what}" if targets else "")
        verdict = _changes(argv, TOOL, operation, targets, phrase, hints=hints)
    else:
        verdict = replace(_neutral(argv, operation, family=TOOL, hints=hints), phrase=f"calls {tool}")
    return _tool_action(tool, [replace(verdict, credentials=tuple(credentials))])


def _embedded_language(tool: str, data: Mapping[str, object]) -> _Verdict | None:
    """SQL in ``{"sql": ...}`` (or ``query`` for a database tool); GraphQL in ``{"query": ...}``."""
    for key in ("sql", "statement", "query", "command"):
        text = data.get(key)
        if not isinstance(text, str) or not text.strip():
            continue
        if key in ("sql", "statement") or (_SQL_TOOL_HINT.search(tool) and _looks_like_sql(text)):
            hints = [str(data[name]) for name in ("database", "db", "project", "environment")
                     if data.get(name)]
            return _sql_verdict((tool,), text, tool, hints)
        if key == "query" and _GRAPHQL_START.match(text):
            graphql = _parse_graphql(text, data.get("variables"))
            return _graphql_verdict((tool,), graphql, _url_hosts(_path_of(data, "url", "endpoint")), tool)
    return None
