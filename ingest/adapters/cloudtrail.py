"""AWS CloudTrail: what AWS says each principal did, one record per API call or console action.

Input shapes: a JSON array of records, the S3 delivery file ``{"Records": [...]}`` (gzip is
unpacked by the reader), NDJSON (one record a line: Elastic / CloudWatch Logs exports), and
EventBridge events ``{"version", "id", "detail-type", "source": "aws.<svc>", "account", "time",
"region", "resources", "detail": {<CloudTrail record>}}``. An EventBridge event is mapped from
its ``detail`` but keeps the whole envelope in ``raw``; ``unwrap`` leaves it whole for that.

Mapping (one event per record):

- ``stream`` = ``aws:<recipientAccountId>`` (the account whose trail logged the call), else the
  caller's ``userIdentity.accountId``, else the EventBridge ``account``. Cloud calls never share a
  stream with agent sessions; ``session_id`` stays None (a CloudTrail record names no agent
  session — joining calls to sessions is the analyzer's job).
- ``native_id`` = ``eventID``, CloudTrail's globally unique id: re-ingesting a file appends
  nothing, and the same call delivered by S3 and by EventBridge is one event.
- ``tool_name`` = ``<eventSource>:<eventName>``, e.g. ``cloudtrail.amazonaws.com:DeleteTrail``.
  The service's endpoint name, not the IAM action prefix: that prefix differs from the endpoint
  for some services (``monitoring`` is ``cloudwatch:``) and eventName carries API-version
  suffixes (``UpdateFunctionCode20150331v2``), so an IAM-style name would be a guess.
- ``kind`` = cloud_call for calls a principal made (``AwsApiCall``, ``AwsConsoleAction``,
  ``AwsConsoleSignIn``, ``AwsVpceEvent``, or no ``eventType`` in old records); other for what AWS
  reports on its own (``AwsServiceEvent``, ``AwsCloudTrailInsight``) and for EventBridge events
  that carry no CloudTrail record.
- ``actor`` = ``userIdentity.arn``, else ``invokedBy`` (AWS services), else ``principalId``.
- ``tool_input`` = ``requestParameters``; ``is_error`` when ``errorCode`` or ``errorMessage`` is
  set (a failed ConsoleLogin has only the message); ``time`` = ``eventTime``.
- ``attributes``: the correlation fields of ``_ATTRIBUTES`` under snake_case names, the aws-cli
  command (``cli_command``, from ``md/command#rds.delete-db-instance`` or the older
  ``command/rds.delete-db-instance`` in ``userAgent``), and ``response_elements`` when it encodes
  to at most ``fields.SMALL_VALUE_BYTES`` (else it is only in ``raw``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import JsonDoc, cli_command, is_small, listed, lists_records, record_of
from ingest.envelope import JSON, Event, EventKind, parse_time, type_name
from ingest.errors import RecordError

SOURCE = "cloudtrail"
# Records naming no account at all (hand-made or truncated exports) still need a stream.
NO_ACCOUNT_STREAM = "aws:unknown-account"

_REQUIRED_KEYS = frozenset({"eventID", "eventName", "eventSource", "eventTime"})
# eventType values that are not a principal's call but something AWS reports by itself.
_NOT_CALLS = frozenset({"AwsServiceEvent", "AwsCloudTrailInsight"})
_CLI_COMMAND = re.compile(r"(?:^|\s)(?:md/command#|command/)([A-Za-z0-9][\w.-]*)")
_TEXT_MESSAGE_CHARS = 200  # the error message in the one-line summary; the full one is kept

# (dotted path in the record, attribute name, expected JSON type)
_ATTRIBUTES: tuple[tuple[str, str, type[str] | type[bool]], ...] = (
    ("eventID", "event_id", str),
    ("requestID", "request_id", str),
    ("eventName", "event_name", str),
    ("eventSource", "event_source", str),
    ("eventType", "event_type", str),
    ("eventCategory", "event_category", str),
    ("awsRegion", "aws_region", str),
    ("sourceIPAddress", "source_ip_address", str),
    ("userAgent", "user_agent", str),
    ("readOnly", "read_only", bool),
    ("managementEvent", "management_event", bool),
    ("errorCode", "error_code", str),
    ("errorMessage", "error_message", str),
    ("recipientAccountId", "recipient_account_id", str),
    ("userIdentity.type", "user_identity_type", str),
    ("userIdentity.arn", "user_identity_arn", str),
    ("userIdentity.accessKeyId", "access_key_id", str),
    ("userIdentity.accountId", "user_identity_account_id", str),
    ("userIdentity.principalId", "principal_id", str),
    ("userIdentity.invokedBy", "invoked_by", str),
    ("userIdentity.sessionContext.sessionIssuer.arn", "session_issuer_arn", str),
)


class CloudTrailAdapter:
    name: ClassVar[str] = "cloudtrail"

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return listed(document, "Records", _is_record)

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, Mapping):
            return False
        if _is_record(record):
            return True
        if _is_eventbridge(record):
            return _is_record(record.get("detail"))
        return lists_records(record, "Records", _is_record)  # the S3 delivery file

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        record = record_of(record)
        if _is_eventbridge(record):
            return [_from_eventbridge(record, ctx)]
        if "Records" in record and "eventID" not in record:
            # unwrap takes a delivery file apart only at the top level of the input.
            raise RecordError("a CloudTrail file inside an array: send each file on its own",
                              field="Records")
        return [_call(JsonDoc(record), record, ctx, {})]


# --- recognising the shapes -------------------------------------------------------------------


def _is_record(value: JSON) -> bool:
    """A CloudTrail record: its four always-present keys and an AWS endpoint as its source."""
    if not isinstance(value, Mapping) or not value.keys() >= _REQUIRED_KEYS:
        return False
    source = value.get("eventSource")
    return isinstance(source, str) and source.endswith("amazonaws.com")


def _is_eventbridge(record: Mapping[str, JSON]) -> bool:
    source = record.get("source")
    return (isinstance(source, str) and source.startswith("aws.")
            and isinstance(record.get("detail-type"), str) and "detail" in record)


# --- mapping ----------------------------------------------------------------------------------


def _call(doc: JsonDoc, raw: Mapping[str, JSON], ctx: AdapterContext,
          extra: Mapping[str, JSON], account: str | None = None) -> Event:
    """The event of one CloudTrail record; ``raw`` is the record or the envelope holding it."""
    event_id = doc.required("eventID")
    tool_name = f"{doc.required('eventSource')}:{doc.required('eventName')}"
    time = _time(doc, "eventTime")
    attributes = {**_attributes(doc), **extra}
    actor = _actor(doc)
    return Event.create(
        source=SOURCE,
        native_id=event_id,
        stream=_stream(doc, account),
        kind=_kind(doc),
        time=time,
        received_at=ctx.received_at,
        actor=actor,
        text=_summary(actor, tool_name, attributes),
        tool_name=tool_name,
        tool_input=_request_parameters(doc),
        is_error="error_code" in attributes or "error_message" in attributes,
        attributes=attributes,
        raw=raw,
    )


def _attributes(doc: JsonDoc) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {}
    for path, name, kind in _ATTRIBUTES:
        value = doc.lookup(path, kind)
        if value is not None:
            attributes[name] = value
    command = cli_command(_CLI_COMMAND, attributes.get("user_agent"))
    if command:
        attributes["cli_command"] = command
    response = doc.record.get("responseElements")
    if response is not None and is_small(response):
        attributes["response_elements"] = response
    return attributes


def _request_parameters(doc: JsonDoc) -> JSON:
    value = doc.record.get("requestParameters")
    if value is not None and not isinstance(value, Mapping):
        raise RecordError(f"expected an object or null, got {type_name(value)}",
                          field=doc.prefix + "requestParameters")
    return value


def _actor(doc: JsonDoc) -> str | None:
    return (doc.get("userIdentity.arn", str) or doc.get("userIdentity.invokedBy", str)
            or doc.get("userIdentity.principalId", str) or None)


def _stream(doc: JsonDoc, account: str | None) -> str:
    owner = (doc.get("recipientAccountId", str) or doc.get("userIdentity.accountId", str)
             or account)
    return f"aws:{owner}" if owner else NO_ACCOUNT_STREAM


def _kind(doc: JsonDoc) -> EventKind:
    return EventKind.OTHER if doc.get("eventType", str) in _NOT_CALLS else EventKind.CLOUD_CALL


def _summary(actor: str | None, tool_name: str, attributes: Mapping[str, JSON]) -> str:
    """One line: who called what where, and how it failed."""
    text = f"{actor or 'unknown principal'} called {tool_name}"
    if isinstance(attributes.get("aws_region"), str):
        text += f" in {attributes['aws_region']}"
    failure = [str(attributes[key]) for key in ("error_code", "error_message") if key in attributes]
    if failure:
        text += f" -- failed: {': '.join(failure)[:_TEXT_MESSAGE_CHARS]}"
    return " ".join(text.split())  # one line, whatever the message held


# --- EventBridge ------------------------------------------------------------------------------


def _from_eventbridge(envelope: Mapping[str, JSON], ctx: AdapterContext) -> Event:
    wrapper = JsonDoc(envelope)
    extra: dict[str, JSON] = {"detail_type": wrapper.get("detail-type", str)}
    bus_id = wrapper.get("id", str)
    if bus_id:
        extra["eventbridge_id"] = bus_id
    account = wrapper.get("account", str)
    detail = envelope.get("detail")
    if isinstance(detail, Mapping) and "eventID" in detail:
        return _call(JsonDoc(detail, "detail."), envelope, ctx, extra, account)
    return _bus_event(wrapper, ctx, extra, account)


def _bus_event(wrapper: JsonDoc, ctx: AdapterContext, extra: dict[str, JSON],
               account: str | None) -> Event:
    """An EventBridge event that is no CloudTrail record (e.g. an EC2 state change): other."""
    bus_id = wrapper.required("id")
    return Event.create(
        source=SOURCE,
        native_id=f"eventbridge:{bus_id}",  # its own id space: never equal to an eventID
        stream=f"aws:{account}" if account else NO_ACCOUNT_STREAM,
        kind=EventKind.OTHER,
        time=_time(wrapper, "time"),
        received_at=ctx.received_at,
        text=" ".join(f"{wrapper.get('source', str)}: {extra['detail_type']}".split()),
        attributes={**extra, "eventbridge_source": wrapper.get("source", str)},
        raw=wrapper.record,
    )


# --- small helpers ----------------------------------------------------------------------------


def _time(doc: JsonDoc, path: str) -> datetime:
    value, field_name = doc.record.get(path), doc.prefix + path
    if value is None:
        raise RecordError("missing", field=field_name)
    return parse_time(value, field_name=field_name)
