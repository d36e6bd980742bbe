"""The Kubernetes audit adapter, against hand-written log- and webhook-backend fixtures
(no cluster data is shared; see tests/fixtures/kubernetes/README.md)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters import detect_adapter
from ingest.adapters.base import AdapterContext
from ingest.adapters.kubernetes import KubernetesAuditAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.log import EventLog, encode
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from tests.helpers import FINITE_JSON, envelope, ndjson, only_event

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"
RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = KubernetesAuditAdapter()
FILES = ("kubectl-delete-namespace.ndjson", "helm-uninstall.ndjson", "forbidden.ndjson",
         "get-stages.ndjson", "webhook-eventlist.json")


def _records(name: str) -> list[Any]:
    text = (FIXTURES / name).read_text()
    if name.endswith(".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    items = ADAPTER.unwrap(json.loads(text))
    assert items is not None
    return list(items)


def _map(name: str, **params: str) -> list[Event]:
    ctx = AdapterContext(received_at=RECEIVED, params=params)
    return [event for record in _records(name) for event in ADAPTER.to_events(record, ctx)]


def _one(record: Any, **params: str) -> Event:
    return only_event(ADAPTER, record, AdapterContext(received_at=RECEIVED, params=params))




# --- mapping ----------------------------------------------------------------------------------


def test_kubectl_delete_namespace() -> None:
    (record,) = _records("kubectl-delete-namespace.ndjson")
    event = _one(record)
    assert (event.source, event.kind, event.stream) == ("kubernetes-audit", EventKind.CLOUD_CALL,
                                                        "k8s:default")
    assert event.native_id == "5c2f7a4e-1b3d-4f6a-9e8c-0d1a2b3c4d01/ResponseComplete"
    assert event.call_id == "5c2f7a4e-1b3d-4f6a-9e8c-0d1a2b3c4d01"
    assert (event.actor, event.tool_name, event.is_error) == ("kubernetes-admin",
                                                              "delete namespaces", False)
    assert event.time == datetime(2026, 4, 24, 8, 40, 12, 231950, tzinfo=UTC)
    assert event.text == "kubernetes-admin delete namespaces prod -> 200"
    assert event.tool_input["requestObject"]["propagationPolicy"] == "Background"
    assert event.tool_input["requestURI"] == "/api/v1/namespaces/prod"
    assert event.session_id is None and event.raw is record
    attrs = event.attributes
    assert attrs["resource"] == "namespaces" and attrs["name"] == "prod"
    assert attrs["user_groups"] == ["system:masters", "system:authenticated"]
    assert attrs["source_ips"] == ["10.0.12.7"] and attrs["user_agent"].startswith("kubectl/")
    assert (attrs["level"], attrs["response_code"], attrs["authorization_decision"]) == (
        "RequestResponse", 200, "allow")
    assert attrs["request_received_at"] == "2026-04-24T08:40:12.204816Z"


def test_helm_uninstall_deletes_the_release_secrets() -> None:
    events = _map("helm-uninstall.ndjson")
    assert [e.tool_name for e in events] == [
        "list secrets", "delete services", "delete deployments", "delete secrets",
        "delete secrets"]
    assert all(e.kind is EventKind.CLOUD_CALL and e.is_error is False for e in events)
    assert {e.actor for e in events} == {"system:serviceaccount:ci:deployer"}
    assert {e.attributes["user_agent"] for e in events} == {"Helm/3.14.4"}
    secrets = [e.attributes["name"] for e in events if e.tool_name == "delete secrets"]
    assert secrets == ["sh.helm.release.v1.pocket.v1", "sh.helm.release.v1.pocket.v2"]
    assert events[2].attributes["api_group"] == "apps"
    assert events[0].text == "system:serviceaccount:ci:deployer list secrets in prod -> 200"
    assert "labelSelector" in events[0].attributes["request_uri"]


def test_forbidden_request_is_an_error() -> None:
    (event,) = _map("forbidden.ndjson")
    assert event.kind is EventKind.CLOUD_CALL and event.is_error is True
    attrs = event.attributes
    assert (attrs["response_code"], attrs["response_status"], attrs["response_reason"]) == (
        403, "Failure", "Forbidden")
    assert attrs["authorization_decision"] == "forbid"
    assert event.text == ("system:serviceaccount:ci:deployer delete secrets "
                          "kube-system/cloud-provider-credentials -> 403 Forbidden")


def test_stages_of_one_request_share_the_call_but_only_the_last_is_the_call() -> None:
    received, complete = _map("get-stages.ndjson")
    assert received.call_id == complete.call_id == "3e4d5c6b-7a89-4b0c-9d1e-2f3a4b5c6d7e"
    assert received.id != complete.id
    assert (received.kind, received.is_error) == (EventKind.OTHER, None)
    assert (complete.kind, complete.is_error) == (EventKind.CLOUD_CALL, False)
    assert received.tool_name == complete.tool_name == "get pods"
    assert received.attributes["stage"] == "RequestReceived"
    assert received.text == "alice@example.com get pods prod/bookings-db-0 [RequestReceived]"
    assert received.time < complete.time


def test_every_request_is_one_call_however_many_stages_are_logged() -> None:
    events = [e for name in FILES for e in _map(name)]
    assert len(events) == 14 and len({e.id for e in events}) == 14
    calls = Counter(e.call_id for e in events if e.kind is EventKind.CLOUD_CALL)
    assert set(calls.values()) == {1}
    assert {e.call_id for e in events} == set(calls)  # no request is only context


def test_webhook_event_list() -> None:
    document = json.loads((FIXTURES / "webhook-eventlist.json").read_text())
    assert ADAPTER.accepts(document)
    received, started, complete, panic, health = _map("webhook-eventlist.json")
    assert complete.tool_name == "create pods/exec"
    assert [e.kind for e in (received, started, complete)] == [
        EventKind.OTHER, EventKind.OTHER, EventKind.CLOUD_CALL]
    assert complete.actor == "kubernetes-admin"
    assert complete.attributes["impersonated_user"] == "alice@example.com"
    assert complete.attributes["impersonated_groups"] == ["oidc:sre"]
    assert complete.attributes["subresource"] == "exec"
    assert complete.text == ("kubernetes-admin as alice@example.com create pods/exec "
                             "prod/bookings-db-0 -> 101")
    assert (panic.kind, panic.is_error, panic.tool_name) == (EventKind.CLOUD_CALL, True,
                                                             "patch cronjobs")
    assert health.tool_name == "get /healthz" and "resource" not in health.attributes


def test_cluster_from_param_then_annotation_then_default() -> None:
    (record,) = _records("forbidden.ndjson")
    assert _one(record, cluster="prod-eu").stream == "k8s:prod-eu"
    assert _one(record, cluster="prod-eu").attributes["cluster"] == "prod-eu"
    annotated = {**record, "annotations": {**record["annotations"],
                                           "example.com/cluster-name": "staging"}}
    assert _one(annotated).stream == "k8s:staging"
    assert _one(annotated, cluster="prod-eu").stream == "k8s:prod-eu"
    assert _one(record).stream == "k8s:default"


def test_time_falls_back_to_request_received() -> None:
    (record,) = _records("forbidden.ndjson")
    event = _one({k: v for k, v in record.items() if k != "stageTimestamp"})
    assert event.time == datetime(2026, 4, 24, 8, 33, 17, 550102, tzinfo=UTC)
    with pytest.raises(RecordError) as caught:
        _one({k: v for k, v in record.items()
              if k not in ("stageTimestamp", "requestReceivedTimestamp")})
    assert caught.value.field == "stageTimestamp"


@pytest.mark.parametrize(("change", "field"), [
    ({"auditID": None}, "auditID"),
    ({"auditID": 7}, "auditID"),
    ({"stage": ""}, "stage"),
    ({"verb": ["delete"]}, "verb"),
    ({"user": "admin"}, "user"),
    ({"user": {"username": 1}}, "user.username"),
    ({"objectRef": {"resource": {}}}, "objectRef.resource"),
    ({"responseStatus": {"code": "403"}}, "responseStatus.code"),
    ({"sourceIPs": "10.0.0.1"}, "sourceIPs"),
    ({"stageTimestamp": "yesterday"}, "stageTimestamp"),
    ({"annotations": {"authorization.k8s.io/decision": False}},
     "annotations.authorization.k8s.io/decision"),
])
def test_invalid_fields_are_named(change: dict[str, Any], field: str) -> None:
    (record,) = _records("forbidden.ndjson")
    with pytest.raises(RecordError) as caught:
        _one({**record, **change})
    assert caught.value.field == field


# --- accepts: this format only ------------------------------------------------------------------


def format_samples(shared: Path) -> dict[str, list[Any]]:
    """A few records of every format Blackbox reads, by format (the others' tests use it too)."""
    trail = json.loads(next((shared / "cloudtrail" / "stratus-red-team").glob("*.json"))
                       .read_text())
    claude = (shared / "claude-code" / "short.jsonl").read_text().splitlines()[:5]
    railway = json.loads((shared / "incidents" / "railway-volume-delete" / "railway-audit.json")
                         .read_text())
    edge = railway["data"]["auditLogs"]["edges"][0]
    assebench = (shared / "agent-safety" / "assebench" / "dataset" / "AgentJudge-security.json")
    return {
        "claude-code": [json.loads(line) for line in claude],
        "blackbox": [envelope(1), envelope(2, "s")],
        "cloudtrail": [*trail[:3], {"Records": trail[:2]}],
        "agent-trajectory": json.loads(assebench.read_text())[:3],
        "railway-audit": [railway, edge, edge["node"]],
        "kubernetes-audit": [record for name in FILES for record in _records(name)],
        "gcp-audit": [{
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                             "methodName": "io.k8s.core.v1.namespaces.delete",
                             "resourceName": "core/v1/namespaces/prod"},
            "insertId": "abc", "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
            "timestamp": "2026-04-24T08:40:12Z", "resource": {"type": "k8s_cluster"}}],
        "otlp": [{"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": []}]}],
        "codex": [{"timestamp": "2026-04-29T11:20:05.100Z", "type": "session_meta",
                   "payload": {"id": "019dd9a0", "cwd": "/tmp"}},
                  {"timestamp": "2026-04-29T11:20:06.100Z", "type": "response_item",
                   "payload": {"type": "function_call", "name": "shell", "arguments": "{}"}}],
        "claude-code-hooks": [{"session_id": "s", "hook_event_name": "PreToolUse",
                               "tool_name": "Bash",
                               "tool_input": {"command": "kubectl delete ns prod"}}],
        "pgaudit": ["2026-04-24 08:31:44.593 UTC [1234] pocket@pocket LOG:  AUDIT: SESSION,1,1,"
                    "DDL,DROP TABLE,TABLE,public.bookings,DROP TABLE bookings;,<not logged>"],
        # a Kubernetes core Event (kubectl get events) is no audit record; nor is junk
        "none": [{"kind": "Event", "apiVersion": "v1", "metadata": {"name": "x"}},
                 None, 3, 1.5, True, "text", [], {}],
    }


