"""OpenAI Codex CLI rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl``.

Every line is ``{"timestamp", "type", "payload"}`` (field names from openai/codex
``codex-rs/protocol``: ``RolloutItem``, ``ResponseItem``, ``EventMsg``). Line types:
``session_meta`` (session id, cwd, originator, cli_version, instructions, git),
``turn_context`` (cwd, approval and sandbox policy, model, effort), ``response_item`` (what the
model saw and said: ``message``, ``reasoning``, ``function_call`` / ``custom_tool_call`` /
``local_shell_call`` / ``web_search_call`` and the ``*_output`` results, paired on ``call_id``),
``event_msg`` (the UI's events: messages, reasoning, exec/patch begin and end, token counts, turn
lifecycle) and ``compacted``. Every line becomes exactly one event; unknown line, item and event
types become ``other`` events, never dropped.

Mirrored lines. Codex writes each visible message twice: ``response_item`` ``message`` and
``event_msg`` ``user_message`` / ``agent_message``, and reasoning summaries as ``reasoning`` and
``agent_reasoning``. Which comes first differs between Codex versions. Within one input the first
of a pair becomes the ``user_message`` / ``agent_message`` / ``agent_reasoning`` event; the second
(same role, same text, the other line type) becomes an ``other`` event with
``attributes["duplicate_of"]`` = the first event's id and ``attributes["mirror_of"]`` = the kind it
mirrors. Both lines are kept: giving them one id would silently drop the second line's raw.

Sessions. ``session_meta.payload.id`` names the session; lines before it get the session from
prescan or from the file name. A forked rollout starts with its own ``session_meta`` and then
copies the parent's lines, the parent's ``session_meta`` included: a later ``session_meta`` of an
ancestor (reached through ``forked_from_id``) keeps the stream, any other starts a new one.

Native ids: ``<session>/<content hash of the line>`` — stable whatever offset a file is read from,
and a fork's copies of its parent's lines do not collide with the parent's. The n-th repeat of a
byte-identical line in one input gets ``#n``, so no line is lost.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any, ClassVar

import orjson

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import copy_present, first_text, input_state, opt_str, record_of
from ingest.adapters.sessions import TranscriptState, line_event
from ingest.envelope import JSON, Event, EventKind, content_id, event_id, type_name
from ingest.errors import RecordError

SOURCE = "codex"
# Lines whose session can not be learnt (a lone line posted over HTTP) still need a stream.
NO_SESSION_STREAM = "codex:no-session"
_STATE_KEY = "codex"

_LINE_TYPES = frozenset({"session_meta", "turn_context", "event_msg", "response_item", "compacted"})
# Keys of a rollout line; a future line type is accepted only with exactly these.
_LINE_KEYS = frozenset({"timestamp", "type", "payload", "ordinal"})
_ROLLOUT_NAME = re.compile(
    r"rollout-.*-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl",
    re.IGNORECASE)
# Shell results: text forms of the exit code (exec_command / shell_command / older shell).
_EXIT_CODE = re.compile(r"^(?:Exit code:|Process exited with code) (-?\d{1,9})\b", re.MULTILINE)
# Pending halves of mirrored pairs kept per input; pairs are adjacent, so a few suffice.
_MIRROR_WINDOW = 256

# Text Codex itself puts into user messages; (prefix, reason, typed by the user).
_INJECTED: tuple[tuple[str, str, bool], ...] = (
    ("<environment_context>", "environment_context", False),
    ("<user_instructions>", "user_instructions", False),
    ("# AGENTS.md instructions", "user_instructions", False),
    ("<permissions instructions>", "permissions", False),
    ("<user_shell_command>", "user_shell_command", True),
    ("<turn_aborted>", "turn_aborted", False),
)
_SESSION_ATTRIBUTES = (
    ("cwd", "cwd"), ("originator", "originator"), ("cli_version", "cli_version"),
    ("source", "session_source"), ("model_provider", "model_provider"),
    ("forked_from_id", "forked_from_id"), ("agent_role", "agent_role"),
    ("agent_nickname", "agent_nickname"),
)
_GIT_ATTRIBUTES = (("branch", "git_branch"), ("commit_hash", "git_commit"),
                   ("repository_url", "git_repository_url"))
_TURN_ATTRIBUTES = (
    ("cwd", "cwd"), ("approval_policy", "approval_policy"), ("sandbox_policy", "sandbox_policy"),
    ("model", "model"), ("effort", "effort"), ("summary", "reasoning_summary"),
    ("turn_id", "turn_id"),
)
_EVENT_ATTRIBUTES = (
    ("turn_id", "turn_id"), ("reason", "reason"), ("phase", "phase"), ("source", "exec_source"),
    ("cwd", "cwd"), ("status", "status"), ("exit_code", "exit_code"), ("duration", "duration"),
    ("success", "success"), ("auto_approved", "auto_approved"),
)
# Which payload field is a lifecycle event's text, in order of preference.
_EVENT_TEXT_KEYS = ("message", "reason", "thread_name", "query", "path")


@dataclass
class _InputState(TranscriptState):
    """What earlier lines of the same input told us (kept in ``ctx.state``)."""

    ancestors: set[str] = field(default_factory=set)  # sessions a fork copies lines from
    # (session, channel, text) -> pending first halves of mirrored pairs: [(line type, event id)]
    mirrors: dict[tuple[str, str, str], list[tuple[str, str]]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # native id -> times seen


@dataclass(frozen=True)
class _Line:
    """One rollout line with what its event shares."""

    record: Mapping[str, JSON]
    payload: Mapping[str, JSON]
    native_id: str
    session_id: str | None
    time: datetime
    received_at: datetime
    attributes: dict[str, JSON]
    state: _InputState

    @property
    def line_type(self) -> str:
        return str(self.record["type"])

    def field(self, name: str) -> str:
        return f"payload.{name}"

    def text(self, key: str) -> str | None:
        return opt_str(self.payload, key, self.field(key))


class CodexAdapter:
    name: ClassVar[str] = "codex"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return None  # rollouts are JSONL: every object is one line, never a container

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping) or not isinstance(record.get("payload"), Mapping):
            return False
        kind = record.get("type")
        if not isinstance(kind, str):
            return False
        if kind in _LINE_TYPES:
            return True
        # A future line type: only the rollout line's own keys and a timestamp.
        return record.keys() <= _LINE_KEYS and isinstance(record.get("timestamp"), str)

    def prescan(self, records: Sequence[JSON], ctx: AdapterContext) -> None:
        """Learn the session for lines before the first session_meta."""
        _state(ctx).expect_session(lambda: _first_session(records) or _origin_session(ctx.origin))

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        record = record_of(record)
        line = _line(record, ctx)
        return [_BY_TYPE.get(line.line_type, _other)(line)]


# --- per-input state and session ------------------------------------------------------------


def _state(ctx: AdapterContext) -> _InputState:
    return input_state(ctx.state, _STATE_KEY, _InputState)


def _first_session(records: Sequence[JSON]) -> str | None:
    metas = (record.get("payload") for record in records
             if isinstance(record, Mapping) and record.get("type") == "session_meta")
    return first_text(payload.get("id") for payload in metas if isinstance(payload, Mapping))


def _origin_session(origin: str | None) -> str | None:
    match = _ROLLOUT_NAME.fullmatch(PurePath(origin).name) if origin else None
    return match.group(1) if match else None


def _session(record: Mapping[str, JSON], payload: Mapping[str, JSON], state: _InputState,
             ctx: AdapterContext) -> str | None:
    if record.get("type") == "session_meta":
        _enter_session(payload, state)
    return state.session_id or state.next_session_id or _origin_session(ctx.origin)


def _enter_session(payload: Mapping[str, JSON], state: _InputState) -> None:
    """A session_meta line: a new stream, unless it is a fork's copy of an ancestor's meta."""
    own = opt_str(payload, "id", "payload.id")
    if not own:
        return  # a meta without id names no session; the line stays in the current stream
    if state.session_id is None or (own != state.session_id and own not in state.ancestors):
        state.session_id, state.ancestors = own, set()
    parent = opt_str(payload, "forked_from_id", "payload.forked_from_id")
    if parent:
        state.ancestors.add(parent)


# --- the parts of a line its event shares -----------------------------------------------------


def _line(record: Mapping[str, JSON], ctx: AdapterContext) -> _Line:
    kind = record.get("type")
    if not isinstance(kind, str):
        raise RecordError(f"expected a string, got {type_name(kind)}", field="type")
    payload = record.get("payload")
    if not isinstance(payload, Mapping):
        raise RecordError(f"expected an object, got {type_name(payload)}", field="payload")
    state = _state(ctx)
    session = _session(record, payload, state, ctx)
    time = _time(record, state, ctx)  # before the content hash: its error names the field
    return _Line(
        record=record,
        payload=payload,
        native_id=_native_id(record, session, state),
        session_id=session,
        time=time,
        received_at=ctx.received_at,
        attributes=_attributes(kind, payload),
        state=state,
    )


def _native_id(record: Mapping[str, JSON], session: str | None, state: _InputState) -> str:
    try:
        digest = content_id(record)
    except (TypeError, ValueError) as exc:  # orjson: integers beyond 64 bits, too deep nesting
        raise RecordError(f"can not be encoded as JSON: {exc}") from None
    native_id = f"{session or NO_SESSION_STREAM}/{digest}"
    seen = state.repeats[native_id] = state.repeats.get(native_id, 0) + 1
    return native_id if seen == 1 else f"{native_id}#{seen}"


def _time(record: Mapping[str, JSON], state: _InputState, ctx: AdapterContext) -> datetime:
    return state.stamp(record) or state.last_time or ctx.received_at


def _attributes(kind: str, payload: Mapping[str, JSON]) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {"record_type": kind}
    payload_type = payload.get("type")
    if isinstance(payload_type, str) and kind in ("response_item", "event_msg"):
        attributes["payload_type"] = payload_type
    return attributes


# --- one function per line type ---------------------------------------------------------------


def _session_meta(line: _Line) -> Event:
    payload = line.payload
    extra: dict[str, JSON] = {}
    copy_present(payload, _SESSION_ATTRIBUTES, extra)
    git = payload.get("git")
    if isinstance(git, Mapping):
        copy_present(git, _GIT_ATTRIBUTES, extra)
    own = payload.get("id")
    if isinstance(own, str) and own != line.session_id:
        extra["copied_session_id"] = own  # a fork's copy of an ancestor's session_meta
    # ``instructions`` (AGENTS.md, older versions) is what the agent was told; the 20 kB default
    # ``base_instructions`` of newer versions stay in raw only.
    return _emit(line, EventKind.SYSTEM, actor="system", text=line.text("instructions"),
                 extra=extra)


def _turn_context(line: _Line) -> Event:
    extra: dict[str, JSON] = {}
    copy_present(line.payload, _TURN_ATTRIBUTES, extra)
    return _emit(line, EventKind.SYSTEM, actor="system", extra=extra)


def _compacted(line: _Line) -> Event:
    history = line.payload.get("replacement_history")
    extra: dict[str, JSON] = {"system_reason": "compaction"}
    if isinstance(history, list):
        extra["replacement_items"] = len(history)
    return _emit(line, EventKind.SYSTEM, actor="system", text=line.text("message"), extra=extra)


def _other(line: _Line) -> Event:
    """Unknown line, item and event types: kept as ``other``, never dropped."""
    return _emit(line, EventKind.OTHER)


def _response_item(line: _Line) -> Event:
    return _dispatch(line, _RESPONSE_ITEMS)


def _event_msg(line: _Line) -> Event:
    return _dispatch(line, _EVENT_MSGS)


def _dispatch(line: _Line, handlers: Mapping[str, Callable[[_Line], Event]]) -> Event:
    kind = line.payload.get("type")
    if not isinstance(kind, str):  # also keeps unhashable values away from the dict lookup
        return _other(line)
    return handlers.get(kind, _other)(line)


_BY_TYPE: dict[str, Callable[[_Line], Event]] = {
    "session_meta": _session_meta,
    "turn_context": _turn_context,
    "compacted": _compacted,
    "response_item": _response_item,
    "event_msg": _event_msg,
}


# --- response items: messages and reasoning ---------------------------------------------------


def _message(line: _Line) -> Event:
    role = line.text("role")
    text, images = _content_text(line.payload.get("content"), line.field("content"))
    extra: dict[str, JSON] = {"role": role} if role else {}
    copy_present(line.payload, (("phase", "phase"),), extra)
    if images:
        extra["image_count"] = images
    if role == "assistant":
        return _visible(line, EventKind.AGENT_MESSAGE, "assistant", [text], actor="agent",
                        text=text, extra=extra)
    if role in ("developer", "system"):
        return _emit(line, EventKind.SYSTEM, actor="system", text=text,
                     extra={**extra, "system_reason": f"{role}_message"})
    if role != "user":
        return _emit(line, EventKind.OTHER, text=text, extra=extra)
    injected = _injected(text)
    if injected is None:
        return _visible(line, EventKind.USER_MESSAGE, "user", [text], actor="user", text=text,
                        extra=extra)
    reason, by_user = injected
    return _emit(line, EventKind.SYSTEM, actor="user" if by_user else "system", text=text,
                 extra={**extra, "system_reason": reason})


def _injected(text: str) -> tuple[str, bool] | None:
    """Why a user message is not something the user typed, or None when it is."""
    stripped = text.lstrip()
    return next(((reason, by_user) for prefix, reason, by_user in _INJECTED
                 if stripped.startswith(prefix)), None)


def _reasoning(line: _Line) -> Event:
    summary = _parts(line.payload.get("summary"), line.field("summary"))
    content = _parts(line.payload.get("content"), line.field("content"))
    extra: dict[str, JSON] = {}
    if line.payload.get("encrypted_content") is not None:
        extra["encrypted"] = True  # opaque to us: only the summary is readable
    if summary:
        return _visible(line, EventKind.AGENT_REASONING, "reasoning", summary, actor="agent",
                        text="\n\n".join(summary), extra=extra)
    if content:
        return _visible(line, EventKind.AGENT_REASONING, "reasoning_raw", content, actor="agent",
                        text="\n\n".join(content), extra=extra)
    return _emit(line, EventKind.AGENT_REASONING, actor="agent", extra={**extra, "redacted": True})


def _content_text(content: JSON, field_name: str) -> tuple[str, int]:
    """A message's text parts joined, and how many images it held."""
    if isinstance(content, str):
        return content, 0
    texts, images = [], 0
    for index, item in enumerate(_items(content, field_name)):
        kind = item.get("type")
        if kind in ("input_image", "output_image"):
            images += 1
        elif item.get("text") is not None:
            texts.append(_item_text(item, f"{field_name}[{index}]"))
    return "\n".join(texts), images


