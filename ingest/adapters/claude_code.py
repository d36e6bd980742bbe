"""Claude Code transcripts: ``~/.claude/projects/<project>/<sessionId>.jsonl``, one record a line.

Line types: ``user`` / ``assistant`` (an Anthropic message, one content block per line — a single
API response is split over several lines sharing ``message.id``), ``progress`` (hooks, Bash
output, subagent progress), ``system``, and bookkeeping lines (``file-history-snapshot``,
``queue-operation``, newer ``summary`` / ``attachment`` / ``last-prompt``). Subagents write side
files ``<sessionId>/subagents/agent-<agentId>.jsonl`` whose lines carry ``isSidechain`` and
``agentId``; they stay in the parent session's stream. Every line becomes at least one event:
unknown line or block types become ``other`` events, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any, ClassVar

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import copy_present, first_text, input_state, opt_str, record_of
from ingest.adapters.sessions import TranscriptState, line_event
from ingest.envelope import JSON, Event, EventKind, content_id, parse_time, type_name
from ingest.errors import RecordError

SOURCE = "claude-code"
# Lines whose session can not be learnt (e.g. a lone snapshot posted over HTTP) still need a stream.
NO_SESSION_STREAM = "claude-code:no-session"
_STATE_KEY = "claude-code"

_KNOWN_TYPES = frozenset({
    "user", "assistant", "progress", "system", "file-history-snapshot", "queue-operation",
    "attachment", "last-prompt", "summary",
})
# Keys only transcript lines carry; a known ``type`` alone is too weak (many formats have one).
_SIGNATURE_KEYS = frozenset({
    "sessionId", "uuid", "parentUuid", "message", "snapshot", "messageId", "leafUuid", "operation",
})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_EXIT_CODE = re.compile(r"Error: Exit code (\d{1,9})\b")

_LINE_ATTRIBUTES = (
    ("uuid", "uuid"), ("parentUuid", "parent_uuid"), ("requestId", "request_id"), ("cwd", "cwd"),
    ("gitBranch", "git_branch"), ("version", "version"), ("permissionMode", "permission_mode"),
    ("agentId", "agent_id"), ("isSidechain", "is_sidechain"),
    ("sourceToolAssistantUUID", "source_tool_assistant_uuid"),
)
_MESSAGE_ATTRIBUTES = (("id", "message_id"), ("model", "model"), ("stop_reason", "stop_reason"))
_PROGRESS_ATTRIBUTES = (
    ("type", "progress_type"), ("hookEvent", "hook_event"), ("hookName", "hook_name"),
    ("agentId", "subagent_id"),  # not agent_id: the line itself belongs to the parent agent
)
# What a progress event's text is, per progress type; the full data stays in raw.
_PROGRESS_TEXT = {
    "hook_progress": "command", "bash_progress": "output", "waiting_for_task": "taskDescription",
}
_OTHER_TEXT_KEYS = ("content", "summary", "lastPrompt")

# Text Claude Code itself puts into user lines; (prefix, reason, typed by the user).
_INJECTED: tuple[tuple[str, str, bool], ...] = (
    ("<command-name>", "command", True),
    ("<command-message>", "command", True),
    ("<command-args>", "command", True),
    ("<bash-input>", "bash_input", True),
    ("<bash-stdout>", "bash_output", False),
    ("<bash-stderr>", "bash_output", False),
    ("<local-command-stdout>", "local_command_output", False),
    ("<local-command-stderr>", "local_command_output", False),
    ("<local-command-caveat>", "local_command_caveat", False),
    ("<task-notification>", "task_notification", False),
    ("<system-reminder>", "system_reminder", False),
    ("<user-prompt-submit-hook>", "hook_output", False),
    ("[Request interrupted by user", "interrupt", True),
)
# toolUseResult values longer than this stay only in raw (results can be megabytes).
_SUMMARY_VALUE_LIMIT = 1000
_SUMMARY_TOTAL_LIMIT = 4000


@dataclass
class _InputState(TranscriptState):
    """What earlier lines of the same input told us (kept in ``ctx.state``)."""


@dataclass(frozen=True)
class _Line:
    """One transcript line with what every event made from it shares."""

    record: Mapping[str, JSON]
    base_id: str
    session_id: str | None
    time: datetime
    received_at: datetime
    sidechain: bool
    owner: str  # the agent whose conversation this line is: "agent" or "subagent:<agentId>"
    attributes: dict[str, JSON]
    state: _InputState

    @property
    def human(self) -> str:
        # In a subagent file the "user" turns are the parent agent's prompts and tool results.
        return self.owner if self.sidechain else "user"

    @property
    def system(self) -> str:
        return self.owner if self.sidechain else "system"


@dataclass(frozen=True)
class _Block:
    line: _Line
    block: Mapping[str, JSON]
    index: int
    count: int

    def field(self, name: str) -> str:
        return f"message.content[{self.index}].{name}"


class ClaudeCodeAdapter:
    name: ClassVar[str] = "claude-code"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return None  # transcripts are JSONL: every object is one line, never a container

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping):
            return False
        kind = record.get("type")
        if not isinstance(kind, str):
            return False
        if kind in _KNOWN_TYPES:
            return any(key in record for key in _SIGNATURE_KEYS)
        # Future line types (e.g. "custom-title", "pr-link") still carry the session id.
        return isinstance(record.get("sessionId"), str)

    def prescan(self, records: Sequence[JSON], ctx: AdapterContext) -> None:
        """Learn the session for lines that lack one (the first snapshot precedes any sessionId)."""
        _state(ctx).expect_session(lambda: _first_session(records) or _origin_session(ctx.origin))

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        record = record_of(record)
        line = _line(record, ctx)
        return _BY_TYPE.get(_record_type(record), _other)(line)


# --- per-input state and session ------------------------------------------------------------


def _state(ctx: AdapterContext) -> _InputState:
    return input_state(ctx.state, _STATE_KEY, _InputState)


def _first_session(records: Sequence[JSON]) -> str | None:
    return first_text(record.get("sessionId") for record in records if isinstance(record, Mapping))


def _origin_session(origin: str | None) -> str | None:
    """``<sessionId>.jsonl``, or ``<sessionId>/subagents/agent-*.jsonl`` for subagent files."""
    if not origin:
        return None
    path = PurePath(origin)
    if _UUID.fullmatch(path.stem):
        return path.stem
    if path.parent.name == "subagents" and _UUID.fullmatch(path.parent.parent.name):
        return path.parent.parent.name
    return None


def _session(record: Mapping[str, JSON], state: _InputState, ctx: AdapterContext) -> str | None:
    own = opt_str(record, "sessionId", "sessionId")
    if own:
        state.session_id = own
        return own
    return state.session_id or state.next_session_id or _origin_session(ctx.origin)


# --- the parts of a line every event shares ---------------------------------------------------


def _line(record: Mapping[str, JSON], ctx: AdapterContext) -> _Line:
    state = _state(ctx)
    agent_id = opt_str(record, "agentId", "agentId") or None
    sidechain = record.get("isSidechain") is True or agent_id is not None
    owner = f"subagent:{agent_id}" if agent_id else "subagent" if sidechain else "agent"
    return _Line(
        record=record,
        base_id=_base_id(record, agent_id),
        session_id=_session(record, state, ctx),
        time=_time(record, state, ctx),
        received_at=ctx.received_at,
        sidechain=sidechain,
        owner=owner,
        attributes=_attributes(record, sidechain),
        state=state,
    )


def _base_id(record: Mapping[str, JSON], agent_id: str | None) -> str:
    """The native id of a line: its uuid, scoped by session and subagent.

    In the shared data no uuid repeats across a session file and its subagent / acompact files,
    but Claude Code copies earlier lines (same uuid) into a new session file on ``--resume`` and
    subagent progress embeds the subagent's lines. Scoping by ``sessionId`` and ``agentId``
    keeps such copies — different records — from colliding, while the same line ingested twice
    still gets the same id. Only the record itself is used, so the id never depends on the file
    it came from. Lines without a uuid (snapshots, queue operations) are identified by content.
    """
    uuid = opt_str(record, "uuid", "uuid")
    if not uuid:
        return _content_id(record)
    scope = [part for part in (opt_str(record, "sessionId", "sessionId"), agent_id) if part]
    return "/".join([*scope, uuid])


def _content_id(record: Mapping[str, JSON]) -> str:
    try:
        return content_id(record)
    except (TypeError, ValueError) as exc:  # orjson: integers beyond 64 bits, too deep nesting
        raise RecordError(f"can not be encoded as JSON: {exc}") from None


def _time(record: Mapping[str, JSON], state: _InputState, ctx: AdapterContext) -> datetime:
    own = state.stamp(record)
    if own:
        return own
    snapshot = record.get("snapshot")
    if isinstance(snapshot, Mapping) and snapshot.get("timestamp") is not None:
        return parse_time(snapshot["timestamp"], field_name="snapshot.timestamp")
    return state.last_time or ctx.received_at


def _attributes(record: Mapping[str, JSON], sidechain: bool) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {"record_type": _record_type(record)}
    copy_present(record, _LINE_ATTRIBUTES, attributes)
    message = record.get("message")
    if isinstance(message, Mapping):
        copy_present(message, _MESSAGE_ATTRIBUTES, attributes)
    if sidechain:
        attributes["is_sidechain"] = True
    return attributes


# --- one function per line type ---------------------------------------------------------------


def _assistant(line: _Line) -> list[Event]:
    return _map_blocks(line, _ASSISTANT_BLOCKS, _agent_text)


def _user(line: _Line) -> list[Event]:
    return _map_blocks(line, _USER_BLOCKS, _user_text)


def _system(line: _Line) -> list[Event]:
    record = line.record
    extra: dict[str, JSON] = {}
    copy_present(record, (("subtype", "subtype"), ("level", "level"), ("toolUseID", "tool_use_id"),
                 ("logicalParentUuid", "logical_parent_uuid")), extra)
    text = record.get("content")
    return [_emit_line(line, EventKind.SYSTEM, actor=line.system,
                       text=text if isinstance(text, str) else None, extra=extra)]


def _progress(line: _Line) -> list[Event]:
    record = line.record
    data = record.get("data")
    data = data if isinstance(data, Mapping) else {}
    extra: dict[str, JSON] = {}
    copy_present(data, _PROGRESS_ATTRIBUTES, extra)
    # agent_progress: parentToolUseID is the Task call that started the subagent.
    copy_present(record, (("parentToolUseID", "parent_call_id"), ("toolUseID", "tool_use_id")), extra)
    progress_type = data.get("type")
    text_key = _PROGRESS_TEXT.get(progress_type) if isinstance(progress_type, str) else None
    text = data.get(text_key) if text_key else None
    return [_emit_line(line, EventKind.SYSTEM, actor=line.owner,
                       text=text if isinstance(text, str) else None, extra=extra)]


def _other(line: _Line) -> list[Event]:
    """Snapshots, queue operations, summaries, unknown types: kept as ``other``, never dropped."""
    record = line.record
    extra: dict[str, JSON] = {}
    copy_present(record, (("messageId", "message_uuid"), ("isSnapshotUpdate", "is_snapshot_update"),
                 ("operation", "operation"), ("leafUuid", "leaf_uuid")), extra)
    text = next((record[key] for key in _OTHER_TEXT_KEYS if isinstance(record.get(key), str)), None)
    actor = line.owner if line.sidechain else None
    return [_emit_line(line, EventKind.OTHER, actor=actor, text=text, extra=extra)]


_BY_TYPE: dict[str, Callable[[_Line], list[Event]]] = {
    "assistant": _assistant,
    "user": _user,
    "system": _system,
    "progress": _progress,
}


# --- message content blocks -------------------------------------------------------------------

_BlockHandler = Callable[[_Block], Event]


def _map_blocks(line: _Line, handlers: Mapping[str, _BlockHandler],
                text_handler: _BlockHandler) -> list[Event]:
    blocks = _blocks(line.record)
    return [_block_handler(block, handlers, text_handler)(_Block(line, block, index, len(blocks)))
            for index, block in enumerate(blocks)]


def _block_handler(block: Mapping[str, JSON], handlers: Mapping[str, _BlockHandler],
                   text_handler: _BlockHandler) -> _BlockHandler:
    kind = block.get("type")
    if not isinstance(kind, str):  # also keeps unhashable values away from the dict lookup
        return _other_block
    return text_handler if kind == "text" else handlers.get(kind, _other_block)


def _blocks(record: Mapping[str, JSON]) -> list[Mapping[str, JSON]]:
    """The content blocks; string content is one text block, empty content one empty block."""
    message = record.get("message")
    if not isinstance(message, Mapping):
        raise RecordError(f"expected an object, got {type_name(message)}", field="message")
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise RecordError(f"expected a string or a list, got {type_name(content)}",
                          field="message.content")
    for index, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise RecordError(f"expected an object, got {type_name(block)}",
                              field=f"message.content[{index}]")
    return content or [{"type": "text", "text": ""}]  # skip nothing: an empty turn is an event


def _agent_text(blk: _Block) -> Event:
    return _emit(blk, EventKind.AGENT_MESSAGE, text=_block_str(blk, "text"))


def _thinking(blk: _Block) -> Event:
    return _emit(blk, EventKind.AGENT_REASONING, text=_block_str(blk, "thinking"))


def _redacted_thinking(blk: _Block) -> Event:
    return _emit(blk, EventKind.AGENT_REASONING, extra={"redacted": True})


def _tool_call(blk: _Block) -> Event:
    call_id = blk.block.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise RecordError("a tool call needs a string id", field=blk.field("id"))
    name = _block_str(blk, "name")
    if name is not None:
        blk.line.state.tool_names[call_id] = name
    return _emit(blk, EventKind.TOOL_CALL, tool_name=name, call_id=call_id,
                 tool_input=blk.block.get("input"))


def _tool_result(blk: _Block) -> Event:
    call_id = _block_str(blk, "tool_use_id")
    is_error = blk.block.get("is_error")
    if is_error is not None and not isinstance(is_error, bool):
        raise RecordError(f"expected true/false, got {type_name(is_error)}",
                          field=blk.field("is_error"))
    extra: dict[str, JSON] = {}
    summary = _result_summary(blk.line.record.get("toolUseResult"))
    if summary and blk.count == 1:  # toolUseResult describes the line, i.e. its only result
        extra["tool_use_result"] = summary
    return _emit(blk, EventKind.TOOL_RESULT, actor=blk.line.owner, call_id=call_id,
                 tool_name=blk.line.state.tool_names.get(call_id) if call_id else None,
                 is_error=bool(is_error),  # the API's default when absent is "not an error"
                 text=_flatten(blk.block.get("content"), blk.field("content")), extra=extra)


def _user_text(blk: _Block) -> Event:
    text = _block_str(blk, "text")
    injected = _injected(blk.line.record, text or "")
    if injected is None:
        return _emit(blk, EventKind.USER_MESSAGE, actor=blk.line.human, text=text)
    reason, by_user = injected
    actor = blk.line.human if by_user else blk.line.system
    return _emit(blk, EventKind.SYSTEM, actor=actor, text=text, extra={"system_reason": reason})


def _injected(record: Mapping[str, JSON], text: str) -> tuple[str, bool] | None:
    """Why a user line's text is not something the user typed, or None when it is."""
    if record.get("isCompactSummary") is True:
        return "compact_summary", False
    if record.get("isMeta") is True:
        return "meta", False
    stripped = text.lstrip()
    return next(((reason, by_user) for prefix, reason, by_user in _INJECTED
                 if stripped.startswith(prefix)), None)


