"""OpenTelemetry GenAI spans: OTLP/HTTP JSON ``ExportTraceServiceRequest`` bodies.

``unwrap`` flattens an export into one record per span that carries its resource and scope, so
every record stands alone (in the log's ``raw`` and in the quarantine)::

    {"resource": {...}, "scope": {...}, "span": {...},
     "location": "resourceSpans[0].scopeSpans[0].spans[3]"}

A bare span object (``traceId``, ``spanId``, ``startTimeUnixNano`` …) is accepted too.

Mapping (GenAI semantic conventions, current attribute form and the older span-event form):

- ``invoke_agent`` → ``system`` at the start and at the end (``phase`` start/end); its own
  messages only when no model-call span below it is in the same input (they would repeat it).
- ``chat`` / ``text_completion`` / ``generate_content`` → ``user_message`` / ``system`` /
  ``tool_result`` for the input messages this span adds, ``agent_reasoning`` /
  ``agent_message`` / ``tool_call`` for the output parts. A model call resends the history, so
  only the input messages after the last assistant message are new (stateless: it holds across
  requests, chunks and exporters). Without captured content the span is one ``other`` event.
- ``execute_tool`` → ``tool_call`` and, when a result is present or the span failed,
  ``tool_result`` (``is_error`` from status ERROR).
- ``create_agent`` → ``system``; every other span (``embeddings``, HTTP, database …) → ``other``.

Native ids are ``traceId/spanId`` (+ ``/in|out/<message>/<part>``, ``/end``, ``/result``).
A tool call or result named by a call id is told twice — by the model's output (or the next
model call's input) and by the ``execute_tool`` span — so both share the native id
``<session>/call|result/<call id>/<hash of arguments|result>``: within one input the repeat is
not emitted at all, across inputs the log keeps the first and counts the second as a duplicate,
and two different calls that reuse an id never collide. System instructions, resent with every
model call, share ``<session>/system/<hash>`` the same way.

Session: ``gen_ai.conversation.id`` (or ``session.id``) of the span, else of its nearest
ancestor, else of any span of the same trace in this input; else the trace id is the session
(spans of one trace exported in separate requests before their conversation id was seen stay
in the trace's stream). Actor: ``agent``, or ``subagent:<name>`` for an agent invoked below
another agent's ``invoke_agent`` span; ``user`` / ``system`` for those messages.

Times: inputs and calls at the span start, outputs and results at its end.
Strict where OTLP is strict (ids, times, attribute values: a ``RecordError`` names the field);
lenient inside the GenAI content, which instrumentations truncate and vary: what can not be
read becomes an ``other`` event and stays in ``raw``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

import orjson

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import input_state
from ingest.envelope import JSON, Event, EventKind, type_name
from ingest.errors import RecordError
from ingest.reader import container_count, max_depth_exceeded

SOURCE = "otlp"
_STATE_KEY = "otlp"
_ERROR_KEY = "otlpError"  # an unwrapped piece of an export that is not a span (see _flatten)

OPERATION = "gen_ai.operation.name"
CONVERSATION = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
_SESSION = "session.id"  # general semconv; OpenInference and others set it instead

_AGENT_OPS = frozenset({"invoke_agent", "create_agent"})
_MODEL_OPS = frozenset({"chat", "text_completion", "generate_content"})
_KNOWN_OPS = _AGENT_OPS | _MODEL_OPS | {"execute_tool", "embeddings"}
_FACT_KEYS = frozenset({OPERATION, CONVERSATION, AGENT_NAME, AGENT_ID, _SESSION})
_MAX_ANCESTORS = 64  # parent links come from the input: a cycle must not loop forever
_MAX_CONTENT_DEPTH = 64

_SPAN_ATTRIBUTES = (  # span attribute -> event attribute; the first of two aliases wins
    (OPERATION, "operation"), ("gen_ai.provider.name", "provider"), ("gen_ai.system", "provider"),
    ("gen_ai.response.id", "response_id"), ("gen_ai.response.finish_reasons", "finish_reasons"),
    ("gen_ai.usage.input_tokens", "input_tokens"), ("gen_ai.usage.output_tokens", "output_tokens"),
    ("gen_ai.usage.prompt_tokens", "input_tokens"),  # names before semconv 1.27
    ("gen_ai.usage.completion_tokens", "output_tokens"),
    ("gen_ai.tool.type", "tool_type"), ("error.type", "error_type"),
)
# Span events of the older conventions: one event per message, the response as gen_ai.choice.
_EVENT_ROLES = {
    "gen_ai.system.message": "system", "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool",
}
_CHOICE = "gen_ai.choice"
_EVENT_CONTENT = "gen_ai.event.content"  # Azure SDKs put the whole body in one JSON attribute
_DETAILS = "gen_ai.client.inference.operation.details"  # current conventions' event form
_PROMPT_EVENTS = {"gen_ai.content.prompt": "gen_ai.prompt",  # the first GenAI conventions
                  "gen_ai.content.completion": "gen_ai.completion"}

_SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = {0: "unset", 1: "ok", 2: "error",
           "STATUS_CODE_UNSET": "unset", "STATUS_CODE_OK": "ok", "STATUS_CODE_ERROR": "error"}
_HEX = {16: re.compile(r"[0-9a-fA-F]{32}"), 8: re.compile(r"[0-9a-fA-F]{16}")}
_LOCATION = re.compile(r"(resourceSpans\[\d+\])\.(scopeSpans\[\d+\])\.spans\[\d+\]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_NANOS = 2**64  # fixed64
_INT64 = (-(2**63), 2**63 - 1)
_SIGNATURE_KEYS = ("traceId", "spanId", "startTimeUnixNano")
_FLAT_KEYS = frozenset({"resource", "scope", "span", "location", "schemaUrl"})


class OtlpAdapter:
    name: ClassVar[str] = "otlp"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        if not document:  # protobuf's JSON form of an empty export (no spans) is {}
            return []
        return list(_flatten(document)) if "resourceSpans" in document else None

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping):
            return False
        if "resourceSpans" in record:
            return isinstance(record["resourceSpans"], list)
        span = record.get("span")
        if isinstance(span, Mapping) and record.keys() <= _FLAT_KEYS:
            return _looks_like_span(span)
        return _looks_like_span(record)

    def prescan(self, records: Sequence[JSON], ctx: AdapterContext) -> None:
        """Learn parents, agents and conversations first: children are exported before parents."""
        state = _state(ctx)
        peeked = [found for found in map(_peek, records) if found is not None]
        for key, facts in peeked:
            state.remember(key, facts)
        for _key, facts in peeked:
            state.mark_model_call(facts)

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        if not isinstance(record, Mapping):
            raise RecordError(f"expected a span object, got {type_name(record)}")
        if _ERROR_KEY in record:
            raise _container_error(record[_ERROR_KEY])
        if "resourceSpans" in record:
            raise RecordError("an export request inside a list: send it as the body itself",
                              field="resourceSpans")
        c = _context(_parse(record, _state(ctx).decoded), ctx)
        handler = _BY_OPERATION.get(c.operation or "")
        if handler is None:
            handler = _model_call if _has_messages(c.span) else _other_span
        return c.state.unrepeated(handler(c))


def _looks_like_span(value: Mapping[str, JSON]) -> bool:
    return all(isinstance(value.get(key), str | int) for key in _SIGNATURE_KEYS)


# --- unwrapping an export ---------------------------------------------------------------------


def _flatten(document: Mapping[str, JSON]) -> Iterator[JSON]:
    """One record per span; a piece that is not what OTLP says becomes a record that fails.

    Raising here would fail the whole request instead of quarantining the piece at its path.
    """
    return _each_object(document.get("resourceSpans"), "resourceSpans", _flatten_scopes)


def _flatten_scopes(path: str, entry: Mapping[str, JSON]) -> Iterator[JSON]:
    return _each_object(entry.get("scopeSpans", []), f"{path}.scopeSpans",
                        lambda scope_path, scoped: _flatten_spans(entry, scope_path, scoped))


def _flatten_spans(entry: Mapping[str, JSON], scope_path: str,
                   scoped: Mapping[str, JSON]) -> Iterator[JSON]:
    spans = scoped.get("spans", [])
    if not isinstance(spans, list):
        yield _broken(f"{scope_path}.spans", f"expected a list, got {type_name(spans)}", spans)
        return
    shared = {"resource": entry.get("resource"), "scope": scoped.get("scope")}
    schema = scoped.get("schemaUrl") or entry.get("schemaUrl")
    if schema:
        shared["schemaUrl"] = schema
    for i, span in enumerate(spans):
        yield {**shared, "span": span, "location": f"{scope_path}.spans[{i}]"}


def _each_object(value: JSON, path: str,
                 inner: Callable[[str, Mapping[str, JSON]], Iterator[JSON]]) -> Iterator[JSON]:
    """The records ``inner`` makes of each object of the list at ``path``, in order.

    What is not a list, and each item that is not an object, becomes one record that fails.
    """
    if not isinstance(value, list):
        yield _broken(path, f"expected a list, got {type_name(value)}", value)
        return
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, Mapping):
            yield from inner(item_path, item)
        else:
            yield _broken(item_path, f"expected an object, got {type_name(item)}", item)


def _broken(path: str, reason: str, value: JSON) -> dict[str, JSON]:
    return {_ERROR_KEY: {"field": path, "reason": reason}, "value": value}


def _container_error(marker: JSON) -> RecordError:
    if isinstance(marker, Mapping) and isinstance(marker.get("reason"), str):
        path = marker.get("field")
        return RecordError(marker["reason"], field=path if isinstance(path, str) else None)
    return RecordError("not a part of an OTLP export", field=_ERROR_KEY)


# --- OTLP values (strict) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SpanEvent:
    name: str
    time: datetime | None
    attributes: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class _Span:
    record: Mapping[str, JSON]
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str | None
    start: datetime
    end: datetime | None
    duration_ms: float | None
    attributes: dict[str, JSON]
    resource: dict[str, JSON]
    scope_name: str | None
    events: tuple[_SpanEvent, ...]
    status: str
    status_message: str | None


def _parse(record: Mapping[str, JSON], cache: _Decoded | None = None) -> _Span:
    """Validate a flattened record (``span`` + resource + scope) or a bare span."""
    cache = {} if cache is None else cache
    if "span" in record:
        location = record.get("location")
        if location is not None and not isinstance(location, str):
            raise RecordError(f"expected a string, got {type_name(location)}", field="location")
        prefix = location or "span"
        resource_path, scope_path = _container_paths(location)
        resource = _resource(record.get("resource"), resource_path, cache)
        scope_name = _scope_name(record.get("scope"), scope_path, cache)
        span = record["span"]
    else:
        prefix, resource, scope_name, span = "", {}, None, record
    if not isinstance(span, Mapping):
        raise RecordError(f"expected a span object, got {type_name(span)}", field=prefix or None)
    return _span(record, span, prefix, resource, scope_name)


def _span(record: Mapping[str, JSON], span: Mapping[str, JSON], prefix: str,
          resource: dict[str, JSON], scope_name: str | None) -> _Span:
    start = _nanos(span.get("startTimeUnixNano"), _at(prefix, "startTimeUnixNano"), required=True)
    end = _nanos(span.get("endTimeUnixNano"), _at(prefix, "endTimeUnixNano"), required=False)
    assert start is not None  # required=True
    status, message = _status(span.get("status"), _at(prefix, "status"))
    return _Span(
        record=record,
        trace_id=_id(span.get("traceId"), _at(prefix, "traceId"), 16, required=True) or "",
        span_id=_id(span.get("spanId"), _at(prefix, "spanId"), 8, required=True) or "",
        parent_id=_id(span.get("parentSpanId"), _at(prefix, "parentSpanId"), 8, required=False),
        name=_opt_text(span.get("name"), _at(prefix, "name")) or "",
        kind=_span_kind(span.get("kind"), _at(prefix, "kind")),
        start=_time(start),
        end=_time(end) if end else None,
        duration_ms=round((end - start) / 1e6, 3) if end and end >= start else None,
        attributes=_key_values(span.get("attributes"), _at(prefix, "attributes")),
        resource=resource,
        scope_name=scope_name,
        events=_events(span.get("events"), _at(prefix, "events")),
        status=status,
        status_message=message,
    )


def _container_paths(location: str | None) -> tuple[str, str]:
    """Where the resource and scope of a span at ``location`` are in the export."""
    match = _LOCATION.fullmatch(location or "")
    if match is None:
        return "resource", "scope"
    return f"{match[1]}.resource", f"{match[1]}.{match[2]}.scope"


# Decoded resource/scope attributes by object identity: every span record of an export shares
# its resource and scope objects, so each is decoded once. The object is kept with its result,
# so its id can not be reused by another object while the entry exists.
_Decoded = dict[int, tuple[JSON, dict[str, JSON]]]
_DECODED_LIMIT = 256


def _resource(value: JSON, path: str, cache: _Decoded) -> dict[str, JSON]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type_name(value)}", field=path)
    return _cached_attributes(value, path, cache)


def _scope_name(value: JSON, path: str, cache: _Decoded) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type_name(value)}", field=path)
    _cached_attributes(value, path, cache)  # validated: it is in raw
    return _opt_text(value.get("name"), f"{path}.name")


def _cached_attributes(owner: Mapping[str, JSON], path: str, cache: _Decoded) -> dict[str, JSON]:
    hit = cache.get(id(owner))
    if hit is not None and hit[0] is owner:
        return hit[1]
    decoded = _key_values(owner.get("attributes"), f"{path}.attributes")
    if len(cache) >= _DECODED_LIMIT:
        cache.clear()
    cache[id(owner)] = (owner, decoded)
    return decoded


def _id(value: JSON, path: str, size: int, *, required: bool) -> str | None:
    """A trace (16 bytes) or span (8 bytes) id as lowercase hex, as OTLP/JSON writes it.

    Base64 (protobuf's own JSON mapping, which some exporters use) is converted, so the same
    span sent either way gets the same event ids.
    """
    if value is None or value == "":
        if required:
            raise RecordError(f"required: a span needs a {size}-byte id", field=path)
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a string of hex digits, got {type_name(value)}", field=path)
    text = _hex_id(value, size)
    if text is None:
        raise RecordError(f"expected {2 * size} hex digits, got {value[:40]!r}", field=path)
    if text.count("0") == len(text):
        raise RecordError("an all-zero id is invalid", field=path)
    return text


def _hex_id(value: str, size: int) -> str | None:
    if _HEX[size].fullmatch(value):
        return value.lower()
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded.hex() if len(decoded) == size else None


def _nanos(value: JSON, path: str, *, required: bool) -> int | None:
    """Nanoseconds since the epoch: an integer, or a string of digits (int64 in JSON)."""
    if value is None or (value in (0, "0") and not isinstance(value, bool)):
        if required:
            raise RecordError("required: the span's start time (0 means unset)", field=path)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise RecordError(f"expected nanoseconds since the epoch, got {_show(value)}", field=path)
    if not 0 < number < _MAX_NANOS:
        raise RecordError(f"timestamp out of range: {number}", field=path)
    return number


def _time(nanos: int) -> datetime:
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _span_kind(value: JSON, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_SPAN_KINDS):
        return _SPAN_KINDS[value]
    if isinstance(value, str) and value.startswith("SPAN_KIND_"):
        name = value.removeprefix("SPAN_KIND_").lower()
        if name in _SPAN_KINDS:
            return name
    raise RecordError(f"expected a span kind (0-5), got {_show(value)}", field=path)


def _status(value: JSON, path: str) -> tuple[str, str | None]:
    if value is None:
        return "unset", None
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type_name(value)}", field=path)
    code = value.get("code", 0)
    if isinstance(code, bool) or not isinstance(code, int | str) or code not in _STATUS:
        raise RecordError(f"expected a status code (0, 1, 2), got {_show(code)}", field=f"{path}.code")
    return _STATUS[code], _opt_text(value.get("message"), f"{path}.message") or None


def _events(value: JSON, path: str) -> tuple[_SpanEvent, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordError(f"expected a list, got {type_name(value)}", field=path)
    return tuple(_event_of(item, f"{path}[{index}]") for index, item in enumerate(value))


def _event_of(item: JSON, path: str) -> _SpanEvent:
    if not isinstance(item, Mapping):
        raise RecordError(f"expected an object, got {type_name(item)}", field=path)
    nanos = _nanos(item.get("timeUnixNano"), f"{path}.timeUnixNano", required=False)
    return _SpanEvent(name=_opt_text(item.get("name"), f"{path}.name") or "",
                      time=_time(nanos) if nanos else None,
                      attributes=_key_values(item.get("attributes"), f"{path}.attributes"))


def _key_values(value: JSON, path: str) -> dict[str, JSON]:
    """``[{"key", "value": AnyValue}]`` as a dict (a repeated key: the last one wins)."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise RecordError(f"expected a list, got {type_name(value)}", field=path)
    out: dict[str, JSON] = {}
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise RecordError(f"expected a key/value object, got {type_name(item)}",
                              field=f"{path}[{index}]")
        key = item.get("key")
        if not isinstance(key, str):
            raise RecordError(f"expected a string, got {type_name(key)}", field=f"{path}[{index}].key")
        out[key] = _any_value(item.get("value"), f"{path}[{index}].value")
    return out


def _any_value(value: JSON, path: str) -> JSON:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an AnyValue object, got {type_name(value)}", field=path)
    for key, decode in _ANY_VALUE:
        if key in value:
            return decode(value[key], f"{path}.{key}")
    if value:  # an empty AnyValue is protobuf's unset value; unknown keys are a producer bug
        raise RecordError(f"expected one of {', '.join(k for k, _ in _ANY_VALUE)}", field=path)
    return None


def _string(value: JSON, path: str) -> JSON:
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {type_name(value)}", field=path)
    return value


def _bool(value: JSON, path: str) -> JSON:
    if not isinstance(value, bool):
        raise RecordError(f"expected true/false, got {type_name(value)}", field=path)
    return value


def _int(value: JSON, path: str) -> JSON:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"expected an integer, got {_show(value)}", field=path)
    if not _INT64[0] <= value <= _INT64[1]:
        raise RecordError(f"integer out of int64 range: {value}", field=path)
    return value