def _parts(value: JSON, field_name: str) -> list[str]:
    """The texts of a reasoning summary or content list (``summary_text`` / ``reasoning_text``)."""
    if value is None:
        return []
    return [_item_text(item, f"{field_name}[{i}]")
            for i, item in enumerate(_items(value, field_name)) if item.get("text") is not None]


def _items(value: JSON, field_name: str) -> list[Mapping[str, JSON]]:
    if not isinstance(value, list):
        raise RecordError(f"expected a list, got {type_name(value)}", field=field_name)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise RecordError(f"expected an object, got {type_name(item)}",
                              field=f"{field_name}[{index}]")
    return value


def _item_text(item: Mapping[str, JSON], field_name: str) -> str:
    text = item.get("text")
    if not isinstance(text, str):
        raise RecordError(f"expected a string, got {type_name(text)}", field=f"{field_name}.text")
    return text


# --- response items: calls and results --------------------------------------------------------


def _function_call(line: _Line) -> Event:
    call_id = _call_id(line)
    name = line.text("name")
    arguments = line.payload.get("arguments")
    extra: dict[str, JSON] = {}
    copy_present(line.payload, (("namespace", "namespace"), ("status", "status")), extra)
    tool_input = _arguments(arguments)
    if tool_input is None:
        tool_input, extra["arguments_invalid_json"] = {"arguments": arguments}, True
    return _call(line, name, call_id, tool_input, extra)