def other_samples(shared: Path, own: str) -> list[Any]:
    return [sample for fmt, samples in format_samples(shared).items() if fmt != own
            for sample in samples]


def test_accepts_only_kubernetes_audit_records(shared_data: Path) -> None:
    for name in FILES:
        assert all(ADAPTER.accepts(record) for record in _records(name)), name
    for sample in other_samples(shared_data, ADAPTER.name):
        assert not ADAPTER.accepts(sample), sample
    assert detect_adapter(_records("helm-uninstall.ndjson")).name == "kubernetes-audit"


# --- through the pipeline ---------------------------------------------------------------------


def test_fixtures_ingest_by_auto_detection_once(log: EventLog, preparer: Preparer) -> None:
    appended = 0
    for name in FILES:
        report = ingest_bytes(log, preparer, (FIXTURES / name).read_bytes(), AUTO, origin=name)
        assert (report.format, report.errors) == ("kubernetes-audit", []), name
        appended += report.appended
    assert appended == log.count_events() == 14
    for name in FILES:
        again = ingest_bytes(log, preparer, (FIXTURES / name).read_bytes(), "kubernetes-audit")
        assert (again.appended, again.errors) == (0, [])
    assert log.count_events() == 14 and log.verify().ok


def test_malformed_lines_are_quarantined_with_line_and_field(log: EventLog,
                                                             preparer: Preparer) -> None:
    good, *_ = _records("helm-uninstall.ndjson")
    lines = [
        json.dumps(good),
        json.dumps(good)[:80],  # truncated
        json.dumps({**good, "auditID": "a2", "verb": 5}),
        json.dumps({k: v for k, v in good.items() if k != "auditID"}),
        json.dumps({**good, "auditID": "a4", "user": ["admin"]}),
    ]
    report = ingest_bytes(log, preparer, "\n".join(lines).encode() + b"\n", "kubernetes-audit",
                          origin="audit.log")
    assert report.appended == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (2, None), (3, "verb"), (4, "auditID"), (5, "user")]
    assert all(e.location == "audit.log" for e in report.errors)
    assert "invalid JSON" in report.errors[0].reason
    assert log.count_events() == 1 and len(log.rejects()) == 4


