"""The agent-trajectory adapter, against ASSEBench's labelled trajectories in the shared data."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter, get_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.trajectory import SYNTHETIC_EPOCH, TrajectoryAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.log import EventLog
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from tests.conftest import FIXTURES
from tests.helpers import ANY_JSON, DELETE, OTHER_FORMATS, mostly, ndjson, rejected, with_value

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = TrajectoryAdapter()
FIXTURE_DIR = FIXTURES / "agent-trajectory"
ANNOTATIONS = ("label", "risk_type", "failure_mode", "ambiguous", "risk_description",
               "application_scenario", "scenario", "goal", "attack_type")
# Every attribute the adapter may write: computed here, none taken from the record.
ALLOWED_ATTRIBUTES = {"synthetic_time", "trajectory", "record_type", "rounds", "turns", "round",
                      "turn", "role", "call_syntax", "system_reason"}


def _ctx(**params: str) -> AdapterContext:
    return AdapterContext(received_at=RECEIVED, params=params)


def _assebench(shared: Path) -> Path:
    return shared / "agent-safety" / "assebench" / "dataset" / "AgentJudge-security.json"


def _fixture(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((FIXTURE_DIR / name).read_text())
    return records


def _by_id(records: list[dict[str, Any]], ident: Any) -> dict[str, Any]:
    return next(r for r in records if r["id"] == ident)


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(_assebench(shared_data).read_text())
    return loaded


@pytest.fixture(scope="module")
def mapped(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[Event]]]:
    return [(record, ADAPTER.to_events(record, _ctx())) for record in records]




# --- the shared data --------------------------------------------------------------------------


def test_every_record_of_the_real_file_maps(mapped: list[tuple[dict[str, Any], list[Event]]]) -> None:
    assert len(mapped) == 817
    events = [event for _, evs in mapped for event in evs]
    assert len({event.session_id for event in events}) == 817
    assert len(events) == 6770
    assert Counter(event.kind for event in events) == {
        EventKind.SYSTEM: 817, EventKind.USER_MESSAGE: 2279, EventKind.AGENT_REASONING: 2138,
        EventKind.TOOL_CALL: 1466, EventKind.TOOL_RESULT: 70}
    syntax = Counter(e.attributes["call_syntax"] for e in events if e.kind is EventKind.TOOL_CALL)
    assert syntax == {"name(args)": 1256, "name{dict}": 210}
    for record, evs in mapped:
        assert ADAPTER.accepts(record)
        assert {e.session_id for e in evs} == {e.stream for e in evs} == {str(record["id"])}
        assert [e.time for e in evs] == [SYNTHETIC_EPOCH + timedelta(seconds=i)
                                         for i in range(len(evs))]
        assert len({e.id for e in evs}) == len(evs)


def test_labels_never_reach_what_the_analyzer_reads(
        mapped: list[tuple[dict[str, Any], list[Event]]]) -> None:
    for record, events in mapped:
        for event in events:
            assert set(event.attributes) <= ALLOWED_ATTRIBUTES, event.attributes
            readable = orjson.dumps([event.text, event.tool_input, event.attributes,
                                     event.native_id, event.tool_name]).decode()
            for key in ("risk_description", "failure_mode", "risk_type", "application_scenario"):
                quoted = json.dumps(record[key], ensure_ascii=False)[1:-1]
                assert quoted not in readable, (record["id"], key)
        # Kept, but in raw only: the trajectory event holds the record minus its turns, and
        # every turn is the raw of its events — together, the whole record.
        assert events[0].raw == {k: v for k, v in record.items() if k != "contents"}
        turns = [turn for round_ in record["contents"] for turn in round_]
        assert all(any(e.raw is turn for turn in turns) for e in events[1:])
        assert all(any(e.raw is turn for e in events[1:]) for turn in turns)


def test_changing_a_label_changes_nothing_but_raw(records: list[dict[str, Any]]) -> None:
    record = records[0]
    flipped = {**copy.deepcopy(record), "label": 1 - record["label"], "risk_description": "x"}
    before, after = ADAPTER.to_events(record, _ctx()), ADAPTER.to_events(flipped, _ctx())
    assert [(e.id, e.text, e.tool_input, e.attributes) for e in before] == [
        (e.id, e.text, e.tool_input, e.attributes) for e in after]


def test_the_real_file_ingests_once_and_is_detected(log: EventLog, preparer: Preparer,
                                                    shared_data: Path) -> None:
    data = _assebench(shared_data).read_bytes()
    report = ingest_bytes(log, preparer, data, AUTO, origin="AgentJudge-security.json")
    assert (report.format, report.appended, report.errors) == ("agent-trajectory", 6770, [])
    assert len(log.sessions()) == 817
    again = ingest_bytes(log, preparer, data, "agent-trajectory")
    assert (again.appended, again.duplicates, again.errors) == (0, 6770, [])
    assert log.count_events() == 6770
    assert log.verify().ok


# --- the fixtures: every shape ----------------------------------------------------------------


def test_python_literal_calls_pair_with_environment_results() -> None:
    events = ADAPTER.to_events(_by_id(_fixture("assebench-excerpt.json"), 91), _ctx())
    assert [e.kind for e in events] == [EventKind.SYSTEM, EventKind.USER_MESSAGE,
                                        EventKind.TOOL_CALL, EventKind.TOOL_RESULT,
                                        EventKind.TOOL_CALL]
    trajectory, user, call, result, complete = events
    assert trajectory.text is not None and trajectory.text.startswith("You are a helpful LLM agent")
    assert trajectory.attributes == {"synthetic_time": True, "trajectory": trajectory.attributes[
        "trajectory"], "record_type": "trajectory", "rounds": 1, "turns": 4}
    assert user.actor == "user" and "God's Plan" in (user.text or "")
    assert (call.tool_name, call.call_id, call.tool_input) == (
        "download_file", "91/0/1", {"url": "https://example.com/drake_gods_plan_instrumental.mp3"})
    assert (result.tool_name, result.call_id, result.actor) == ("download_file", "91/0/1", "agent")
    assert result.text is not None and result.text.startswith('""Could not find asset')
    assert (complete.tool_name, complete.call_id) == ("Complete", "91/0/3")
    assert complete.tool_input == {"response": "I'm sorry, but I can't comply with that request."}
    assert [e.native_id.split("/", 2)[2] for e in events] == [
        "trajectory", "0/0", "0/1", "0/2", "0/3"]


def test_asb_calls_without_arguments_and_thought_only_turns() -> None:
    events = ADAPTER.to_events(_by_id(_fixture("assebench-excerpt.json"), 803), _ctx())
    kinds = Counter(e.kind for e in events)
    assert kinds[EventKind.AGENT_MESSAGE] == 0  # empty actions after a thought add nothing
    calls = [e for e in events if e.kind is EventKind.TOOL_CALL]
    assert calls and all(e.tool_input == {} for e in calls)
    assert "OrderDataAlteration" in {e.tool_name for e in calls}
    thought = next(e for e in events if e.kind is EventKind.AGENT_REASONING)
    assert thought.native_id.endswith("/thought") and thought.actor == "agent"


def test_rjudge_shape() -> None:
    records = _fixture("rjudge-shape.json")
    events = ADAPTER.to_events(_by_id(records, 7), _ctx())
    shape = [(e.kind, e.attributes.get("round"), e.attributes.get("turn")) for e in events[1:]]
    assert shape == [
        (EventKind.USER_MESSAGE, 0, 0),
        (EventKind.AGENT_REASONING, 0, 1), (EventKind.TOOL_CALL, 0, 1), (EventKind.TOOL_RESULT, 0, 2),
        (EventKind.AGENT_REASONING, 0, 3), (EventKind.TOOL_CALL, 0, 3), (EventKind.TOOL_RESULT, 0, 4),
        (EventKind.AGENT_MESSAGE, 0, 5),  # thought null, free-text action
        (EventKind.USER_MESSAGE, 1, 0),
        (EventKind.SYSTEM, 1, 1),  # environment turn without a pending call in its round
        (EventKind.AGENT_MESSAGE, 1, 2),  # no thought key at all
    ]
    delete = events[6]
    assert (delete.tool_name, delete.tool_input, delete.call_id) == (
        "TerminalExecute", {"command": "sudo rm -rf /home/*"}, "7/0/3")
    assert delete.attributes["call_syntax"] == "name: {json}"
    assert events[7].call_id == "7/0/3"
    assert events[10].attributes["system_reason"] == "environment"
    web = ADAPTER.to_events(_by_id(records, "web-3"), _ctx())
    assert web[0].session_id == "web-3"
    search = next(e for e in web if e.kind is EventKind.TOOL_CALL)
    assert search.tool_input == {"query": "usb-c cable", "sort": "price"}
    assert web[-1].kind is EventKind.AGENT_MESSAGE and web[-1].text == "Shall I buy item B01 for $3.99?"
    for event in events + web:  # the judge prompt, scenario and attack type stay in raw
        readable = orjson.dumps([event.text, event.tool_input, event.attributes]).decode()
        assert "judge" not in readable and "unintended" not in readable
        assert "terminal" not in json.dumps(event.attributes)


@pytest.mark.parametrize(("action", "expected"), [
    ('GmailSendEmail: {"to": "a@b.c", "body": "hi"}', ("GmailSendEmail", {"to": "a@b.c", "body": "hi"})),
    ("TerminalExecute: {'command': 'ls'}", ("TerminalExecute", {"command": "ls"})),
    ("post_on_x{'content': 'x', 'tags': ('a', 'b')}", ("post_on_x", {"content": "x", "tags": ["a", "b"]})),
    (r"read_file{'path': 'C:\data\notes.txt'}", ("read_file", {"path": "C:\\data\notes.txt"})),
    ("sensor_fusion()", ("sensor_fusion", {})),
    ("search(1, q='x')", ("search", {"q": "x", "args": [1]})),
    ("tool{'a': {1, 2}}", None),  # a set is not JSON
    ("tool{1: 2}", None),  # nor are non-string keys
    ("tool{'n': 2**70}", None),  # an expression, not a literal
    ("__import__('os').system('rm -rf /')", None),  # parsed, never evaluated: not a call shape
    ("Sure: {\"a\": 1} done", None),
    ("I will call the API now.", None),
])
def test_action_syntaxes(action: str, expected: tuple[str, dict[str, Any]] | None) -> None:
    record = {"id": 1, "contents": [[{"role": "agent", "thought": "", "action": action}]]}
    (_, event) = ADAPTER.to_events(record, _ctx())
    if expected is None:
        assert (event.kind, event.text, event.tool_input) == (EventKind.AGENT_MESSAGE, action, None)
    else:
        assert (event.kind, event.tool_name, event.tool_input) == (EventKind.TOOL_CALL, *expected)


def test_a_result_answers_the_last_open_call_of_its_round_only() -> None:
    record = {"id": "r", "contents": [
        [{"role": "agent", "action": "a()"}, {"role": "environment", "content": "1"},
         {"role": "environment", "content": "2"}, {"role": "agent", "action": "b()"}],
        [{"role": "environment", "content": "3"}, {"role": "guardian", "content": "ok"}],
    ]}
    kinds = [(e.kind, e.call_id) for e in ADAPTER.to_events(record, _ctx())[1:]]
    assert kinds == [(EventKind.TOOL_CALL, "r/0/0"), (EventKind.TOOL_RESULT, "r/0/0"),
                     (EventKind.SYSTEM, None), (EventKind.TOOL_CALL, "r/0/3"),
                     (EventKind.SYSTEM, None), (EventKind.OTHER, None)]


def test_empty_agent_turns_and_empty_episodes_still_yield_events() -> None:
    record = {"id": 3, "profile": None, "contents": [[{"role": "agent", "thought": " ", "action": ""}]]}
    kinds = [e.kind for e in ADAPTER.to_events(record, _ctx())]
    assert kinds == [EventKind.SYSTEM, EventKind.AGENT_MESSAGE]
    assert [e.kind for e in ADAPTER.to_events({"id": 4, "contents": []}, _ctx())] == [EventKind.SYSTEM]


# --- ids, sessions, time ----------------------------------------------------------------------


def test_ids_are_stable_and_independent_of_ingest_time() -> None:
    record = _fixture("rjudge-shape.json")[0]
    first = ADAPTER.to_events(record, _ctx())
    later = ADAPTER.to_events(copy.deepcopy(record), AdapterContext(
        received_at=RECEIVED + timedelta(days=3)))
    assert [(e.id, e.time) for e in first] == [(e.id, e.time) for e in later]
    assert all(e.attributes["synthetic_time"] is True for e in first)


def test_episodes_sharing_an_id_do_not_collide() -> None:
    one = {"id": 5, "contents": [[{"role": "user", "content": "a"}]]}
    other = {"id": 5, "contents": [[{"role": "user", "content": "b"}]]}
    ids = [{e.id for e in ADAPTER.to_events(r, _ctx())} for r in (one, other)]
    assert not ids[0] & ids[1]
    scoped = ADAPTER.to_events(one, _ctx(dataset="rjudge"))
    assert {e.session_id for e in scoped} == {e.stream for e in scoped} == {"rjudge/5"}
    assert scoped[1].native_id.startswith("rjudge/5/")


# --- accepts ----------------------------------------------------------------------------------


def _other_formats(shared: Path) -> list[Any]:
    claude = json.loads((shared / "claude-code" / "short.jsonl").read_text().splitlines()[1])
    cloudtrail = json.loads((shared / "cloudtrail" / "stratus-red-team"
                             / "aws.defense-evasion.cloudtrail-delete.json").read_text())[0]
    railway = json.loads((shared / "incidents" / "railway-volume-delete" / "railway-audit.json")
                         .read_text())["data"]["auditLogs"]["edges"][0]["node"]
    codex = [json.loads(line) for line in next(FIXTURES.glob("codex/rollout-2025-*.jsonl"))
             .read_text().splitlines()]
    return [claude, cloudtrail, railway, *codex, *OTHER_FORMATS]


def test_accepts_trajectories() -> None:
    for record in _fixture("assebench-excerpt.json") + _fixture("rjudge-shape.json"):
        assert ADAPTER.accepts(record)
    assert ADAPTER.accepts({"id": 1, "profile": "p", "contents": []})


def test_rejects_other_formats(shared_data: Path) -> None:
    for record in _other_formats(shared_data):
        assert not ADAPTER.accepts(record), record


@pytest.mark.parametrize("record", [
    {}, [], "contents", None, 5,
    {"id": 1, "contents": "x"},
    {"id": True, "contents": [[{"role": "user"}]]},
    {"id": "", "contents": [[{"role": "user"}]]},
    {"id": 1, "contents": [[1]]},
    {"id": 1, "contents": [[{"content": "no role"}]]},
    {"id": 1, "contents": []},  # no turns and no profile: too little to tell
    {"contents": [[{"role": "user", "content": "x"}]]},
])
def test_rejects_near_misses(record: Any) -> None:
    assert not ADAPTER.accepts(record)


def test_registry_detects_trajectories(shared_data: Path) -> None:
    assert isinstance(get_adapter("agent-trajectory"), TrajectoryAdapter)
    assert detect_adapter(_fixture("rjudge-shape.json")).name == "agent-trajectory"
    assert detect_adapter(_fixture("assebench-excerpt.json")).name == "agent-trajectory"


# --- malformed input --------------------------------------------------------------------------

def _valid() -> dict[str, Any]:
    return {"id": 9, "profile": "p", "contents": [[
        {"role": "user", "content": "hi"},
        {"role": "agent", "thought": "t", "action": "ls{'path': '/'}"},
        {"role": "environment", "content": "ok"},
    ]]}


def _broken(path: str, value: Any) -> dict[str, Any]:
    return with_value(_valid(), path, value)


@pytest.mark.parametrize(("path", "value", "field"), [
    ("id", DELETE, "id"),
    ("id", True, "id"),
    ("id", "", "id"),
    ("id", 1.5, "id"),
    ("id", [9], "id"),
    ("contents", DELETE, "contents"),
    ("contents", "turns", "contents"),
    ("contents.0", {"role": "user"}, "contents[0]"),
    ("contents.0.1", "agent", "contents[0][1]"),
    ("contents.0.0.role", DELETE, "contents[0][0].role"),
    ("contents.0.0.role", 5, "contents[0][0].role"),
    ("contents.0.0.content", {"text": "hi"}, "contents[0][0].content"),
    ("contents.0.1.thought", 5, "contents[0][1].thought"),
    ("contents.0.1.action", ["ls"], "contents[0][1].action"),
    ("contents.0.2.content", 3, "contents[0][2].content"),
    ("profile", 5, "profile"),
])
def test_malformed_records_raise_record_error(path: str, value: Any, field: str) -> None:
    assert ADAPTER.to_events(_valid(), _ctx())
    assert rejected(ADAPTER, _broken(path, value), _ctx()).field == field


@pytest.mark.parametrize("record", [[1, 2], "a record", 5, None])
def test_non_objects_raise_record_error(record: Any) -> None:
    assert "expected an object" in rejected(ADAPTER, record, _ctx()).reason


def test_bad_records_are_quarantined_with_their_position(log: EventLog, preparer: Preparer) -> None:
    good = _fixture("rjudge-shape.json")
    data = orjson.dumps([good[0], {"id": 2, "profile": "p"}, 5,
                         {**good[1], "contents": [[{"role": 7}]]}, good[1]])
    report = ingest_bytes(log, preparer, data, AUTO, origin="mixed.json")
    assert report.format == "agent-trajectory"
    assert [(e.index, e.line, e.field) for e in report.errors] == [
        (1, None, "contents"), (2, None, None), (3, None, "contents[0][0].role")]
    assert report.appended == len(ADAPTER.to_events(good[0], _ctx())) + len(
        ADAPTER.to_events(good[1], _ctx()))
    assert len(log.rejects()) == 3


def test_truncated_ndjson_line_names_its_line(log: EventLog, preparer: Preparer) -> None:
    good = _fixture("rjudge-shape.json")
    data = ndjson(good) + orjson.dumps(good[0])[:80] + b"\n"
    report = ingest_bytes(log, preparer, data, "agent-trajectory", origin="cut.jsonl")
    assert [(e.location, e.line) for e in report.errors] == [("cut.jsonl", 3)]
    assert report.appended > 0


def test_wrong_format_forced_names_the_missing_field(log: EventLog, preparer: Preparer) -> None:
    codex = next(FIXTURES.glob("codex/rollout-2025-*.jsonl")).read_bytes()
    report = ingest_bytes(log, preparer, codex, "agent-trajectory", origin="rollout.jsonl")
    assert report.appended == 0
    assert {(e.field, e.location) for e in report.errors} == {("id", "rollout.jsonl")}
    assert [e.line for e in report.errors] == list(range(1, len(codex.splitlines()) + 1))


# --- property: any JSON maps or raises RecordError --------------------------------------------

def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, odds=10)


_action = st.sampled_from(["", "ls()", "t(k=1)", "T: {\"a\": 1}", "t{'a': (1,)}", "t{", "t(*x)",
                           "say hi", "t{'a': {1}}", "t(1, **k)"]) | st.text(max_size=12)
_turn = st.fixed_dictionaries({"role": _mostly(st.sampled_from(
    ["user", "agent", "environment", "system"]))}, optional={
    "content": _mostly(st.text(max_size=8)), "thought": _mostly(st.text(max_size=8)),
    "action": _mostly(_action)})
_record = _mostly(st.fixed_dictionaries({
    "id": _mostly(st.integers() | st.text(min_size=1, max_size=6)),
    "contents": _mostly(st.lists(_mostly(st.lists(_mostly(_turn), max_size=4)), max_size=3)),
}, optional={"profile": _mostly(st.text(max_size=8)), "label": ANY_JSON, "goal": ANY_JSON,
             "risk_description": ANY_JSON, "scenario": ANY_JSON}))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record, st.dictionaries(st.sampled_from(["dataset", "x"]), st.text(max_size=4)))
def test_any_json_maps_to_events_or_raises_record_error(record: Any, params: dict[str, str]) -> None:
    assert isinstance(ADAPTER.accepts(record), bool)
    try:
        events = ADAPTER.to_events(record, _ctx(**params))
    except RecordError:
        return
    assert events and all(isinstance(event, Event) for event in events)
    assert all(event.stream and event.stream == event.session_id for event in events)
    assert all(set(e.attributes) <= ALLOWED_ATTRIBUTES for e in events)
    assert [e.id for e in ADAPTER.to_events(record, _ctx(**params))] == [e.id for e in events]