def _custom_tool_call(line: _Line) -> Event:
    """Freeform tools (``apply_patch``): the input is raw text, not JSON."""
    extra: dict[str, JSON] = {}
    copy_present(line.payload, (("status", "status"),), extra)
    return _call(line, line.text("name"), _call_id(line), {"input": line.text("input")}, extra)


def _local_shell_call(line: _Line) -> Event:
    action = line.payload.get("action")
    if action is not None and not isinstance(action, Mapping):
        raise RecordError(f"expected an object, got {type_name(action)}", field=line.field("action"))
    call_id = line.text("call_id") or line.text("id")
    extra: dict[str, JSON] = {}
    copy_present(line.payload, (("status", "status"),), extra)
    return _call(line, "local_shell", call_id, dict(action or {}), extra)


def _web_search_call(line: _Line) -> Event:
    """The search the model ran (results are not persisted; ``web_search_end`` has the query)."""
    action = line.payload.get("action")
    tool_input = dict(action) if isinstance(action, Mapping) else {"action": action}
    extra: dict[str, JSON] = {}
    copy_present(line.payload, (("status", "status"),), extra)
    return _call(line, "web_search", line.text("id"), tool_input, extra)


def _call(line: _Line, name: str | None, call_id: str | None, tool_input: JSON,
          extra: dict[str, JSON]) -> Event:
    if name is not None and call_id:
        line.state.tool_names[call_id] = name
    return _emit(line, EventKind.TOOL_CALL, actor="agent", tool_name=name, call_id=call_id,
                 tool_input=tool_input, extra=extra)