def test_event_list_without_items_list_is_rejected(log: EventLog, preparer: Preparer) -> None:
    broken = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": {"a": 1}}
    report = ingest_bytes(log, preparer, json.dumps(broken).encode(), AUTO)
    assert report.format == "kubernetes-audit"
    assert [(e.index, e.field) for e in report.errors] == [(0, "items")]
    assert log.count_events() == 0


def test_wrong_format_forced_stores_nothing(log: EventLog, preparer: Preparer,
                                            shared_data: Path) -> None:
    page = (shared_data / "incidents" / "railway-volume-delete" / "railway-audit.json").read_bytes()
    report = ingest_bytes(log, preparer, page, "kubernetes-audit")
    assert [(e.index, e.field) for e in report.errors] == [(0, "auditID")]
    claude = (shared_data / "claude-code" / "short.jsonl").read_bytes()
    lines = sum(1 for line in claude.splitlines() if line.strip())
    report = ingest_bytes(log, preparer, claude, "kubernetes-audit")
    assert report.rejected == lines and {e.field for e in report.errors} == {"auditID"}
    assert report.errors[0].line == 1
    assert log.count_events() == 0


# --- property: anything in, events or RecordError out -----------------------------------------

_TOP_KEYS = ("kind", "apiVersion", "auditID", "stage", "verb", "user", "objectRef",
             "responseStatus", "annotations", "stageTimestamp", "requestReceivedTimestamp",
             "impersonatedUser", "sourceIPs", "userAgent", "requestURI", "level", "items")
_SUB_KEYS = ("username", "groups", "resource", "subresource", "namespace", "name", "apiGroup",
             "apiVersion", "code", "status", "reason", "authorization.k8s.io/decision",
             "authorization.k8s.io/reason", "cluster")
_NESTED = st.dictionaries(st.sampled_from(_SUB_KEYS), FINITE_JSON, max_size=4)
_BASES = [record for name in FILES for record in _records(name)]
_NEAR = st.builds(lambda base, change: {**base, **change}, st.sampled_from(_BASES),
                  st.dictionaries(st.sampled_from(_TOP_KEYS), FINITE_JSON | _NESTED, max_size=4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=FINITE_JSON | _NEAR | st.dictionaries(st.sampled_from(_TOP_KEYS), FINITE_JSON | _NESTED))
def test_any_json_maps_to_events_or_a_record_error(record: Any) -> None:
    ctx = AdapterContext(received_at=RECEIVED)
    try:
        events = ADAPTER.to_events(record, ctx)
        encoded = [encode(event) for event in events]
    except RecordError:
        return
    assert all(isinstance(event, Event) for event in events) and len(encoded) == 1
    assert ndjson([events[0].to_document()])  # JSON-ready
