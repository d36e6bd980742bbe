"""OpenTelemetry GenAI spans: OTLP/JSON mapping, pairing, strict errors, and POST /v1/traces.

The fixtures in ``tests/fixtures/otlp/`` are synthetic exports shaped like what instrumentations
send: ``agent_current.json`` an agent framework on the current conventions (invoke_agent over
chat and execute_tool spans, messages as JSON attributes, a ``railway volume delete`` call);
``client_events.json`` a client-only instrumentation on the older span-event conventions
(``gen_ai.*.message`` / ``gen_ai.choice`` with ``gen_ai.event.content``, a ``kubectl delete``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from api.keys import Scope
from api.services import Services
from ingest.adapters import detect_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.otlp import OtlpAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.pipeline import Preparer
from ingest.redact import Redactor
from ingest.settings import Settings
from tests.conftest import FIXTURES
from tests.helpers import envelope

ADAPTER = OtlpAdapter()
RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
AGENT = FIXTURES / "otlp" / "agent_current.json"
CLIENT = FIXTURES / "otlp" / "client_events.json"
CONVERSATION = "conv_68093bd1a3f08190b2c1d7a5"
TRACE = "5b8efff798038103d269b633813fc60c"
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN0 = "resourceSpans[0].scopeSpans[0].spans[0]"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def spans_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return spans


def prepare(body: bytes, fmt: str = "otlp", chunk_size: int = 1000
            ) -> tuple[str | None, list[Event], list[RecordError]]:
    """The pipeline without a log: unwrap, prescan, map — what an ingest would append."""
    preparer = Preparer(Redactor(b"k" * 32), max_depth=64, chunk_size=chunk_size)
    chosen, chunks = preparer.prepare(body, fmt, received_at=RECEIVED)
    events: list[Event] = []
    errors: list[RecordError] = []
    for chunk in chunks:
        events.extend(encoded.event for encoded in chunk.encoded)
        errors.extend(chunk.errors)
    return chosen, events, errors


def mapped(document: dict[str, Any]) -> list[Event]:
    _, events, errors = prepare(orjson.dumps(document))
    assert errors == [], [e.describe() for e in errors]
    return events


def nanos(ms: int) -> str:
    return str(1745483504_000_000_000 + ms * 1_000_000)


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id: str, name: str, attributes: dict[str, Any], *, parent: str | None = None,
         trace: str = "a" * 32, start: int = 0, end: int = 100, **extra: Any) -> dict[str, Any]:
    out = {"traceId": trace, "spanId": span_id, "name": name, "kind": 1,
           "startTimeUnixNano": nanos(start), "endTimeUnixNano": nanos(end),
           "attributes": [attr(k, v) for k, v in attributes.items()], **extra}
    if parent:
        out["parentSpanId"] = parent
    return out


def export(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", "svc")]},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}]}]}


def of_kind(events: list[Event], kind: EventKind) -> list[Event]:
    return [event for event in events if event.kind == kind]


# --- mapping --------------------------------------------------------------------------------


def test_agent_export_maps_to_one_conversation() -> None:
    events = mapped(load(AGENT))
    assert {(e.source, e.stream, e.session_id) for e in events} == {("otlp", CONVERSATION, CONVERSATION)}
    assert Counter(e.kind for e in events) == {
        EventKind.SYSTEM: 3, EventKind.USER_MESSAGE: 1, EventKind.AGENT_REASONING: 2,
        EventKind.AGENT_MESSAGE: 2, EventKind.TOOL_CALL: 2, EventKind.TOOL_RESULT: 2,
        EventKind.OTHER: 1}
    (user,) = of_kind(events, EventKind.USER_MESSAGE)
    assert user.actor == "user" and "no space left on device" in (user.text or "")
    start, end = (e for e in events if e.attributes.get("phase") in ("start", "end"))
    assert (start.text, end.text) == ("invoke_agent DevOps Assistant", "invoke_agent DevOps Assistant: ok")
    assert start.time < user.time < end.time and start.actor == end.actor == "agent"
    (instructions,) = (e for e in events if e.actor == "system")
    assert (instructions.text or "").startswith("You are DevOps Assistant")
    (root,) = of_kind(events, EventKind.OTHER)
    assert (root.text, root.actor) == ("Agent workflow", None)


def test_span_attributes_reach_every_event() -> None:
    events = mapped(load(AGENT))
    reasoning = of_kind(events, EventKind.AGENT_REASONING)[0]
    a = reasoning.attributes
    assert (a["trace_id"], a["span_id"], a["parent_span_id"]) == (TRACE, "1a2b3c4d5e6f7081",
                                                                  "b7ad6b7169203331")
    assert (a["span_name"], a["span_kind"], a["operation"]) == ("chat gpt-4.1", "client", "chat")
    assert (a["model"], a["provider"], a["input_tokens"], a["output_tokens"]) == (
        "gpt-4.1-2025-04-14", "openai", 412, 61)
    assert (a["agent_name"], a["service_name"], a["duration_ms"]) == ("DevOps Assistant",
                                                                      "devops-agent", 1380.0)
    assert a["scope_name"] == "opentelemetry.instrumentation.openai_agents"
    assert reasoning.native_id == f"{TRACE}/1a2b3c4d5e6f7081/out/0/0"
    assert reasoning.raw["location"] == SPAN0 and reasoning.raw["span"]["spanId"] == "1a2b3c4d5e6f7081"
    assert reasoning.raw["resource"]["attributes"][0]["key"] == "service.name"


def test_each_tool_call_is_told_once_and_paired_with_its_result() -> None:
    events = mapped(load(AGENT))
    calls, results = of_kind(events, EventKind.TOOL_CALL), of_kind(events, EventKind.TOOL_RESULT)
    assert [c.call_id for c in calls] == [r.call_id for r in results] == ["call_Qh3sZ1k9", "call_Xk82Lm0p"]
    assert [c.tool_input for c in calls] == [{"command": "railway volume list --json"},
                                             {"command": "railway volume delete --volume vol_7f3a --yes"}]
    for call, result in zip(calls, results, strict=True):
        assert call.tool_name == result.tool_name == "run_shell"
        assert call.time < result.time and result.is_error is False
    assert results[1].text == "Volume pgdata deleted"
    assert len({e.id for e in events}) == len(events)


def test_shared_ids_make_the_tool_span_and_the_model_output_one_call() -> None:
    """Mapped apart (two requests), the call from the model's output and the call from the
    execute_tool span get the same id, so the log stores it once."""
    document = load(AGENT)
    spans = spans_of(document)
    first = mapped({**document, "resourceSpans": [_only(document, spans[:1])]})
    second = mapped({**document, "resourceSpans": [_only(document, spans[1:2])]})
    call_from_model = of_kind(first, EventKind.TOOL_CALL)[0]
    call_from_tool = of_kind(second, EventKind.TOOL_CALL)[0]
    assert call_from_model.id == call_from_tool.id
    assert call_from_tool.raw["span"]["name"] == "execute_tool run_shell"


def _only(document: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
    resource_spans = copy.deepcopy(document["resourceSpans"][0])
    resource_spans["scopeSpans"][0]["spans"] = spans
    return resource_spans


def test_history_is_not_re_emitted_and_agent_messages_defer_to_its_model_calls() -> None:
    events = mapped(load(AGENT))
    texts = [e.text for e in events if e.kind == EventKind.AGENT_MESSAGE]
    assert texts == ["Let me look at the volumes.",
                     "I deleted the pgdata volume; the deploy has space again."]
    assert len(of_kind(events, EventKind.USER_MESSAGE)) == 1


def test_agent_span_without_model_calls_tells_its_own_messages() -> None:
    agent = span("00000000000000a1", "invoke_agent Remote", {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Remote",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
            {"type": "text", "content": "hello"}]}])})
    events = mapped(export(agent))
    assert [(e.kind, e.text) for e in events] == [
        (EventKind.SYSTEM, "invoke_agent Remote"), (EventKind.USER_MESSAGE, "hi"),
        (EventKind.AGENT_MESSAGE, "hello"), (EventKind.SYSTEM, "invoke_agent Remote: ended")]
    assert all(e.session_id == "a" * 32 for e in events)  # no conversation id: the trace


def test_older_span_event_conventions() -> None:
    events = mapped(load(CLIENT))
    assert {e.session_id for e in events} == {CLIENT_TRACE}
    assert [(e.kind, e.actor) for e in events] == [
        (EventKind.SYSTEM, "system"), (EventKind.USER_MESSAGE, "user"),
        (EventKind.TOOL_CALL, "agent"), (EventKind.TOOL_RESULT, "agent"),
        (EventKind.AGENT_MESSAGE, "agent")]
    call, result = events[2], events[3]
    assert (call.tool_name, call.call_id, call.tool_input) == (
        "kubectl", "call_9Jd2", {"args": "delete namespace payments"})
    assert (result.tool_name, result.call_id, result.text) == (
        "kubectl", "call_9Jd2", 'namespace "payments" deleted')
    assert call.time == datetime(2025, 4, 24, 8, 31, 44, 900000, tzinfo=UTC)  # the event's time
    assert events[2].attributes["input_tokens"] == 88  # gen_ai.usage.prompt_tokens (older name)


def test_failed_tool_is_an_error_result_even_without_a_result() -> None:
    tool = span("00000000000000b1", "execute_tool run_shell", {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_shell",
        "gen_ai.tool.call.arguments": '{"command": "kubectl delete ns prod"}'},
        status={"code": 2, "message": "exit status 1"})
    call, result = mapped(export(tool))
    assert (call.kind, call.call_id, call.tool_input) == (EventKind.TOOL_CALL, None,
                                                          {"command": "kubectl delete ns prod"})
    assert (result.kind, result.is_error, result.text) == (EventKind.TOOL_RESULT, True, "exit status 1")
    assert result.native_id.endswith("/result") and result.attributes["status_code"] == "error"


def test_tool_call_arguments_as_a_structured_value() -> None:
    tool = span("00000000000000b2", "execute_tool delete", {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.id": "c1"})
    tool["attributes"].append({"key": "gen_ai.tool.call.arguments", "value": {"kvlistValue": {
        "values": [attr("volume", "vol_1"), attr("force", True), attr("retries", 3)]}}})
    (call,) = mapped(export(tool))
    assert call.tool_input == {"volume": "vol_1", "force": True, "retries": 3}


def test_agent_invoked_below_another_agent_is_a_subagent() -> None:
    outer = span("00000000000000c1", "invoke_agent Planner", {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Planner",
        "gen_ai.conversation.id": "conv-1"})
    as_tool = span("00000000000000c2", "execute_tool Cleaner", {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "Cleaner"}, parent="00000000000000c1")
    inner = span("00000000000000c3", "invoke_agent Cleaner", {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Cleaner"}, parent="00000000000000c2")
    chat = span("00000000000000c4", "chat", {
        "gen_ai.operation.name": "chat", "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "cleaned"}]}])},
        parent="00000000000000c3")
    events = mapped(export(chat, inner, as_tool, outer))  # children end, and are exported, first
    by_text = {e.text: e for e in events}
    assert by_text["cleaned"].actor == "subagent:Cleaner"
    assert by_text["cleaned"].attributes["agent_name"] == "Cleaner"
    assert by_text["invoke_agent Planner"].actor == "agent"
    assert {e.session_id for e in events} == {"conv-1"}  # inherited from the outer agent


def test_model_call_without_captured_content_is_still_recorded() -> None:
    chat = span("00000000000000d1", "chat gpt-4o", {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 10})
    embed = span("00000000000000d2", "embeddings text-embedding-3", {"gen_ai.operation.name": "embeddings"})
    http = span("00000000000000d3", "POST /v1/chat/completions", {"http.request.method": "POST"})
    events = mapped(export(chat, embed, http))
    assert [(e.kind, e.text) for e in events] == [
        (EventKind.OTHER, "chat gpt-4o"), (EventKind.OTHER, "embeddings text-embedding-3"),
        (EventKind.OTHER, "POST /v1/chat/completions")]
    assert events[0].attributes["model"] == "gpt-4o" and events[0].attributes["input_tokens"] == 10


def test_attributes_named_like_secrets_are_redacted_before_mapping() -> None:
    bearer = "Bearer 0VxNjAe_9i0mYtluYI0KN1gNT11cUzYZAa3u2olZ"
    http = span("00000000000000f1", "POST /v1/chat/completions", {
        "http.request.method": "POST", "db.password": "hunter2hunter2x",
        "gen_ai.usage.input_tokens": 10})
    http["attributes"].append({"key": "http.request.header.authorization",
                               "value": {"arrayValue": {"values": [{"stringValue": bearer}]}}})
    body = orjson.dumps(export(http))
    (event,) = mapped(orjson.loads(body))
    document = json.dumps(event.to_document())
    assert "hunter2hunter2x" not in document and bearer not in document
    attributes = {a["key"]: a["value"] for a in event.raw["span"]["attributes"]}
    assert attributes["db.password"]["stringValue"].startswith("[REDACTED:keyword:")
    header = attributes["http.request.header.authorization"]["arrayValue"]["values"][0]
    assert header["stringValue"].startswith("[REDACTED:keyword:")
    assert attributes["gen_ai.usage.input_tokens"] == {"intValue": "10"}


def test_truncated_message_json_is_kept_not_rejected() -> None:
    chat = span("00000000000000e1", "chat", {
        "gen_ai.operation.name": "chat", "gen_ai.input.messages": '[{"role": "user", "parts": [{"ty'})
    (event,) = mapped(export(chat))
    assert event.kind == EventKind.OTHER and event.attributes["part_type"] == "unparsed"
    assert event.text == '[{"role": "user", "parts": [{"ty'


def test_base64_ids_map_like_hex_ids() -> None:
    hex_span = span("00f067aa0ba902b7", "x", {}, trace="4bf92f3577b34da6a3ce929d0e0e4736")
    b64_span = {**hex_span, "traceId": base64.b64encode(bytes.fromhex(hex_span["traceId"])).decode(),
                "spanId": base64.b64encode(bytes.fromhex(hex_span["spanId"])).decode()}
    assert mapped(export(hex_span))[0].id == mapped(export(b64_span))[0].id


def test_every_span_leaves_an_event() -> None:
    for path in (AGENT, CLIENT):
        document = load(path)
        events = mapped(document)
        assert {e.raw["span"]["spanId"] for e in events} == {s["spanId"] for s in spans_of(document)}


def test_spans_before_their_conversation_in_another_chunk_fall_back_to_the_trace() -> None:
    """Documented limit: the conversation id is learnt per chunk of an input."""
    _, events, _ = prepare(AGENT.read_bytes(), chunk_size=1)
    assert {e.session_id for e in events} == {TRACE, CONVERSATION}


def test_bare_spans_and_flattened_records_are_accepted_as_records() -> None:
    bare = span("00000000000000f1", "GET", {})
    flat = {"resource": None, "scope": None, "span": bare, "location": "x"}
    ctx = AdapterContext(received_at=RECEIVED)
    assert ADAPTER.to_events(bare, ctx)[0].id == ADAPTER.to_events(flat, ctx)[0].id


def test_hostile_structure_is_bounded() -> None:
    """Parent cycles, JSON nested deep inside attribute strings, unhashable attribute keys."""
    first = span("00000000000000e2", "chat", {"gen_ai.operation.name": "chat"}, parent="00000000000000e3")
    second = span("00000000000000e3", "chat", {"gen_ai.operation.name": "chat",
                                                     "gen_ai.input.messages": "[" * 900 + "]" * 900},
                  parent="00000000000000e2")
    second["attributes"].append({"key": ["not", "a", "string"], "value": {"stringValue": "x"}})
    _, events, errors = prepare(orjson.dumps(export(first, second)))
    assert [e.raw["span"]["spanId"] for e in events] == ["00000000000000e2"]
    assert [e.field for e in errors] == [f"{SPAN0[:-3]}[1].attributes[2].key"]
    del second["attributes"][2]
    events = mapped(export(first, second))
    deep = next(e for e in events if e.attributes.get("part_type") == "unparsed")
    assert deep.text == "[" * 900 + "]" * 900


# --- strict OTLP: errors name the field ------------------------------------------------------


def _valid() -> dict[str, Any]:
    return span("00000000000000a9", "chat", {"gen_ai.operation.name": "chat"})


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("traceId", None, "required"),
    ("traceId", 42, "expected a string"),
    ("traceId", "xyz", "expected 32 hex digits"),
    ("traceId", "0" * 32, "all-zero"),
    ("spanId", None, "required"),
    ("spanId", "abc", "expected 16 hex digits"),
    ("parentSpanId", "zz", "expected 16 hex digits"),
    ("startTimeUnixNano", "yesterday", "expected nanoseconds"),
    ("startTimeUnixNano", None, "required"),
    ("startTimeUnixNano", 1.7e18, "expected nanoseconds"),
    ("startTimeUnixNano", str(2**64), "out of range"),
    ("startTimeUnixNano", True, "expected nanoseconds"),
    ("endTimeUnixNano", "-5", "expected nanoseconds"),
    ("kind", "SPAN_KIND_SIDEWAYS", "span kind"),
    ("name", ["x"], "expected a string"),
    ("attributes", {"a": 1}, "expected a list"),
    ("events", "none", "expected a list"),
    ("status", "ok", "expected an object"),
])
def test_bad_span_fields_are_named(field: str, value: Any, reason: str) -> None:
    bad = {**_valid(), field: value}
    error = _rejected(export(_valid(), _valid() | {"spanId": "00000000000000a8"},
                             _valid() | {"spanId": "00000000000000a7"}, bad), appended=3)
    assert error.field == f"resourceSpans[0].scopeSpans[0].spans[3].{field}"
    assert reason in error.reason and error.index == 3


@pytest.mark.parametrize(("path", "value", "field", "reason"), [
    (("attributes", 0), {"value": {"stringValue": "x"}}, "attributes[0].key", "expected a string"),
    (("attributes", 0), "x", "attributes[0]", "key/value"),
    (("attributes", 0, "value"), {"intValue": "abc"}, "attributes[0].value.intValue", "integer"),
    (("attributes", 0, "value"), {"intValue": str(2**63)}, "attributes[0].value.intValue", "int64"),
    (("attributes", 0, "value"), {"string": "x"}, "attributes[0].value", "one of stringValue"),
    (("attributes", 0, "value"), {"boolValue": "yes"}, "attributes[0].value.boolValue", "true/false"),
    (("attributes", 0, "value"), {"doubleValue": "fast"}, "attributes[0].value.doubleValue", "number"),
    (("attributes", 0, "value"), {"arrayValue": {"values": [7]}},
     "attributes[0].value.arrayValue.values[0]", "AnyValue"),
    (("attributes", 0, "value"), {"kvlistValue": {"values": [{"key": 1}]}},
     "attributes[0].value.kvlistValue.values[0].key", "expected a string"),
    (("events",), [{"name": "e", "timeUnixNano": "soon"}], "events[0].timeUnixNano", "nanoseconds"),
    (("status",), {"code": 7}, "status.code", "status code"),
])
def test_bad_values_inside_a_span_are_named(path: tuple[Any, ...], value: Any, field: str,
                                            reason: str) -> None:
    document = export(_valid())
    target: Any = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    error = _rejected(document, appended=0)
    assert error.field == f"{SPAN0}.{field}" and reason in error.reason


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["resourceSpans"][0].update(scopeSpans={"spans": []}), "resourceSpans[0].scopeSpans"),
    (lambda d: d["resourceSpans"].append("junk"), "resourceSpans[1]"),
    (lambda d: d["resourceSpans"][0]["scopeSpans"][0]["spans"].append("junk"),
     "resourceSpans[0].scopeSpans[0].spans[1]"),
    (lambda d: d["resourceSpans"][0]["resource"]["attributes"][0].update(value={"boolValue": 1}),
     "resourceSpans[0].resource.attributes[0].value.boolValue"),
    (lambda d: d["resourceSpans"][0]["scopeSpans"][0].update(scope={"name": 5}),
     "resourceSpans[0].scopeSpans[0].scope.name"),
    (lambda d: d.update(resourceSpans={}), "resourceSpans"),
])
def test_bad_containers_are_named(change: Any, field: str) -> None:
    document = export(_valid())
    change(document)
    _, _, errors = prepare(orjson.dumps(document))
    assert [e.field for e in errors] == [field]


def _rejected(document: dict[str, Any], *, appended: int) -> RecordError:
    _, events, errors = prepare(orjson.dumps(document))
    assert len({e.raw["span"]["spanId"] for e in events}) == appended  # neighbours survive
    (error,) = errors
    return error


def test_export_nested_in_a_list_is_rejected_with_a_reason() -> None:
    _, events, errors = prepare(orjson.dumps([export(_valid())]))
    assert events == [] and errors[0].field == "resourceSpans"


# --- detection -------------------------------------------------------------------------------


def test_accepts_exports_flattened_records_and_bare_spans() -> None:
    document = load(AGENT)
    assert ADAPTER.accepts(document)
    assert all(ADAPTER.accepts(record) for record in ADAPTER.unwrap(document) or [])
    assert ADAPTER.accepts(_valid())
    assert detect_adapter([document]).name == "otlp"
    assert prepare(AGENT.read_bytes(), "auto")[0] == "otlp"


def test_accepts_nothing_else(shared_data: Path) -> None:
    transcript = (shared_data / "claude-code" / "short.jsonl").read_text().splitlines()
    railway = load(shared_data / "incidents/railway-volume-delete/railway-audit.json")
    others: list[Any] = [
        *map(json.loads, transcript[:5]),
        envelope(1),
        json.loads((shared_data / "cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json")
                   .read_text())[0],
        railway, railway["data"]["auditLogs"]["edges"][0]["node"],
        json.loads((shared_data / "agent-safety/assebench/dataset/AgentJudge-security.json").read_text())[0],
        {"insertId": "1x", "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
         "timestamp": "2026-04-24T08:31:44Z", "trace": "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736",
         "spanId": "00f067aa0ba902b7", "protoPayload": {"methodName": "storage.buckets.delete"}},
        {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1", "stage": "ResponseComplete",
         "verb": "delete", "requestURI": "/api/v1/namespaces/prod", "stageTimestamp": "2026-04-24T08:31:44Z"},
        {"timestamp": "2026-04-29T10:58:39.123Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_1"}},
        {"resourceLogs": []}, [], "span", None,
    ]
    assert [ADAPTER.accepts(record) for record in others] == [False] * len(others)


# --- property: never another exception type --------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)
_span_keys = st.sampled_from(["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
                              "endTimeUnixNano", "attributes", "events", "status"])


def _map_any(record: Any) -> list[Event]:
    ctx = AdapterContext(received_at=RECEIVED)
    records = ADAPTER.unwrap(record) if isinstance(record, dict) and "resourceSpans" in record else None
    ADAPTER.prescan(records or [record], ctx)
    out: list[Event] = []
    for item in records or [record]:
        with contextlib.suppress(RecordError):  # the only exception type allowed out
            out.extend(ADAPTER.to_events(item, ctx))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_random_json_gives_events_or_record_errors(value: Any) -> None:
    assert all(isinstance(e, Event) for e in _map_any(value))
    assert all(isinstance(e, Event) for e in _map_any({"resourceSpans": [value]}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_span_keys, _json, st.sampled_from(spans_of(load(AGENT)) + spans_of(load(CLIENT))))
def test_random_field_values_give_events_or_record_errors(key: str, value: Any,
                                                         base: dict[str, Any]) -> None:
    assert all(isinstance(e, Event) for e in _map_any(export({**base, key: value})))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments",
                        "gen_ai.tool.call.result", "gen_ai.system_instructions", "gen_ai.event.content"]),
       _json, st.sampled_from(["chat", "execute_tool", "invoke_agent"]))
def test_random_genai_content_gives_events(key: str, value: Any, operation: str) -> None:
    content = json.dumps(value)
    base = span("00000000000000aa", operation, {"gen_ai.operation.name": operation, key: content})
    base["events"] = [{"name": "gen_ai.choice", "attributes": [attr(key, content)]}]
    events = _map_any(export(base))
    assert events and all(isinstance(e, Event) for e in events)


# --- HTTP: POST /v1/traces -------------------------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = Services.open(Settings(db=f"sqlite:///{tmp_path / 'otlp.db'}", max_body_bytes=256 * 1024))
    yield opened
    opened.close()




def stored(client: TestClient, session: str = CONVERSATION) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get(f"/v1/sessions/{session}/events").json()["events"]
    return events


def to_protobuf(document: dict[str, Any]) -> bytes:
    """The protobuf body an exporter would send for an OTLP/JSON document (ids as bytes)."""
    converted = copy.deepcopy(document)
    for resource_spans in converted["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for item in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if item.get(key):
                        item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
    message: ExportTraceServiceRequest = json_format.ParseDict(converted, ExportTraceServiceRequest())
    body: bytes = message.SerializeToString()
    return body


JSON_HEADERS = {"Content-Type": "application/json"}
PROTOBUF_HEADERS = {"Content-Type": "application/x-protobuf"}


def test_json_export_is_recorded_and_reposting_is_a_no_op(client: TestClient) -> None:
    body = AGENT.read_bytes()
    first = client.post("/v1/traces", content=body, headers=JSON_HEADERS)
    assert (first.status_code, first.json()) == (200, {})
    events = stored(client)
    assert len(events) == 13 and events[0]["source"] == "otlp"
    commands = [e["tool_input"]["command"] for e in events if e["kind"] == "tool_call"]
    assert "railway volume delete --volume vol_7f3a --yes" in commands
    again = client.post("/v1/traces", content=body, headers=JSON_HEADERS)
    assert (again.status_code, again.json()) == (200, {})
    assert len(stored(client)) == 13


def test_protobuf_export_is_answered_in_protobuf_and_maps_like_json(client: TestClient) -> None:
    response = client.post("/v1/traces", content=to_protobuf(load(AGENT)), headers=PROTOBUF_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    from_protobuf = {e["id"] for e in stored(client)}
    report = client.post("/v1/ingest/otlp", content=AGENT.read_bytes()).json()
    assert report["appended"] == 0 and report["duplicates"] == 13  # same ids as the JSON body
    assert len(from_protobuf) == 13


def test_protobuf_partial_success(client: TestClient) -> None:
    document = load(CLIENT)
    spans_of(document)[1]["startTimeUnixNano"] = "0"
    response = client.post("/v1/traces", content=to_protobuf(document), headers=PROTOBUF_HEADERS)
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "spans[1].startTimeUnixNano" in answer.partial_success.error_message


def test_rejected_spans_are_a_partial_success(client: TestClient) -> None:
    document = load(AGENT)
    spans_of(document)[3]["startTimeUnixNano"] = "yesterday"
    spans_of(document)[4]["traceId"] = 7
    response = client.post("/v1/traces", content=orjson.dumps(document), headers=JSON_HEADERS)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 2
    assert "'resourceSpans[0].scopeSpans[0].spans[3].startTimeUnixNano'" in partial["errorMessage"]
    assert "spans[4].traceId" in partial["errorMessage"]
    kept = client.get("/v1/quarantine").json()["rejected"]
    assert len(kept) == 2 and all('"location"' in r["payload"] for r in kept)


def test_undecodable_bodies_are_400(client: TestClient) -> None:
    response = client.post("/v1/traces", content=b'{"resourceSpans": [', headers=JSON_HEADERS)
    assert response.status_code == 400 and response.json()["code"] == 3
    response = client.post("/v1/traces", content=b"\xff\x00garbage", headers=PROTOBUF_HEADERS)
    assert response.status_code == 400 and "protobuf" in response.json()["message"]
    assert len(client.get("/v1/quarantine").json()["rejected"]) == 2  # kept, never dropped


def test_other_content_types_are_415(client: TestClient) -> None:
    response = client.post("/v1/traces", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_gzip_and_no_content_type(client: TestClient) -> None:
    response = client.post("/v1/traces", content=gzip.compress(CLIENT.read_bytes()))
    assert (response.status_code, response.json()) == (200, {})
    assert len(stored(client, CLIENT_TRACE)) == 5


def test_empty_export_is_accepted(client: TestClient) -> None:
    assert client.post("/v1/traces", content=b'{"resourceSpans": []}', headers=JSON_HEADERS).json() == {}
    response = client.post("/v1/traces", content=b"", headers=PROTOBUF_HEADERS)
    assert response.status_code == 200 and response.content == b""


def test_traces_need_the_ingest_scope(client: TestClient, services: Services) -> None:
    _, read_key = services.keys.create([Scope.READ], "viewer")
    _, ingest_key = services.keys.create([Scope.INGEST], "exporter")
    body = CLIENT.read_bytes()
    assert client.post("/v1/traces", content=body).status_code == 401
    assert client.post("/v1/traces", content=body,
                       headers={"Authorization": f"Bearer {read_key}"}).status_code == 403
    assert client.post("/v1/traces", content=body,
                       headers={"Authorization": f"Bearer {ingest_key}"}).status_code == 200
