"""Claude Code hook payloads: the JSON Claude Code pipes to a hook command (or POSTs to a URL).

Every payload has ``session_id``, ``transcript_path``, ``cwd``, ``hook_event_name`` and mostly
``permission_mode``; PreToolUse adds ``tool_name``/``tool_input``/``tool_use_id``, PostToolUse
also ``tool_response``, PostToolUseFailure ``error``, UserPromptSubmit ``prompt``; SessionStart,
SessionEnd, Stop, SubagentStop, PreCompact and Notification carry a few scalars each.

Payloads have no id of their own, so ``blackbox hook claude-code`` stamps each with a random
``blackbox_hook_id`` and ``blackbox_sent_at`` before it sends or spools it: a spooled payload sent
again dedupes, while two identical prompts stay two events. Payloads posted by something else
fall back to the tool call id (PreToolUse / PostToolUse) and then to the content hash — byte-identical
unstamped payloads of one session then collapse into one event, which beats rejecting them.
Hook events share the session's stream with its transcript lines, so the log order shows which
reasoning came before which call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import non_empty_str, opt_str, record_of
from ingest.envelope import JSON, Event, EventKind, content_id, parse_time

SOURCE = "claude-code-hooks"
HOOK_ID = "blackbox_hook_id"
SENT_AT = "blackbox_sent_at"

# Scalars copied into attributes when present (payload key, attribute name).
_ATTRIBUTES = (
    ("cwd", "cwd"), ("permission_mode", "permission_mode"), ("transcript_path", "transcript_path"),
    ("agent_id", "agent_id"), ("agent_type", "agent_type"), ("source", "session_source"),
    ("reason", "reason"), ("trigger", "trigger"), ("notification_type", "notification_type"),
    ("stop_hook_active", "stop_hook_active"), ("is_interrupt", "is_interrupt"),
    ("prompt_id", "prompt_id"), (HOOK_ID, "hook_id"),
)
# What a system event's text is, per hook event; the whole payload stays in raw.
_SYSTEM_TEXT = {
    "Notification": "message", "SessionStart": "source", "SessionEnd": "reason",
    "PreCompact": "custom_instructions", "Stop": "last_assistant_message",
    "SubagentStop": "last_assistant_message",
}
# Tool responses are shapes per tool; these keys hold their text when it is a plain string.
_RESPONSE_TEXT_KEYS = ("content", "output", "result", "error", "message")
_DUMP_LIMIT = 10_000  # a response with no text field becomes its JSON, cut to this many chars


class ClaudeCodeHooksAdapter:
    name: ClassVar[str] = "claude-code-hooks"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return None  # one payload per hook call, never a container

    def accepts(self, record: JSON) -> bool:
        return (isinstance(record, Mapping) and isinstance(record.get("hook_event_name"), str)
                and isinstance(record.get("session_id"), str))

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        record = record_of(record)
        hook = _hook(record, ctx)
        return [_BY_EVENT.get(hook.event, _system)(hook)]


@dataclass(frozen=True)
class _Hook:
    """One payload with what every event made from it shares."""

    record: Mapping[str, JSON]
    event: str
    session: str
    time: datetime
    received_at: datetime

    def str_field(self, key: str) -> str | None:
        return opt_str(self.record, key)

    @property
    def actor(self) -> str:
        agent = self.str_field("agent_id")  # hooks fired inside a subagent name it
        return f"subagent:{agent}" if agent else "agent"


def _hook(record: Mapping[str, JSON], ctx: AdapterContext) -> _Hook:
    event = non_empty_str(record, "hook_event_name")
    session = non_empty_str(record, "session_id")
    sent_at = record.get(SENT_AT)
    time = ctx.received_at if sent_at is None else parse_time(sent_at, field_name=SENT_AT)
    return _Hook(record, event, session, time, ctx.received_at)


# --- one function per hook event --------------------------------------------------------------


def _pre_tool_use(hook: _Hook) -> Event:
    return _event(hook, EventKind.TOOL_CALL, actor=hook.actor, tool_name=hook.str_field("tool_name"),
                  call_id=hook.str_field("tool_use_id"), tool_input=hook.record.get("tool_input"),
                  extra={"phase": "pre"})


def _post_tool_use(hook: _Hook) -> Event:
    response = hook.record.get("tool_response")
    return _event(hook, EventKind.TOOL_RESULT, actor=hook.actor,
                  tool_name=hook.str_field("tool_name"), call_id=hook.str_field("tool_use_id"),
                  tool_input=hook.record.get("tool_input"), text=_response_text(response),
                  is_error=_response_failed(response), extra={"phase": "post"})


def _post_tool_use_failure(hook: _Hook) -> Event:
    return _event(hook, EventKind.TOOL_RESULT, actor=hook.actor,
                  tool_name=hook.str_field("tool_name"), call_id=hook.str_field("tool_use_id"),
                  tool_input=hook.record.get("tool_input"), text=hook.str_field("error"),
                  is_error=True, extra={"phase": "post"})


def _user_prompt(hook: _Hook) -> Event:
    return _event(hook, EventKind.USER_MESSAGE, actor="user", text=hook.str_field("prompt"))


def _system(hook: _Hook) -> Event:
    """SessionStart/End, Stop, SubagentStop, PreCompact, Notification and any future event."""
    key = _SYSTEM_TEXT.get(hook.event)
    text = hook.record.get(key) if key else None
    return _event(hook, EventKind.SYSTEM, actor="system",
                  text=text if isinstance(text, str) and text else None)


_BY_EVENT: dict[str, Callable[[_Hook], Event]] = {
    "PreToolUse": _pre_tool_use,
    "PostToolUse": _post_tool_use,
    "PostToolUseFailure": _post_tool_use_failure,
    "UserPromptSubmit": _user_prompt,
}


# --- tool responses ---------------------------------------------------------------------------


def _response_text(response: JSON) -> str | None:
    """Bash: stdout and stderr; MCP: the text parts; others: their text field, else their JSON."""
    if response is None or isinstance(response, str):
        return response
    if isinstance(response, list):
        return "\n".join(_part_text(part) for part in response)
    if isinstance(response, Mapping):
        text = _mapping_text(response)
        if text is not None:
            return text
    return _dump(response)


def _mapping_text(response: Mapping[str, JSON]) -> str | None:
    streams: list[str] = [response[k] for k in ("stdout", "stderr") if isinstance(response.get(k), str)]
    if streams:  # Bash: empty output is an empty text, not the response's JSON
        return "\n".join(s for s in streams if s)
    texts: list[str] = [response[k] for k in _RESPONSE_TEXT_KEYS if isinstance(response.get(k), str)]
    if texts:
        return texts[0]
    content = response.get("content")
    return _response_text(content) if isinstance(content, list) else None


def _part_text(part: JSON) -> str:
    if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
        return str(part["text"])
    kind = part.get("type") if isinstance(part, Mapping) else None
    return f"[{kind}]" if isinstance(kind, str) else _dump(part)


def _response_failed(response: JSON) -> bool:
    """True when the tool response says it failed (PostToolUse fires for some failures too)."""
    if not isinstance(response, Mapping):
        return False
    return (response.get("is_error") is True or response.get("isError") is True
            or response.get("success") is False)


def _dump(value: JSON) -> str:
    try:
        return orjson.dumps(value).decode()[:_DUMP_LIMIT]
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)[:_DUMP_LIMIT]


# --- building events --------------------------------------------------------------------------


def _native_id(hook: _Hook) -> str:
    """The stamp of ``blackbox hook``, else the tool call id, else the payload's content."""
    stamp = hook.str_field(HOOK_ID)
    if stamp:
        return f"{hook.session}/{stamp}"
    call_id = hook.str_field("tool_use_id")
    if call_id:
        return f"{hook.session}/{hook.event}/{call_id}"
    return content_id(hook.record)


def _event(hook: _Hook, kind: EventKind, *, actor: str, extra: Mapping[str, JSON] | None = None,
           **fields: Any) -> Event:
    attributes: dict[str, JSON] = {"hook_event": hook.event}
    for key, name in _ATTRIBUTES:
        if hook.record.get(key) is not None:
            attributes[name] = hook.record[key]
    return Event.create(
        source=SOURCE,
        native_id=_native_id(hook),
        stream=hook.session,
        kind=kind,
        time=hook.time,
        received_at=hook.received_at,
        session_id=hook.session,
        actor=actor,
        attributes={**attributes, **(extra or {})},
        raw=hook.record,
        **fields,
    )
