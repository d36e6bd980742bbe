"""The AWS CloudTrail adapter: the real Stratus Red Team records, every input shape (S3 delivery,
array, NDJSON, EventBridge), malformed input, re-ingest and auto-detection."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter, get_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.cloudtrail import NO_ACCOUNT_STREAM, CloudTrailAdapter
from ingest.envelope import Event, EventKind
from ingest.log import EventLog
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from tests.conftest import FIXTURES
from tests.helpers import (
    ANY_JSON,
    DELETE,
    NON_OBJECTS,
    all_recorded,
    assert_one_cloud_event,
    envelope,
    mostly,
    ndjson,
    rejected,
    with_value,
)

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = CloudTrailAdapter()
HERE = FIXTURES / "cloudtrail"
GCP_ENTRY = json.loads((FIXTURES / "gcp-audit" / "entries.ndjson").read_text().splitlines()[0])

# One record of every other format Blackbox ingests (or will): none of them is CloudTrail.
FOREIGN: dict[str, Any] = {
    "claude-code line": {
        "type": "assistant", "uuid": "u-1", "sessionId": "s-1", "timestamp": "2026-02-10T21:11:56Z",
        "message": {"id": "msg_1", "content": [{"type": "text", "text": "ok"}]}},
    "claude-code snapshot": {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
    "claude-code hook payload": {
        "session_id": "s-1", "transcript_path": "/x/s-1.jsonl", "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": "ls"}},
    "blackbox envelope": envelope(1),
    "kubernetes audit event": {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "7e0cbccf-5bd3-4b0b-9b5a-0d3e2a4f5c61", "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/prod/persistentvolumeclaims/data", "verb": "delete",
        "user": {"username": "agent@example.com", "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.5"], "userAgent": "kubectl/v1.30.1",
        "objectRef": {"resource": "persistentvolumeclaims", "namespace": "prod", "name": "data"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-04-24T09:00:00.000000Z",
        "stageTimestamp": "2026-04-24T09:00:00.120000Z"},
    "railway auditLogs node": {
        "id": "b9d1c0f2-1111-4a2b-8c3d-4e5f6a7b8c9d", "eventType": "volume.deleted",
        "createdAt": "2026-04-24T09:00:00.000Z", "projectId": "p-1", "environmentId": "e-1",
        "workspaceId": "w-1", "payload": {"volumeId": "v-1"}, "context": {"actor": "token"}},
    "otlp traces": {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{
        "scope": {"name": "agent"}, "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "tool.call", "startTimeUnixNano": "1777021800000000000",
            "endTimeUnixNano": "1777021801000000000"}]}]}]},
    "otlp logs": {"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{
        "logRecords": [{"timeUnixNano": "1777021800000000000", "body": {"stringValue": "x"}}]}]}]},
    "assebench trajectory": {
        "id": 17, "profile": "You are a DevOps agent.", "label": 1,
        "contents": [[{"role": "user", "content": "clean up staging"},
                      {"role": "agent", "thought": "delete it", "action": "Bash: {\"cmd\": \"rm\"}"}]]},
    "codex rollout line": {
        "timestamp": "2026-04-24T09:00:00.000Z", "type": "response_item",
        "payload": {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c1"}},
    "codex session meta": {"timestamp": "2026-04-24T09:00:00.000Z", "type": "session_meta",
                           "payload": {"id": "s-1", "cwd": "/repo"}},
    # Near misses: AWS shapes that are not CloudTrail records.
    "s3 event notification": {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": "2026-04-24T09:00:00.000Z", "eventName": "ObjectRemoved:Delete",
        "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]},
    "eventbridge state change": json.loads((HERE / "eventbridge.ndjson").read_text().splitlines()[1]),
    "empty delivery file": {"Records": []},
}


def _ctx() -> AdapterContext:
    return AdapterContext(received_at=RECEIVED)


def _only(events: list[Event]) -> Event:
    assert len(events) == 1
    return events[0]


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]




def _by_name(log: EventLog) -> dict[str, Event]:
    return {r.event.attributes["event_name"]: r.event for r in all_recorded(log)
            if "event_name" in r.event.attributes}


# --- the shared Stratus Red Team data ---------------------------------------------------------


def _stratus(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "cloudtrail" / "stratus-red-team").glob("*.json"))


def test_every_stratus_record_maps_to_one_cloud_call(shared_data: Path) -> None:
    files = _stratus(shared_data)
    assert len(files) == 35
    events: list[Event] = []
    for path in files:
        records = json.loads(path.read_text())
        assert isinstance(records, list) and all(ADAPTER.accepts(r) for r in records), path
        for record in records:
            event = _only(ADAPTER.to_events(record, _ctx()))
            assert event.raw is record and event.native_id == record["eventID"]
            assert event.stream == f"aws:{record['recipientAccountId']}"
            assert event.session_id is None and event.call_id is None
            events.append(event)
    assert len(events) == 310
    assert len({e.id for e in events}) == 310
    assert {e.kind for e in events} == {EventKind.CLOUD_CALL}
    assert sum(bool(e.is_error) for e in events) == 52  # 46 UnauthorizedOperation, 5 AccessDenied, 1 other
    assert len({e.stream for e in events}) == 35


def test_stratus_ingests_once_with_no_rejections(log: EventLog, preparer: Preparer,
                                                 shared_data: Path) -> None:
    appended = 0
    for path in _stratus(shared_data):
        report = ingest_bytes(log, preparer, path.read_bytes(), AUTO, origin=str(path))
        assert (report.format, report.errors) == ("cloudtrail", []), path
        appended += report.appended
    assert appended == 310 == log.count_events()
    assert log.verify().ok
    for path in _stratus(shared_data):
        again = ingest_bytes(log, preparer, path.read_bytes(), "cloudtrail", origin=str(path))
        assert (again.appended, again.errors) == (0, [])
        assert again.duplicates == len(json.loads(path.read_bytes()))
    assert log.count_events() == 310 and log.rejects() == []


def test_stratus_tampering_calls_are_mapped(log: EventLog, preparer: Preparer,
                                            shared_data: Path) -> None:
    folder = shared_data / "cloudtrail" / "stratus-red-team"
    for name in ("cloudtrail-delete", "cloudtrail-stop"):
        path = folder / f"aws.defense-evasion.{name}.json"
        ingest_bytes(log, preparer, path.read_bytes(), AUTO, origin=str(path))
    events = _by_name(log)
    delete = events["DeleteTrail"]
    assert (delete.kind, delete.tool_name, delete.stream) == (
        EventKind.CLOUD_CALL, "cloudtrail.amazonaws.com:DeleteTrail", "aws:847129010505")
    assert delete.actor == "arn:aws:iam::847129010505:user/christophe"
    assert delete.tool_input == {"name": "stratus-red-team-cloudtraild-trail-kvrwohmiai"}
    assert delete.time == datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)
    assert delete.is_error is False and delete.session_id is None
    assert delete.text == ("arn:aws:iam::847129010505:user/christophe called "
                           "cloudtrail.amazonaws.com:DeleteTrail in megov-westwest-1r")
    assert {k: delete.attributes[k] for k in (
        "event_id", "request_id", "event_source", "read_only", "management_event",
        "event_category", "user_identity_type", "recipient_account_id", "principal_id")} == {
        "event_id": "ee73c230-44bc-4492-8542-cfb189eae287",
        "request_id": "206c2187-a29f-45bf-86a2-a87d99ff7186",
        "event_source": "cloudtrail.amazonaws.com", "read_only": False, "management_event": True,
        "event_category": "Management", "user_identity_type": "IAMUser",
        "recipient_account_id": "847129010505", "principal_id": "AIDALE4EP1EPEPX3SDR8"}
    # The access key id is a credential to the redactor: stored as a keyed marker that correlates.
    assert delete.attributes["access_key_id"].startswith("[REDACTED:aws-access-key:")
    assert delete.raw["userIdentity"]["accessKeyId"] == delete.attributes["access_key_id"]
    stop = events["StopLogging"]
    assert (stop.tool_name, stop.stream, stop.is_error) == (
        "cloudtrail.amazonaws.com:StopLogging", "aws:143434273843", False)
    assert stop.tool_input == {"name": "stratus-red-team-ct-stop-trail-buykxbqejv"}
    assert stop.attributes["source_ip_address"] == "86.245.153.234"


def test_assumed_role_and_failed_call(shared_data: Path) -> None:
    folder = shared_data / "cloudtrail" / "stratus-red-team"
    path = folder / "aws.credential-access.ec2-get-password-data.json"
    events = [_only(ADAPTER.to_events(r, _ctx())) for r in json.loads(path.read_text())]
    failed = next(e for e in events if e.is_error)
    assert failed.attributes["error_code"] == "Client.UnauthorizedOperation"
    assert failed.attributes["session_issuer_arn"] == (
        "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role")
    assert failed.text is not None and "\n" not in failed.text
    message = ("Client.UnauthorizedOperation: " + failed.attributes["error_message"])[:200]
    assert failed.text.endswith("-- failed: " + message.strip())  # cut to 200, full one kept


# --- the fixture shapes -----------------------------------------------------------------------


def test_s3_delivery_file(log: EventLog, preparer: Preparer) -> None:
    report = ingest_bytes(log, preparer, (HERE / "s3-delivery.json").read_bytes(), AUTO)
    assert (report.format, report.appended, report.errors) == ("cloudtrail", 4, [])
    events = _by_name(log)
    assert set(events) == {"DeleteFlowLogs", "DeleteDBInstance", "ConsoleLogin", "RotateKey"}
    rds = events["DeleteDBInstance"]
    assert (rds.tool_name, rds.stream) == ("rds.amazonaws.com:DeleteDBInstance", "aws:111122223333")
    assert rds.actor == "arn:aws:sts::111122223333:assumed-role/agent-deployer/agent-session-42"
    assert rds.attributes["cli_command"] == "rds.delete-db-instance"
    assert rds.attributes["session_issuer_arn"] == "arn:aws:iam::111122223333:role/agent-deployer"
    assert rds.tool_input == {"dBInstanceIdentifier": "prod-orders-db", "skipFinalSnapshot": True,
                              "deleteAutomatedBackups": True}
    assert "response_elements" not in rds.attributes  # over 1 KB: only in raw
    assert rds.raw["responseElements"]["dBInstanceStatus"] == "deleting"
    flow = events["DeleteFlowLogs"]
    assert flow.attributes["response_elements"]["DeleteFlowLogsResponse"]["unsuccessful"] == ""
    login = events["ConsoleLogin"]
    assert (login.kind, login.is_error, login.actor) == (
        EventKind.CLOUD_CALL, True, "AIDAZ3EXAMPLEUSER777")  # failed logins name no ARN
    assert login.text == ("AIDAZ3EXAMPLEUSER777 called signin.amazonaws.com:ConsoleLogin in "
                          "us-east-1 -- failed: Failed authentication")
    rotate = events["RotateKey"]
    assert (rotate.kind, rotate.actor, rotate.is_error) == (
        EventKind.OTHER, "kms.amazonaws.com", False)


def test_eventbridge_envelopes(log: EventLog, preparer: Preparer) -> None:
    report = ingest_bytes(log, preparer, (HERE / "eventbridge.ndjson").read_bytes(), AUTO)
    assert (report.format, report.appended, report.errors) == ("cloudtrail", 3, [])
    stored = [r.event for r in all_recorded(log)]
    stop, state, bucket = stored
    assert stop.native_id == "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"  # the CloudTrail eventID
    assert stop.raw["detail-type"] == "AWS API Call via CloudTrail"  # the whole envelope
    assert (stop.tool_name, stop.stream) == ("ec2.amazonaws.com:StopInstances", "aws:111122223333")
    assert stop.attributes["eventbridge_id"] == "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    assert stop.attributes["cli_command"] == "ec2.stop-instances"
    assert stop.tool_input == {"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60718"}]},
                               "force": False}
    assert (state.kind, state.native_id, state.tool_name) == (
        EventKind.OTHER, "eventbridge:7bf73129-1428-4cd3-a780-95db273d1602", None)
    assert state.text == "aws.ec2: EC2 Instance State-change Notification"
    assert state.time == datetime(2026, 4, 24, 9, 12, 41, tzinfo=UTC)
    assert (bucket.is_error, bucket.attributes["error_code"]) == (True, "AccessDenied")
    assert bucket.attributes["cli_command"] == "s3api.delete-bucket"  # the older command/ form
    # The same StopInstances call delivered as a plain record is the same event.
    again = ingest_bytes(log, preparer, (HERE / "records.ndjson").read_bytes(), AUTO)
    assert (again.format, again.appended, again.duplicates, again.errors) == (
        "cloudtrail", 1, 1, [])


def test_array_of_records_and_unwrap() -> None:
    records = _lines(HERE / "records.ndjson")
    assert ADAPTER.unwrap({"Records": records}) == records
    assert ADAPTER.unwrap({"records": records}) is None
    assert ADAPTER.unwrap(records[0]) is None
    assert ADAPTER.accepts({"Records": records})
    assert detect_adapter(records).name == "cloudtrail"
    assert isinstance(get_adapter("cloudtrail"), CloudTrailAdapter)


def test_account_fallbacks() -> None:
    record = _lines(HERE / "records.ndjson")[1]
    del record["recipientAccountId"]
    assert _only(ADAPTER.to_events(record, _ctx())).stream == "aws:111122223333"
    del record["userIdentity"]
    event = _only(ADAPTER.to_events(record, _ctx()))
    assert (event.stream, event.actor) == (NO_ACCOUNT_STREAM, None)
    assert event.text is not None and event.text.startswith("unknown principal called")


# --- accepts ----------------------------------------------------------------------------------


def test_accepts_every_cloudtrail_shape() -> None:
    for record in (*_lines(HERE / "records.ndjson"), json.loads((HERE / "s3-delivery.json").read_text())):
        assert ADAPTER.accepts(record)
    bus = _lines(HERE / "eventbridge.ndjson")
    assert [ADAPTER.accepts(r) for r in bus] == [True, False, True]


@pytest.mark.parametrize("name", [*FOREIGN, "gcp audit entry"])
def test_rejects_other_formats(name: str) -> None:
    record = GCP_ENTRY if name == "gcp audit entry" else FOREIGN[name]
    assert not ADAPTER.accepts(record)


@pytest.mark.parametrize("record", [None, 5, "Records", [], {"eventID": "x"},
                                    {"eventID": "x", "eventName": "A", "eventSource": 7,
                                     "eventTime": "2026-01-01T00:00:00Z"},
                                    {"source": "aws.ec2", "detail-type": "x", "detail": [1]}])
def test_rejects_garbage(record: Any) -> None:
    assert not ADAPTER.accepts(record)


# --- malformed records ------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return copy.deepcopy(json.loads((HERE / "s3-delivery.json").read_text())["Records"][1])


def _broken(path: str, value: Any) -> dict[str, Any]:
    return with_value(_valid(), path, value)


@pytest.mark.parametrize(("path", "value", "field"), [
    ("eventID", DELETE, "eventID"),
    ("eventID", "", "eventID"),
    ("eventID", 17, "eventID"),
    ("eventTime", DELETE, "eventTime"),
    ("eventTime", "yesterday", "eventTime"),
    ("eventTime", True, "eventTime"),
    ("eventTime", 10**400, "eventTime"),
    ("eventSource", None, "eventSource"),
    ("eventName", ["DeleteDBInstance"], "eventName"),
    ("readOnly", "false", "readOnly"),
    ("userAgent", 5, "userAgent"),
    ("userIdentity", "root", "userIdentity"),
    ("userIdentity.arn", {"x": 1}, "userIdentity.arn"),
    ("userIdentity.sessionContext", 3, "userIdentity.sessionContext"),
    ("userIdentity.sessionContext.sessionIssuer.arn", 3,
     "userIdentity.sessionContext.sessionIssuer.arn"),
    ("requestParameters", "x=1", "requestParameters"),
    ("recipientAccountId", 111122223333, "recipientAccountId"),
])
def test_malformed_records_raise_record_error(path: str, value: Any, field: str) -> None:
    assert ADAPTER.to_events(_valid(), _ctx())
    assert rejected(ADAPTER, _broken(path, value), _ctx()).field == field


def test_eventbridge_errors_name_the_detail_field() -> None:
    bus = _lines(HERE / "eventbridge.ndjson")[0]
    bus["detail"]["eventTime"] = "soon"
    assert rejected(ADAPTER, bus, _ctx()).field == "detail.eventTime"
    state = _lines(HERE / "eventbridge.ndjson")[1]
    del state["id"]
    assert rejected(ADAPTER, state, _ctx()).field == "id"


@pytest.mark.parametrize("record", NON_OBJECTS)
def test_non_objects_raise_record_error(record: Any) -> None:
    assert "expected an object" in rejected(ADAPTER, record, _ctx()).reason


def test_nested_delivery_file_is_named() -> None:
    assert rejected(ADAPTER, {"Records": []}, _ctx()).field == "Records"


# --- malformed input through the pipeline ------------------------------------------------------


def test_truncated_lines_are_quarantined_with_their_line(log: EventLog, preparer: Preparer) -> None:
    lines = (HERE / "eventbridge.ndjson").read_bytes().splitlines()
    data = b"\n".join([lines[0], lines[1][:80], lines[2]]) + b"\n"
    report = ingest_bytes(log, preparer, data, AUTO, origin="bus.ndjson")
    assert (report.format, report.appended) == ("cloudtrail", 2)
    (error,) = report.errors
    assert (error.location, error.line, error.field) == ("bus.ndjson", 2, None)
    assert error.reason.startswith("invalid JSON")
    assert [r.rejected.payload for r in log.rejects()] == [lines[1][:80].decode()]


def test_truncated_delivery_file_stores_nothing_else(log: EventLog, preparer: Preparer) -> None:
    data = (HERE / "s3-delivery.json").read_bytes()[:-300]
    report = ingest_bytes(log, preparer, data, "cloudtrail")
    assert (report.appended, report.rejected) == (0, 1)
    assert log.count_events() == 0 and len(log.rejects()) == 1


def test_bad_record_among_good_ones(log: EventLog, preparer: Preparer) -> None:
    good = _lines(HERE / "records.ndjson")
    bad = {**good[1], "eventTime": "not a time"}
    report = ingest_bytes(log, preparer, ndjson([good[0], bad, {**good[1], "eventID": None}]),
                          "cloudtrail", origin="x.ndjson")
    assert report.appended == 1
    assert [(e.line, e.index, e.field) for e in report.errors] == [
        (2, 1, "eventTime"), (3, 2, "eventID")]
    assert len(log.rejects()) == 2


def test_wrong_format_forced_is_rejected_precisely(log: EventLog, preparer: Preparer) -> None:
    data = (FIXTURES / "gcp-audit" / "entries.ndjson").read_bytes()
    report = ingest_bytes(log, preparer, data, "cloudtrail", origin="gcp.ndjson")
    count = len(data.splitlines())
    assert (report.appended, report.rejected) == (0, count)
    assert [(e.line, e.index, e.field) for e in report.errors] == [
        (n + 1, n, "eventID") for n in range(count)]
    assert log.count_events() == 0 and len(log.rejects()) == count


# --- property: any JSON maps or raises RecordError --------------------------------------------

def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, odds=30)


_text = st.text(max_size=12)
_iso = st.datetimes().map(datetime.isoformat)
_issuer = st.fixed_dictionaries({}, optional={"arn": _mostly(_text), "type": ANY_JSON})
_identity = st.fixed_dictionaries({}, optional={
    "type": _mostly(st.sampled_from(["IAMUser", "AssumedRole", "AWSService", "Root"])),
    "arn": _mostly(_text), "accountId": _mostly(_text), "accessKeyId": _mostly(_text),
    "principalId": _mostly(_text), "invokedBy": _mostly(_text),
    "sessionContext": _mostly(st.fixed_dictionaries({}, optional={
        "sessionIssuer": _mostly(_issuer)})),
})
_record = st.fixed_dictionaries({
    "eventID": _mostly(st.uuids().map(str)), "eventTime": _mostly(_iso),
    "eventSource": _mostly(st.sampled_from(["ec2.amazonaws.com", "signin.amazonaws.com"])),
    "eventName": _mostly(st.text(min_size=1, max_size=12))}, optional={
    "eventType": _mostly(st.sampled_from(["AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"])),
    "userIdentity": _mostly(_identity), "requestParameters": ANY_JSON, "responseElements": ANY_JSON,
    "readOnly": _mostly(st.booleans()), "managementEvent": _mostly(st.booleans()),
    "errorCode": _mostly(_text), "errorMessage": _mostly(_text), "awsRegion": _mostly(_text),
    "userAgent": _mostly(_text.map(lambda s: f"aws-cli/2 md/command#{s}")),
    "recipientAccountId": _mostly(_text), "requestID": _mostly(_text),
    "sourceIPAddress": _mostly(_text), "eventCategory": _mostly(_text),
})
_bus = st.fixed_dictionaries({
    "source": _mostly(st.just("aws.ec2")), "detail-type": _mostly(_text),
    "detail": _mostly(_record)}, optional={
    "id": _mostly(_text), "account": _mostly(_text), "time": _mostly(_iso)})
_input = _mostly(st.one_of(_record, _record, _bus, st.fixed_dictionaries({"Records": ANY_JSON})))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_input)
def test_any_json_maps_to_events_or_raises_record_error(record: Any) -> None:
    assert_one_cloud_event(ADAPTER, record, _ctx, "aws:")