def _call_output(line: _Line) -> Event:
    call_id = _call_id(line)
    text, facts = _output(line.payload.get("output"), line.field("output"))
    return _emit(line, EventKind.TOOL_RESULT, actor="agent", call_id=call_id,
                 tool_name=line.state.tool_names.get(call_id), text=text,
                 is_error=_failed(facts), extra=facts)


def _call_id(line: _Line) -> str:
    call_id = line.payload.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise RecordError("a call and its output need a string call_id", field=line.field("call_id"))
    return call_id


def _arguments(arguments: JSON) -> dict[str, JSON] | None:
    """Function arguments: JSON text per the Responses API (an object from some clients)."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not isinstance(arguments, str):
        return None
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _output(output: JSON, field_name: str) -> tuple[str | None, dict[str, JSON]]:
    """Result text and what is known about success: exit code, duration, success flag."""
    if output is None:
        return None, {}
    if isinstance(output, list):  # content items (MCP tools, images)
        return _content_text(output, field_name)[0], {"output_format": "content_items"}
    if isinstance(output, Mapping):  # older payloads: {"content", "success"}
        content = output.get("content")
        facts: dict[str, JSON] = {"output_format": "object"}
        copy_present(output, (("success", "success"),), facts)
        return (content if isinstance(content, str) else None), facts
    if not isinstance(output, str):
        raise RecordError(f"expected a string, a list or an object, got {type_name(output)}",
                          field=field_name)
    return _text_output(output)


def _text_output(output: str) -> tuple[str, dict[str, JSON]]:
    """Shell results are JSON text ``{"output", "metadata": {"exit_code", "duration_seconds"}}``
    in older versions and plain text with an ``Exit code: N`` line in newer ones."""
    try:
        parsed = orjson.loads(output) if output.startswith("{") else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("output"), str):
        metadata = parsed.get("metadata")
        facts: dict[str, JSON] = {"output_format": "json"}
        if isinstance(metadata, dict):
            copy_present(metadata, (("exit_code", "exit_code"), ("duration_seconds", "duration_seconds")),
                         facts)
        return parsed["output"], facts
    # The exit code line is in the header above ``Output:``; the output itself may say anything.
    header, marker, _ = output[:4000].partition("\nOutput:")
    code = _EXIT_CODE.search(header) if marker else None
    return output, {"output_format": "text", **({"exit_code": int(code.group(1))} if code else {})}


def _failed(facts: Mapping[str, JSON]) -> bool | None:
    """Known failure (non-zero exit, success false), known success, or None when nothing says."""
    code = facts.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code != 0
    success = facts.get("success")
    return (not success) if isinstance(success, bool) else None


def _compaction(line: _Line) -> Event:
    return _emit(line, EventKind.SYSTEM, actor="system",
                 extra={"system_reason": "compaction", "encrypted": True})


_RESPONSE_ITEMS: dict[str, Callable[[_Line], Event]] = {
    "message": _message,
    "reasoning": _reasoning,
    "function_call": _function_call,
    "function_call_output": _call_output,
    "custom_tool_call": _custom_tool_call,
    "custom_tool_call_output": _call_output,
    "local_shell_call": _local_shell_call,
    "web_search_call": _web_search_call,
    "compaction": _compaction,
    "compaction_summary": _compaction,
    "context_compaction": _compaction,
}


# --- event messages ---------------------------------------------------------------------------


def _user_message(line: _Line) -> Event:
    text = line.text("message") or ""
    extra: dict[str, JSON] = {}
    images = line.payload.get("images")
    if isinstance(images, list) and images:
        extra["image_count"] = len(images)
    # Older versions tagged injected context on the event itself.
    kind = line.payload.get("kind")
    if kind in ("environment_context", "user_instructions"):
        return _emit(line, EventKind.SYSTEM, actor="system", text=text,
                     extra={**extra, "system_reason": kind})
    return _visible(line, EventKind.USER_MESSAGE, "user", [text], actor="user", text=text,
                    extra=extra)


def _agent_message(line: _Line) -> Event:
    text = line.text("message") or ""
    extra: dict[str, JSON] = {}
    copy_present(line.payload, (("phase", "phase"),), extra)
    return _visible(line, EventKind.AGENT_MESSAGE, "assistant", [text], actor="agent", text=text,
                    extra=extra)


def _agent_reasoning(line: _Line) -> Event:
    text = line.text("text") or ""
    channel = "reasoning_raw" if line.payload["type"] == "agent_reasoning_raw_content" else "reasoning"
    return _visible(line, EventKind.AGENT_REASONING, channel, [text], actor="agent", text=text)


def _exec_event(line: _Line) -> Event:
    """exec_command_begin/end: the harness running a call's command (the result proper is the
    call's output item; these add the exit code and the command as executed)."""
    command = line.payload.get("command")
    extra: dict[str, JSON] = {"command": command} if command is not None else {}
    copy_present(line.payload, _EVENT_ATTRIBUTES, extra)
    text = _first_str(line.payload, ("aggregated_output", "stdout", "formatted_output"))
    if text is None and isinstance(command, list) and all(isinstance(c, str) for c in command):
        text = shlex.join(command)
    return _harness(line, text, extra)


