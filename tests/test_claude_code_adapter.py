"""The Claude Code transcript adapter, against the real transcripts in the shared data."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter, get_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.claude_code import NO_SESSION_STREAM, ClaudeCodeAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from tests.helpers import ANY_JSON, DELETE, NON_OBJECTS, mostly, rejected, with_value

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = ClaudeCodeAdapter()

FUM = "8463c716-a2ea-4c14-9efa-87158ebd9f20"  # a session with a Task subagent (a7be2f0)
SHORT_SESSION = "55604662-cf2a-4331-851a-ec234028f8ca"


Mapped = list[tuple[dict[str, Any], list[Event]]]


def _ctx(origin: Path | str | None = None) -> AdapterContext:
    return AdapterContext(received_at=RECEIVED, origin=None if origin is None else str(origin))


def _read(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _map_file(path: Path) -> Mapped:
    """What the pipeline does with one file: prescan the chunk, then map line by line."""
    records = _read(path)
    ctx = _ctx(path)
    ADAPTER.prescan(records, ctx)
    return [(record, ADAPTER.to_events(record, ctx)) for record in records]


def _transcripts(shared: Path) -> list[Path]:
    return sorted((shared / "claude-code").rglob("*.jsonl")) + sorted(
        shared.glob("incidents/*/transcript.jsonl"))


@pytest.fixture(scope="module")
def mapped(shared_data: Path) -> dict[Path, Mapped]:
    return {path: _map_file(path) for path in _transcripts(shared_data)}


@pytest.fixture(scope="module")
def by_uuid(mapped: dict[Path, Mapped]) -> dict[str, list[Event]]:
    return {record["uuid"]: events for lines in mapped.values() for record, events in lines
            if "uuid" in record}


def _all_events(mapped: dict[Path, Mapped]) -> list[Event]:
    return [event for lines in mapped.values() for _, events in lines for event in events]


def _only(events: list[Event]) -> Event:
    assert len(events) == 1
    return events[0]


# --- the shared data --------------------------------------------------------------------------


def test_every_line_of_every_transcript_maps_to_events(mapped: dict[Path, Mapped]) -> None:
    # 6 top-level transcripts, 6 subagent files, 2 incident transcripts.
    assert len(mapped) == 14
    assert sum(1 for path in mapped if path.parent.name == "subagents") == 6
    for path, lines in mapped.items():
        assert lines, path
        for record, events in lines:
            assert ADAPTER.accepts(record), (path, record.get("uuid"))
            assert events, (path, record.get("uuid"))
            assert all(event.source == "claude-code" and event.raw is record for event in events)
            assert all(event.stream == event.session_id for event in events), path


def test_kinds_cover_the_data(mapped: dict[Path, Mapped]) -> None:
    kinds = {event.kind for event in _all_events(mapped)}
    assert kinds == {EventKind.USER_MESSAGE, EventKind.AGENT_REASONING, EventKind.AGENT_MESSAGE,
                     EventKind.TOOL_CALL, EventKind.TOOL_RESULT, EventKind.SYSTEM, EventKind.OTHER}


def test_user_message(by_uuid: dict[str, list[Event]]) -> None:
    event = _only(by_uuid["7d48cbd2-6615-4dd8-87f6-38f12b8167d6"])
    assert event.kind is EventKind.USER_MESSAGE
    assert event.text == "mix phx.server doesnt seem to start"
    assert event.actor == "user"
    assert event.session_id == SHORT_SESSION
    assert event.time == datetime(2026, 2, 10, 21, 11, 56, 846000, tzinfo=UTC)


def test_thinking_text_and_whitespace_blocks(by_uuid: dict[str, list[Event]]) -> None:
    thinking = _only(by_uuid["c228f841-697c-48dd-b33e-3ebc5ced6a41"])
    assert thinking.kind is EventKind.AGENT_REASONING
    assert thinking.text is not None and thinking.text.startswith("The user is having trouble")
    assert thinking.actor == "agent"
    assert thinking.attributes["model"] == "claude-opus-4-6"
    blank = _only(by_uuid["1b7d717f-d6a2-46a6-8575-fa4f937450ea"])  # a "\n\n" text block
    assert blank.kind is EventKind.AGENT_MESSAGE
    assert blank.text == "\n\n"


def test_tool_call_and_its_result(by_uuid: dict[str, list[Event]]) -> None:
    call = _only(by_uuid["194d33b0-6cf7-4c54-8200-07dfd3fb88cf"])
    assert call.kind is EventKind.TOOL_CALL
    assert call.tool_name == "Bash"
    assert call.call_id == "toolu_0116Hyi5v8ut7Ffb7d8qV1Sc"
    assert call.tool_input == {"command": "mix phx.server 2>&1 | head -80", "timeout": 30000}
    result = _only(by_uuid["ff80d82a-4ac1-4945-83dd-1226f98b8cf6"])
    assert result.kind is EventKind.TOOL_RESULT
    assert result.call_id == call.call_id
    assert result.tool_name == "Bash"  # looked up from the call earlier in the file
    assert result.is_error is True
    assert result.attributes["source_tool_assistant_uuid"] == "194d33b0-6cf7-4c54-8200-07dfd3fb88cf"


def test_injected_user_content_is_system(by_uuid: dict[str, list[Event]]) -> None:
    expected = {
        "c06a9fe4-ba05-44f2-b619-a057c18101e5": ("interrupt", "user"),
        "fbc928bf-df77-45c9-a0ef-51d150f4caf7": ("command", "user"),
        "32f63b8a-e199-4502-a897-b78bfc17cfc3": ("local_command_output", "system"),
        "faf199ff-2cfa-4656-97bc-8c0ffb7c025c": ("meta", "system"),
        "58436800-0a29-451b-a8f5-3a0c59957945": ("compact_summary", "system"),
        "0a5857c1-7c3d-4165-b520-c7eff1cfa27a": ("task_notification", "system"),
    }
    for uuid, (reason, actor) in expected.items():
        event = _only(by_uuid[uuid])
        assert (event.kind, event.attributes.get("system_reason"), event.actor) == (
            EventKind.SYSTEM, reason, actor), uuid


def test_system_and_snapshot_lines(mapped: dict[Path, Mapped], shared_data: Path) -> None:
    lines = mapped[shared_data / "claude-code" / "short.jsonl"]
    snapshot_record, snapshot_events = lines[0]
    snapshot = _only(snapshot_events)
    assert snapshot_record["type"] == "file-history-snapshot"
    assert snapshot.kind is EventKind.OTHER
    assert snapshot.attributes["record_type"] == "file-history-snapshot"
    assert snapshot.session_id == SHORT_SESSION  # learnt by prescan: the line has no sessionId
    assert snapshot.time == datetime(2026, 2, 10, 21, 11, 56, 906000, tzinfo=UTC)
    system = _only(lines[13][1])
    assert system.kind is EventKind.SYSTEM
    assert system.text is not None and system.text.startswith("<command-name>/model")
    assert system.attributes["subtype"] == "local_command"


def test_agent_progress_links_subagent_to_task_call(by_uuid: dict[str, list[Event]]) -> None:
    progress = _only(by_uuid["b856b0f8-41ec-4213-ab45-1078543ca7be"])
    assert progress.kind is EventKind.SYSTEM
    assert progress.attributes["progress_type"] == "agent_progress"
    assert progress.attributes["subagent_id"] == "a7be2f0"
    assert progress.attributes["parent_call_id"] == "toolu_017SvvKc8KLbhGMG3tXkf21Z"
    assert "agent_id" not in progress.attributes  # the progress line is the parent's own
    task_calls = [event for events in by_uuid.values() for event in events
                  if event.call_id == "toolu_017SvvKc8KLbhGMG3tXkf21Z"
                  and event.kind is EventKind.TOOL_CALL]
    assert [event.tool_name for event in task_calls] == ["Task"]


def test_tool_results_answer_calls_of_the_same_session(mapped: dict[Path, Mapped]) -> None:
    calls: dict[str | None, set[str | None]] = defaultdict(set)
    results: dict[str | None, list[str | None]] = defaultdict(list)
    for event in _all_events(mapped):
        if event.kind is EventKind.TOOL_CALL:
            calls[event.session_id].add(event.call_id)
        elif event.kind is EventKind.TOOL_RESULT:
            results[event.session_id].append(event.call_id)
    assert sum(len(ids) for ids in results.values()) == 605
    orphans = {session: [c for c in ids if c not in calls[session]]
               for session, ids in results.items()}
    assert all(not ids for ids in orphans.values()), orphans  # the data has no orphans


def test_ids_unique_except_identical_records(mapped: dict[Path, Mapped]) -> None:
    seen: dict[str, str] = {}
    for event in _all_events(mapped):
        canonical = json.dumps(event.raw, sort_keys=True)
        assert seen.setdefault(event.id, canonical) == canonical, event.native_id
    assert len(seen) == len(_all_events(mapped))  # no two lines of the data are identical


def test_subagent_events_stay_in_the_parent_session(mapped: dict[Path, Mapped]) -> None:
    sub_files = [path for path in mapped if path.parent.name == "subagents"]
    for path in sub_files:
        agent_id = path.stem.removeprefix("agent-")
        parent_session = path.parent.parent.name
        for event in (e for _, events in mapped[path] for e in events):
            assert event.session_id == parent_session == event.stream
            assert event.attributes["agent_id"] == agent_id
            assert event.attributes["is_sidechain"] is True
            assert event.actor == f"subagent:{agent_id}"
            assert event.native_id.startswith(f"{parent_session}/{agent_id}/")


def test_incident_destructive_call_and_reasoning(shared_data: Path) -> None:
    events = [e for _, evs in _map_file(
        shared_data / "incidents" / "railway-volume-delete" / "transcript.jsonl") for e in evs]
    deletes = [e for e in events if e.kind is EventKind.TOOL_CALL
               and "volumeDelete" in e.tool_input.get("command", "")]
    assert [e.call_id for e in deletes] == ["toolu_01kjTnhNckHiApaBkCj9bk2n"]  # label.json's id
    assert any(e.kind is EventKind.AGENT_REASONING
               and "That must be the staging volume" in (e.text or "") for e in events)
    result = next(e for e in events if e.kind is EventKind.TOOL_RESULT
                  and e.call_id == "toolu_01kjTnhNckHiApaBkCj9bk2n")
    assert result.text == '{"data":{"volumeDelete":true}}'
    assert result.attributes["tool_use_result"]["stdout"] == '{"data":{"volumeDelete":true}}'


def test_registry_detects_transcripts(shared_data: Path) -> None:
    assert isinstance(get_adapter("claude-code"), ClaudeCodeAdapter)
    sample = _read(shared_data / "claude-code" / "short.jsonl")
    assert detect_adapter(sample).name == "claude-code"


# --- accepts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("record", [
    {"type": "user", "sessionId": "s", "uuid": "u", "message": {"content": "hi"}},
    {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
    {"type": "queue-operation", "operation": "enqueue", "sessionId": "s"},
    {"type": "summary", "summary": "x", "leafUuid": "u"},
    {"type": "custom-title", "sessionId": "s", "customTitle": "x"},  # a future line type
])
def test_accepts_transcript_lines(record: dict[str, Any]) -> None:
    assert ADAPTER.accepts(record)


@pytest.mark.parametrize("record", [
    {"eventVersion": "1.08", "eventID": "x", "eventName": "DeleteTrail"},
    {},
    [{"type": "user", "sessionId": "s"}],
    "user",
    None,
    {"type": "user"},  # a type alone is not enough
    {"type": "message", "id": "x", "content": []},
    {"type": ["user"], "sessionId": "s"},
])
def test_rejects_other_records(record: Any) -> None:
    assert not ADAPTER.accepts(record)


# --- malformed input --------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "type": "assistant", "uuid": "u-1", "sessionId": "s-1",
        "timestamp": "2026-02-10T21:11:56.906Z",
        "message": {"id": "msg_1", "content": [
            {"type": "text", "text": "ok"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        ]},
    }


def _broken(path: str, value: Any) -> dict[str, Any]:
    return with_value(_valid(), path, value)


@pytest.mark.parametrize(("path", "value", "field"), [
    ("message", 5, "message"),
    ("message", DELETE, "message"),
    ("message.content", 7, "message.content"),
    ("message.content", None, "message.content"),
    ("message.content.0", "text", "message.content[0]"),
    ("timestamp", "yesterday", "timestamp"),
    ("timestamp", True, "timestamp"),
    ("timestamp", 10**400, "timestamp"),
    ("sessionId", 5, "sessionId"),
    ("uuid", ["u"], "uuid"),
    ("message.content.1.id", DELETE, "message.content[1].id"),
    ("message.content.1.id", 17, "message.content[1].id"),
    ("message.content.0.text", 17, "message.content[0].text"),
])
def test_malformed_lines_raise_record_error(path: str, value: Any, field: str) -> None:
    assert ADAPTER.to_events(_valid(), _ctx())  # the unbroken record is fine
    assert rejected(ADAPTER, _broken(path, value), _ctx()).field == field


@pytest.mark.parametrize("record", NON_OBJECTS)
def test_non_objects_raise_record_error(record: Any) -> None:
    assert "expected an object" in rejected(ADAPTER, record, _ctx()).reason


def test_bad_tool_result_content_names_the_block() -> None:
    record = {"type": "user", "uuid": "u", "sessionId": "s", "message": {"content": [
        {"type": "text", "text": "x"}, {"type": "tool_result", "tool_use_id": "t", "content": 5}]}}
    assert rejected(ADAPTER, record, _ctx()).field == "message.content[1].content"


# --- native ids, sessions, time ---------------------------------------------------------------


def test_several_blocks_get_indexed_ids_and_same_record_same_ids() -> None:
    events = ADAPTER.to_events(_valid(), _ctx())
    assert [e.native_id for e in events] == ["s-1/u-1:0", "s-1/u-1:1"]
    assert [e.kind for e in events] == [EventKind.AGENT_MESSAGE, EventKind.TOOL_CALL]
    assert [e.attributes["block_index"] for e in events] == [0, 1]
    again = ADAPTER.to_events(copy.deepcopy(_valid()), _ctx("elsewhere.jsonl"))
    assert [e.id for e in again] == [e.id for e in events]


def test_copies_in_other_sessions_or_subagents_do_not_collide() -> None:
    original = _valid()
    resumed = {**_valid(), "sessionId": "s-2"}  # --resume copies lines into a new session
    sidechain = {**_valid(), "agentId": "a1", "isSidechain": True}
    ids = [{e.id for e in ADAPTER.to_events(r, _ctx())} for r in (original, resumed, sidechain)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]


def test_sessionless_lines_learn_the_session() -> None:
    snapshot = {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}}
    line = {**_valid(), "sessionId": "s-9"}
    ctx = _ctx()
    ADAPTER.prescan([snapshot, line], ctx)
    assert _only(ADAPTER.to_events(snapshot, ctx)).session_id == "s-9"
    # Without prescan, and with nothing else to go by, the line gets the no-session stream.
    lone = _only(ADAPTER.to_events(snapshot, _ctx()))
    assert (lone.session_id, lone.stream) == (None, NO_SESSION_STREAM)
    session = "0b6a2f7e-1111-4222-8333-944455556666"
    from_name = _only(ADAPTER.to_events(snapshot, _ctx(f"/x/{session}.jsonl")))
    assert from_name.session_id == session
    sub = _ctx(f"/x/{session}/subagents/agent-a1.jsonl")
    ADAPTER.prescan([snapshot], sub)
    assert _only(ADAPTER.to_events(snapshot, sub)).session_id == session


def test_time_falls_back_to_last_seen_then_received_at() -> None:
    bare = {"type": "queue-operation", "operation": "remove", "sessionId": "s"}
    assert _only(ADAPTER.to_events(bare, _ctx())).time == RECEIVED
    ctx = _ctx()
    ADAPTER.to_events(_valid(), ctx)
    assert _only(ADAPTER.to_events(bare, ctx)).time == datetime(
        2026, 2, 10, 21, 11, 56, 906000, tzinfo=UTC)


def test_tool_result_flattening_and_summary() -> None:
    ctx = _ctx()
    ADAPTER.to_events(_valid(), ctx)
    record = {
        "type": "user", "uuid": "u-2", "sessionId": "s-1",
        "message": {"content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "a"}, {"type": "image", "source": {}}, "b"]}]},
        "toolUseResult": {"stdout": "a", "stderr": "", "interrupted": False,
                          "big": "x" * 5000, "nested": {"k": 1}},
    }
    event = _only(ADAPTER.to_events(record, ctx))
    assert (event.text, event.tool_name, event.is_error) == ("a\n[image]\nb", "Bash", False)
    assert event.attributes["tool_use_result"] == {"stdout": "a", "stderr": "",
                                                   "interrupted": False}
    failed = {**record, "toolUseResult": "Error: Exit code 2\nboom"}
    assert _only(ADAPTER.to_events(failed, ctx)).attributes["tool_use_result"] == {
        "message": "Error: Exit code 2\nboom", "exit_code": 2}


def test_unknown_types_and_blocks_become_other() -> None:
    odd = {"type": "pr-link", "sessionId": "s", "url": "x"}
    event = _only(ADAPTER.to_events(odd, _ctx()))
    assert (event.kind, event.attributes["record_type"]) == (EventKind.OTHER, "pr-link")
    typeless = _only(ADAPTER.to_events({"sessionId": "s"}, _ctx()))
    assert typeless.kind is EventKind.OTHER
    block = {**_valid(), "message": {"content": [{"type": "hologram"}]}}
    event = _only(ADAPTER.to_events(block, _ctx()))
    assert (event.kind, event.attributes["block_type"]) == (EventKind.OTHER, "hologram")
    empty = {**_valid(), "message": {"content": []}}
    assert _only(ADAPTER.to_events(empty, _ctx())).kind is EventKind.AGENT_MESSAGE


# --- property: any JSON maps or raises RecordError --------------------------------------------

def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, odds=10)


_text = st.text(max_size=8)
_iso = st.datetimes().map(datetime.isoformat)
_block = st.fixed_dictionaries({"type": _mostly(st.sampled_from([
    "text", "thinking", "tool_use", "tool_result", "image", "redacted_thinking",
    "web_search_tool_result", "x"])), "id": _mostly(st.text(min_size=1, max_size=8))}, optional={
    "text": _mostly(_text), "thinking": _mostly(_text),
    "name": _mostly(_text), "input": ANY_JSON, "tool_use_id": _mostly(_text),
    "is_error": _mostly(st.booleans()),
    "content": _mostly(_text | st.lists(_text | st.fixed_dictionaries(
        {"type": _mostly(st.sampled_from(["text", "image"])), "text": _mostly(_text)}),
        max_size=3)),
})
_message = _mostly(st.fixed_dictionaries(
    {"content": _mostly(_text | st.lists(_mostly(_block), max_size=3))},
    optional={"id": ANY_JSON, "model": ANY_JSON, "stop_reason": ANY_JSON}))
_record = _mostly(st.fixed_dictionaries({"type": _mostly(st.sampled_from([
    "user", "assistant", "progress", "system", "file-history-snapshot", "queue-operation",
    "summary", "zzz"])), "message": _message}, optional={
    "uuid": _mostly(st.uuids().map(str)), "sessionId": _mostly(st.uuids().map(str)),
    "agentId": _mostly(_text), "isSidechain": _mostly(st.booleans()),
    "isMeta": _mostly(st.booleans()), "isCompactSummary": _mostly(st.booleans()),
    "timestamp": _mostly(_iso),
    "data": _mostly(st.fixed_dictionaries({}, optional={
        "type": _mostly(st.sampled_from(["hook_progress", "bash_progress", "agent_progress"])),
        "command": ANY_JSON, "output": ANY_JSON, "agentId": ANY_JSON})),
    "snapshot": _mostly(st.fixed_dictionaries({}, optional={"timestamp": _mostly(_iso)})),
    "toolUseResult": ANY_JSON, "content": ANY_JSON, "parentToolUseID": ANY_JSON, "cwd": ANY_JSON,
}))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record)
def test_any_json_maps_to_events_or_raises_record_error(record: Any) -> None:
    assert isinstance(ADAPTER.accepts(record), bool)
    try:
        events = ADAPTER.to_events(record, _ctx())
    except RecordError:
        return
    assert events and all(isinstance(event, Event) for event in events)
    assert all(event.stream and event.raw is record for event in events)
    assert [e.id for e in ADAPTER.to_events(record, _ctx())] == [e.id for e in events]
