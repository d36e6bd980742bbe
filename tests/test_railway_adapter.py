"""The Railway audit-log adapter, against the two incident pages in the shared data and small
fixtures of every accepted shape (tests/fixtures/railway/README.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters.base import AdapterContext
from ingest.adapters.railway import RailwayAuditAdapter
from ingest.envelope import Event, EventKind
from ingest.log import EventLog
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from tests.helpers import FINITE_JSON, all_recorded, encoded_events, only_event
from tests.test_kubernetes_adapter import other_samples

FIXTURES = Path(__file__).parent / "fixtures" / "railway"
RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = RailwayAuditAdapter()
PROJECT = "b4c1e2f0-6a57-4c8e-9d0b-3f2a1e9c7d44"
WORKSPACE = "w5d4c3b2-a1f0-4e9d-8c7b-6a5f4e3d2c1b"
PRODUCTION = "e0a3f6d2-1b9c-4f7e-8a21-5c6d7e8f9a01"
STAGING = "e7b2c9d1-3e4f-4a5b-9c8d-0e1f2a3b4c5d"
FIXTURE_FILES = ("page-user-actor.json", "nodes.json", "nodes.ndjson", "edges.ndjson")


def _incident(shared: Path, name: str) -> Path:
    return shared / "incidents" / name / "railway-audit.json"


def _nodes(path: Path) -> list[Any]:
    text = path.read_text()
    if path.suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    document = json.loads(text)
    if isinstance(document, list):
        return document
    nodes = ADAPTER.unwrap(document)
    assert nodes is not None
    return list(nodes)


def _one(record: Any, **params: str) -> Event:
    return only_event(ADAPTER, record, AdapterContext(received_at=RECEIVED, params=params))




# --- the shared incident data -----------------------------------------------------------------


def test_both_incident_pages_ingest_without_rejections(log: EventLog, preparer: Preparer,
                                                       shared_data: Path) -> None:
    counts = {}
    for name in ("railway-volume-delete", "railway-volume-verified"):
        data = _incident(shared_data, name).read_bytes()
        report = ingest_bytes(log, preparer, data, AUTO, origin=name)
        assert (report.format, report.rejected) == ("railway-audit", 0)
        counts[name] = report.appended
        again = ingest_bytes(log, preparer, data, "railway-audit", origin=name)
        assert (again.appended, again.duplicates, again.rejected) == (0, report.appended, 0)
    assert counts == {"railway-volume-delete": 6, "railway-volume-verified": 1}
    stored = [r.event for r in all_recorded(log)]
    assert len(stored) == 7 and log.verify().ok
    assert {e.stream for e in stored} == {f"railway:{PROJECT}"}
    assert all(e.kind is EventKind.CLOUD_CALL and e.session_id is None for e in stored)


def test_the_effects_named_by_the_label_are_the_ingested_records(shared_data: Path) -> None:
    label = json.loads((shared_data / "incidents" / "railway-volume-delete" / "label.json")
                       .read_text())
    nodes = _nodes(_incident(shared_data, "railway-volume-delete"))
    assert [_one(node).native_id for node in nodes] == label["effect_ids"]


def test_volume_deleted(shared_data: Path) -> None:
    node = _nodes(_incident(shared_data, "railway-volume-delete"))[0]
    event = _one(node)
    assert (event.source, event.native_id, event.kind) == ("railway-audit", "al_0001",
                                                           EventKind.CLOUD_CALL)
    assert event.time == datetime(2026, 4, 24, 8, 31, 44, 593000, tzinfo=UTC)
    assert (event.actor, event.tool_name, event.is_error) == ("project_token:tok_7e1d0c9b",
                                                              "volumeDelete", False)
    assert event.tool_input == node["payload"] and event.raw == node
    assert event.text == ("project_token:tok_7e1d0c9b volume.deleted "
                          "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36 via volumeDelete")
    assert event.attributes == {
        "event_type": "volume.deleted", "project_id": PROJECT, "environment_id": PRODUCTION,
        "workspace_id": WORKSPACE, "actor_type": "project_token", "token_id": "tok_7e1d0c9b",
        "ip": "203.0.113.54", "user_agent": "curl/8.5.0", "operation_name": "volumeDelete",
        "volume_id": "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36",
        "volume_instance_ids": ["vi_9c2e4a71-0b3d-4f5e-8a6c-1d2e3f4a5b6c",
                                "vi_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"],
    }


def test_cascaded_deletions_name_the_system_and_their_cause(shared_data: Path) -> None:
    events = [_one(node) for node in _nodes(_incident(shared_data, "railway-volume-delete"))[1:]]
    assert {e.actor for e in events} == {"system"}
    assert {e.attributes["cause"] for e in events} == {"volume.deleted"}
    assert [e.tool_name for e in events] == ["volume_instance.deleted"] * 2 + [
        "volume_instance_backup.deleted"] * 3
    # One volume, one instance per environment: the staging instance was deleted too.
    assert {e.attributes["environment_id"] for e in events[:2]} == {PRODUCTION, STAGING}
    backups = [e.attributes["volume_instance_backup_id"] for e in events[2:]]
    assert len(set(backups)) == 3
    assert {e.attributes["volume_instance_id"] for e in events[2:]} == {
        "vi_9c2e4a71-0b3d-4f5e-8a6c-1d2e3f4a5b6c"}


def test_the_careful_twin_only_updated_a_variable(shared_data: Path) -> None:
    (node,) = _nodes(_incident(shared_data, "railway-volume-verified"))
    event = _one(node)
    assert (event.tool_name, event.actor) == ("variable.updated", "project_token:tok_7e1d0c9b")
    assert event.attributes["user_agent"] == "railway-cli/4.10.0"
    assert "ip" not in event.attributes


# --- the other shapes -------------------------------------------------------------------------


def test_every_shape_maps_the_same_nodes() -> None:
    by_shape = {name: [_one(record) for record in _nodes(FIXTURES / name)]
                for name in FIXTURE_FILES}
    ids = {name: [e.native_id for e in events] for name, events in by_shape.items()}
    assert ids == {"page-user-actor.json": ["al_0201", "al_0202", "al_0203"],
                   "nodes.json": ["al_0201", "al_0202"],
                   "nodes.ndjson": ["al_0201", "al_0202", "al_0203"],
                   "edges.ndjson": ["al_0201", "al_0202", "al_0203"]}
    assert [e.raw for e in by_shape["edges.ndjson"]] == [e.raw for e in by_shape["nodes.ndjson"]]
    deploy, backup, invite = by_shape["page-user-actor.json"]
    assert deploy.actor == "user:dana@acme.example"
    assert deploy.attributes["user_id"] == "u_5a6b7c8d"
    assert deploy.attributes["user_email"] == "dana@acme.example"
    assert (deploy.tool_name, deploy.attributes["service_id"]) == ("serviceInstanceDeploy",
                                                                   "svc_4d3c2b1a")
    assert backup.attributes["volume_instance_backup_id"].startswith("bk_04")
    assert invite.stream == f"railway:{WORKSPACE}" and "project_id" not in invite.attributes


def test_fixtures_ingest_by_auto_detection(log: EventLog, preparer: Preparer) -> None:
    for name in FIXTURE_FILES:
        report = ingest_bytes(log, preparer, (FIXTURES / name).read_bytes(), AUTO, origin=name)
        assert (report.format, report.rejected) == ("railway-audit", 0), name
    assert log.count_events() == 3  # the same three nodes in four shapes


def test_stream_falls_back_to_params_then_default() -> None:
    node = {"id": "al_9", "eventType": "x.y", "createdAt": "2026-04-24T08:00:00Z",
            "workspaceId": None}
    assert _one(node).stream == "railway:default"
    assert _one(node, workspace="w1").stream == "railway:w1"


# --- accepts: this format only ------------------------------------------------------------------


def test_accepts_only_railway_audit_records(shared_data: Path) -> None:
    for name in FIXTURE_FILES:
        assert all(ADAPTER.accepts(record) for record in _nodes(FIXTURES / name)), name
    page = json.loads(_incident(shared_data, "railway-volume-delete").read_text())
    assert ADAPTER.accepts(page) and ADAPTER.accepts(page["data"]["auditLogs"]["edges"][0])
    foreign = other_samples(shared_data, ADAPTER.name)
    assert len(foreign) > 30
    for sample in foreign:
        assert not ADAPTER.accepts(sample), sample


# --- malformed input --------------------------------------------------------------------------


def test_malformed_lines_are_quarantined_with_line_and_field(log: EventLog,
                                                             preparer: Preparer) -> None:
    good = _nodes(FIXTURES / "nodes.ndjson")[0]
    lines = [
        json.dumps(good),
        json.dumps(good)[:60],  # truncated
        json.dumps({**good, "id": "al_x1", "createdAt": "last tuesday"}),
        json.dumps({k: v for k, v in good.items() if k != "id"}),
        json.dumps({**good, "id": "al_x3", "payload": ["volumeId"]}),
        json.dumps({**good, "id": "al_x4", "context": {"actor": "system"}}),
        json.dumps({**good, "id": "al_x5", "projectId": 42}),
        json.dumps({"node": "al_x6"}),
    ]
    report = ingest_bytes(log, preparer, "\n".join(lines).encode(), "railway-audit",
                          origin="audit.ndjson")
    assert report.appended == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (2, None), (3, "createdAt"), (4, "id"), (5, "payload"), (6, "context.actor"),
        (7, "projectId"), (8, "node")]
    assert log.count_events() == 1 and len(log.rejects()) == 7


def test_bad_nodes_inside_a_page_are_placed_by_index(log: EventLog, preparer: Preparer,
                                                     shared_data: Path) -> None:
    page = json.loads(_incident(shared_data, "railway-volume-delete").read_text())
    edges = page["data"]["auditLogs"]["edges"]
    edges[2]["node"]["eventType"] = None
    edges[4] = "not an edge"
    report = ingest_bytes(log, preparer, json.dumps(page).encode(), AUTO)
    assert report.format == "railway-audit" and report.appended == 4
    assert [(e.index, e.field) for e in report.errors] == [(2, "eventType"), (4, None)]


def test_a_graphql_error_response_is_rejected_with_its_message(log: EventLog,
                                                               preparer: Preparer) -> None:
    body = {"errors": [{"message": "Not Authorized", "path": ["auditLogs"]}], "data": None}
    report = ingest_bytes(log, preparer, json.dumps(body).encode(), "railway-audit")
    (error,) = report.errors
    assert error.field == "errors" and "Not Authorized" in error.reason
    assert log.count_events() == 0


def test_wrong_format_forced_stores_nothing(log: EventLog, preparer: Preparer) -> None:
    k8s = Path(__file__).parent / "fixtures" / "kubernetes" / "helm-uninstall.ndjson"
    report = ingest_bytes(log, preparer, k8s.read_bytes(), "railway-audit")
    assert report.rejected == 5 and {e.field for e in report.errors} == {"id"}
    assert [e.line for e in report.errors] == [1, 2, 3, 4, 5]
    assert log.count_events() == 0


# --- property: anything in, events or RecordError out -----------------------------------------

_TOP_KEYS = ("id", "eventType", "createdAt", "projectId", "environmentId", "workspaceId",
             "payload", "context", "node", "data", "auditLogs", "errors")
_SUB_KEYS = ("actor", "type", "tokenId", "email", "userId", "ip", "userAgent", "operationName",
             "cause", "volumeId", "volumeInstanceIds", "edges", "node", "message")
_NESTED = st.recursive(st.dictionaries(st.sampled_from(_SUB_KEYS), FINITE_JSON, max_size=4),
                       lambda inner: st.dictionaries(st.sampled_from(_SUB_KEYS), inner,
                                                     max_size=3), max_leaves=6)
_BASES = [node for name in FIXTURE_FILES for node in _nodes(FIXTURES / name)]
_NEAR = st.builds(lambda base, change: {**base, **change}, st.sampled_from(_BASES),
                  st.dictionaries(st.sampled_from(_TOP_KEYS), FINITE_JSON | _NESTED, max_size=4))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=FINITE_JSON | _NEAR | st.dictionaries(st.sampled_from(_TOP_KEYS), FINITE_JSON | _NESTED))
def test_any_json_maps_to_events_or_a_record_error(record: Any) -> None:
    events = encoded_events(ADAPTER, record, RECEIVED)
    if events is None:
        return
    assert len(events) == 1 and isinstance(events[0], Event)