def _user_attachment(blk: _Block) -> Event:
    return _emit(blk, EventKind.USER_MESSAGE, actor=blk.line.human, text=f"[{blk.block['type']}]")


def _other_block(blk: _Block) -> Event:
    kind = blk.block.get("type")
    if isinstance(kind, str) and kind.endswith("_tool_result"):  # server tools: web search etc.
        return _tool_result(blk)
    block_type = kind if isinstance(kind, str) else None
    return _emit(blk, EventKind.OTHER, extra={"block_type": block_type})


_ASSISTANT_BLOCKS: dict[str, _BlockHandler] = {
    "thinking": _thinking,
    "redacted_thinking": _redacted_thinking,
    "tool_use": _tool_call,
    "server_tool_use": _tool_call,
    "mcp_tool_use": _tool_call,
}
_USER_BLOCKS: dict[str, _BlockHandler] = {
    "tool_result": _tool_result,
    "image": _user_attachment,
    "document": _user_attachment,
}


# --- tool results -----------------------------------------------------------------------------


def _flatten(content: JSON, field_name: str) -> str | None:
    """Tool result content as text: strings joined, images as ``[image]``."""
    if content is None or isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RecordError(f"expected a string or a list, got {type_name(content)}",
                          field=field_name)
    return "\n".join(_flatten_part(part, f"{field_name}[{i}]") for i, part in enumerate(content))


