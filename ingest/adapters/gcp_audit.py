"""Google Cloud Audit Logs: Cloud Logging ``LogEntry`` objects whose ``protoPayload`` is an
``AuditLog`` (``@type`` ``type.googleapis.com/google.cloud.audit.AuditLog``).

Input shapes: NDJSON (log sinks to Cloud Storage, ``gcloud logging read --format=json`` piped
through ``jq -c``), a JSON array (``gcloud logging read --format=json``), or the Logging API's
``entries.list`` response ``{"entries": [...], "nextPageToken": ...}``.

Mapping (one event per entry):

- ``stream`` = ``gcp:<project id>``: the project that owns the log (``logName`` =
  ``projects/<p>/logs/...``), else ``resource.labels.project_id``; entries of organization,
  folder or billing-account logs get ``gcp:organizations/<id>`` etc. ``session_id`` stays None
  (an audit entry names no agent session).
- ``native_id`` = ``<logName>#<insertId>``: ``insertId`` is only unique within one log, and
  ``#`` can not occur in a log name (its log id is URL-encoded), so the pair is unambiguous.
- ``tool_name`` = ``<serviceName>:<methodName>``, e.g.
  ``compute.googleapis.com:v1.compute.instances.delete`` or
  ``cloudresourcemanager.googleapis.com:SetIamPolicy`` — methodName alone is ambiguous across
  services (``SetIamPolicy``).
- ``kind`` = cloud_call for the Admin Activity, Data Access and Policy Denied logs (calls a
  principal made, allowed or not); other for System Event entries (Google's own actions, e.g.
  live migration) and for log entries that carry no AuditLog.
- ``actor`` = ``authenticationInfo.principalEmail``, else ``principalSubject`` (workload
  identity); ``tool_input`` = ``protoPayload.request``; ``is_error`` = ``status.code`` is set and
  not 0 (OK); ``time`` = ``timestamp``, else ``receiveTimestamp``.
- ``attributes``: the correlation fields of ``_ATTRIBUTES`` under snake_case names, the log's
  type (``audit_log``: activity / data_access / system_event / policy), ``resource_label_<key>``
  per resource label, the gcloud command (``cli_command`` from ``command/gcloud.…`` in the user
  agent), the IAM ``permissions`` checked, ``read_only`` when every checked permission is a
  ``*_READ`` one (mirrors CloudTrail's readOnly), the impersonation ``delegation_chain``, the gRPC
  ``status_name``, and ``response`` when it encodes to at most ``fields.SMALL_VALUE_BYTES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, TypeVar
from urllib.parse import unquote

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import JsonDoc, cli_command, is_small, listed, lists_records, record_of
from ingest.envelope import JSON, Event, EventKind, parse_time, type_name
from ingest.errors import RecordError

_T = TypeVar("_T", str, bool, int)

SOURCE = "gcp-audit"
AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
# Entries naming no project at all (hand-made or truncated exports) still need a stream.
NO_PROJECT_STREAM = "gcp:unknown-project"

_AUDIT_LOG_PREFIX = "cloudaudit.googleapis.com/"
_NOT_CALLS = frozenset({"system_event"})  # Google's own actions, not a principal's call
_CLI_COMMAND = re.compile(r"(?:^|\s)command/(gcloud[\w.-]*)")
_TEXT_MESSAGE_CHARS = 200  # the status message in the one-line summary; the full one is kept
# google.rpc.Code: what ``status.code`` means.
_STATUS_NAMES = (
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
)

# (dotted path in the entry, attribute name, expected JSON type)
_ATTRIBUTES: tuple[tuple[str, str, type[str] | type[bool] | type[int]], ...] = (
    ("insertId", "insert_id", str),
    ("logName", "log_name", str),
    ("severity", "severity", str),
    ("resource.type", "resource_type", str),
    ("operation.id", "operation_id", str),
    ("operation.producer", "operation_producer", str),
    ("operation.first", "operation_first", bool),
    ("operation.last", "operation_last", bool),
    ("protoPayload.serviceName", "service_name", str),
    ("protoPayload.methodName", "method_name", str),
    ("protoPayload.resourceName", "resource_name", str),
    ("protoPayload.authenticationInfo.principalEmail", "principal_email", str),
    ("protoPayload.authenticationInfo.principalSubject", "principal_subject", str),
    ("protoPayload.authenticationInfo.serviceAccountKeyName", "service_account_key_name", str),
    ("protoPayload.requestMetadata.callerIp", "caller_ip", str),
    ("protoPayload.requestMetadata.callerSuppliedUserAgent", "caller_supplied_user_agent", str),
    ("protoPayload.status.code", "status_code", int),
    ("protoPayload.status.message", "status_message", str),
)


class GcpAuditAdapter:
    name: ClassVar[str] = "gcp-audit"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return listed(document, "entries", _is_entry)

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping):
            return False
        if _is_entry(record):
            return True
        return lists_records(record, "entries", _is_entry)  # an entries.list response

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        record = record_of(record)
        if "entries" in record and "insertId" not in record:
            # unwrap takes a list response apart only at the top level of the input.
            raise RecordError("an entries.list response inside an array: send each on its own",
                              field="entries")
        return [_entry(JsonDoc(record), ctx)]


def _is_entry(value: JSON) -> bool:
    """An audit LogEntry: a log name and an AuditLog payload (other entries are no audit log)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("logName"), str):
        return False
    payload = value.get("protoPayload")
    return isinstance(payload, Mapping) and payload.get("@type") == AUDIT_LOG_TYPE


