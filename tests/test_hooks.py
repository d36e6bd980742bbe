"""Claude Code hooks: the adapter, the endpoint's hook output, and `blackbox hook claude-code` live.

The live tests replay the railway-volume-delete incident as Claude Code would: the transcript
grows (with a half-written line at every hook), and each hook payload goes through the real
command against a real `blackbox serve`. They check the log holds every transcript line once,
every hook event once, in the order sent, each call after the reasoning that led to it — also
when the server was down for a while (spooled, fail-closed answers) and when spooled events are
sent twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.hook_client import Entry, Shipper, Spool
from api.keys import Scope
from api.services import Services
from ingest.adapters import AdapterContext, detect_adapter
from ingest.adapters.claude_code_hooks import ClaudeCodeHooksAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.watch import ShipFailed, Unshippable
from tests.conftest import ROOT
from tests.helpers import free_port, metric_samples
from tests.test_durability import start_server
from tests.test_watch import transcript_ids

SESSION = "5b0e2c1a-7d34-4e8f-9a61-2c3d4e5f6a7b"
DESTRUCTIVE_CALL = "toolu_01kjTnhNckHiApaBkCj9bk2n"
REASONING_BEFORE_IT = "c9b433b5-afc3-4ec0-95c2-d7f4887aae6a"  # "That must be the staging volume…"
NOW = datetime(2026, 4, 24, 8, 31, tzinfo=UTC)


def payload(event: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": SESSION, "transcript_path": "/tmp/t.jsonl", "cwd": "/home/dev/app",
            "permission_mode": "default", "hook_event_name": event, **fields}


def events_of(record: dict[str, Any]) -> list[Event]:
    return ClaudeCodeHooksAdapter().to_events(record, AdapterContext(received_at=NOW))


def one(record: dict[str, Any]) -> Event:
    (event,) = events_of(record)
    return event


# --- the adapter --------------------------------------------------------------------------------


def test_pre_tool_use_is_a_tool_call() -> None:
    event = one(payload("PreToolUse", tool_name="Bash", tool_use_id=DESTRUCTIVE_CALL,
                        tool_input={"command": "curl …volumeDelete…"},
                        blackbox_hook_id="h1", blackbox_sent_at="2026-04-24T08:31:43.800Z"))
    assert (event.kind, event.tool_name, event.call_id) == (EventKind.TOOL_CALL, "Bash",
                                                             DESTRUCTIVE_CALL)
    assert event.tool_input == {"command": "curl …volumeDelete…"}
    assert (event.source, event.stream, event.session_id) == ("claude-code-hooks", SESSION, SESSION)
    assert event.attributes["phase"] == "pre" and event.attributes["hook_event"] == "PreToolUse"
    assert event.attributes["cwd"] == "/home/dev/app" and event.attributes["hook_id"] == "h1"
    assert event.time == datetime(2026, 4, 24, 8, 31, 43, 800000, tzinfo=UTC)
    assert event.native_id == f"{SESSION}/h1" and event.raw["tool_input"] == event.tool_input


@pytest.mark.parametrize(("response", "text", "is_error"), [
    ({"stdout": '{"data":{"volumeDelete":true}}', "stderr": "", "interrupted": False},
     '{"data":{"volumeDelete":true}}', False),
    ({"stdout": "", "stderr": "", "interrupted": False}, "", False),
    ({"filePath": "/a.py", "success": False}, '{"filePath":"/a.py","success":false}', True),
    ([{"type": "text", "text": "found 3"}, {"type": "image"}], "found 3\n[image]", False),
    ({"content": [{"type": "text", "text": "mcp says"}], "isError": True}, "mcp says", True),
    ("plain", "plain", False),
])
def test_post_tool_use_is_a_tool_result(response: Any, text: str, is_error: bool) -> None:
    event = one(payload("PostToolUse", tool_name="Bash", tool_use_id="toolu_1", tool_input={},
                        tool_response=response))
    assert (event.kind, event.call_id, event.text, event.is_error) == (EventKind.TOOL_RESULT,
                                                                       "toolu_1", text, is_error)
    assert event.attributes["phase"] == "post"


def test_a_failed_tool_and_the_other_events() -> None:
    failed = one(payload("PostToolUseFailure", tool_name="Bash", tool_use_id="t", error="exit 1"))
    assert (failed.kind, failed.is_error, failed.text) == (EventKind.TOOL_RESULT, True, "exit 1")
    prompt = one(payload("UserPromptSubmit", prompt="fix staging"))
    assert (prompt.kind, prompt.actor, prompt.text) == (EventKind.USER_MESSAGE, "user", "fix staging")
    for event, fields, text in [("Stop", {"stop_hook_active": False}, None),
                                ("SubagentStop", {"agent_id": "a1"}, None),
                                ("SessionStart", {"source": "startup"}, "startup"),
                                ("SessionEnd", {"reason": "logout"}, "logout"),
                                ("PreCompact", {"trigger": "auto"}, None),
                                ("Notification", {"message": "Claude needs permission"},
                                 "Claude needs permission"),
                                ("SomeFutureEvent", {}, None)]:
        system = one(payload(event, **fields))
        assert (system.kind, system.text, system.attributes["hook_event"]) == (EventKind.SYSTEM,
                                                                              text, event)


def test_stamped_identical_payloads_stay_apart_and_a_resent_one_dedupes() -> None:
    first = one(payload("UserPromptSubmit", prompt="again", blackbox_hook_id="a"))
    second = one(payload("UserPromptSubmit", prompt="again", blackbox_hook_id="b"))
    resent = one(payload("UserPromptSubmit", prompt="again", blackbox_hook_id="a"))
    assert first.id != second.id and first.id == resent.id


def test_unstamped_payloads_use_the_call_id_then_the_content() -> None:
    pre = one(payload("PreToolUse", tool_name="Bash", tool_use_id="toolu_9"))
    post = one(payload("PostToolUse", tool_name="Bash", tool_use_id="toolu_9"))
    assert pre.native_id == f"{SESSION}/PreToolUse/toolu_9" and pre.id != post.id
    stop = one(payload("Stop"))
    assert stop.id == one(payload("Stop")).id != one(payload("Stop", stop_hook_active=True)).id
    assert stop.time == NOW  # no send time: when it was received


@pytest.mark.parametrize(("record", "field"), [
    (payload("PreToolUse", session_id=""), "session_id"),
    ({"session_id": SESSION, "hook_event_name": 7}, "hook_event_name"),
    (payload("PreToolUse", tool_name=["Bash"]), "tool_name"),
    (payload("Stop", blackbox_sent_at="yesterday"), "blackbox_sent_at"),
])
def test_invalid_payloads_name_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        events_of(record)
    assert caught.value.field == field


def test_detection_tells_hook_payloads_from_transcript_lines(shared_data: Path) -> None:
    hook = payload("Stop")
    assert detect_adapter([hook]).name == "claude-code-hooks"
    line = orjson.loads((shared_data / "claude-code" / "short.jsonl").read_bytes().splitlines()[1])
    assert not ClaudeCodeHooksAdapter().accepts(line)
    assert not ClaudeCodeHooksAdapter().accepts({"hook_event_name": "Stop"})  # no session


# --- the endpoint -------------------------------------------------------------------------------






def test_pre_tool_use_is_recorded_then_allowed(client: TestClient) -> None:
    body = payload("PreToolUse", tool_name="Bash", tool_use_id="t1", tool_input={"command": "ls"},
                   blackbox_hook_id="h1")
    response = client.post("/v1/hooks/claude-code", json=body)
    assert response.status_code == 200
    output = response.json()["hookSpecificOutput"]
    assert (output["hookEventName"], output["permissionDecision"]) == ("PreToolUse", "allow")
    assert output["permissionDecisionReason"]
    (stored,) = calls(client)
    assert (stored["kind"], stored["call_id"]) == ("tool_call", "t1")
    assert client.post("/v1/hooks/claude-code", json=body).status_code == 200  # resent: dedupes
    assert len(calls(client)) == 1


def calls(client: TestClient) -> list[dict[str, Any]]:
    events = client.get(f"/v1/sessions/{SESSION}/events").json()["events"]
    return [e for e in events if e["kind"] == "tool_call"]  # the guard's answers are events too


def test_other_events_answer_an_empty_output(client: TestClient) -> None:
    for event in ("PostToolUse", "UserPromptSubmit", "Stop", "SessionEnd"):
        response = client.post("/v1/hooks/claude-code", json=payload(event, prompt="p"))
        assert response.status_code == 200 and response.json() == {}


def test_unusable_payloads_are_quarantined_with_422(client: TestClient) -> None:
    response = client.post("/v1/hooks/claude-code", json={"hook_event_name": "Stop"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "session_id"
    assert client.post("/v1/hooks/claude-code", content=b"").status_code == 422
    assert len(client.get("/v1/quarantine").json()["rejected"]) == 1


def test_the_endpoint_needs_an_ingest_key_once_keys_exist(client: TestClient,
                                                          services: Services) -> None:
    _, read_key = services.keys.create([Scope.READ], "viewer")
    _, ingest_key = services.keys.create([Scope.INGEST], "hook")
    body = payload("Stop")
    assert client.post("/v1/hooks/claude-code", json=body).status_code == 401
    assert client.post("/v1/hooks/claude-code", json=body,
                       headers={"Authorization": f"Bearer {read_key}"}).status_code == 403
    assert client.post("/v1/hooks/claude-code", json=body,
                       headers={"Authorization": f"Bearer {ingest_key}"}).status_code == 200


# --- the client's parts -------------------------------------------------------------------------


def test_the_spool_keeps_order_and_survives_a_torn_append(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append([Entry("claude-code", b'{"a":1}\n'), Entry("claude-code-hooks", b'{"b":2}\n')])
    with spool.path.open("ab") as handle:
        handle.write(b'{"format": "claude-co')  # a crash mid-append
    spool.append([Entry("claude-code", b"\xff not utf-8\n")])
    assert spool.entries() == [Entry("claude-code", b'{"a":1}\n'),
                               Entry("claude-code-hooks", b'{"b":2}\n'),
                               Entry("claude-code", b"\xff not utf-8\n")]
    assert spool.path.stat().st_mode & 0o777 == 0o600  # unredacted transcript lines inside


def test_server_answers_are_sorted_into_kept_retry_and_never() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        status = {b"500": 500, b"401": 401, b"422": 422}.get(request.content.strip(), 200)
        return httpx.Response(413 if request.content.count(b"\n") > 1 else status, json={})

    with Shipper("http://bb", api_key="k", transport=httpx.MockTransport(answer)) as shipper:
        shipper.ingest("claude-code", b"1\n2\n3\n")  # too large together: halved down to lines
        assert [body for body in seen if body.count(b"\n") == 1] == [b"1\n", b"2\n", b"3\n"]
        shipper.ingest("claude-code", b"422\n")  # kept in the server's quarantine
        for status in (b"500\n", b"401\n"):
            with pytest.raises(ShipFailed):
                shipper.ingest("claude-code", status)
    refusing = httpx.MockTransport(lambda _: httpx.Response(413))
    with Shipper("http://bb", api_key=None, transport=refusing) as shipper, \
            pytest.raises(Unshippable):
        shipper.ingest("claude-code", b"one huge line\n")


def test_bad_hook_input_exits_per_fail_mode(tmp_path: Path) -> None:
    from api.cli import main

    args = ["hook", "claude-code", "--state-dir", str(tmp_path)]
    assert CliRunner().invoke(main, args, input="not json").exit_code == 1  # goes on
    closed = CliRunner().invoke(main, [*args, "--fail-mode", "closed"], input="[1]")
    assert closed.exit_code == 2  # Claude Code blocks on 2


def test_the_cli_stays_light_for_hooks_and_its_scopes_match() -> None:
    from api.cli import _SCOPES

    assert set(_SCOPES) == {scope.value for scope in Scope}
    probe = ("import sys, api.cli; heavy = [m for m in ('fastapi', 'sqlalchemy', 'ingest.pipeline') "
             "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# --- live: the incident through `blackbox serve` and `blackbox hook claude-code` ----------------


@dataclass
class Step:
    lines: bytes  # transcript bytes Claude Code wrote before this hook fired
    payload: dict[str, Any]


def incident_steps(shared_data: Path, transcript: Path) -> list[Step]:
    """Hook payloads for the incident, each after the transcript lines that precede it."""
    base = {"session_id": SESSION, "transcript_path": str(transcript),
            "cwd": "/home/dev/pocket-rentals", "permission_mode": "default"}
    steps = [Step(b"", {**base, "hook_event_name": "SessionStart", "source": "startup"})]
    pending = b""
    source = shared_data / "incidents" / "railway-volume-delete" / "transcript.jsonl"
    for line in source.read_bytes().splitlines(keepends=True):
        pending += line
        hook = _hook_for(orjson.loads(line))
        if hook is not None:
            steps.append(Step(pending, {**base, **hook}))
            pending = b""
    steps.append(Step(pending, {**base, "hook_event_name": "Stop", "stop_hook_active": False}))
    return steps


def _hook_for(record: dict[str, Any]) -> dict[str, Any] | None:
    content = record["message"]["content"]
    if isinstance(content, str):
        return {"hook_event_name": "UserPromptSubmit", "prompt": content}
    block = content[0]
    if block["type"] == "tool_use":
        return {"hook_event_name": "PreToolUse", "tool_name": block["name"],
                "tool_input": block["input"], "tool_use_id": block["id"]}
    if block["type"] == "tool_result":
        return {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {},
                "tool_use_id": block["tool_use_id"], "tool_response": record["toolUseResult"]}
    return None


class Replay:
    """Grows the transcript step by step (leaving half of the next line) and runs the hook."""

    def __init__(self, steps: list[Step], transcript: Path, state: Path, port: int) -> None:
        self.steps, self.transcript, self.state, self.port = steps, transcript, state, port
        self.full = b"".join(step.lines for step in steps)
        self.ends = [sum(len(s.lines) for s in steps[:i + 1]) for i in range(len(steps))]
        self.written = 0

    def run(self, index: int, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        upto = min(self.ends[index] + 30, len(self.full))  # 30 bytes of a line still being written
        with self.transcript.open("ab") as handle:
            handle.write(self.full[self.written:upto])
        self.written = upto
        result = subprocess.run(
            [sys.executable, "-m", "api.cli", "hook", "claude-code", "--server",
             f"http://127.0.0.1:{self.port}", "--state-dir", str(self.state), *options],
            input=orjson.dumps(self.steps[index].payload), capture_output=True, cwd=ROOT,
            timeout=60, env=env)
        assert result.returncode == 0, result.stderr
        output: dict[str, Any] = orjson.loads(result.stdout)  # stdout holds the hook JSON only
        return output


def session_events(base: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while page := httpx.get(f"{base}/v1/sessions/{SESSION}/events",
                            params={"after": after}).json()["events"]:
        events.extend(page)
        after = page[-1]["log"]["position"]
    return events


def assert_recorded_in_order(base: str, steps: list[Step], full: bytes) -> None:
    """Each transcript line once, each hook once in the order sent, and every line between the
    hook that fired before it was complete and the hook that fired after."""
    events = session_events(base)
    hooks = [e for e in events if e["source"] == "claude-code-hooks"]
    lines = [e for e in events if e["source"] == "claude-code"]
    sent = [(s.payload["hook_event_name"], s.payload.get("tool_use_id")) for s in steps]
    assert [(h["attributes"]["hook_event"], h["call_id"]) for h in hooks] == sent
    assert sorted(e["id"] for e in lines) == sorted(transcript_ids(full))
    step_of = {orjson.loads(line)["uuid"]: i for i, s in enumerate(steps)
               for line in s.lines.splitlines()}
    hook_seq = [h["log"]["seq"] for h in hooks]
    for event in lines:
        step = step_of[event["attributes"]["uuid"]]
        assert step == 0 or hook_seq[step - 1] < event["log"]["seq"] < hook_seq[step], event
    reasoning = next(e for e in lines if e["attributes"]["uuid"] == REASONING_BEFORE_IT)
    call = next(h for h in hooks if h["call_id"] == DESTRUCTIVE_CALL
                and h["attributes"]["hook_event"] == "PreToolUse")
    assert reasoning["kind"] == "agent_reasoning" and reasoning["log"]["seq"] < call["log"]["seq"]
    assert httpx.get(f"{base}/v1/quarantine").json()["rejected"] == []  # no half line shipped


def duplicates(base: str) -> float:
    return sum(metric_samples(base, "blackbox_events_duplicate_total").values())


def serve(db: Path, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    return start_server(f"sqlite:///{db}", port, tmp_path / "server.log")


@pytest.mark.slow
def test_hooks_record_the_incident_with_its_reasoning_in_order(tmp_path: Path,
                                                               shared_data: Path) -> None:
    port, transcript = free_port(), tmp_path / f"{SESSION}.jsonl"
    base = f"http://127.0.0.1:{port}"
    steps = incident_steps(shared_data, transcript)
    replay = Replay(steps, transcript, tmp_path / "state", port)
    proc = serve(tmp_path / "log.db", port, tmp_path)
    try:
        for index, step in enumerate(steps):
            output = replay.run(index)
            if step.payload["hook_event_name"] == "PreToolUse":
                decision = output["hookSpecificOutput"]
                expected = "deny" if step.payload["tool_use_id"] == DESTRUCTIVE_CALL else "allow"
                assert (decision["hookEventName"], decision["permissionDecision"]) == (
                    "PreToolUse", expected)  # the guard stops the volumeDelete, nothing else
            else:
                assert output == {}
        assert_recorded_in_order(base, steps, replay.full)
        assert duplicates(base) == 0
        assert Spool(tmp_path / "state" / "spool.jsonl").entries() == []
    finally:
        proc.terminate()
        proc.wait()


@pytest.mark.slow
def test_server_down_spools_answers_by_fail_mode_and_loses_nothing(tmp_path: Path,
                                                                   shared_data: Path) -> None:
    port, transcript = free_port(), tmp_path / f"{SESSION}.jsonl"
    base = f"http://127.0.0.1:{port}"
    steps = incident_steps(shared_data, transcript)
    replay = Replay(steps, transcript, tmp_path / "state", port)
    spool = Spool(tmp_path / "state" / "spool.jsonl")
    calls = [i for i, step in enumerate(steps) if step.payload["hook_event_name"] == "PreToolUse"]
    closed_by_env, back_up = calls[3], calls[4] + 1
    for index in range(back_up):  # no server: fail closed denies tool calls, the rest goes on
        if index < closed_by_env:
            output = replay.run(index, "--fail-mode", "closed", "--timeout", "0.5")
        else:
            mode = "closed" if index == closed_by_env else "open"
            output = replay.run(index, env={**os.environ, "BLACKBOX_HOOK_FAIL_MODE": mode})
        if index not in calls:
            assert output == {}
            continue
        decision = output["hookSpecificOutput"]
        assert decision["permissionDecision"] == ("allow" if index > closed_by_env else "deny")
        assert f"127.0.0.1:{port}" in decision["permissionDecisionReason"]
    spooled = spool.path.read_bytes()
    assert sum(e.format == "claude-code-hooks" for e in spool.entries()) == back_up

    proc = serve(tmp_path / "log.db", port, tmp_path)
    try:
        for index in range(back_up, len(steps)):  # the first call sends the spool first
            replay.run(index)
        assert spool.entries() == []
        assert_recorded_in_order(base, steps, replay.full)
        assert duplicates(base) == 0
        _resend_spool_then_notify(replay, spool, spooled, base)
    finally:
        proc.terminate()
        proc.wait()


def _resend_spool_then_notify(replay: Replay, spool: Spool, spooled: bytes, base: str) -> None:
    """A spool sent but not cleared (crash) is sent again: duplicates, not new events."""
    before = len(session_events(base))
    spool.path.write_bytes(spooled)
    replay.steps.append(Step(b"", {**replay.steps[-1].payload, "hook_event_name": "Notification",
                                   "message": "Claude is waiting for your input"}))
    replay.ends.append(len(replay.full))
    assert replay.run(len(replay.steps) - 1) == {}
    assert spool.entries() == []
    assert duplicates(base) > 0 and len(session_events(base)) == before + 1
