"""Effects: what one cloud audit record says happened, normalized across the five audit sources.

``effect_of(event)`` turns a CloudTrail, GCP audit, Kubernetes audit, Railway audit or pgAudit
event into an :class:`~analyzer.nodes.Effect`, and returns None for everything else (agent
events, server log lines, Kubernetes stages before the response, AWS/Google's own service events:
any event whose kind is not ``cloud_call``). One small function per source, chosen by
``event.source``; each reads only what its adapter put into the event (``attributes``,
``tool_input``, and ``raw`` for the parts adapters leave there), never re-parses the source.

Design choices:

- Never raises. Adapters validate their records, but events also come back from the log and
  from other writers, so every field is read with a type check and a wrong type counts as absent.
- Cheap: called on every cloud event of a full rebuild. Fields are dict lookups; the only walk
  (``_walk_identifiers``) is breadth first and capped at ``_MAX_DEPTH`` levels and
  ``_MAX_VALUES`` values per root. Redaction markers are found "anywhere in the record" by one
  C-speed ``orjson.dumps`` of ``raw`` and a byte search, not by a Python walk.
- ``identifiers`` are correlation keys: the linker joins them with the agent's command targets
  and lets destructive records cascade through shared ones. So they hold resource ids and names
  only: a value counts when it has an id's shape (ARN, ``i-0abc…``, ``vol_…``, UUID) or sits
  under an id-like key (``…Id``, ``…Name``, ``…Identifier``, ``…Arn``, ``name``…), and never when
  it is a scope every record of a project shares (Railway project/workspace/environment ids, AWS
  account ids, regions), a date, a number, a boolean, or a generic word (``default``).
- ``destructive`` and ``backup`` describe what happened: a failed call (``is_error``) destroyed
  nothing, so both are False for it even though its operation is a delete.
- ``native_id`` is the source's own id of the record, what one searches for in its console:
  CloudTrail ``eventID``, Railway node id, ``<logName>#<insertId>`` for GCP (``insertId`` alone is
  only unique within one log, so the pair the adapter builds is kept), the bare ``auditID`` for
  Kubernetes (the adapter's ``<auditID>/<stage>`` adds a stage, but only the final stage becomes
  an effect, so the auditID is unambiguous — and it is the id ``kubectl -v`` prints as
  ``Audit-Id``), and the adapter's time/hash id for pgAudit, whose entries carry none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from types import MappingProxyType

import orjson

from analyzer.nodes import Effect
from ingest.adapters import cloudtrail, gcp_audit, kubernetes, pgaudit, railway
from ingest.envelope import JSON, Event, EventKind

_EMPTY: Mapping[str, JSON] = MappingProxyType({})

# --- identifiers ------------------------------------------------------------------------------

_MAX_DEPTH = 5  # enough for EC2's requestParameters.instancesSet.items[0].instanceId
_MAX_VALUES = 200  # values looked at per walked root: a huge response costs no more than this

# Values that are ids whatever key they sit under.
_ID_SHAPE = re.compile(
    r"arn:aws[a-z-]*:"  # any ARN
    r"|[a-z]{1,12}-[0-9a-fA-F]{8,17}\Z"  # EC2 style: i-…, vol-…, snap-…, sg-…, ami-…, fl-…
    r"|[a-z]{1,8}_(?=[0-9A-Za-z-]*[0-9])[0-9A-Za-z-]{6,}\Z"  # prefixed: vol_…, vi_…, bk_…, tok_…
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"  # UUID
)
# Keys whose string values name a resource (``dBInstanceIdentifier``, ``bucketName``, ``name``).
_ID_KEY = re.compile(r"(?:Ids?|ID|Identifiers?|Names?|Arns?|ARN)\Z"
                     r"|\A(?:id|name|arn|bucket|key|resource|address|host|hostname)\Z")
# Keys whose values are shared scope or request bookkeeping: correlating on a project or account
# id would link every record of that project to every call made in it.
_NOT_RESOURCE_KEYS = frozenset({
    "projectId", "workspaceId", "environmentId", "accountId", "ownerId", "awsAccountId",
    "recipientAccountId", "region", "awsRegion", "regionName", "availabilityZone", "zone",
    "requestId", "requestID", "clientToken", "clientRequestToken", "creatorRequestId", "xmlns",
    "@type", "attributeName", "attributeType", "typeName", "kind", "apiVersion",
    # states and labels, not resources: EC2's currentState.name is "stopping", a tag key "Owner"
    "currentState", "previousState", "state", "status", "stateReason", "filters", "Filters",
    "filterSet", "tags", "Tags", "tagSet", "tagList", "tagSpecificationSet", "TagSpecification",
})
# What a resource depends on, as a response describes it (an RDS instance's VPC, security groups,
# parameter group, KMS key): shared with many other resources, so a destructive record naming
# them must not pull every other record of that VPC into its cascade.
_DEPENDENCY_KEYS = _NOT_RESOURCE_KEYS | {
    "vpcId", "subnetId", "vpcSecurityGroups", "dBSecurityGroups", "dBSubnetGroup",
    "dBSubnetGroupName", "dBParameterGroups", "dBClusterParameterGroup", "optionGroupMemberships",
    "kmsKeyId", "performanceInsightsKMSKeyId", "masterUserSecret", "caCertificateIdentifier",
    "certificateDetails", "hostedZoneId", "groupSet", "securityGroups", "networkInterfaceSet",
    "iamInstanceProfile", "placement", "domainMemberships", "associatedRoles", "role", "layers",
    "vpcConfig", "kMSKeyArn", "runtimeVersionConfig",
}
# Never correlation keys, compared lower-cased: booleans and generic words
# (``HIDDEN_DUE_TO_SECURITY_REASONS`` is CloudTrail's placeholder for withheld values).
_GENERIC_VALUES = frozenset({"true", "false", "null", "none", "default", "enabled", "disabled",
                             "active", "inactive", "all", "latest", "hidden_due_to_security_reasons"})
_MIN_ID_CHARS = 3
_MAX_ID_CHARS = 1024
_KEY_CACHE_SIZE = 4096
_MARKER = re.compile(rb"\[REDACTED:[a-z0-9_-]{1,40}:[0-9a-f]{8}\]")
# Keys repeat across records while each regex call costs ~0.3 us: remember what a key is.
_key_names_resource: dict[str, bool] = {}


def _usable(value: str) -> bool:
    """A correlation key: 3+ chars, no whitespace (sentences are no ids), not a number, a date, a
    boolean or a generic word. Plain string methods: this runs for every value walked."""
    if not _MIN_ID_CHARS <= len(value) <= _MAX_ID_CHARS or " " in value or not value.isprintable():
        return False
    if value.replace(".", "").isdigit() or (value[4:5] == "-" == value[7:8] and value[:4].isdigit()):
        return False
    return value.lower() not in _GENERIC_VALUES


def _names_resource(key: object) -> bool:
    if not isinstance(key, str):
        return False
    known = _key_names_resource.get(key)
    if known is None:
        known = _ID_KEY.search(key) is not None
        if len(_key_names_resource) < _KEY_CACHE_SIZE:  # bounded: keys of odd records vary freely
            _key_names_resource[key] = known
    return known


def _has_id_shape(value: str) -> bool:
    # Every shape has a '-' or '_' or starts with 'arn:': most plain words skip the regex.
    return ("-" in value or "_" in value or value.startswith("arn:")) and (
        _ID_SHAPE.match(value) is not None)


def _is_identifier(key: object, value: str) -> bool:
    return (_names_resource(key) or _has_id_shape(value)) and _usable(value)


def _walk_identifiers(root: JSON, skip: frozenset[str] = _NOT_RESOURCE_KEYS) -> list[str]:
    """Id-like strings in ``root``, breadth first (document order), capped in depth and count.

    Members under a key in ``skip`` are not entered. A list's items count as values of the key
    holding the list (``volumeInstanceIds: [...]``). JSON objects are dicts here (as parsed and
    as read back from the log); other mappings are not entered.
    """
    found: dict[str, None] = {}  # ordered set: the first one found may become the resource
    level: list[tuple[object, JSON]] = [("", root)]
    budget = _MAX_VALUES
    for _ in range(_MAX_DEPTH + 1):
        below: list[tuple[object, JSON]] = []
        for key, value in level[:budget]:
            if isinstance(value, str):
                if _is_identifier(key, value):
                    found[value] = None
            elif isinstance(value, dict):
                below.extend(item for item in islice(value.items(), budget) if item[0] not in skip)
            elif isinstance(value, list):
                below.extend((key, item) for item in islice(value, budget))
        budget -= len(level)
        if budget <= 0 or not below:
            break
        level = below
    return list(found)


def _markers(raw: JSON) -> set[str]:
    """Redaction markers anywhere in the record: the same secret has the same marker everywhere."""
    try:
        encoded = orjson.dumps(raw)
    except (orjson.JSONEncodeError, TypeError):  # not JSON (e.g. non-string keys): no markers
        return set()
    if b"[REDACTED:" not in encoded:
        return set()
    return {marker.decode() for marker in _MARKER.findall(encoded)}


# --- typed access: a wrong type counts as absent ------------------------------------------------


def _mapping(value: JSON) -> Mapping[str, JSON]:
    if isinstance(value, dict):  # the usual case, and much cheaper to test than the Mapping ABC
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def _text(record: Mapping[str, JSON], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value else None


def _operation(tool_name: str | None) -> str:
    """``DeleteTrail`` from ``cloudtrail.amazonaws.com:DeleteTrail``; the whole name otherwise."""
    if not isinstance(tool_name, str):
        return ""
    return tool_name.rpartition(":")[2] or tool_name


def _last_segment(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


# --- the effect --------------------------------------------------------------------------------


def _effect(event: Event, *, name: str, resource: str | None, identifiers: Iterable[str | None],
            destroys: bool, backup: bool, environment: str | None, cause: str | None,
            credential: str | None, user_agent: str | None, native_id: str | None = None) -> Effect:
    """Assemble the Effect; ``destroys``/``backup`` say what the operation does if it succeeded."""
    happened = event.is_error is not True  # None (unknown, e.g. pgAudit) counts as done
    ids = {value for value in identifiers if isinstance(value, str) and _usable(value)}
    if resource and _usable(resource):
        ids.add(resource)
    ids.update(_markers(event.raw))
    return Effect(
        event_id=event.id, source=event.source, native_id=native_id or event.native_id,
        name=name, resource=resource, identifiers=frozenset(ids),
        destructive=destroys and happened, backup=backup and destroys and happened,
        environment=environment, cause=cause, credential=credential, user_agent=user_agent,
        cli_command=_text(_mapping(event.attributes), "cli_command"),
    )


# --- Railway -----------------------------------------------------------------------------------

# Most specific first: a backup belongs to an instance, an instance to a volume.
_RAILWAY_RESOURCE_KEYS = ("volumeInstanceBackupId", "backupId", "volumeInstanceId", "volumeId")
_RAILWAY_SCOPE_KEYS = frozenset({"projectId", "workspaceId", "environmentId"})
_RAILWAY_DELETED = (".deleted", ".removed", ".destroyed")
_RAILWAY_DELETE = ("Delete", "Remove", "Destroy")


def _railway(event: Event) -> Effect:
    attributes = _mapping(event.attributes)
    payload = _mapping(event.tool_input)
    event_type = _text(attributes, "event_type") or ""
    name = _text(attributes, "operation_name") or event_type or _operation(event.tool_name)
    destroys = event_type.endswith(_RAILWAY_DELETED) or name.endswith(_RAILWAY_DELETE)
    return _effect(
        event, name=name, resource=_railway_resource(payload),
        identifiers=_walk_identifiers(payload), destroys=destroys,
        backup="backup" in event_type.lower() or "backup" in name.lower(),
        environment=_text(attributes, "environment_id"), cause=_text(attributes, "cause"),
        credential=_text(attributes, "token_id"), user_agent=_text(attributes, "user_agent"),
    )


def _railway_resource(payload: Mapping[str, JSON]) -> str | None:
    """The most specific payload id: backup > volume instance > volume > any other ``…Id``."""
    for key in _RAILWAY_RESOURCE_KEYS:
        value = _text(payload, key)
        if value:
            return value
    return next((value for key, value in islice(payload.items(), _MAX_VALUES)
                 if isinstance(key, str) and key.endswith("Id") and key not in _RAILWAY_SCOPE_KEYS
                 and isinstance(value, str) and value), None)


# --- CloudTrail --------------------------------------------------------------------------------

# requestParameters keys naming the call's main resource, most telling first.
_AWS_RESOURCE_KEYS = (
    "dBInstanceIdentifier", "dBClusterIdentifier", "dBSnapshotIdentifier",
    "dBClusterSnapshotIdentifier", "bucketName", "trailName", "name", "functionName", "roleName",
    "userName", "groupName", "policyArn", "keyId", "volumeId", "snapshotId", "imageId",
    "tableName", "clusterName", "stackName", "secretId", "backupVaultName", "recoveryPointArn",
    "logGroupName", "repositoryName", "resolverQueryLogConfigId", "resourceArn", "groupId",
)
_AWS_RESOURCE_RANK = {key: rank for rank, key in enumerate(_AWS_RESOURCE_KEYS)}
_AWS_DESTROY_PREFIXES = ("Delete", "Terminate", "Destroy", "Purge", "Remove", "Deregister")
_AWS_ROUTINE = frozenset({"TerminateSession", "DeleteMessage", "DeleteMessageBatch"})
# Not deletes, but they stop logging, cut an account loose, take a resource down, or doom a key.
_AWS_DISRUPTIVE = frozenset({
    "StopLogging", "LeaveOrganization", "StopInstances", "StopDBInstance", "StopDBCluster",
    "ScheduleKeyDeletion", "DisableKey", "StopConfigurationRecorder", "DisableSecurityHub",
})
_AWS_BACKUP_WORDS = ("Snapshot", "Backup", "RecoveryPoint")
_API_VERSION = re.compile(r"\d{8}(?:v\d+)?\Z")  # UpdateFunctionCode20150331v2


def _cloudtrail(event: Event) -> Effect:
    attributes = _mapping(event.attributes)
    record = _cloudtrail_record(event.raw)
    params = _mapping(event.tool_input)
    name = _text(attributes, "event_name") or _operation(event.tool_name)
    operation = _API_VERSION.sub("", name)
    requested = _walk_identifiers(params)
    arns = _resource_arns(record)
    response = record.get("responseElements", attributes.get("response_elements"))
    return _effect(
        event, name=name, resource=_aws_resource(params, arns, requested),
        identifiers=[*requested, *_walk_identifiers(response, _DEPENDENCY_KEYS), *arns],
        destroys=_aws_destroys(operation, params, attributes),
        backup=_aws_destroys_backup(operation, params),
        environment=_aws_environment(attributes),
        cause=_text(attributes, "invoked_by"),  # an AWS service acting on its own or for a role
        credential=_text(attributes, "access_key_id"), user_agent=_text(attributes, "user_agent"),
    )


def _cloudtrail_record(raw: JSON) -> Mapping[str, JSON]:
    """The CloudTrail record: ``raw`` itself, or the ``detail`` of an EventBridge envelope."""
    record = _mapping(raw)
    detail = record.get("detail")
    return detail if isinstance(detail, Mapping) and "detail-type" in record else record


def _resource_arns(record: Mapping[str, JSON]) -> list[str]:
    resources = record.get("resources")
    if not isinstance(resources, list):
        return []
    return [arn for item in resources[:_MAX_VALUES] if (arn := _text(_mapping(item), "ARN"))]


def _aws_resource(params: Mapping[str, JSON], arns: list[str], requested: list[str]) -> str | None:
    # The best-ranked key the request has: looping over its few keys, not over all known ones.
    ranked = [(_AWS_RESOURCE_RANK[key], key) for key, value in islice(params.items(), _MAX_VALUES)
              if key in _AWS_RESOURCE_RANK and isinstance(value, str) and value]
    if ranked:
        key = min(ranked)[1]
        obj = _text(params, "key") if key == "bucketName" else None  # S3 object calls
        return f"{params[key]}/{obj}" if obj else str(params[key])
    instances = _mapping(params.get("instancesSet")).get("items")
    if isinstance(instances, list) and instances:
        instance = _text(_mapping(instances[0]), "instanceId")
        if instance:
            return instance
    return arns[0] if arns else next(iter(requested), None)


def _aws_destroys(operation: str, params: Mapping[str, JSON], attributes: Mapping[str, JSON]) -> bool:
    if attributes.get("read_only") is True or operation in _AWS_ROUTINE:
        return False
    if operation.startswith(_AWS_DESTROY_PREFIXES) or operation in _AWS_DISRUPTIVE:
        return True
    check = _AWS_CONDITIONAL.get(operation)
    return check is not None and check(params)


def _aws_destroys_backup(operation: str, params: Mapping[str, JSON]) -> bool:
    if not operation.startswith("Delete"):
        return False
    if any(word in operation for word in _AWS_BACKUP_WORDS):
        return True
    return (operation in ("DeleteDBInstance", "DeleteDBCluster")
            and params.get("deleteAutomatedBackups") is True)


def _expires_objects(params: Mapping[str, JSON]) -> bool:
    """A bucket lifecycle with an expiration rule: S3 deletes the objects on its own later."""
    config = _mapping(params.get("LifecycleConfiguration") or params.get("lifecycleConfiguration"))
    rules = config.get("Rule") or config.get("Rules") or config.get("rules")
    rules = rules if isinstance(rules, list) else [rules]
    return any(key in rule for rule in rules[:_MAX_VALUES] if isinstance(rule, Mapping)
               for key in ("Expiration", "NoncurrentVersionExpiration", "expiration"))


def _stops_management_logging(params: Mapping[str, JSON]) -> bool:
    selectors = params.get("eventSelectors")
    return isinstance(selectors, list) and any(
        _mapping(s).get("includeManagementEvents") is False for s in selectors[:_MAX_VALUES])


def _shares_outside(params: Mapping[str, JSON]) -> bool:
    """A snapshot or image shared with another account (or everyone): its data leaves the account."""
    for key in ("createVolumePermission", "launchPermission"):
        if _mapping(params.get(key)).get("add"):
            return True
    return bool(params.get("valuesToAdd"))


# Operations that destroy or expose something only with certain parameters.
_AWS_CONDITIONAL: dict[str, Callable[[Mapping[str, JSON]], bool]] = {
    "PutBucketLifecycle": _expires_objects,
    "PutBucketLifecycleConfiguration": _expires_objects,
    "PutEventSelectors": _stops_management_logging,
    "ModifySnapshotAttribute": _shares_outside,
    "ModifyImageAttribute": _shares_outside,
    "ModifyDBSnapshotAttribute": _shares_outside,
    "ModifyDBClusterSnapshotAttribute": _shares_outside,
}


def _aws_environment(attributes: Mapping[str, JSON]) -> str | None:
    """``<account>/<region>``: resources of one name in two regions are different resources."""
    account = _text(attributes, "recipient_account_id") or _text(attributes, "user_identity_account_id")
    region = _text(attributes, "aws_region")
    if account and region:
        return f"{account}/{region}"
    return account or region


# --- GCP audit ---------------------------------------------------------------------------------

_GCP_DESTROY_VERBS = ("delete", "destroy", "purge", "remove", "drop", "truncate", "stop")


def _gcp(event: Event) -> Effect:
    attributes = _mapping(event.attributes)
    method = _text(attributes, "method_name") or _operation(event.tool_name)
    resource = _text(attributes, "resource_name")
    # The method's last part is its verb: v1.compute.instances.delete, ...V2.DeleteSink.
    destroys = method.rpartition(".")[2].lower().startswith(_GCP_DESTROY_VERBS)
    lowered = method.lower()
    return _effect(
        event, name=method, resource=resource,
        identifiers=[*_walk_identifiers(event.tool_input), resource,
                     _last_segment(resource) if resource else None],
        destroys=destroys, backup="snapshot" in lowered or "backup" in lowered,
        environment=_text(attributes, "project_id"), cause=None,
        credential=(_text(attributes, "service_account_key_name")
                    or _text(attributes, "principal_email")
                    or _text(attributes, "principal_subject")),
        user_agent=_text(attributes, "caller_supplied_user_agent"),
    )


# --- Kubernetes audit ----------------------------------------------------------------------------

_K8S_DESTROY_VERBS = frozenset({"delete", "deletecollection"})
_K8S_BACKUP_RESOURCES = frozenset({"volumesnapshots", "volumesnapshotcontents", "backups"})
# Controllers that delete objects because something else was deleted: the record is a cascade.
_K8S_CASCADES = {
    "system:serviceaccount:kube-system:generic-garbage-collector": "garbage-collector",
    "system:serviceaccount:kube-system:namespace-controller": "namespace-controller",
    "system:serviceaccount:kube-system:persistent-volume-binder": "persistent-volume-binder",
}


def _kubernetes(event: Event) -> Effect:
    attributes = _mapping(event.attributes)
    verb = _text(attributes, "verb") or _operation(event.tool_name).partition(" ")[0]
    kind = _text(attributes, "resource")
    namespace = _text(attributes, "namespace")
    name = _text(attributes, "name")
    parts = (namespace, kind, name, _text(attributes, "subresource"))
    resource = "/".join(part for part in parts if part) or _text(attributes, "request_uri")
    username = _text(attributes, "username")
    destroys = verb in _K8S_DESTROY_VERBS
    return _effect(
        event, name=verb, resource=resource, identifiers=_kubernetes_identifiers(namespace, kind, name),
        destroys=destroys, backup=kind in _K8S_BACKUP_RESOURCES,
        environment=namespace or (name if kind == "namespaces" else None),
        cause=_K8S_CASCADES.get(username) if username else None, credential=username,
        user_agent=_text(attributes, "user_agent"), native_id=_text(attributes, "audit_id"),
    )


def _kubernetes_identifiers(namespace: str | None, kind: str | None, name: str | None) -> list[str]:
    """``data-pg-0``, ``production/data-pg-0``, ``persistentvolumeclaims/data-pg-0``."""
    if not name:
        return []
    found = [name]
    if namespace:
        found.append(f"{namespace}/{name}")
    if kind:
        found.append(f"{kind}/{name}")
    return found


# --- pgAudit -----------------------------------------------------------------------------------

_SQL_DESTROYS = frozenset({"TRUNCATE TABLE", "TRUNCATE", "DELETE"})
# The object a DML or DROP statement names, for SESSION entries whose object name is empty.
_SQL_TARGET = re.compile(
    r"\s*(?:DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|UPDATE|INSERT\s+INTO"
    r"|DROP\s+(?:MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|\w+)(?:\s+CONCURRENTLY)?(?:\s+IF\s+EXISTS)?)"
    r"\s+(?:ONLY\s+)?(\"?[\w$]+\"?(?:\.\"?[\w$]+\"?)?)", re.IGNORECASE)
_SQL_STATEMENT_CHARS = 300  # the target is at the start; a huge statement is not searched whole


def _pgaudit(event: Event) -> Effect:
    attributes = _mapping(event.attributes)
    command = _text(attributes, "command") or _operation(event.tool_name)
    target = _text(attributes, "object_name") or _statement_target(event.tool_input)
    return _effect(
        event, name=command, resource=target,
        identifiers=[target, target.rpartition(".")[2]] if target else [],
        destroys=command.startswith("DROP ") or command in _SQL_DESTROYS, backup=False,
        environment=_text(attributes, "database"), cause=None,
        credential=_text(attributes, "user"), user_agent=_text(attributes, "application_name"),
    )


def _statement_target(tool_input: JSON) -> str | None:
    statement = _text(_mapping(tool_input), "statement")
    match = _SQL_TARGET.match(statement[:_SQL_STATEMENT_CHARS]) if statement else None
    return match.group(1).replace('"', "") if match else None


# --- dispatch ----------------------------------------------------------------------------------

_BY_SOURCE: dict[str, Callable[[Event], Effect]] = {
    railway.SOURCE: _railway,
    cloudtrail.SOURCE: _cloudtrail,
    gcp_audit.SOURCE: _gcp,
    kubernetes.SOURCE: _kubernetes,
    pgaudit.SOURCE: _pgaudit,
}


def effect_of(event: Event) -> Effect | None:
    """The Effect of a cloud audit record; None for every other event (see the module docstring)."""
    if event.kind != EventKind.CLOUD_CALL:
        return None
    extract = _BY_SOURCE.get(event.source)
    return extract(event) if extract is not None else None
