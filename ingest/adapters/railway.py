"""Railway audit logs: nodes of the ``auditLogs(workspaceId, filter)`` GraphQL query.

Accepted shapes: a response page ``{"data": {"auditLogs": {"edges": [{"node": {...}}],
"pageInfo": ...}}}`` (unwrapped into its nodes), the bare connection ``{"auditLogs": ...}``, a
list of nodes or edges, or NDJSON of them. A node is ``{id, eventType, createdAt, projectId,
environmentId, workspaceId, payload, context}``.

Every node is a ``cloud_call``: each records an action Railway performed, including the cascade
it triggered (``volumeDelete`` deletes every volume instance and backup; those nodes name the
``system`` actor and carry ``context.cause``). Railway keeps no status on a node — it logs what
happened — so ``is_error`` is False unless the event type itself says the action failed.
Volumes are project-wide with one instance per environment, so a node's ``environmentId`` is
where that instance lived; the payload ids (volume, instance, backup) are copied into attributes
for correlation with the agent's calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import mapping, opt_str, put, required_str
from ingest.envelope import JSON, Event, EventKind, parse_time, type_name
from ingest.errors import RecordError

SOURCE = "railway-audit"
_NODE_KEYS = frozenset({"id", "eventType", "createdAt"})
_SCOPE_KEYS = ("projectId", "workspaceId", "environmentId")
# Payload keys that name Railway objects: volumeId, volumeInstanceIds, volumeInstanceBackupId...
_PAYLOAD_ID = re.compile(r"^[a-z][A-Za-z0-9]*Ids?$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CONTEXT_ATTRIBUTES = (("ip", "ip"), ("userAgent", "user_agent"), ("cause", "cause"),
                       ("operationName", "operation_name"), ("requestId", "request_id"))
# Actor fields, most telling first: who a person is, else which token, else which id.
_ACTOR_IDS = ("email", "tokenId", "userId", "id", "name")


@dataclass(frozen=True)
class _Node:
    """The validated parts of one audit log node."""

    record: Mapping[str, JSON]
    id: str
    event_type: str
    time: datetime
    project_id: str | None
    environment_id: str | None
    workspace_id: str | None
    payload: Mapping[str, JSON]
    context: Mapping[str, JSON]
    actor: Mapping[str, JSON]


class RailwayAuditAdapter:
    name: ClassVar[str] = "railway-audit"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        edges = _edges(document)
        return None if edges is None else [_node_of(edge) for edge in edges]

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping):
            return False
        return _edges(record) is not None or _is_node(_node_of(record))

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        if not isinstance(record, Mapping):
            raise RecordError(f"expected an audit log node, got {type_name(record)}")
        if _edges(record) is None and isinstance(record.get("errors"), list):
            raise RecordError(f"a GraphQL error response: {_graphql_error(record)}",
                              field="errors")
        if "node" in record and not isinstance(record["node"], Mapping):
            raise RecordError(f"expected an object, got {type_name(record['node'])}",
                              field="node")
        return [_event(_node(_node_of(record)), ctx)]


# --- shapes -----------------------------------------------------------------------------------


def _edges(document: Mapping[str, JSON]) -> list[JSON] | None:
    """The edges of a page (``data.auditLogs``) or of a bare connection (``auditLogs``)."""
    data = document.get("data")
    holder = data if isinstance(data, Mapping) else document
    connection = holder.get("auditLogs")
    edges = connection.get("edges") if isinstance(connection, Mapping) else None
    return edges if isinstance(edges, list) else None


def _node_of(record: JSON) -> JSON:
    """An edge ``{"node": ..., "cursor": ...}`` stands for its node."""
    if isinstance(record, Mapping) and isinstance(record.get("node"), Mapping):
        return record["node"]
    return record


def _is_node(record: JSON) -> bool:
    return (isinstance(record, Mapping) and record.keys() >= _NODE_KEYS
            and any(key in record for key in _SCOPE_KEYS)
            and isinstance(record.get("eventType"), str))


def _graphql_error(record: Mapping[str, JSON]) -> str:
    errors = record.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    message = first.get("message") if isinstance(first, Mapping) else None
    return message[:200] if isinstance(message, str) else "no message"


# --- validation -------------------------------------------------------------------------------


def _node(record: JSON) -> _Node:
    if not isinstance(record, Mapping):
        raise RecordError(f"expected an object, got {type_name(record)}", field="node")
    context = mapping(record, "context", "context")
    return _Node(
        record=record,
        id=required_str(record, "id"),
        event_type=required_str(record, "eventType"),
        time=_time(record),
        project_id=opt_str(record, "projectId", "projectId"),
        environment_id=opt_str(record, "environmentId", "environmentId"),
        workspace_id=opt_str(record, "workspaceId", "workspaceId"),
        payload=mapping(record, "payload", "payload"),
        context=context,
        actor=mapping(context, "actor", "context.actor"),
    )


def _time(record: Mapping[str, JSON]) -> datetime:
    if record.get("createdAt") is None:
        raise RecordError("is required", field="createdAt")
    return parse_time(record["createdAt"], field_name="createdAt")


# --- building the event -----------------------------------------------------------------------


def _event(node: _Node, ctx: AdapterContext) -> Event:
    actor = _actor(node)
    operation = opt_str(node.context, "operationName", "context.operationName")
    return Event.create(
        source=SOURCE,
        native_id=node.id,
        stream=f"railway:{_scope(node, ctx)}",
        kind=EventKind.CLOUD_CALL,
        time=node.time,
        received_at=ctx.received_at,
        actor=actor,
        text=_summary(node, actor, operation),
        tool_name=operation or node.event_type,
        tool_input=node.record.get("payload"),
        is_error=node.event_type.rpartition(".")[2] in ("failed", "failure", "error"),
        attributes=_attributes(node),
        raw=node.record,
    )


def _scope(node: _Node, ctx: AdapterContext) -> str:
    """The project; a workspace-level node (no project) goes to the workspace's stream."""
    return (node.project_id or node.workspace_id or ctx.params.get("project")
            or ctx.params.get("workspace") or "default")