def _patch_event(line: _Line) -> Event:
    changes = line.payload.get("changes")
    extra: dict[str, JSON] = {}
    copy_present(line.payload, _EVENT_ATTRIBUTES, extra)
    if isinstance(changes, Mapping):
        extra["files"] = sorted(str(path) for path in changes)
    text = _first_str(line.payload, ("stdout", "stderr"))
    return _harness(line, text, extra)


def _lifecycle(line: _Line) -> Event:
    """Turn started/completed/aborted, errors, compaction, review mode, MCP and search ends."""
    extra: dict[str, JSON] = {}
    copy_present(line.payload, _EVENT_ATTRIBUTES, extra)
    return _harness(line, _first_str(line.payload, _EVENT_TEXT_KEYS), extra)


def _harness(line: _Line, text: str | None, extra: dict[str, JSON]) -> Event:
    call_id = line.payload.get("call_id")
    kind = line.payload["type"]
    failed = _failed(extra)
    if kind in ("error", "stream_error"):
        failed = True
    return _emit(line, EventKind.SYSTEM, actor="system", text=text,
                 call_id=call_id if isinstance(call_id, str) else None,
                 tool_name=line.state.tool_names.get(call_id) if isinstance(call_id, str) else None,
                 is_error=failed, extra=extra)