def _flatten_part(part: JSON, field_name: str) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        raise RecordError(f"expected an object, got {type_name(part)}", field=field_name)
    kind = part.get("type")
    text = part.get("text")
    if kind == "text" and isinstance(text, str):
        return text
    return f"[{kind}]" if isinstance(kind, str) else "[?]"


def _result_summary(value: JSON) -> dict[str, JSON] | None:
    """The small scalar fields of ``toolUseResult`` (Bash stdout/stderr/interrupted, exit code)."""
    if isinstance(value, str):
        summary: dict[str, JSON] = {"message": value} if len(value) <= _SUMMARY_VALUE_LIMIT else {}
        code = _EXIT_CODE.match(value)
        if code:
            summary["exit_code"] = int(code.group(1))
        return summary or None
    if not isinstance(value, Mapping):
        return None
    summary, budget = {}, _SUMMARY_TOTAL_LIMIT
    for key, item in value.items():
        size = _small_size(item)
        if isinstance(key, str) and size is not None and size <= budget:
            summary[key], budget = item, budget - size
    return summary or None


def _small_size(value: JSON) -> int | None:
    if value is None or isinstance(value, bool | float):
        return 8
    if isinstance(value, int):
        return 8 if -(2**63) <= value < 2**64 else None  # the log encodes JSON with orjson
    if isinstance(value, str) and len(value) <= _SUMMARY_VALUE_LIMIT:
        return len(value)
    return None