def _actor(node: _Node) -> str | None:
    """``project_token:tok_…``, ``user:ann@example.com``, ``system``."""
    kind = opt_str(node.actor, "type", "context.actor.type")
    ident = next((value for key in _ACTOR_IDS
                  if (value := opt_str(node.actor, key, f"context.actor.{key}"))), None)
    if kind and ident:
        return f"{kind}:{ident}"
    return kind or ident


def _summary(node: _Node, actor: str | None, operation: str | None) -> str:
    ids = [value for key, value in _payload_ids(node) if key.endswith("Id")]
    via = f" via {operation}" if operation else ""
    cause = opt_str(node.context, "cause", "context.cause")
    because = f" (cause: {cause})" if cause else ""
    target = f" {' '.join(str(i) for i in ids)}" if ids else ""
    return f"{actor or '?'} {node.event_type}{target}{via}{because}"


def _attributes(node: _Node) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {"event_type": node.event_type}
    put(attributes, "project_id", node.project_id)
    put(attributes, "environment_id", node.environment_id)
    put(attributes, "workspace_id", node.workspace_id)
    put(attributes, "actor_type", opt_str(node.actor, "type", "context.actor.type"))
    for key, name in (("tokenId", "token_id"), ("userId", "user_id"), ("email", "user_email")):
        put(attributes, name, opt_str(node.actor, key, f"context.actor.{key}"))
    for key, name in _CONTEXT_ATTRIBUTES:
        put(attributes, name, opt_str(node.context, key, f"context.{key}"))
    for key, value in _payload_ids(node):
        attributes.setdefault(_snake(key), value)
    return attributes


def _payload_ids(node: _Node) -> list[tuple[str, JSON]]:
    """Payload ids: strings, or lists of strings (``volumeInstanceIds``); others stay in raw."""
    out: list[tuple[str, JSON]] = []
    for key, value in node.payload.items():
        if not isinstance(key, str) or not _PAYLOAD_ID.match(key):
            continue
        if isinstance(value, str) or (isinstance(value, list)
                                      and all(isinstance(item, str) for item in value)):
            out.append((key, value))
    return out


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()
