"""``classify``: one tool call → one ``Action``; never raises."""

from __future__ import annotations

import json
import re

from analyzer.actions.shell_calls import _action, _argv_action, _shell_action
from analyzer.actions.tools import _TOOLS, _named_tool, _patch_action
from analyzer.nodes import Action
from analyzer.shell import CACHED_LINE

# Tool names that take a bare string or argv as a shell command (Bash, shell, exec_command, ...).
_SHELL_TOOL = re.compile(r"(?i)bash|shell|terminal|exec|command|console|powershell|^(?:sh|cmd|run|zsh)$")


def classify(tool: str | None, tool_input: object) -> Action:
    """What one tool call does. Never raises: a malformed input is a non-destructive action."""
    name = tool if isinstance(tool, str) else ""
    try:
        return _classify(name, tool_input)
    except Exception:  # a classifier bug must not stop ingestion or a rebuild
        return _action(name, None, [])


def _classify(tool: str, tool_input: object) -> Action:
    data = _as_input(tool_input)
    if tool == "apply_patch" or (isinstance(data, str) and data.lstrip().startswith("*** Begin Patch")):
        patch = data.get("input") or data.get("patch") if isinstance(data, dict) else data
        return _patch_action(tool or "apply_patch", patch if isinstance(patch, str) else "")
    command = _command_of(tool, data)
    if isinstance(command, str):
        classify_line = _shell_action if len(command) <= CACHED_LINE else _shell_action.__wrapped__
        return classify_line(tool, command[:200_000])
    if isinstance(command, tuple):
        if command[:1] == ("apply_patch",) and len(command) > 1:
            return _patch_action(tool, command[1])
        return _argv_action(tool, command[:1000])
    mapping = data if isinstance(data, dict) else {}
    handler = _TOOLS.get(tool)
    if handler is not None:
        return handler(tool, mapping)
    return _named_tool(tool, mapping) if tool else _action(tool, None, [])


def _as_input(tool_input: object) -> object:
    """JSON text (Codex function-call arguments) → its value; anything else unchanged."""
    if isinstance(tool_input, str | bytes) and tool_input[:1] in ("{", b"{", "[", b"["):
        try:
            return json.loads(tool_input)
        except ValueError:
            return tool_input.decode("utf-8", "replace") if isinstance(tool_input, bytes) else tool_input
    return tool_input.decode("utf-8", "replace") if isinstance(tool_input, bytes) else tool_input


def _command_of(tool: str, data: object) -> str | tuple[str, ...] | None:
    """The shell command a tool input carries: a string, an argv tuple, or None."""
    if isinstance(data, dict):
        for key in ("command", "cmd"):
            value = data.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and value and all(isinstance(word, str) for word in value):
                return tuple(value)
        return None
    if isinstance(data, str) and _SHELL_TOOL.search(tool):
        return data
    if isinstance(data, list) and data and all(isinstance(word, str) for word in data):
        return tuple(data) if _SHELL_TOOL.search(tool) else None
    return None
