"""The GCP Cloud Audit Logs adapter: every input shape (NDJSON, array, entries.list response),
the audit log kinds, malformed input, re-ingest and auto-detection. No real GCP audit data is
shared, so the fixtures follow Google's documented LogEntry / AuditLog shape (see their README)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter, get_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.gcp_audit import NO_PROJECT_STREAM, GcpAuditAdapter
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
    mostly,
    ndjson,
    rejected,
    with_value,
)
from tests.test_cloudtrail_adapter import FOREIGN

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = GcpAuditAdapter()
HERE = FIXTURES / "gcp-audit"
ACTIVITY = "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity"
AGENT = "deploy-agent@acme-staging.iam.gserviceaccount.com"


def _ctx() -> AdapterContext:
    return AdapterContext(received_at=RECEIVED)


def _only(events: list[Event]) -> Event:
    assert len(events) == 1
    return events[0]


def _entries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HERE / "entries.ndjson").read_text().splitlines()]


def _all_fixture_entries() -> list[dict[str, Any]]:
    listed = json.loads((HERE / "list-response.json").read_text())["entries"]
    return [*_entries(), *listed, *json.loads((HERE / "array.json").read_text())]




def _stored(log: EventLog) -> list[Event]:
    return [r.event for r in all_recorded(log)]


def _by_method(events: list[Event]) -> dict[str, list[Event]]:
    found: dict[str, list[Event]] = {}
    for event in events:
        found.setdefault(str(event.attributes.get("method_name")), []).append(event)
    return found


# --- the fixture shapes through the pipeline ---------------------------------------------------


def test_every_shape_ingests_once(log: EventLog, preparer: Preparer) -> None:
    expected = {"entries.ndjson": 7, "list-response.json": 2, "array.json": 2}
    for name, count in expected.items():
        report = ingest_bytes(log, preparer, (HERE / name).read_bytes(), AUTO, origin=name)
        assert (report.format, report.appended, report.errors) == ("gcp-audit", count, []), name
    assert log.count_events() == 11 and log.verify().ok
    for name, count in expected.items():
        again = ingest_bytes(log, preparer, (HERE / name).read_bytes(), "gcp-audit", origin=name)
        assert (again.appended, again.duplicates, again.errors) == (0, count, [])
    stored = _stored(log)
    assert len(stored) == 11 and log.rejects() == []
    assert {e.stream for e in stored} == {"gcp:acme-prod", "gcp:organizations/987654321098"}
    assert all(e.session_id is None and e.source == "gcp-audit" for e in stored)


def test_compute_delete_operation(log: EventLog, preparer: Preparer) -> None:
    ingest_bytes(log, preparer, (HERE / "entries.ndjson").read_bytes(), AUTO)
    first, last = _by_method(_stored(log))["v1.compute.instances.delete"]
    vm = "projects/acme-prod/zones/europe-west1-b/instances/orders-db-0"
    assert (first.kind, first.tool_name, first.actor, first.stream) == (
        EventKind.CLOUD_CALL, "compute.googleapis.com:v1.compute.instances.delete", AGENT,
        "gcp:acme-prod")
    assert first.native_id == f"{ACTIVITY}#-x4k2pte1b3c9"
    assert first.time == datetime(2026, 4, 24, 9, 10, 1, 9718, tzinfo=UTC)
    assert first.text == f"{AGENT} called compute.googleapis.com:v1.compute.instances.delete on {vm}"
    assert first.is_error is False
    assert first.tool_input == {"@type": "type.googleapis.com/compute.instances.delete"}
    assert {k: first.attributes[k] for k in (
        "audit_log", "project_id", "resource_type", "resource_label_zone", "resource_name",
        "caller_ip", "cli_command", "permissions", "read_only", "operation_first", "severity")} == {
        "audit_log": "activity", "project_id": "acme-prod", "resource_type": "gce_instance",
        "resource_label_zone": "europe-west1-b", "resource_name": vm, "caller_ip": "34.118.12.9",
        "cli_command": "gcloud.compute.instances.delete",
        "permissions": ["compute.instances.delete"], "read_only": False, "operation_first": True,
        "severity": "NOTICE"}
    assert first.attributes["response"]["status"] == "RUNNING"  # the operation: small, kept
    assert last.attributes["operation_id"] == first.attributes["operation_id"]
    assert last.attributes["operation_last"] is True and last.id != first.id


def test_bucket_delete_iam_change_and_denied_call(log: EventLog, preparer: Preparer) -> None:
    ingest_bytes(log, preparer, (HERE / "entries.ndjson").read_bytes(), AUTO)
    by_method = _by_method(_stored(log))
    (bucket,) = by_method["storage.buckets.delete"]
    assert bucket.tool_name == "storage.googleapis.com:storage.buckets.delete"
    assert bucket.attributes["resource_label_bucket_name"] == "acme-prod-backups"
    assert bucket.tool_input is None  # storage logs no request body for a bucket delete
    (iam,) = by_method["SetIamPolicy"]
    assert iam.tool_name == "cloudresourcemanager.googleapis.com:SetIamPolicy"
    assert iam.attributes["delegation_chain"] == ["dana@acme.example"]  # impersonated by dana
    assert iam.attributes["cli_command"] == "gcloud.projects.add-iam-policy-binding"
    assert iam.tool_input["policy"]["bindings"][0]["role"] == "roles/owner"
    assert iam.attributes["response"]["etag"] == "BwYnQ8iRtu0="  # small: kept
    (denied,) = by_method["v1.compute.disks.delete"]
    assert (denied.is_error, denied.actor, denied.kind) == (
        True, "intern@acme.example", EventKind.CLOUD_CALL)
    assert (denied.attributes["status_code"], denied.attributes["status_name"]) == (
        7, "PERMISSION_DENIED")
    assert denied.text is not None and denied.text.endswith(
        "-- failed: PERMISSION_DENIED: Required 'compute.disks.delete' permission for "
        "'projects/acme-prod/zones/europe-west1-b/disks/orders-db-0-data'")


def test_data_access_and_system_event(log: EventLog, preparer: Preparer) -> None:
    ingest_bytes(log, preparer, (HERE / "entries.ndjson").read_bytes(), AUTO)
    by_method = _by_method(_stored(log))
    (secret,) = by_method["google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"]
    assert (secret.kind, secret.attributes["audit_log"], secret.attributes["read_only"]) == (
        EventKind.CLOUD_CALL, "data_access", True)
    assert secret.native_id.startswith("projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access#")
    assert "cli_command" not in secret.attributes  # a grpc client, no gcloud command
    (migrate,) = by_method["compute.instances.migrateOnHostMaintenance"]
    assert (migrate.kind, migrate.actor, migrate.is_error) == (
        EventKind.OTHER, "system@google.com", False)  # a message without a code is no error
    assert migrate.attributes["audit_log"] == "system_event"


def test_list_response_and_array(log: EventLog, preparer: Preparer) -> None:
    listed = json.loads((HERE / "list-response.json").read_text())
    assert ADAPTER.unwrap(listed) == listed["entries"]
    ingest_bytes(log, preparer, (HERE / "list-response.json").read_bytes(), AUTO)
    ingest_bytes(log, preparer, (HERE / "array.json").read_bytes(), AUTO)
    by_method = _by_method(_stored(log))
    (read,) = by_method["storage.objects.get"]
    assert (read.attributes["read_only"], read.attributes["cli_command"]) == (True, "gcloud.storage.cp")
    (org,) = by_method["SetIamPolicy"]
    assert org.stream == "gcp:organizations/987654321098" and "project_id" not in org.attributes
    (vpcsc,) = by_method["google.storage.objects.get"]
    assert (vpcsc.kind, vpcsc.is_error, vpcsc.attributes["audit_log"]) == (
        EventKind.CLOUD_CALL, True, "policy")
    assert vpcsc.text is not None and vpcsc.text.endswith("-- failed: PERMISSION_DENIED")


def test_registry_and_detection() -> None:
    assert isinstance(get_adapter("gcp-audit"), GcpAuditAdapter)
    assert detect_adapter(_entries()).name == "gcp-audit"
    assert detect_adapter([json.loads((HERE / "list-response.json").read_text())]).name == "gcp-audit"


# --- streams, ids, time -------------------------------------------------------------------------


def test_stream_falls_back_to_resource_project_then_unknown() -> None:
    entry = _entries()[0]
    entry["logName"] = "cloudaudit.googleapis.com%2Factivity"  # no parent in the name
    event = _only(ADAPTER.to_events(entry, _ctx()))
    assert event.stream == "gcp:acme-prod" and "audit_log" not in event.attributes
    del entry["resource"]
    assert _only(ADAPTER.to_events(entry, _ctx())).stream == NO_PROJECT_STREAM


def test_insert_id_is_scoped_by_log() -> None:
    activity = _entries()[0]
    data_access = {**copy.deepcopy(activity),
                   "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access"}
    ids = {_only(ADAPTER.to_events(e, _ctx())).id for e in (activity, data_access)}
    assert len(ids) == 2
    assert _only(ADAPTER.to_events(copy.deepcopy(activity), _ctx())).id in ids


def test_large_response_stays_in_raw_only() -> None:
    entry = _entries()[0]
    entry["protoPayload"]["response"] = {"bindings": [{"role": f"roles/r{n}"} for n in range(100)]}
    event = _only(ADAPTER.to_events(entry, _ctx()))
    assert "response" not in event.attributes
    assert event.raw["protoPayload"]["response"]["bindings"][99] == {"role": "roles/r99"}


def test_receive_timestamp_when_timestamp_is_absent() -> None:
    entry = _entries()[0]
    del entry["timestamp"]
    event = _only(ADAPTER.to_events(entry, _ctx()))
    assert event.time == datetime(2026, 4, 24, 8, 58, 13, 85498, tzinfo=UTC)  # nanoseconds cut


def test_non_audit_entry_forced_in_is_other() -> None:
    entry = {"insertId": "abc", "logName": "projects/acme-prod/logs/app", "textPayload": "hello",
             "timestamp": "2026-04-24T09:00:00Z", "resource": {"type": "global", "labels": {}}}
    assert not ADAPTER.accepts(entry)
    event = _only(ADAPTER.to_events(entry, _ctx()))
    assert (event.kind, event.text, event.tool_name, event.is_error, event.stream) == (
        EventKind.OTHER, "hello", None, None, "gcp:acme-prod")


# --- accepts --------------------------------------------------------------------------------------


def test_accepts_every_fixture_entry() -> None:
    assert all(ADAPTER.accepts(entry) for entry in _all_fixture_entries())
    assert ADAPTER.accepts(json.loads((HERE / "list-response.json").read_text()))


_CLOUDTRAIL = json.loads((FIXTURES / "cloudtrail" / "records.ndjson").read_text().splitlines()[0])


@pytest.mark.parametrize("name", [*FOREIGN, "cloudtrail record"])
def test_rejects_other_formats(name: str) -> None:
    record = _CLOUDTRAIL if name == "cloudtrail record" else FOREIGN[name]
    assert not ADAPTER.accepts(record)


@pytest.mark.parametrize("record", [
    None, 5, [], {"entries": []}, {"entries": [{"logName": "x"}]},
    {"logName": "x", "textPayload": "app log line"},
    {"logName": "x", "protoPayload": {"@type": "type.googleapis.com/google.appengine.logging.v1.RequestLog"}},
    {"logName": 5, "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog"}},
    {"logName": "x", "protoPayload": "AuditLog"},
])
def test_rejects_near_misses(record: Any) -> None:
    assert not ADAPTER.accepts(record)


# --- malformed entries ----------------------------------------------------------------------------


def _broken(path: str, value: Any) -> dict[str, Any]:
    return with_value(_entries()[0], path, value)  # the SetIamPolicy: has every part


@pytest.mark.parametrize(("path", "value", "field"), [
    ("insertId", DELETE, "insertId"),
    ("insertId", "", "insertId"),
    ("insertId", 12, "insertId"),
    ("logName", DELETE, "logName"),
    ("logName", ["x"], "logName"),
    ("timestamp", "yesterday", "timestamp"),
    ("timestamp", False, "timestamp"),
    ("timestamp", 10**400, "timestamp"),
    ("severity", 5, "severity"),
    ("resource", "project", "resource"),
    ("resource.labels", "acme-prod", "resource.labels"),
    ("resource.labels.project_id", 7, "resource.labels.project_id"),
    ("operation", [], "operation"),
    ("protoPayload.methodName", DELETE, "protoPayload.methodName"),
    ("protoPayload.serviceName", 3, "protoPayload.serviceName"),
    ("protoPayload.status", "OK", "protoPayload.status"),
    ("protoPayload.status", {"code": "7"}, "protoPayload.status.code"),
    ("protoPayload.status", {"code": True}, "protoPayload.status.code"),
    ("protoPayload.authenticationInfo.principalEmail", 1, "protoPayload.authenticationInfo.principalEmail"),
    ("protoPayload.authenticationInfo.serviceAccountDelegationInfo", {},
     "protoPayload.authenticationInfo.serviceAccountDelegationInfo"),
    ("protoPayload.authenticationInfo.serviceAccountDelegationInfo.0", "dana",
     "protoPayload.authenticationInfo.serviceAccountDelegationInfo[0]"),
    ("protoPayload.authenticationInfo.serviceAccountDelegationInfo.0.firstPartyPrincipal", 4,
     "protoPayload.authenticationInfo.serviceAccountDelegationInfo[0].firstPartyPrincipal"),
    ("protoPayload.authorizationInfo", "all", "protoPayload.authorizationInfo"),
    ("protoPayload.authorizationInfo.0.permission", 9, "protoPayload.authorizationInfo[0].permission"),
    ("protoPayload.requestMetadata.callerIp", [], "protoPayload.requestMetadata.callerIp"),
])
def test_malformed_entries_raise_record_error(path: str, value: Any, field: str) -> None:
    assert ADAPTER.to_events(_entries()[0], _ctx())
    assert rejected(ADAPTER, _broken(path, value), _ctx()).field == field


@pytest.mark.parametrize("record", NON_OBJECTS)
def test_non_objects_raise_record_error(record: Any) -> None:
    assert "expected an object" in rejected(ADAPTER, record, _ctx()).reason


def test_nested_list_response_is_named() -> None:
    assert rejected(ADAPTER, {"entries": []}, _ctx()).field == "entries"


# --- malformed input through the pipeline ----------------------------------------------------------


def test_truncated_lines_are_quarantined_with_their_line(log: EventLog, preparer: Preparer) -> None:
    lines = (HERE / "entries.ndjson").read_bytes().splitlines()
    data = b"\n".join([lines[0], lines[1][:120], *lines[2:]]) + b"\n"
    report = ingest_bytes(log, preparer, data, AUTO, origin="audit.ndjson")
    assert (report.format, report.appended) == ("gcp-audit", 6)
    (error,) = report.errors
    assert (error.location, error.line, error.field) == ("audit.ndjson", 2, None)
    assert error.reason.startswith("invalid JSON")
    assert [r.rejected.payload for r in log.rejects()] == [lines[1][:120].decode()]


def test_bad_entries_among_good_ones(log: EventLog, preparer: Preparer) -> None:
    good = _entries()
    bad_time = {**good[1], "timestamp": "not a time"}
    no_id = {key: value for key, value in good[2].items() if key != "insertId"}
    report = ingest_bytes(log, preparer, ndjson([good[0], bad_time, no_id, "a string"]),
                          "gcp-audit", origin="x.ndjson")
    assert report.appended == 1
    assert [(e.line, e.index, e.field) for e in report.errors] == [
        (2, 1, "timestamp"), (3, 2, "insertId"), (4, 3, None)]
    assert log.count_events() == 1 and len(log.rejects()) == 3


def test_wrong_format_forced_is_rejected_precisely(log: EventLog, preparer: Preparer) -> None:
    data = (FIXTURES / "cloudtrail" / "records.ndjson").read_bytes()
    report = ingest_bytes(log, preparer, data, "gcp-audit", origin="aws.ndjson")
    assert (report.appended, report.rejected) == (0, 2)
    assert [(e.location, e.line, e.index, e.field) for e in report.errors] == [
        ("aws.ndjson", 1, 0, "logName"), ("aws.ndjson", 2, 1, "logName")]
    assert log.count_events() == 0 and len(log.rejects()) == 2
    # A whole S3 delivery file: one record (no "entries" to unwrap), one precise rejection.
    s3 = (FIXTURES / "cloudtrail" / "s3-delivery.json").read_bytes()
    report = ingest_bytes(log, preparer, s3, "gcp-audit")
    assert [(e.index, e.line, e.field) for e in report.errors] == [(0, None, "logName")]
    assert log.count_events() == 0


# --- property: any JSON maps or raises RecordError --------------------------------------------

def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, odds=30)


_text = st.text(max_size=12)
_name = st.text(min_size=1, max_size=12)
_iso = st.datetimes().map(datetime.isoformat)
_log_name = st.sampled_from([
    "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
    "organizations/1/logs/cloudaudit.googleapis.com%2Fsystem_event",
    "folders/2/logs/cloudaudit.googleapis.com%2Fdata_access", "projects//logs/x", "weird"])
_authentication = st.fixed_dictionaries({}, optional={
    "principalEmail": _mostly(_text), "principalSubject": _mostly(_text),
    "serviceAccountDelegationInfo": _mostly(st.lists(_mostly(st.fixed_dictionaries({}, optional={
        "firstPartyPrincipal": _mostly(st.fixed_dictionaries(
            {}, optional={"principalEmail": _mostly(_text)})),
        "principalSubject": _mostly(_text)})), max_size=2)),
})
_authorization = st.lists(_mostly(st.fixed_dictionaries({}, optional={
    "permission": _mostly(_text), "granted": _mostly(st.booleans()),
    "permissionType": _mostly(st.sampled_from(["ADMIN_READ", "DATA_WRITE", "X"]))})), max_size=3)
_payload = st.fixed_dictionaries({
    "@type": _mostly(st.just("type.googleapis.com/google.cloud.audit.AuditLog")),
    "serviceName": _mostly(_name), "methodName": _mostly(_name)}, optional={
    "resourceName": _mostly(_text), "authenticationInfo": _mostly(_authentication),
    "authorizationInfo": _mostly(_authorization), "request": ANY_JSON, "response": ANY_JSON,
    "status": _mostly(st.fixed_dictionaries({}, optional={
        "code": _mostly(st.integers(-3, 20)), "message": _mostly(_text)})),
    "requestMetadata": _mostly(st.fixed_dictionaries({}, optional={
        "callerIp": _mostly(_text),
        "callerSuppliedUserAgent": _mostly(_text.map(lambda s: f"gcloud command/gcloud.{s}"))})),
})
_entry = st.fixed_dictionaries({
    "insertId": _mostly(_name), "logName": _mostly(_log_name), "timestamp": _mostly(_iso),
    "protoPayload": _mostly(_payload)}, optional={
    "resource": _mostly(st.fixed_dictionaries({}, optional={
        "type": _mostly(_text), "labels": _mostly(st.dictionaries(_text, _mostly(_text), max_size=3))})),
    "severity": _mostly(_text), "receiveTimestamp": _mostly(_iso),
    "operation": _mostly(st.fixed_dictionaries({}, optional={
        "id": _mostly(_text), "first": _mostly(st.booleans()), "last": _mostly(st.booleans())})),
})
_input = _mostly(st.one_of(_entry, _entry, st.fixed_dictionaries({"entries": ANY_JSON})))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_input)
def test_any_json_maps_to_events_or_raises_record_error(record: Any) -> None:
    assert_one_cloud_event(ADAPTER, record, _ctx, "gcp:")
