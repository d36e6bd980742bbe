"""The Codex CLI rollout adapter, against hand-written rollouts in the protocol's own shapes."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter, get_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.codex import NO_SESSION_STREAM, CodexAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.log import EventLog
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from tests.conftest import FIXTURES
from tests.helpers import ANY_JSON, DELETE, NON_OBJECTS, OTHER_FORMATS, mostly, ndjson, rejected, with_value

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = CodexAdapter()
FIXTURE_DIR = FIXTURES / "codex"
OLD = "0199a2b4-3c5d-7e6f-8a9b-0c1d2e3f4a5b"  # Codex 0.46: shell, apply_patch, retry
NEW = "019dd8e4-15dd-7143-95e8-219014341717"  # Codex 0.125: exec_command, web search, compaction
FORK = "019dd9a0-7b1c-7d2e-9f30-a1b2c3d4e5f6"  # a fork of NEW

Mapped = list[tuple[dict[str, Any], Event]]


def _path(session: str) -> Path:
    return next(FIXTURE_DIR.glob(f"rollout-*-{session}.jsonl"))


def _read(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ctx(origin: Path | str | None = None) -> AdapterContext:
    return AdapterContext(received_at=RECEIVED, origin=None if origin is None else str(origin))


def _map(records: list[Any], ctx: AdapterContext | None = None) -> Mapped:
    """What the pipeline does with one input: prescan, then map line by line (one event each)."""
    ctx = ctx or _ctx()
    ADAPTER.prescan(records, ctx)
    out = []
    for record in records:
        (event,) = ADAPTER.to_events(record, ctx)
        out.append((record, event))
    return out


def _map_file(session: str) -> Mapped:
    path = _path(session)
    return _map(_read(path), _ctx(path))


def _events(session: str) -> list[Event]:
    return [event for _, event in _map_file(session)]




# --- the fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize(("session", "kinds"), [
    (OLD, {EventKind.SYSTEM: 7, EventKind.USER_MESSAGE: 1, EventKind.AGENT_REASONING: 2,
           EventKind.AGENT_MESSAGE: 1, EventKind.TOOL_CALL: 5, EventKind.TOOL_RESULT: 5,
           EventKind.OTHER: 7}),
    (NEW, {EventKind.SYSTEM: 12, EventKind.USER_MESSAGE: 2, EventKind.AGENT_REASONING: 1,
           EventKind.AGENT_MESSAGE: 1, EventKind.TOOL_CALL: 5, EventKind.TOOL_RESULT: 3,
           EventKind.OTHER: 5}),
    (FORK, {EventKind.SYSTEM: 6, EventKind.USER_MESSAGE: 2, EventKind.TOOL_CALL: 1,
            EventKind.TOOL_RESULT: 1, EventKind.OTHER: 2}),
])
def test_every_line_becomes_one_event_of_its_session(session: str,
                                                     kinds: dict[EventKind, int]) -> None:
    mapped = _map_file(session)
    assert all(ADAPTER.accepts(record) for record, _ in mapped)
    assert all(e.session_id == e.stream == session and e.raw is r for r, e in mapped)
    assert all(e.source == "codex" and e.native_id.startswith(f"{session}/") for _, e in mapped)
    assert Counter(e.kind for _, e in mapped) == kinds
    assert len({e.id for _, e in mapped}) == len(mapped)
    assert [e.time for _, e in mapped] == [
        datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r, _ in mapped]


def test_session_meta_and_turn_context() -> None:
    meta, *_rest = _events(OLD)
    assert (meta.kind, meta.actor) == (EventKind.SYSTEM, "system")
    assert meta.text is not None and "Never push to main" in meta.text  # AGENTS.md instructions
    assert meta.attributes["cli_version"] == "0.46.0"
    assert meta.attributes["git_branch"] == "fix/cart-total"
    turn = next(e for e in _events(NEW) if e.attributes["record_type"] == "turn_context")
    assert turn.attributes["approval_policy"] == "never"
    assert turn.attributes["sandbox_policy"] == {"type": "danger-full-access"}
    assert (turn.attributes["model"], turn.attributes["effort"]) == ("gpt-5.5", "high")
    new_meta = _events(NEW)[0]
    assert new_meta.text is None  # the default base_instructions stay in raw only


def test_injected_context_is_system_not_user() -> None:
    reasons = {e.attributes["system_reason"]: e.actor for e in _events(OLD) + _events(NEW)
               if e.kind is EventKind.SYSTEM and "system_reason" in e.attributes}
    assert reasons == {"user_instructions": "system", "environment_context": "system",
                       "developer_message": "system", "turn_aborted": "system",
                       "compaction": "system"}


def test_shell_failure_then_retry() -> None:
    events = _events(OLD)
    calls = [e for e in events if e.kind is EventKind.TOOL_CALL]
    results = {e.call_id: e for e in events if e.kind is EventKind.TOOL_RESULT}
    assert [c.tool_name for c in calls] == ["shell", "shell", "shell", "apply_patch", "shell"]
    assert calls[0].tool_input == {"command": ["bash", "-lc", "pytest -q tests/test_cart.py"],
                                   "workdir": "/home/dev/shop-api", "timeout_ms": 120000}
    outcome = [(results[c.call_id].is_error, results[c.call_id].attributes.get("exit_code"))
               for c in calls]
    assert outcome == [(True, 127), (True, 1), (False, 0), (False, 0), (False, 0)]
    assert results[calls[0].call_id].text == "bash: line 1: pytest: command not found\n"
    assert all(results[c.call_id].tool_name == c.tool_name for c in calls)
    end = next(e for e in events if e.attributes.get("payload_type") == "exec_command_end")
    assert (end.kind, end.call_id, end.is_error, end.tool_name) == (
        EventKind.SYSTEM, calls[1].call_id, True, "shell")
    assert end.text is not None and "assert 21.0 == 20.0" in end.text


def test_apply_patch_custom_tool_call() -> None:
    events = _events(OLD)
    patch = next(e for e in events if e.tool_name == "apply_patch" and e.kind is EventKind.TOOL_CALL)
    assert patch.tool_input["input"].startswith("*** Begin Patch\n*** Update File: shop/cart.py")
    applied = next(e for e in events if e.attributes.get("payload_type") == "patch_apply_end")
    assert (applied.call_id, applied.is_error) == (patch.call_id, False)
    assert applied.attributes["files"] == ["/home/dev/shop-api/shop/cart.py"]
    output = next(e for e in events if e.kind is EventKind.TOOL_RESULT and e.call_id == patch.call_id)
    assert output.text == "Success. Updated the following files:\nM shop/cart.py\n"


def test_newer_tools_and_plain_text_results() -> None:
    events = _events(NEW)
    by_name = {e.tool_name: e for e in events if e.kind is EventKind.TOOL_CALL}
    assert set(by_name) == {"exec_command", "web_search", "local_shell", "update_plan"}
    assert by_name["web_search"].tool_input == {
        "type": "search", "query": "aws s3 rb AccessDenied DeleteBucket bucket policy deny"}
    assert by_name["local_shell"].tool_input["command"][:3] == ["aws", "s3api", "get-bucket-policy"]
    results = [e for e in events if e.kind is EventKind.TOOL_RESULT]
    assert [(r.tool_name, r.is_error, r.attributes.get("exit_code")) for r in results] == [
        ("exec_command", False, 0), ("exec_command", True, 1), ("local_shell", None, None)]
    assert results[1].text is not None and "AccessDenied" in results[1].text
    reasoning = next(e for e in events if e.kind is EventKind.AGENT_REASONING)
    assert (reasoning.text, reasoning.attributes["encrypted"]) == (None, True)
    error = next(e for e in events if e.attributes.get("payload_type") == "error")
    assert (error.kind, error.is_error) == (EventKind.SYSTEM, True)
    unknown = [e.attributes for e in events if e.kind is EventKind.OTHER
               and "duplicate_of" not in e.attributes]
    assert [a.get("payload_type", a["record_type"]) for a in unknown] == [
        "sub_agent_activity", "world_state"]


# --- mirrored messages ------------------------------------------------------------------------


@pytest.mark.parametrize("session", [OLD, NEW, FORK])
def test_each_visible_message_is_one_event_and_its_mirror_points_at_it(session: str) -> None:
    events = _events(session)
    by_id = {e.id: e for e in events}
    mirrors = [e for e in events if "duplicate_of" in e.attributes]
    assert mirrors and all(e.kind is EventKind.OTHER for e in mirrors)
    for mirror in mirrors:
        primary = by_id[mirror.attributes["duplicate_of"]]
        assert str(primary.kind) == mirror.attributes["mirror_of"]
        assert (primary.text or "").strip() == (mirror.text or "").strip()
        assert primary.attributes["record_type"] != mirror.attributes["record_type"]
        assert events.index(primary) < events.index(mirror)
    visible = [e.text for e in events if e.kind in (EventKind.USER_MESSAGE, EventKind.AGENT_MESSAGE,
                                                    EventKind.AGENT_REASONING) and e.text]
    assert len(visible) == len(set(visible))  # no message counted twice


def test_which_line_of_a_pair_comes_first_decides_the_primary() -> None:
    old = {e.attributes["mirror_of"]: e.attributes["payload_type"]
           for e in _events(OLD) if "duplicate_of" in e.attributes}
    # Codex 0.46 writes the user's message as a response item first, agent output as events first.
    assert old == {"user_message": "user_message", "agent_reasoning": "reasoning",
                   "agent_message": "message"}
    new = {e.attributes["mirror_of"]: e.attributes["payload_type"]
           for e in _events(NEW) if "duplicate_of" in e.attributes}
    assert new == {"user_message": "user_message", "agent_message": "agent_message"}


def test_repeated_messages_pair_one_to_one() -> None:
    def line(kind: str, payload: dict[str, Any], second: int) -> dict[str, Any]:
        return {"timestamp": f"2026-01-01T00:00:{second:02d}Z", "type": kind, "payload": payload}
    said = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go on"}]}
    echo = {"type": "user_message", "message": "go on"}
    records = [line("session_meta", {"id": "s"}, 0), line("response_item", said, 1),
               line("response_item", said, 2), line("event_msg", echo, 3), line("event_msg", echo, 4)]
    kinds = [e.kind for _, e in _map(records)]
    assert kinds == [EventKind.SYSTEM, EventKind.USER_MESSAGE, EventKind.USER_MESSAGE,
                     EventKind.OTHER, EventKind.OTHER]
    events = [e for _, e in _map(records)]
    assert [e.attributes["duplicate_of"] for e in events[3:]] == [events[1].id, events[2].id]


def test_multi_part_reasoning_mirrors_each_summary_event() -> None:
    parts = ["**Plan**\n\nfirst", "**Check**\n\nsecond"]
    records = [{"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg",
                "payload": {"type": "agent_reasoning", "text": part}} for part in parts]
    records.append({"timestamp": "2026-01-01T00:00:01Z", "type": "response_item", "payload": {
        "type": "reasoning", "summary": [{"type": "summary_text", "text": p} for p in parts],
        "encrypted_content": "gAAA"}})
    events = [e for _, e in _map(records, _ctx("rollout-x-" + "0" * 8 + "-0000-0000-0000-"
                                                + "0" * 12 + ".jsonl"))]
    assert [e.kind for e in events] == [EventKind.AGENT_REASONING] * 2 + [EventKind.OTHER]
    assert events[2].attributes["duplicate_of"] == events[0].id
    assert events[2].text == "\n\n".join(parts)


# --- sessions, ids ----------------------------------------------------------------------------


def test_a_fork_keeps_its_stream_through_copied_lines() -> None:
    fork = _map_file(FORK)
    assert {e.session_id for _, e in fork} == {FORK}
    copied_meta = fork[1][1]
    assert copied_meta.attributes["copied_session_id"] == NEW
    assert fork[0][1].attributes["forked_from_id"] == NEW
    parent = {json.dumps(r, sort_keys=True): e.id for r, e in _map_file(NEW)}
    copies = [(r, e) for r, e in fork if json.dumps(r, sort_keys=True) in parent]
    assert len(copies) == 6
    assert all(e.id != parent[json.dumps(r, sort_keys=True)] for r, e in copies)


def test_a_new_session_meta_that_is_no_ancestor_starts_a_new_stream() -> None:
    both = _read(_path(OLD)) + _read(_path(NEW))  # two files posted as one body
    sessions = [e.session_id for _, e in _map(both)]
    assert sessions == [OLD] * 28 + [NEW] * 29


def test_lines_before_the_session_meta_learn_the_session() -> None:
    records = _read(_path(OLD))
    early = [records[6], records[0], *records[1:6]]  # a token count written before the meta
    assert {e.session_id for _, e in _map(early)} == {OLD}
    # Without a session_meta, the file name says it; with neither, the no-session stream.
    named = _map(records[1:5], _ctx(_path(OLD)))
    assert {e.session_id for _, e in named} == {OLD}
    (_, lone), = _map(records[6:7])
    assert (lone.session_id, lone.stream) == (None, NO_SESSION_STREAM)


def test_ids_do_not_depend_on_where_reading_starts() -> None:
    path = _path(OLD)
    records = _read(path)
    whole = {json.dumps(r, sort_keys=True): e.id for r, e in _map(records, _ctx(path))}
    tail = _map(records[10:], _ctx(path))  # e.g. a watcher resuming at a byte offset
    assert all(whole[json.dumps(r, sort_keys=True)] == e.id for r, e in tail)
    again = _map(copy.deepcopy(records), _ctx("elsewhere.jsonl"))
    assert [e.id for _, e in again] == list(whole.values())


def test_identical_lines_are_all_kept() -> None:
    line = {"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg",
            "payload": {"type": "token_count", "info": None}}
    events = [e for _, e in _map([{"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta",
                                   "payload": {"id": "s"}}, line, dict(line), dict(line)])]
    assert [e.native_id.split("#")[1:] for e in events[1:]] == [[], ["2"], ["3"]]
    assert len({e.id for e in events}) == 4


def test_time_falls_back_to_last_seen_then_received_at() -> None:
    bare = {"type": "event_msg", "payload": {"type": "task_started"}}
    assert _map([bare])[0][1].time == RECEIVED
    events = _map([*_read(_path(OLD))[:2], bare])
    assert events[2][1].time == datetime(2025, 10, 27, 22, 14, 10, 990000, tzinfo=UTC)


# --- accepts ----------------------------------------------------------------------------------


def _other_formats(shared: Path) -> list[Any]:
    claude = _read(shared / "claude-code" / "short.jsonl")[:5]
    cloudtrail = json.loads((shared / "cloudtrail" / "stratus-red-team"
                             / "aws.defense-evasion.cloudtrail-delete.json").read_text())[:3]
    railway = [edge["node"] for edge in json.loads(
        (shared / "incidents" / "railway-volume-delete" / "railway-audit.json").read_text())
        ["data"]["auditLogs"]["edges"]]
    trajectories = json.loads((FIXTURES / "agent-trajectory" / "rjudge-shape.json").read_text())
    return [*claude, *cloudtrail, *railway, *trajectories, *OTHER_FORMATS]


def test_rejects_other_formats(shared_data: Path) -> None:
    for record in _other_formats(shared_data):
        assert not ADAPTER.accepts(record), record


@pytest.mark.parametrize("record", [
    {"type": "event_msg"},  # no payload
    {"type": "event_msg", "payload": "x"},
    {"type": ["event_msg"], "payload": {}},
    {"type": "world_state", "payload": {}},  # an unknown type needs a timestamp
    {"type": "world_state", "payload": {}, "timestamp": "t", "sessionId": "s"},  # and no more keys
    {"type": "user", "payload": {}, "sessionId": "s", "uuid": "u"},
    [], "x", None, {},
])
def test_rejects_near_misses(record: Any) -> None:
    assert not ADAPTER.accepts(record)


def test_accepts_future_line_types_with_the_rollout_keys_only() -> None:
    assert ADAPTER.accepts({"timestamp": "2026-01-01T00:00:00Z", "type": "world_state",
                            "payload": {}, "ordinal": 3})


def test_registry_detects_rollouts() -> None:
    assert isinstance(get_adapter("codex"), CodexAdapter)
    assert detect_adapter(_read(_path(NEW))[:20]).name == "codex"


# --- malformed input --------------------------------------------------------------------------

_LINES: dict[str, dict[str, Any]] = {
    "meta": {"type": "session_meta", "payload": {"id": "s-1", "cwd": "/w"}},
    "message": {"type": "response_item", "payload": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}},
    "reasoning": {"type": "response_item", "payload": {
        "type": "reasoning", "summary": [{"type": "summary_text", "text": "x"}]}},
    "call": {"type": "response_item", "payload": {
        "type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c1"}},
    "output": {"type": "response_item", "payload": {
        "type": "function_call_output", "call_id": "c1", "output": "ok"}},
    "local": {"type": "response_item", "payload": {
        "type": "local_shell_call", "call_id": "c2", "action": {"command": ["ls"]}}},
    "said": {"type": "event_msg", "payload": {"type": "agent_message", "message": "done"}},
}


def _broken(name: str, path: str, value: Any) -> dict[str, Any]:
    return with_value(copy.deepcopy({"timestamp": "2026-01-01T00:00:00Z", **_LINES[name]}), path, value)


@pytest.mark.parametrize(("name", "path", "value", "field"), [
    ("message", "type", 5, "type"),
    ("message", "payload", DELETE, "payload"),
    ("message", "payload", ["x"], "payload"),
    ("message", "timestamp", "yesterday", "timestamp"),
    ("message", "timestamp", True, "timestamp"),
    ("message", "timestamp", 10**400, "timestamp"),
    ("meta", "payload.id", 5, "payload.id"),
    ("message", "payload.role", 5, "payload.role"),
    ("message", "payload.content", 5, "payload.content"),
    ("message", "payload.content.0", "hi", "payload.content[0]"),
    ("message", "payload.content.0.text", 5, "payload.content[0].text"),
    ("reasoning", "payload.summary", "x", "payload.summary"),
    ("reasoning", "payload.summary.0.text", ["x"], "payload.summary[0].text"),
    ("call", "payload.call_id", DELETE, "payload.call_id"),
    ("call", "payload.call_id", 7, "payload.call_id"),
    ("call", "payload.name", 7, "payload.name"),
    ("output", "payload.call_id", "", "payload.call_id"),
    ("output", "payload.output", 5, "payload.output"),
    ("local", "payload.action", "ls", "payload.action"),
    ("said", "payload.message", 5, "payload.message"),
])
def test_malformed_lines_raise_record_error(name: str, path: str, value: Any, field: str) -> None:
    assert ADAPTER.to_events(_broken(name, "timestamp", "2026-01-01T00:00:00Z"), _ctx())
    assert rejected(ADAPTER, _broken(name, path, value), _ctx()).field == field


@pytest.mark.parametrize("record", NON_OBJECTS)
def test_non_objects_raise_record_error(record: Any) -> None:
    assert "expected an object" in rejected(ADAPTER, record, _ctx()).reason


def test_unparsable_arguments_are_kept_as_text() -> None:
    record = {"type": "response_item", "payload": {
        "type": "function_call", "name": "shell", "arguments": "{\"command\": [\"ls\"", "call_id": "c"}}
    (event,) = ADAPTER.to_events(record, _ctx())
    assert event.tool_input == {"arguments": "{\"command\": [\"ls\""}
    assert event.attributes["arguments_invalid_json"] is True


# --- through the pipeline ---------------------------------------------------------------------


def test_rollouts_ingest_once_and_are_detected(log: EventLog, preparer: Preparer) -> None:
    total = 0
    for session in (OLD, NEW, FORK):
        path = _path(session)
        report = ingest_bytes(log, preparer, path.read_bytes(), AUTO, origin=str(path))
        assert (report.format, report.errors) == ("codex", [])
        total += report.appended
    assert total == 28 + 29 + 12
    assert {s.session_id for s in log.sessions()} == {OLD, NEW, FORK}
    for session in (OLD, NEW, FORK):
        path = _path(session)
        again = ingest_bytes(log, preparer, path.read_bytes(), "codex", origin=str(path))
        assert (again.appended, again.errors) == (0, [])
    assert log.count_events() == total
    assert log.verify().ok


def test_a_partly_written_last_line_is_quarantined_with_its_line(log: EventLog,
                                                                 preparer: Preparer) -> None:
    path = _path(OLD)
    lines = path.read_bytes().splitlines()
    data = b"\n".join([*lines[:-1], lines[-1][:37]]) + b"\n"  # Codex still writing the line
    report = ingest_bytes(log, preparer, data, AUTO, origin=str(path))
    assert report.appended == 27
    assert [(e.location, e.line) for e in report.errors] == [(str(path), 28)]
    # Once the line is complete it appends, and only it.
    again = ingest_bytes(log, preparer, path.read_bytes(), AUTO, origin=str(path))
    assert (again.appended, again.errors) == (1, [])


def test_bad_lines_name_line_and_field(log: EventLog, preparer: Preparer) -> None:
    records = _read(_path(NEW))
    bad_call = {**records[8], "payload": {**records[8]["payload"], "call_id": None}}
    data = ndjson([records[0], bad_call, {"type": "event_msg", "payload": 3}, records[1]])
    report = ingest_bytes(log, preparer, data, "codex", origin="r.jsonl")
    assert report.appended == 2
    assert [(e.line, e.field) for e in report.errors] == [(2, "payload.call_id"), (3, "payload")]


def test_wrong_format_forced_names_the_missing_field(log: EventLog, preparer: Preparer) -> None:
    trajectories = (FIXTURES / "agent-trajectory" / "rjudge-shape.json").read_bytes()
    report = ingest_bytes(log, preparer, trajectories, "codex", origin="rjudge.json")
    assert report.appended == 0
    assert [(e.index, e.field) for e in report.errors] == [(0, "type"), (1, "type")]


# --- property: any JSON maps or raises RecordError --------------------------------------------

def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, odds=10)


_text = st.text(max_size=8)
_item = st.fixed_dictionaries({"type": _mostly(st.sampled_from(
    ["input_text", "output_text", "input_image", "summary_text", "reasoning_text"]))},
    optional={"text": _mostly(_text), "image_url": ANY_JSON})
_output = _mostly(_text | st.sampled_from([
    '{"output": "x", "metadata": {"exit_code": 1}}', '{"output": 5}', "Exit code: 2\nOutput:\nx",
    "Process exited with code 99999999999\nOutput:\n"]) | st.lists(_mostly(_item), max_size=2))
_payload = st.fixed_dictionaries({"type": _mostly(st.sampled_from([
    "message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
    "custom_tool_call_output", "local_shell_call", "web_search_call", "compaction",
    "user_message", "agent_message", "agent_reasoning", "exec_command_end", "patch_apply_end",
    "error", "token_count", "turn_aborted", "zzz"]))}, optional={
    "id": _mostly(_text), "forked_from_id": _mostly(_text), "role": _mostly(st.sampled_from(
        ["user", "assistant", "developer", "tool"])),
    "content": _mostly(st.lists(_mostly(_item), max_size=3)),
    "summary": _mostly(st.lists(_mostly(_item), max_size=3)),
    "call_id": _mostly(st.sampled_from(["c1", "c2", ""])), "name": _mostly(_text),
    "arguments": _mostly(st.sampled_from(['{"cmd": "ls"}', "[1]", "{", "null"])),
    "input": _mostly(_text), "output": _output, "action": ANY_JSON, "message": _mostly(_text),
    "text": _mostly(_text), "kind": ANY_JSON, "images": ANY_JSON, "changes": ANY_JSON, "command": ANY_JSON,
    "exit_code": ANY_JSON, "success": ANY_JSON, "git": ANY_JSON, "instructions": _mostly(_text),
    "replacement_history": ANY_JSON, "encrypted_content": ANY_JSON,
})
_record = _mostly(st.fixed_dictionaries({
    "type": _mostly(st.sampled_from(["session_meta", "turn_context", "event_msg",
                                     "response_item", "compacted", "world_state"])),
    "payload": _mostly(_payload)}, optional={"timestamp": _mostly(st.datetimes().map(
        datetime.isoformat))}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record, min_size=1, max_size=4))
def test_any_json_maps_to_events_or_raises_record_error(records: list[Any]) -> None:
    ctx = _ctx()
    ADAPTER.prescan(records, ctx)
    for record in records:  # a sequence, so state from earlier lines (pairs, sessions) is used
        assert isinstance(ADAPTER.accepts(record), bool)
        try:
            events = ADAPTER.to_events(record, ctx)
        except RecordError:
            continue
        assert len(events) == 1 and isinstance(events[0], Event)
        assert events[0].stream and events[0].raw is record
        orjson.dumps(events[0].attributes)  # only JSON in attributes