_EVENT_MSGS: dict[str, Callable[[_Line], Event]] = {
    "user_message": _user_message,
    "agent_message": _agent_message,
    "agent_reasoning": _agent_reasoning,
    "agent_reasoning_raw_content": _agent_reasoning,
    "exec_command_begin": _exec_event,
    "exec_command_end": _exec_event,
    "patch_apply_begin": _patch_event,
    "patch_apply_end": _patch_event,
    **{kind: _lifecycle for kind in (
        "task_started", "task_complete", "turn_started", "turn_complete", "turn_aborted",
        "error", "stream_error", "warning", "context_compacted", "thread_rolled_back",
        "entered_review_mode", "exited_review_mode", "mcp_tool_call_begin", "mcp_tool_call_end",
        "web_search_begin", "web_search_end", "view_image_tool_call", "thread_name_updated",
        "item_completed", "plan_update", "turn_diff", "session_configured",
    )},
}


# --- mirrored pairs ---------------------------------------------------------------------------


def _visible(line: _Line, kind: EventKind, channel: str, texts: list[str], *, actor: str,
             text: str | None, extra: dict[str, JSON] | None = None) -> Event:
    """A message or reasoning shown twice by Codex: the first of a pair is the event proper, the
    second an ``other`` event pointing at it (see the module docstring)."""
    keys = list(dict.fromkeys(
        (line.session_id or "", channel, part.strip()) for part in texts if part.strip()))
    primary = _twin(line.state.mirrors, keys, line.line_type)
    if primary is not None:
        return _emit(line, EventKind.OTHER, actor=actor, text=text,
                     extra={**(extra or {}), "duplicate_of": primary, "mirror_of": str(kind)})
    for key in keys:  # nothing to recognise a mirror by when there is no text
        line.state.mirrors.setdefault(key, []).append((line.line_type, event_id(SOURCE, line.native_id)))
    _trim(line.state.mirrors)
    return _emit(line, kind, actor=actor, text=text, extra=extra)