# --- building events --------------------------------------------------------------------------


def _emit(blk: _Block, kind: EventKind, *, actor: str | None = None,
          extra: Mapping[str, JSON] | None = None, **fields: Any) -> Event:
    """An event for one content block: ``uuid`` if it is the line's only block, else ``uuid:i``."""
    native_id = blk.line.base_id if blk.count == 1 else f"{blk.line.base_id}:{blk.index}"
    block_extra = {"block_index": blk.index} if blk.count > 1 else {}
    return _event(blk.line, native_id, kind, actor=actor or blk.line.owner,
                  extra={**block_extra, **(extra or {})}, **fields)


def _emit_line(line: _Line, kind: EventKind, *, actor: str | None,
               extra: Mapping[str, JSON], **fields: Any) -> Event:
    """The one event of a line without content blocks."""
    return _event(line, line.base_id, kind, actor=actor, extra=extra, **fields)


def _event(line: _Line, native_id: str, kind: EventKind, *, actor: str | None,
           extra: Mapping[str, JSON], **fields: Any) -> Event:
    return line_event(SOURCE, NO_SESSION_STREAM, line, native_id, kind, actor=actor, extra=extra,
                      **fields)


# --- small helpers ----------------------------------------------------------------------------


def _record_type(record: Mapping[str, JSON]) -> str:
    kind = record.get("type")
    return kind if isinstance(kind, str) else "unknown"


def _block_str(blk: _Block, key: str) -> str | None:
    return opt_str(blk.block, key, blk.field(key))