# --- mapping ----------------------------------------------------------------------------------


def _entry(doc: JsonDoc, ctx: AdapterContext) -> Event:
    log_name = doc.required("logName")
    native_id = f"{log_name}#{doc.required('insertId')}"
    time = _time(doc)
    audit = _is_entry(doc.record)
    attributes = _attributes(doc, log_name, audit)
    tool_name = _tool_name(doc) if audit else None
    actor = _actor(attributes)
    return Event.create(
        source=SOURCE,
        native_id=native_id,
        stream=_stream(doc, log_name),
        kind=_kind(attributes, audit),
        time=time,
        received_at=ctx.received_at,
        actor=actor,
        text=_summary(actor, tool_name, attributes) if audit else _plain_text(doc),
        tool_name=tool_name,
        tool_input=doc.record["protoPayload"].get("request") if audit else None,
        is_error=_is_error(attributes) if audit else None,
        attributes=attributes,
        raw=doc.record,
    )


def _time(doc: JsonDoc) -> datetime:
    for key in ("timestamp", "receiveTimestamp"):
        if doc.record.get(key) is not None:
            return parse_time(doc.record[key], field_name=key)
    raise RecordError("missing", field="timestamp")


def _tool_name(doc: JsonDoc) -> str:
    service = doc.required("protoPayload.serviceName")
    return f"{service}:{doc.required('protoPayload.methodName')}"


def _attributes(doc: JsonDoc, log_name: str, audit: bool) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {}
    for path, name, kind in _ATTRIBUTES:
        value = doc.lookup(path, kind)
        if value is not None:
            attributes[name] = value
    log_id = _log_id(log_name)
    if log_id.startswith(_AUDIT_LOG_PREFIX):
        attributes["audit_log"] = log_id.removeprefix(_AUDIT_LOG_PREFIX)
    project = _project(doc, log_name)
    if project:
        attributes["project_id"] = project
    attributes.update(_resource_labels(doc))
    if audit:
        attributes.update(_payload_extras(doc, attributes))
    return attributes


def _payload_extras(doc: JsonDoc, attributes: Mapping[str, JSON]) -> dict[str, JSON]:
    """What needs more than a lookup: parsed command, permissions, delegation, status name."""
    extras: dict[str, JSON] = {}
    command = cli_command(_CLI_COMMAND, attributes.get("caller_supplied_user_agent"))
    if command:
        extras["cli_command"] = command
    extras.update(_authorization(doc))
    chain = _delegation_chain(doc)
    if chain:
        extras["delegation_chain"] = chain
    code = attributes.get("status_code")
    if isinstance(code, int) and 0 <= code < len(_STATUS_NAMES):
        extras["status_name"] = _STATUS_NAMES[code]
    response = doc.record["protoPayload"].get("response")
    if response is not None and is_small(response):
        extras["response"] = response
    return extras


