"""Kubernetes API server audit logs: ``audit.k8s.io/v1`` (and ``v1beta1``) ``Event`` records.

The log backend writes one Event per line (NDJSON); the webhook backend posts an ``EventList``
whose ``items`` are Events (items inside a list usually omit ``kind`` / ``apiVersion``).

Stages. One request is audited at up to four stages that share its ``auditID``: RequestReceived
(before the handler ran), ResponseStarted (long-running requests such as ``watch``, once the
headers are out), then ResponseComplete or Panic. Every stage record becomes its own event with
native id ``<auditID>/<stage>``: nothing is dropped, re-ingesting a file appends nothing, and the
same stage delivered twice (log and webhook backend) is one event. Only the stage that carries the
outcome — ResponseComplete or Panic — is the ``cloud_call``; earlier stages are ``other`` events
with the same ``call_id`` (the auditID), operation and attributes. So a request counts once as a
call however many stages the audit policy logs, and its received-time context stays beside it. A
request whose final stage was never logged (``omitStages``, a crashed server) still lands, as
``other``.

The API server writes no cluster name: the stream is ``k8s:<cluster>`` from the ``cluster``
param (``blackbox ingest --param cluster=prod``), else a cluster annotation some shippers add,
else ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import copy_str, mapping, opt_int, opt_str, opt_str_list, put, required_str
from ingest.envelope import JSON, Event, EventKind, parse_time, type_name
from ingest.errors import RecordError

SOURCE = "kubernetes-audit"
_API_GROUP = "audit.k8s.io/"
_FINAL_STAGES = frozenset({"ResponseComplete", "Panic"})
# Annotation keys shippers use for the cluster name, e.g. ``example.com/cluster-name``.
_CLUSTER_ANNOTATION = re.compile(r"(?:^|/)cluster(?:[-_]?name)?$")
_DECISION = "authorization.k8s.io/decision"
_REASON = "authorization.k8s.io/reason"

_OBJECT_ATTRIBUTES = (
    ("resource", "resource"), ("subresource", "subresource"), ("namespace", "namespace"),
    ("name", "name"), ("apiGroup", "api_group"), ("apiVersion", "api_version"),
)
_STATUS_ATTRIBUTES = (("status", "response_status"), ("reason", "response_reason"))
_REQUEST_INPUT = ("requestURI", "objectRef", "requestObject")


@dataclass(frozen=True)
class _Request:
    """The validated parts of one audit Event that the event is built from."""

    record: Mapping[str, JSON]
    audit_id: str
    stage: str
    verb: str
    username: str | None
    object_ref: Mapping[str, JSON]
    status: Mapping[str, JSON]
    annotations: Mapping[str, JSON]


class KubernetesAuditAdapter:
    name: ClassVar[str] = "kubernetes-audit"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        items = document.get("items")
        return items if _is_event_list(document) and isinstance(items, list) else None

    def accepts(self, record: JSON) -> bool:
        return _is_event_list(record) or _is_audit_event(record)

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        if not isinstance(record, Mapping):
            raise RecordError(f"expected an audit Event object, got {type_name(record)}")
        if _is_event_list(record):  # unwrap hands over the items unless they are no list
            raise RecordError(f"expected a list, got {type_name(record.get('items'))}",
                              field="items")
        return [_event(_request(record), ctx)]


# --- recognising the format -------------------------------------------------------------------


def _is_event_list(record: JSON) -> bool:
    return (isinstance(record, Mapping) and record.get("kind") == "EventList"
            and _is_audit_api(record.get("apiVersion")))


def _is_audit_event(record: JSON) -> bool:
    if not isinstance(record, Mapping):
        return False
    if "kind" in record or "apiVersion" in record:
        return record.get("kind") == "Event" and _is_audit_api(record.get("apiVersion"))
    # EventList items: no type meta, but auditID and stage are found in no other format.
    return (isinstance(record.get("auditID"), str) and isinstance(record.get("stage"), str)
            and isinstance(record.get("verb"), str))


def _is_audit_api(value: JSON) -> bool:
    return isinstance(value, str) and value.startswith(_API_GROUP)


# --- validation -------------------------------------------------------------------------------


def _request(record: Mapping[str, JSON]) -> _Request:
    user = mapping(record, "user", "user")
    return _Request(
        record=record,
        audit_id=required_str(record, "auditID", "auditID"),
        stage=required_str(record, "stage", "stage"),
        verb=required_str(record, "verb", "verb"),
        username=opt_str(user, "username", "user.username"),
        object_ref=mapping(record, "objectRef", "objectRef"),
        status=mapping(record, "responseStatus", "responseStatus"),
        annotations=mapping(record, "annotations", "annotations"),
    )


def _time(record: Mapping[str, JSON]) -> datetime:
    for key in ("stageTimestamp", "requestReceivedTimestamp"):
        if record.get(key) is not None:
            return parse_time(record[key], field_name=key)
    raise RecordError("is required (or requestReceivedTimestamp)", field="stageTimestamp")


def _is_error(request: _Request) -> bool | None:
    """From the HTTP status code; a Panic is always an error; unknown before the response."""
    if request.stage == "Panic":
        return True
    code = opt_int(request.status, "code", "responseStatus.code")
    if code is not None:
        return code >= 400
    status = opt_str(request.status, "status", "responseStatus.status")
    return None if status is None else status != "Success"


# --- building the event -----------------------------------------------------------------------


def _event(request: _Request, ctx: AdapterContext) -> Event:
    cluster = _cluster(request, ctx)
    operation = _operation(request)
    final = request.stage in _FINAL_STAGES
    return Event.create(
        source=SOURCE,
        native_id=f"{request.audit_id}/{request.stage}",
        stream=f"k8s:{cluster}",
        kind=EventKind.CLOUD_CALL if final else EventKind.OTHER,
        time=_time(request.record),
        received_at=ctx.received_at,
        actor=request.username,
        text=_summary(request, operation),
        tool_name=operation,
        call_id=request.audit_id,
        tool_input={key: request.record[key] for key in _REQUEST_INPUT if key in request.record},
        is_error=_is_error(request),
        attributes=_attributes(request, cluster),
        raw=request.record,
    )


def _cluster(request: _Request, ctx: AdapterContext) -> str:
    given = ctx.params.get("cluster")
    if given:
        return given
    annotated = (value for key, value in request.annotations.items()
                 if isinstance(key, str) and _CLUSTER_ANNOTATION.search(key)
                 and isinstance(value, str) and value)
    return next(annotated, "default")


def _operation(request: _Request) -> str:
    """``delete pods``, ``create pods/exec``; non-resource requests: ``get /healthz``."""
    resource = opt_str(request.object_ref, "resource", "objectRef.resource")
    if resource:
        sub = opt_str(request.object_ref, "subresource", "objectRef.subresource")
        return f"{request.verb} {resource}/{sub}" if sub else f"{request.verb} {resource}"
    uri = opt_str(request.record, "requestURI", "requestURI")
    return f"{request.verb} {uri.partition('?')[0]}" if uri else request.verb


def _summary(request: _Request, operation: str) -> str:
    """One line: who, what, on which object, with what outcome."""
    impersonated = _impersonated(request.record)
    who = (request.username or "?") + (f" as {impersonated}" if impersonated else "")
    code = opt_int(request.status, "code", "responseStatus.code")
    reason = opt_str(request.status, "reason", "responseStatus.reason")
    outcome = f" -> {code}" if code is not None else ""
    outcome += f" {reason}" if reason else ""
    stage = "" if request.stage == "ResponseComplete" else f" [{request.stage}]"
    return f"{who} {operation}{_target(request.object_ref)}{outcome}{stage}"


def _target(ref: Mapping[str, JSON]) -> str:
    name = opt_str(ref, "name", "objectRef.name")
    namespace = opt_str(ref, "namespace", "objectRef.namespace")
    if name:
        return f" {namespace}/{name}" if namespace else f" {name}"
    return f" in {namespace}" if namespace else ""


def _impersonated(record: Mapping[str, JSON]) -> str | None:
    return opt_str(mapping(record, "impersonatedUser", "impersonatedUser"), "username",
                   "impersonatedUser.username")


def _attributes(request: _Request, cluster: str) -> dict[str, JSON]:
    record = request.record
    user = mapping(record, "user", "user")
    attributes: dict[str, JSON] = {
        "audit_id": request.audit_id, "stage": request.stage, "verb": request.verb,
        "cluster": cluster,
    }
    put(attributes, "level", opt_str(record, "level", "level"))
    put(attributes, "request_uri", opt_str(record, "requestURI", "requestURI"))
    put(attributes, "user_agent", opt_str(record, "userAgent", "userAgent"))
    put(attributes, "source_ips", opt_str_list(record, "sourceIPs", "sourceIPs"))
    put(attributes, "request_received_at", opt_str(record, "requestReceivedTimestamp",
                                                   "requestReceivedTimestamp"))
    put(attributes, "username", request.username)
    put(attributes, "user_groups", opt_str_list(user, "groups", "user.groups"))
    _impersonation_attributes(record, attributes)
    copy_str(request.object_ref, _OBJECT_ATTRIBUTES, "objectRef", attributes)
    put(attributes, "response_code", opt_int(request.status, "code", "responseStatus.code"))
    copy_str(request.status, _STATUS_ATTRIBUTES, "responseStatus", attributes)
    put(attributes, "authorization_decision", _annotation(request, _DECISION))
    put(attributes, "authorization_reason", _annotation(request, _REASON))
    return attributes


def _impersonation_attributes(record: Mapping[str, JSON], attributes: dict[str, JSON]) -> None:
    impersonated = mapping(record, "impersonatedUser", "impersonatedUser")
    put(attributes, "impersonated_user", _impersonated(record))
    put(attributes, "impersonated_groups",
        opt_str_list(impersonated, "groups", "impersonatedUser.groups"))


def _annotation(request: _Request, key: str) -> str | None:
    return opt_str(request.annotations, key, f"annotations.{key}")