def _twin(mirrors: dict[tuple[str, str, str], list[tuple[str, str]]],
          keys: list[tuple[str, str, str]], line_type: str) -> str | None:
    """The id of the pending first half every key matches (consumed), or None (nothing consumed).

    A pair is one line of each type: two identical user messages in a row are not twins."""
    halves = []
    for key in keys:
        half = next((entry for entry in mirrors.get(key, []) if entry[0] != line_type), None)
        if half is None:
            return None
        halves.append(half)
    for key, half in zip(keys, halves, strict=True):
        mirrors[key].remove(half)
        if not mirrors[key]:
            del mirrors[key]
    return halves[0][1] if halves else None


def _trim(mirrors: dict[tuple[str, str, str], list[tuple[str, str]]]) -> None:
    while len(mirrors) > _MIRROR_WINDOW:
        del mirrors[next(iter(mirrors))]  # the oldest: its twin is not coming any more


# --- building events --------------------------------------------------------------------------


def _emit(line: _Line, kind: EventKind, *, actor: str | None = None,
          extra: Mapping[str, JSON] | None = None, **fields: Any) -> Event:
    return line_event(SOURCE, NO_SESSION_STREAM, line, line.native_id, kind, actor=actor,
                      extra=extra or {}, **fields)


# --- small helpers ----------------------------------------------------------------------------


def _first_str(mapping: Mapping[str, JSON], keys: Sequence[str]) -> str | None:
    return first_text(mapping.get(key) for key in keys)