def _authorization(doc: JsonDoc) -> dict[str, JSON]:
    """The IAM permissions checked, and whether they were all reads."""
    permissions: list[JSON] = []
    types: list[str] = []
    path = "protoPayload.authorizationInfo"
    for index, item in enumerate(doc.items(path)):
        item_doc = JsonDoc(item)
        permission = _at(item_doc, "permission", str, f"{path}[{index}]")
        if permission and permission not in permissions:
            permissions.append(permission)
        permission_type = _at(item_doc, "permissionType", str, f"{path}[{index}]")
        if permission_type:
            types.append(permission_type)
    found: dict[str, JSON] = {"permissions": permissions} if permissions else {}
    if types:
        found["read_only"] = all(kind.endswith("_READ") for kind in types)
    return found


def _delegation_chain(doc: JsonDoc) -> list[JSON]:
    """Who the caller acted through (service account impersonation), first hop first."""
    path = "protoPayload.authenticationInfo.serviceAccountDelegationInfo"
    chain: list[JSON] = []
    for index, item in enumerate(doc.items(path)):
        where = f"{path}[{index}]"
        principal = (_at(JsonDoc(item), "firstPartyPrincipal.principalEmail", str, where)
                     or _at(JsonDoc(item), "principalSubject", str, where))
        if principal:
            chain.append(principal)
    return chain


def _resource_labels(doc: JsonDoc) -> dict[str, JSON]:
    labels = doc.lookup("resource.labels", Mapping)
    if not isinstance(labels, Mapping):
        return {}
    found: dict[str, JSON] = {}
    for key, value in labels.items():
        if not isinstance(value, str):  # labels are a map of strings in LogEntry
            raise RecordError(f"expected a string, got {type_name(value)}",
                              field=f"resource.labels.{key}")
        found[f"resource_label_{key}"] = value
    return found


def _project(doc: JsonDoc, log_name: str) -> str | None:
    parent = _log_parent(log_name)
    if parent and parent.startswith("projects/"):
        return parent.removeprefix("projects/")
    return doc.get("resource.labels.project_id", str) or None


def _stream(doc: JsonDoc, log_name: str) -> str:
    owner = _project(doc, log_name) or _log_parent(log_name)
    return f"gcp:{owner}" if owner else NO_PROJECT_STREAM


def _log_parent(log_name: str) -> str | None:
    """``projects/p`` (or ``organizations/o``...) from ``<parent>/logs/<log id>``."""
    parent, sep, _ = log_name.partition("/logs/")
    return parent if sep and parent.count("/") == 1 and not parent.endswith("/") else None


def _log_id(log_name: str) -> str:
    """``cloudaudit.googleapis.com/activity`` from ``.../logs/cloudaudit.googleapis.com%2Factivity``."""
    _, sep, log_id = log_name.partition("/logs/")
    return unquote(log_id) if sep else ""


def _kind(attributes: Mapping[str, JSON], audit: bool) -> EventKind:
    if not audit or attributes.get("audit_log") in _NOT_CALLS:
        return EventKind.OTHER
    return EventKind.CLOUD_CALL


def _actor(attributes: Mapping[str, JSON]) -> str | None:
    actor = attributes.get("principal_email") or attributes.get("principal_subject")
    return actor if isinstance(actor, str) else None


def _is_error(attributes: Mapping[str, JSON]) -> bool:
    code = attributes.get("status_code")
    return isinstance(code, int) and code != 0  # absent or 0 is OK (proto3 omits zeros)


def _summary(actor: str | None, tool_name: str | None, attributes: Mapping[str, JSON]) -> str:
    """One line: who called what on which resource, and how it failed."""
    text = f"{actor or 'unknown principal'} called {tool_name}"
    if isinstance(attributes.get("resource_name"), str):
        text += f" on {attributes['resource_name']}"
    if _is_error(attributes):
        status = attributes.get("status_name", attributes.get("status_code"))
        message = attributes.get("status_message")
        detail = f"{status}: {message}" if message and message != status else str(status)
        text += f" -- failed: {detail[:_TEXT_MESSAGE_CHARS]}"
    return " ".join(text.split())  # one line, whatever the message held


def _plain_text(doc: JsonDoc) -> str | None:
    """A non-audit entry (forced into this format): its text payload, if it has one."""
    text = doc.record.get("textPayload")
    return text if isinstance(text, str) else None


# --- small helpers ----------------------------------------------------------------------------


def _at(doc: JsonDoc, path: str, kind: type[_T], where: str) -> _T | None:
    """``doc.get`` for an item of a list: errors name the item's full path."""
    try:
        return doc.get(path, kind)
    except RecordError as error:
        raise RecordError(error.reason, field=f"{where}.{error.field}") from None