def _double(value: JSON, path: str) -> JSON:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):  # proto3 JSON: "NaN", "Infinity", or a number as a string
        try:
            return float(value)
        except ValueError:
            pass
    raise RecordError(f"expected a number, got {_show(value)}", field=path)


def _array(value: JSON, path: str) -> JSON:
    items = _values_list(value, path)
    return [_any_value(item, f"{path}.values[{index}]") for index, item in enumerate(items)]


def _kvlist(value: JSON, path: str) -> JSON:
    _values_list(value, path)
    return _key_values(value.get("values"), f"{path}.values")


def _values_list(value: JSON, path: str) -> list[JSON]:
    if not isinstance(value, Mapping):
        raise RecordError(f"expected an object, got {type_name(value)}", field=path)
    items = value.get("values", [])
    if not isinstance(items, list):
        raise RecordError(f"expected a list, got {type_name(items)}", field=f"{path}.values")
    return items


_ANY_VALUE: tuple[tuple[str, Callable[[JSON, str], JSON]], ...] = (
    ("stringValue", _string), ("intValue", _int), ("boolValue", _bool), ("doubleValue", _double),
    ("arrayValue", _array), ("kvlistValue", _kvlist), ("bytesValue", _string),
)


def _opt_text(value: JSON, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RecordError(f"expected a string, got {type_name(value)}", field=path)
    return value


# --- per-input state: what spans told about their parents -------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a span says about itself that its descendants inherit."""

    parent: str | None  # "traceId/spanId" of the parent
    operation: str | None
    agent: str | None  # gen_ai.agent.name, else gen_ai.agent.id
    conversation: str | None


@dataclass
class _State:
    spans: dict[str, _Facts] = field(default_factory=dict)
    trace_conversations: dict[str, str] = field(default_factory=dict)
    model_callers: set[str] = field(default_factory=set)  # spans with a model call below them
    tool_names: dict[str, str] = field(default_factory=dict)  # call id -> tool name
    emitted: set[str] = field(default_factory=set)  # native ids mapped so far in this input
    decoded: _Decoded = field(default_factory=dict)  # resource and scope attributes

    def unrepeated(self, events: list[Event]) -> list[Event]:
        """Drop events an earlier span of this input already told (shared ids), so a report
        counts no duplicates on first ingest; a span always keeps at least one event (its raw)."""
        fresh = [event for event in events if event.native_id not in self.emitted]
        kept = fresh or events[:1]
        self.emitted.update(event.native_id for event in kept)
        return kept

    def remember(self, key: str, facts: _Facts) -> None:
        self.spans[key] = facts
        if facts.conversation:
            self.trace_conversations.setdefault(key.partition("/")[0], facts.conversation)

    def mark_model_call(self, facts: _Facts) -> None:
        if facts.operation in _MODEL_OPS and facts.parent:
            self.model_callers.add(facts.parent)
            self.model_callers.update(key for key, _ in self.ancestors(facts))

    def ancestors(self, facts: _Facts) -> Iterator[tuple[str, _Facts]]:
        key = facts.parent
        for _ in range(_MAX_ANCESTORS):
            found = self.spans.get(key) if key else None
            if found is None:
                return
            yield key or "", found
            key = found.parent


def _state(ctx: AdapterContext) -> _State:
    return input_state(ctx.state, _STATE_KEY, _State)


def _peek(record: JSON) -> tuple[str, _Facts] | None:
    """The facts of a record, read leniently (prescan must not fail on what to_events rejects)."""
    if not isinstance(record, Mapping):
        return None
    span = record.get("span", record)
    if not isinstance(span, Mapping):
        return None
    trace, span_id = _lenient_id(span.get("traceId"), 16), _lenient_id(span.get("spanId"), 8)
    if not trace or not span_id:
        return None
    parent = _lenient_id(span.get("parentSpanId"), 8)
    attributes = _peek_attributes(span.get("attributes"))
    name = span.get("name")
    return f"{trace}/{span_id}", _facts(trace, parent, attributes, name if isinstance(name, str) else "")


def _lenient_id(value: JSON, size: int) -> str | None:
    return _hex_id(value, size) if isinstance(value, str) and value else None


def _peek_attributes(items: JSON) -> dict[str, JSON]:
    found: dict[str, JSON] = {}
    for item in items if isinstance(items, list) else ():
        key = item.get("key") if isinstance(item, Mapping) else None
        if isinstance(key, str) and key in _FACT_KEYS and isinstance(item.get("value"), Mapping):
            found[key] = item["value"].get("stringValue", item["value"].get("intValue"))
    return found


def _facts(trace: str, parent: str | None, attributes: Mapping[str, JSON], name: str) -> _Facts:
    return _Facts(
        parent=f"{trace}/{parent}" if parent else None,
        operation=_operation(attributes.get(OPERATION), name),
        agent=_text(attributes.get(AGENT_NAME)) or _text(attributes.get(AGENT_ID)),
        conversation=_text(attributes.get(CONVERSATION)) or _text(attributes.get(_SESSION)),
    )


def _operation(value: JSON, span_name: str) -> str | None:
    """``gen_ai.operation.name``, else the span name's first word when it is a known operation
    (the conventions name spans ``"{operation} {target}"``)."""
    named = _text(value)
    if named:
        return named
    first = span_name.split(" ", 1)[0]
    return first if first in _KNOWN_OPS else None


# --- what every event of a span shares --------------------------------------------------------


@dataclass(frozen=True)
class _SpanContext:
    span: _Span
    key: str
    operation: str | None
    session: str
    actor: str  # the agent whose span this is ("agent" for GenAI spans outside any agent)
    in_agent: bool  # below an agent span: a plain span (HTTP, database) is the agent's doing
    attributes: dict[str, JSON]
    received_at: datetime
    state: _State

    def own_id(self, suffix: str = "") -> str:
        return f"{self.key}/{suffix}" if suffix else self.key

    @property
    def finished(self) -> datetime:
        return self.span.end or self.span.start

    @cached_property
    def messages(self) -> tuple[_Indexed, _Indexed]:
        return _span_messages(self.span)


def _context(span: _Span, ctx: AdapterContext) -> _SpanContext:
    state = _state(ctx)
    key = f"{span.trace_id}/{span.span_id}"
    facts = _facts(span.trace_id, span.parent_id, span.attributes, span.name)
    state.remember(key, facts)
    state.mark_model_call(facts)
    chain = [facts, *(found for _, found in state.ancestors(facts))]
    session = (next((f.conversation for f in chain if f.conversation), None)
               or state.trace_conversations.get(span.trace_id) or span.trace_id)
    agent, actor = _agent(chain)
    return _SpanContext(span=span, key=key, operation=facts.operation, session=session,
                        actor=actor or "agent", in_agent=actor is not None,
                        attributes=_span_attributes(span, agent), received_at=ctx.received_at,
                        state=state)


def _agent(chain: list[_Facts]) -> tuple[str | None, str | None]:
    """The agent a span belongs to, and the actor: ``subagent:<name>`` below another agent."""
    index = next((i for i, f in enumerate(chain) if f.agent or f.operation == "invoke_agent"), None)
    if index is None:
        return None, None
    name = chain[index].agent
    outer = any(f.operation == "invoke_agent" and (f.agent != name or name is None)
                for f in chain[index + 1:])
    if not outer:
        return name, "agent"
    return name, f"subagent:{name}" if name else "subagent"


def _span_attributes(span: _Span, agent: str | None) -> dict[str, JSON]:
    a = span.attributes
    out: dict[str, JSON] = {"trace_id": span.trace_id, "span_id": span.span_id}
    optional = {
        "parent_span_id": span.parent_id, "span_name": span.name or None, "span_kind": span.kind,
        "model": a.get("gen_ai.response.model") or a.get("gen_ai.request.model"),
        "agent_name": _text(a.get(AGENT_NAME)) or agent, "agent_id": _text(a.get(AGENT_ID)),
        "service_name": span.resource.get("service.name"), "scope_name": span.scope_name,
        "duration_ms": span.duration_ms, "status_message": span.status_message,
        "status_code": span.status if span.status != "unset" else None,
    }
    out.update((name, value) for name, value in optional.items() if value is not None)
    for key, name in _SPAN_ATTRIBUTES:
        if name not in out and a.get(key) is not None:
            out[name] = a[key]
    return out


# --- one function per operation ---------------------------------------------------------------


def _invoke_agent(c: _SpanContext) -> list[Event]:
    events = [_emit(c, c.own_id(), EventKind.SYSTEM, time=c.span.start, actor=c.actor,
                    text=c.span.name, extra={"phase": "start"})]
    events += _instructions(c)
    if c.key not in c.state.model_callers:  # else its model calls tell the same messages
        events += _inputs(c) + _outputs(c)
    if c.span.end is not None:
        error = c.span.status == "error"
        events.append(_emit(c, c.own_id("end"), EventKind.SYSTEM, time=c.span.end, actor=c.actor,
                             text=_ended(c), is_error=True if error else None,
                             extra={"phase": "end"}))
    return events


def _ended(c: _SpanContext) -> str:
    outcome = c.span.status if c.span.status != "unset" else "ended"
    detail = f": {c.span.status_message}" if c.span.status_message else ""
    return f"{c.span.name or 'invoke_agent'}: {outcome}{detail}"


def _create_agent(c: _SpanContext) -> list[Event]:
    return [_emit(c, c.own_id(), EventKind.SYSTEM, time=c.span.start, actor=c.actor,
                  text=c.span.name, extra={"phase": "create"})]


def _model_call(c: _SpanContext) -> list[Event]:
    events = [*_instructions(c), *_inputs(c), *_outputs(c)]
    return events or _other_span(c)  # content capture off: the call itself is still an event


def _execute_tool(c: _SpanContext) -> list[Event]:
    a = c.span.attributes
    call_id, name = _text(a.get(TOOL_CALL_ID)), _text(a.get(TOOL_NAME))
    events = [_tool_call(c, call_id=call_id, name=name, arguments=a.get(TOOL_ARGUMENTS),
                         own_id=c.own_id(), time=c.span.start)]
    result, failed = a.get(TOOL_RESULT), c.span.status == "error"
    if result is not None or failed:
        events.append(_tool_result(
            c, call_id=call_id, name=name, result=result, is_error=failed,
            own_id=c.own_id("result"), time=c.finished,
            text=None if result is not None else c.span.status_message or _exception(c.span)))
    return events


def _other_span(c: _SpanContext) -> list[Event]:
    actor = c.actor if c.in_agent or c.operation else None  # a bare HTTP span is nobody's turn
    return [_emit(c, c.own_id(), EventKind.OTHER, actor=actor, time=c.span.start,
                  text=c.span.name or None)]


_BY_OPERATION: dict[str, Callable[[_SpanContext], list[Event]]] = {
    "invoke_agent": _invoke_agent,
    "create_agent": _create_agent,
    "chat": _model_call,
    "text_completion": _model_call,
    "generate_content": _model_call,
    "execute_tool": _execute_tool,
}


def _exception(span: _Span) -> str | None:
    for event in span.events:
        if event.name == "exception":
            return _text(event.attributes.get("exception.message"))
    return None


# --- GenAI messages (lenient: instrumentations truncate and vary) -----------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    type: str
    text: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: JSON = None
    response: JSON = None


@dataclass(frozen=True, slots=True)
class _Message:
    role: str | None
    parts: tuple[_Part, ...]
    finish_reason: str | None = None
    time: datetime | None = None  # the span event's own time (older conventions)


def _has_messages(span: _Span) -> bool:
    a = span.attributes
    return (INPUT_MESSAGES in a or OUTPUT_MESSAGES in a
            or any(e.name in _EVENT_ROLES or e.name == _CHOICE for e in span.events))


_Indexed = list[tuple[int, _Message]]  # messages with their index in the span's list


def _messages(value: JSON, *, since_reply: bool = False) -> _Indexed:
    """``gen_ai.input/output.messages``: a JSON array (string or structured) of messages.

    ``since_reply``: only from the last assistant message on, since a model call resends the
    whole history (reading only the tail keeps a long conversation linear, not quadratic).
    """
    if value is None:
        return []
    parsed = _parse_json(value)
    if isinstance(parsed, Mapping):
        parsed = [parsed]
    if not isinstance(parsed, list):  # truncated by an attribute length limit, or not JSON
        return [(0, _Message(None, (_Part("unparsed", text=_as_text(value)),)))]
    start = _last_reply(parsed) if since_reply else 0
    return [(index, _message(parsed[index])) for index in range(start, len(parsed))]


def _last_reply(items: list[JSON]) -> int:
    return next((i for i in range(len(items) - 1, -1, -1)
                 if isinstance(items[i], Mapping) and items[i].get("role") == "assistant"), 0)


def _message(value: JSON, *, role: str | None = None, time: datetime | None = None) -> _Message:
    if not isinstance(value, Mapping):
        return _Message(role, (_generic(value),), time=time)
    role = role or _text(value.get("role"))
    finish = _text(value.get("finish_reason"))
    parts = value.get("parts")
    if isinstance(parts, list):
        return _Message(role, tuple(map(_part, parts)), finish, time)
    return _Message(role, tuple(_flat_parts(value, role)), finish, time)


def _part(item: JSON) -> _Part:
    """A part of the current conventions: text, reasoning, tool_call, tool_call_response, …"""
    if not isinstance(item, Mapping):
        return _generic(item)
    kind = _text(item.get("type")) or "unknown"
    if kind.endswith("tool_call"):  # also server_tool_call
        return _Part(kind, call_id=_text(item.get("id")), name=_text(item.get("name")),
                     arguments=item.get("arguments"))
    if kind.endswith("tool_call_response"):
        return _Part(kind, call_id=_text(item.get("id")),
                     response=item.get("response", item.get("result")))
    return _Part(kind, text=_plain_text(item.get("content", item.get("text"))))


def _flat_parts(message: Mapping[str, JSON], role: str | None) -> Iterator[_Part]:
    """A message of the older conventions: ``content`` and ``tool_calls`` (OpenAI-like)."""
    content = message.get("content")
    if role == "tool":
        call_id = _text(message.get("id")) or _text(message.get("tool_call_id"))
        yield _Part("tool_call_response", call_id=call_id, response=content)
    else:
        yield from _content_parts(content)
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        yield _flat_call(call)


def _content_parts(content: JSON) -> Iterator[_Part]:
    if content is None or content == "":
        return  # assistant turns that only call tools carry an empty content
    if isinstance(content, list):
        for item in content:
            yield _part(item) if isinstance(item, Mapping) and "type" in item else _generic(item)
    else:
        yield _Part("text", text=_plain_text(content))


def _flat_call(call: JSON) -> _Part:
    if not isinstance(call, Mapping):
        return _generic(call)
    function = call.get("function")
    source = function if isinstance(function, Mapping) else call
    return _Part("tool_call", call_id=_text(call.get("id")), name=_text(source.get("name")),
                 arguments=source.get("arguments"))


def _generic(value: JSON) -> _Part:
    return _Part("text" if isinstance(value, str) else "unknown", text=_plain_text(value))


def _plain_text(value: JSON) -> str | None:
    """Text of a content value: a string, ``{"text"|"value"|"content": …}``, or a list of them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = next((value[k] for k in ("text", "value", "content") if k in value), None)
        return _plain_text(inner) if inner is not None else _as_text(value)
    if isinstance(value, list):
        return "\n".join(filter(None, map(_plain_text, value)))
    return _as_text(value)


def _span_messages(span: _Span) -> tuple[_Indexed, _Indexed]:
    """Input messages from the last reply on, and output messages: the attributes when
    present, else the span events."""
    a = span.attributes
    if INPUT_MESSAGES in a or OUTPUT_MESSAGES in a:
        return (_messages(a.get(INPUT_MESSAGES), since_reply=True),
                _messages(a.get(OUTPUT_MESSAGES)))
    inputs: _Indexed = []
    outputs: _Indexed = []
    for event in span.events:
        _read_event(event, inputs, outputs)
    last = next((n for n in range(len(inputs) - 1, -1, -1) if inputs[n][1].role == "assistant"), 0)
    return inputs[last:], outputs


def _renumbered(target: _Indexed, messages: Iterable[_Message]) -> None:
    target.extend((len(target) + n, message) for n, message in enumerate(messages))


def _read_event(event: _SpanEvent, inputs: _Indexed, outputs: _Indexed) -> None:
    if event.name in _EVENT_ROLES:
        role = _EVENT_ROLES[event.name]
        _renumbered(inputs, [_message(_event_body(event), role=role, time=event.time)])
    elif event.name == _CHOICE:
        _renumbered(outputs, [_choice(_event_body(event), event.time)])
    elif event.name in _PROMPT_EVENTS:
        target = inputs if event.name == "gen_ai.content.prompt" else outputs
        _renumbered(target, (m for _, m in _messages(event.attributes.get(_PROMPT_EVENTS[event.name]))))
    elif event.name == _DETAILS:
        _renumbered(inputs, (m for _, m in _messages(event.attributes.get(INPUT_MESSAGES))))
        _renumbered(outputs, (m for _, m in _messages(event.attributes.get(OUTPUT_MESSAGES))))


def _event_body(event: _SpanEvent) -> dict[str, JSON]:
    body = dict(event.attributes)
    content = _parse_json(body.pop(_EVENT_CONTENT, None))
    if isinstance(content, Mapping):
        body.update(content)
    elif content is not None:
        body.setdefault("content", content)
    return body


def _choice(body: Mapping[str, JSON], time: datetime | None) -> _Message:
    message = body.get("message")
    merged = dict(message) if isinstance(message, Mapping) else {}
    merged.setdefault("content", body.get("content"))
    merged.setdefault("tool_calls", body.get("tool_calls"))
    merged.setdefault("finish_reason", body.get("finish_reason"))
    return _message(merged, role="assistant", time=time)


# --- messages to events -----------------------------------------------------------------------


def _instructions(c: _SpanContext) -> list[Event]:
    value = c.span.attributes.get(SYSTEM_INSTRUCTIONS)
    if value is None:
        return []
    parsed = _parse_json(value)
    parts = map(_part, parsed) if isinstance(parsed, list) else [_Part("text", _plain_text(parsed))]
    text = "\n".join(filter(None, (part.text for part in parts)))
    native = f"{c.session}/system/{_digest(parsed)}"  # resent with every call: one per session
    return [_emit(c, native, EventKind.SYSTEM, time=c.span.start, actor="system", text=text,
                  extra={"system_reason": "system_instructions"})]


def _inputs(c: _SpanContext) -> list[Event]:
    """The messages after the model's last reply: what this call adds to the conversation."""
    messages = c.messages[0]
    names = {p.call_id: p.name for _, m in messages for p in m.parts if p.call_id and p.name}
    return [_part_event(c, m, part, ("in", i, j), names, m.time or c.span.start)
            for i, m in messages if m.role != "assistant"
            for j, part in enumerate(m.parts)]


def _outputs(c: _SpanContext) -> list[Event]:
    return [_part_event(c, m, part, ("out", i, j), {}, m.time or c.finished, output=True)
            for i, m in c.messages[1] for j, part in enumerate(m.parts)]


def _part_event(c: _SpanContext, message: _Message, part: _Part, place: tuple[str, int, int],
                names: Mapping[str, str | None], time: datetime, *, output: bool = False) -> Event:
    """One event per message part; ``place`` is (in|out, message index, part index)."""
    kind = _part_kind(part, message.role, output)
    where = "/".join(map(str, place))
    extra: dict[str, JSON] = {"message_index": place[1], "part_index": place[2]}
    if message.finish_reason:
        extra["finish_reason"] = message.finish_reason
    if kind is EventKind.TOOL_CALL:
        return _tool_call(c, call_id=part.call_id, name=part.name, arguments=part.arguments,
                          own_id=c.own_id(where), time=time, extra=extra)
    if kind is EventKind.TOOL_RESULT:
        name = names.get(part.call_id) if part.call_id else None
        return _tool_result(c, call_id=part.call_id, name=name, is_error=None, time=time,
                            result=part.response if part.type.endswith("response") else part.text,
                            own_id=c.own_id(where), extra=extra)
    if kind in (EventKind.OTHER, EventKind.USER_MESSAGE) and part.type != "text":
        extra["part_type"] = part.type
    text = part.text if part.type in ("text", "reasoning", "unparsed") else part.text or f"[{part.type}]"
    return _emit(c, c.own_id(where), kind, time=time, actor=_actor(c, kind), text=text, extra=extra)


def _part_kind(part: _Part, role: str | None, output: bool) -> EventKind:
    if part.type.endswith("tool_call"):
        return EventKind.TOOL_CALL
    if part.type.endswith("tool_call_response") or role == "tool":
        return EventKind.TOOL_RESULT
    if part.type in ("reasoning", "thinking"):
        return EventKind.AGENT_REASONING
    if role == "user":
        return EventKind.USER_MESSAGE
    if role in ("system", "developer"):
        return EventKind.SYSTEM
    if (output or role == "assistant") and part.type == "text":
        return EventKind.AGENT_MESSAGE
    return EventKind.OTHER


def _actor(c: _SpanContext, kind: EventKind) -> str:
    return {EventKind.USER_MESSAGE: "user", EventKind.SYSTEM: "system"}.get(kind, c.actor)


def _tool_call(c: _SpanContext, *, call_id: str | None, name: str | None, arguments: JSON,
               own_id: str, time: datetime, extra: Mapping[str, JSON] | None = None) -> Event:
    tool_input = _parse_json(arguments)
    if call_id and name:
        c.state.tool_names[call_id] = name
    native = f"{c.session}/call/{call_id}/{_digest(tool_input)}" if call_id else own_id
    return _emit(c, native, EventKind.TOOL_CALL, time=time, actor=c.actor, tool_name=name,
                 call_id=call_id, tool_input=tool_input, extra=extra)


def _tool_result(c: _SpanContext, *, call_id: str | None, name: str | None, result: JSON,
                 is_error: bool | None, own_id: str, time: datetime, text: str | None = None,
                 extra: Mapping[str, JSON] | None = None) -> Event:
    value = _parse_json(result)
    native = f"{c.session}/result/{call_id}/{_digest(value)}" if call_id else own_id
    tool_name = name or (c.state.tool_names.get(call_id) if call_id else None)
    return _emit(c, native, EventKind.TOOL_RESULT, time=time, actor=c.actor, tool_name=tool_name,
                 call_id=call_id, is_error=is_error,
                 text=text if result is None else _as_text(result), extra=extra)


def _emit(c: _SpanContext, native_id: str, kind: EventKind, *, time: datetime,
          actor: str | None, extra: Mapping[str, JSON] | None = None, **fields: Any) -> Event:
    return Event.create(
        source=SOURCE,
        native_id=native_id,
        stream=c.session,
        kind=kind,
        time=time,
        received_at=c.received_at,
        session_id=c.session,
        actor=actor,
        attributes={**c.attributes, **(extra or {})},
        raw=c.span.record,
        **fields,
    )


# --- small helpers ----------------------------------------------------------------------------


def _parse_json(value: JSON) -> JSON:
    """A JSON string's value (GenAI attributes hold JSON as strings); other values as they are.

    JSON inside a string escapes the pipeline's depth check, so a value nested deeper than
    ``_MAX_CONTENT_DEPTH`` stays a string (the recursive readers below never see it).
    """
    if not isinstance(value, str):
        return value
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    if container_count(value) > _MAX_CONTENT_DEPTH and max_depth_exceeded(parsed, _MAX_CONTENT_DEPTH):
        return value
    return parsed


def _digest(value: JSON) -> str:
    """Short content hash: two records of one call share an id only when they say the same."""
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        encoded = repr(value).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]


def _as_text(value: JSON) -> str | None:
    if value is None or isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)


def _text(value: JSON) -> str | None:
    """A name or id attribute: strings as they are, numbers as strings, anything else ignored."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _at(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _show(value: JSON) -> str:
    return repr(value)[:40] if isinstance(value, str | int | float) else type_name(value)
