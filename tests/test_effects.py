"""analyzer.effects: cloud audit records (real Railway and Stratus Red Team CloudTrail data, the GCP,
Kubernetes and pgAudit fixtures) turned into Effects through the real adapters and redaction."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.effects import effect_of
from analyzer.nodes import Effect
from ingest.envelope import Event, EventKind
from ingest.pipeline import AUTO, Preparer
from ingest.redact import Redactor
from tests.conftest import FIXTURES

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PREPARER = Preparer(Redactor(b"k" * 32), max_depth=64, chunk_size=500)

VOLUME = "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"
INSTANCES = ("vi_9c2e4a71-0b3d-4f5e-8a6c-1d2e3f4a5b6c", "vi_1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
PROJECT = "b4c1e2f0-6a57-4c8e-9d0b-3f2a1e9c7d44"
WORKSPACE = "w5d4c3b2-a1f0-4e9d-8c7b-6a5f4e3d2c1b"
PRODUCTION = "e0a3f6d2-1b9c-4f7e-8a21-5c6d7e8f9a01"
STAGING = "e7b2c9d1-3e4f-4a5b-9c8d-0e1f2a3b4c5d"

# Stratus techniques whose calls succeeded and destroy, stop or expose something.
STRATUS_DESTRUCTIVE = ("DeleteTrail", "StopLogging", "DeleteFlowLogs", "DeleteResolverQueryLogConfig",
                       "StopInstances", "ModifySnapshotAttribute", "ModifyDBSnapshotAttribute",
                       "ModifyImageAttribute", "PutEventSelectors")
# Destructive operations that AWS refused in the detonation logs: nothing happened.
STRATUS_FAILED_DESTRUCTIVE = ("LeaveOrganization", "DeleteLoginProfile")
READ_PREFIXES = ("Describe", "List", "Get")


def prepared(data: bytes, fmt: str = AUTO) -> list[Event]:
    """Events of an input through the real ingest path (detection, redaction, adapter)."""
    _, chunks = PREPARER.prepare(data, fmt, received_at=RECEIVED)
    events: list[Event] = []
    for chunk in chunks:
        assert chunk.errors == []
        events.extend(encoded.event for encoded in chunk.encoded)
    return events


def effects(events: list[Event]) -> list[Effect]:
    found = [effect_of(event) for event in events]
    return [effect for effect in found if effect is not None]


def by_name(found: list[Effect]) -> dict[str, list[Effect]]:
    grouped: dict[str, list[Effect]] = {}
    for effect in found:
        grouped.setdefault(effect.name, []).append(effect)
    return grouped


@pytest.fixture(scope="module")
def railway(shared_data: Path) -> list[Effect]:
    path = shared_data / "incidents" / "railway-volume-delete" / "railway-audit.json"
    return effects(prepared(path.read_bytes()))


@pytest.fixture(scope="module")
def stratus_events(shared_data: Path) -> list[Event]:
    folder = shared_data / "cloudtrail" / "stratus-red-team"
    return [event for path in sorted(folder.glob("*.json")) for event in prepared(path.read_bytes())]


def stratus_event(events: list[Event], name: str) -> Event:
    (event,) = [e for e in events if e.attributes.get("event_name") == name]
    return event


def fixture_events(folder: str, name: str, fmt: str = AUTO) -> list[Event]:
    return prepared((FIXTURES / folder / name).read_bytes(), fmt)


# --- Railway -------------------------------------------------------------------------------------


def test_railway_volume_delete(railway: list[Effect]) -> None:
    assert len(railway) == 6
    (volume,) = by_name(railway)["volumeDelete"]
    assert (volume.source, volume.native_id, volume.resource) == ("railway-audit", "al_0001", VOLUME)
    assert {VOLUME, *INSTANCES} <= volume.identifiers
    assert not {PROJECT, WORKSPACE, PRODUCTION, STAGING} & volume.identifiers
    assert "/var/lib/postgresql/data" not in volume.identifiers  # a mount path is no id
    assert (volume.credential, volume.user_agent, volume.environment) == (
        "tok_7e1d0c9b", "curl/8.5.0", PRODUCTION)
    assert volume.destructive and not volume.backup and volume.cause is None
    assert volume.cli_command is None


def test_railway_cascade_instances_and_backups(railway: list[Effect]) -> None:
    instances = by_name(railway)["volume_instance.deleted"]
    assert {i.resource for i in instances} == set(INSTANCES)
    assert {i.environment for i in instances} == {PRODUCTION, STAGING}
    backups = by_name(railway)["volume_instance_backup.deleted"]
    assert len(backups) == 3
    for effect in (*instances, *backups):
        assert effect.cause == "volume.deleted" and effect.destructive and effect.credential is None
    assert all(not i.backup and VOLUME in i.identifiers for i in instances)
    assert all(b.backup and b.resource and b.resource.startswith("bk_") for b in backups)
    assert all(INSTANCES[0] in b.identifiers for b in backups)  # the key the cascade links on


def test_railway_redaction_markers_are_identifiers() -> None:
    node = {"id": "al_0100", "eventType": "variable.deleted", "createdAt": "2026-04-24T08:40:00Z",
            "projectId": PROJECT, "environmentId": PRODUCTION,
            "payload": {"serviceId": "svc_0a1b2c3d4e", "name": "DATABASE_URL",
                        "value": "postgres://app:rw_AbCdEfGh1234567890@db:5432/app"},
            "context": {"actor": {"type": "user", "email": "dana@example.com"},
                        "operationName": "variableDelete"}}
    (effect,) = effects(prepared(json.dumps(node).encode(), "railway-audit"))
    assert effect.name == "variableDelete" and effect.destructive and not effect.backup
    assert effect.resource == "svc_0a1b2c3d4e" and effect.credential is None
    markers = {i for i in effect.identifiers if i.startswith("[REDACTED:")}
    assert markers and all(m.endswith("]") and len(m.rsplit(":", 1)[1]) == 9 for m in markers)


# --- CloudTrail: the Stratus Red Team detonations ------------------------------------------------


def test_every_stratus_call_has_an_effect(stratus_events: list[Event]) -> None:
    found = effects(stratus_events)
    assert len(found) == len(stratus_events) == 310
    for event, effect in zip(stratus_events, found, strict=True):
        assert (effect.event_id, effect.source) == (event.id, "cloudtrail")
        assert effect.native_id == event.native_id == event.raw["eventID"]
        assert effect.name == event.attributes["event_name"]


@pytest.mark.parametrize("name", STRATUS_DESTRUCTIVE)
def test_stratus_destructive_calls(stratus_events: list[Event], name: str) -> None:
    effect = effect_of(stratus_event(stratus_events, name))
    assert effect is not None and effect.destructive and not effect.backup


@pytest.mark.parametrize("name", STRATUS_FAILED_DESTRUCTIVE)
def test_stratus_refused_calls_destroyed_nothing(stratus_events: list[Event], name: str) -> None:
    event = stratus_event(stratus_events, name)
    assert event.is_error
    failed = effect_of(event)
    assert failed is not None and not failed.destructive  # AWS refused it: it did not happen
    succeeded = effect_of(dataclasses.replace(event, is_error=False))
    assert succeeded is not None and succeeded.destructive  # the operation itself is destructive


def test_stratus_reads_are_not_destructive(stratus_events: list[Event]) -> None:
    reads = [e for e in stratus_events if e.attributes.get("read_only") is True
             or str(e.attributes.get("event_name")).startswith(READ_PREFIXES)]
    assert len(reads) > 200
    assert not any(effect.destructive for effect in effects(reads))


def test_stratus_benign_writes_are_not_destructive(stratus_events: list[Event]) -> None:
    for name in ("TerminateSession", "CreateUser", "StartInstances", "SendCommand", "AttachRolePolicy"):
        effect = effect_of(next(e for e in stratus_events if e.attributes.get("event_name") == name))
        assert effect is not None and not effect.destructive, name


def test_stratus_delete_trail_fields(stratus_events: list[Event]) -> None:
    effect = effect_of(stratus_event(stratus_events, "DeleteTrail"))
    assert effect is not None
    assert effect.resource == "stratus-red-team-cloudtraild-trail-kvrwohmiai"
    assert effect.environment == "847129010505/megov-westwest-1r"
    assert effect.credential is not None and effect.credential.startswith("[REDACTED:aws-access-key:")
    assert effect.credential in effect.identifiers  # the same key used in a command correlates
    assert "847129010505" not in effect.identifiers  # the account is scope, not a resource
    assert effect.cause is None and effect.user_agent is not None


def test_stratus_resources_of_nested_requests(stratus_events: list[Event]) -> None:
    stop = effect_of(stratus_event(stratus_events, "StopInstances"))
    assert stop is not None and stop.resource == "i-DDd6c7B0e18F0E35f"
    assert not {"stopping", "running"} & stop.identifiers  # states, not resources
    flow = effect_of(stratus_event(stratus_events, "DeleteFlowLogs"))
    assert flow is not None and flow.resource == "fl-0e17aa62a21d4bbfe"  # {"content": ..., "tag": 1}
    logs = effect_of(stratus_event(stratus_events, "DeleteResolverQueryLogConfig"))
    assert logs is not None and logs.resource == "rqlc-4473f20ca554c07"
    assert "arn:aws:s3:::stratus-red-team-dns-delete-bucket-bxxclslsdp" in logs.identifiers
    assert not {"DELETING", "NOT_SHARED", "0"} & logs.identifiers
    share = effect_of(stratus_event(stratus_events, "ModifySnapshotAttribute"))
    assert share is not None and share.resource == "snap-041993b54a9b3af6f"
    assert "CREATE_VOLUME_PERMISSION" not in share.identifiers


# --- CloudTrail: the written fixtures ----------------------------------------------------------


def test_rds_delete_with_automated_backups() -> None:
    found = by_name(effects(fixture_events("cloudtrail", "s3-delivery.json")))
    (rds,) = found["DeleteDBInstance"]
    assert (rds.resource, rds.cli_command) == ("prod-orders-db", "rds.delete-db-instance")
    assert rds.destructive and rds.backup and rds.environment == "111122223333/eu-west-1"
    assert {"prod-orders-db", "arn:aws:rds:eu-west-1:111122223333:db:prod-orders-db",
            "prod-orders-db.c9akciq32.eu-west-1.rds.amazonaws.com"} <= rds.identifiers
    # What the instance depended on is shared with other resources: no cascade key.
    assert not {"sg-0a1b2c3d4e5f60718", "vpc-0f1e2d3c4b5a69788", "default.postgres16",
                "Z29XKXDKYMONMX", "111122223333"} & rds.identifiers
    assert "RotateKey" not in found  # an AwsServiceEvent: AWS acting on its own, no call


def test_rds_delete_keeping_automated_backups_destroys_no_backup() -> None:
    event = next(e for e in fixture_events("cloudtrail", "s3-delivery.json")
                 if e.attributes.get("event_name") == "DeleteDBInstance")
    kept = dataclasses.replace(event, tool_input={**event.tool_input, "deleteAutomatedBackups": False})
    effect = effect_of(kept)
    assert effect is not None and effect.destructive and not effect.backup


def test_eventbridge_envelopes_and_service_cascades() -> None:
    events = fixture_events("cloudtrail", "eventbridge.ndjson")
    found = by_name(effects(events))
    assert set(found) == {"StopInstances", "DeleteBucket"}  # the state change is no call
    (bucket,) = found["DeleteBucket"]
    assert not bucket.destructive and bucket.cli_command == "s3api.delete-bucket"  # denied
    stop = next(e for e in events if e.attributes.get("event_name") == "StopInstances")
    by_service = dataclasses.replace(stop, attributes={**stop.attributes, "invoked_by":
                                                       "autoscaling.amazonaws.com"})
    effect = effect_of(by_service)
    assert effect is not None and effect.cause == "autoscaling.amazonaws.com"


def test_cloudtrail_backup_deletions() -> None:
    event = next(e for e in fixture_events("cloudtrail", "records.ndjson")
                 if e.attributes.get("event_name") == "StopInstances")
    for name in ("DeleteDBSnapshot", "DeleteDBClusterSnapshot", "DeleteSnapshot", "DeleteBackup",
                 "DeleteRecoveryPoint", "DeleteDBInstanceAutomatedBackup"):
        effect = effect_of(dataclasses.replace(event, attributes={**event.attributes, "event_name": name}))
        assert effect is not None and effect.destructive and effect.backup, name


def test_bucket_lifecycle_expiring_objects_is_destructive() -> None:
    event = next(e for e in fixture_events("cloudtrail", "records.ndjson")
                 if e.attributes.get("event_name") == "ListBuckets")
    attributes = {**event.attributes, "event_name": "PutBucketLifecycle", "read_only": False}
    expiring = {"bucketName": "backups", "LifecycleConfiguration": {
        "Rule": {"ID": "purge", "Status": "Enabled", "Expiration": {"Days": 1}}}}
    moving = {"bucketName": "backups", "LifecycleConfiguration": {
        "Rule": [{"ID": "cold", "Transition": {"Days": 30, "StorageClass": "GLACIER"}}]}}
    for request, destroys in ((expiring, True), (moving, False)):
        effect = effect_of(dataclasses.replace(event, attributes=attributes, tool_input=request))
        assert effect is not None and effect.destructive is destroys
        assert effect.resource == "backups"


# --- GCP audit ---------------------------------------------------------------------------------


def test_gcp_delete_and_reads() -> None:
    events = [*fixture_events("gcp-audit", "entries.ndjson"),
              *fixture_events("gcp-audit", "list-response.json")]
    found = by_name(effects(events))
    assert "compute.instances.migrateOnHostMaintenance" not in found  # System Event: Google's own
    first, last = found["v1.compute.instances.delete"]  # a long-running operation's two entries
    for effect in (first, last):
        assert effect.destructive and not effect.backup
        assert effect.resource == "projects/acme-prod/zones/europe-west1-b/instances/orders-db-0"
        assert "orders-db-0" in effect.identifiers and "acme-prod" not in effect.identifiers
        assert (effect.environment, effect.cli_command) == ("acme-prod", "gcloud.compute.instances.delete")
        assert effect.credential == "deploy-agent@acme-staging.iam.gserviceaccount.com"
        assert effect.native_id.startswith("projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity#")
    (bucket,) = found["storage.buckets.delete"]
    assert bucket.destructive and "acme-prod-backups" in bucket.identifiers
    (denied,) = found["v1.compute.disks.delete"]
    assert not denied.destructive  # status 7: PERMISSION_DENIED
    for read in ("storage.objects.get", "google.cloud.secretmanager.v1.SecretManagerService."
                 "AccessSecretVersion", "SetIamPolicy"):
        assert not any(effect.destructive for effect in found[read]), read


def test_gcp_snapshot_delete_destroys_a_backup() -> None:
    entry = json.loads((FIXTURES / "gcp-audit" / "entries.ndjson").read_text().splitlines()[2])
    entry["protoPayload"]["methodName"] = "v1.compute.snapshots.delete"
    entry["protoPayload"]["resourceName"] = "projects/acme-prod/global/snapshots/orders-db-0-nightly"
    (effect,) = effects(prepared(json.dumps(entry).encode(), "gcp-audit"))
    assert effect.destructive and effect.backup and effect.resource is not None
    assert "orders-db-0-nightly" in effect.identifiers


# --- Kubernetes audit --------------------------------------------------------------------------


def k8s_lines(name: str) -> list[dict[str, Any]]:
    text = (FIXTURES / "kubernetes" / name).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def k8s_effect(record: dict[str, Any]) -> Effect | None:
    (event,) = prepared(json.dumps(record).encode(), "kubernetes-audit")
    return effect_of(event)


def test_k8s_delete_namespace() -> None:
    (record,) = k8s_lines("kubectl-delete-namespace.ndjson")
    effect = k8s_effect(record)
    assert effect is not None and effect.destructive and not effect.backup
    assert (effect.name, effect.resource, effect.environment) == ("delete", "namespaces/prod", "prod")
    assert (effect.native_id, effect.credential) == (record["auditID"], "kubernetes-admin")
    assert {"prod", "namespaces/prod"} <= effect.identifiers
    assert effect.user_agent is not None and effect.user_agent.startswith("kubectl/")


def test_k8s_helm_uninstall_deletes_but_lists_nothing() -> None:
    found = by_name([e for r in k8s_lines("helm-uninstall.ndjson") if (e := k8s_effect(r))])
    assert not found["list"][0].destructive and found["list"][0].resource == "prod/secrets"
    deletes = found["delete"]
    assert len(deletes) == 4 and all(d.destructive for d in deletes)
    assert "prod/services/pocket" in {d.resource for d in deletes}
    assert {"pocket", "prod/pocket", "services/pocket"} <= deletes[0].identifiers


def test_k8s_stages_and_refusals() -> None:
    received, complete = k8s_lines("get-stages.ndjson")
    assert k8s_effect(received) is None  # not the final stage: the call is counted once
    get = k8s_effect(complete)
    assert get is not None and get.name == "get" and not get.destructive
    (forbidden,) = k8s_lines("forbidden.ndjson")
    refused = k8s_effect(forbidden)
    assert refused is not None and refused.name == "delete" and not refused.destructive  # 403


def test_k8s_garbage_collector_cascade_and_snapshots() -> None:
    (record,) = k8s_lines("kubectl-delete-namespace.ndjson")
    pvc = copy.deepcopy(record)
    pvc["user"] = {"username": "system:serviceaccount:kube-system:generic-garbage-collector"}
    pvc["objectRef"] = {"resource": "persistentvolumeclaims", "namespace": "production",
                        "name": "data-pg-0", "apiVersion": "v1"}
    effect = k8s_effect(pvc)
    assert effect is not None and effect.cause == "garbage-collector" and effect.destructive
    assert (effect.resource, effect.environment) == ("production/persistentvolumeclaims/data-pg-0",
                                                     "production")
    snapshot = copy.deepcopy(pvc)
    snapshot["objectRef"] = {"resource": "volumesnapshots", "namespace": "production",
                             "name": "data-pg-0-nightly", "apiGroup": "snapshot.storage.k8s.io"}
    backup = k8s_effect(snapshot)
    assert backup is not None and backup.backup and backup.destructive


# --- pgAudit -----------------------------------------------------------------------------------


def test_pgaudit_drop_delete_truncate_versus_reads() -> None:
    events = fixture_events("pgaudit", "postgres-stderr.log", "pgaudit")
    found = by_name(effects(events))
    assert len(effects(events)) == 6  # the AUDIT entries; server lines are no effects
    (drop,) = found["DROP TABLE"]
    assert drop.destructive and drop.resource == "public.bookings"
    assert {"public.bookings", "bookings"} <= drop.identifiers
    assert (drop.credential, drop.environment, drop.source) == ("pocket", "pocket", "pgaudit")
    (delete,) = found["DELETE"]
    assert delete.destructive and delete.resource == "sessions"  # from the statement
    assert found["TRUNCATE TABLE"][0].destructive
    for name in ("SELECT", "CREATE TABLE", "UPDATE"):
        assert not found[name][0].destructive, name


def test_pgaudit_csvlog() -> None:
    found = effects(fixture_events("pgaudit", "pgaudit-analyze-excerpt.csv", "pgaudit"))
    assert found and all(effect.source == "pgaudit" for effect in found)
    (drop,) = by_name(found)["DROP TABLE"]
    assert (drop.resource, drop.credential, drop.user_agent) == ("test", "user1", "psql")
    assert all(effect.destructive == effect.name.startswith(("DROP ", "DELETE", "TRUNCATE"))
               for effect in found)


# --- not cloud records ------------------------------------------------------------------------


def test_agent_events_have_no_effect(shared_data: Path) -> None:
    path = shared_data / "incidents" / "railway-volume-delete" / "transcript.jsonl"
    events = prepared(path.read_bytes())
    assert events and {e.source for e in events} == {"claude-code"}
    assert effects(events) == []


def test_huge_responses_are_walked_only_partly(stratus_events: list[Event]) -> None:
    event = stratus_event(stratus_events, "DeleteTrail")
    items = [{"volumeId": f"vol-{n:017x}"} for n in range(50_000)]
    raw = {**event.raw, "responseElements": {"volumeSet": {"items": items}}}
    effect = effect_of(dataclasses.replace(event, raw=raw))
    assert effect is not None and 0 < len(effect.identifiers) < 250


# --- robustness --------------------------------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
_KEYS = st.sampled_from([
    "event_type", "operation_name", "environment_id", "cause", "token_id", "user_agent",
    "cli_command", "event_name", "read_only", "access_key_id", "invoked_by", "aws_region",
    "recipient_account_id", "method_name", "resource_name", "project_id", "principal_email",
    "verb", "resource", "namespace", "name", "username", "audit_id", "command", "object_name",
    "database", "user", "response_elements",
]) | st.text(max_size=12)
_SOURCES = st.sampled_from(["railway-audit", "cloudtrail", "gcp-audit", "kubernetes-audit", "pgaudit",
                            "claude-code"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_SOURCES, kind=st.sampled_from(list(EventKind)), attributes=st.dictionaries(_KEYS, _JSON),
       tool_input=_JSON, raw=_JSON, tool_name=st.none() | st.text(max_size=30),
       is_error=st.none() | st.booleans())
def test_effect_of_never_raises(source: str, kind: EventKind, attributes: dict[str, Any],
                                tool_input: Any, raw: Any, tool_name: str | None,
                                is_error: bool | None) -> None:
    event = Event.create(source=source, native_id="n-1", stream="s", kind=kind, time=RECEIVED,
                         received_at=RECEIVED, attributes=attributes, tool_input=tool_input, raw=raw,
                         tool_name=tool_name, is_error=is_error)
    effect = effect_of(event)
    if effect is None:
        assert kind != EventKind.CLOUD_CALL or source == "claude-code"
    else:
        assert effect.event_id == event.id and isinstance(effect.name, str)
        assert all(isinstance(i, str) and len(i) >= 3 for i in effect.identifiers)
        assert not (effect.destructive and is_error)
