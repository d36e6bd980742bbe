"""PostgreSQL server logs with pgAudit entries — plain text, not JSON.

The adapter declares ``line_format = True``: the pipeline hands it each log record as a string
(``split_lines`` says how physical lines group into records). Two log destinations are read:

- stderr, with any ``log_line_prefix`` that starts with the time (``%m``/``%t``): e.g.
  ``2026-04-24 08:31:44.593 UTC [1234] pocket@pocket LOG:  AUDIT: SESSION,1,1,DDL,...``. The pid
  (``[%p]``) and ``user@db`` are taken from the prefix when present. PostgreSQL indents the
  continuation lines of a multi-line message with a tab.
- csvlog: one CSV row per record; the ``message`` column holds ``AUDIT: ...``. Quoted fields may
  span lines (multi-line statements).

pgAudit's message is itself CSV: ``AUDIT: <SESSION|OBJECT>,<statement id>,<substatement id>,
<class>,<command>,<object type>,<object name>,<statement>,<parameter>[,<rows>]``. Each entry is a
``cloud_call`` named by its command (``DROP TABLE``); pgAudit logs before the statement runs, so
``is_error`` stays unknown (a failure is a later ERROR line). Log lines without ``AUDIT:`` are
kept as ``other`` events. pgAudit entries carry no id: the native id is the record's timestamp
plus the hash of its text — identical lines are the same record.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

from ingest.adapters.base import AdapterContext
from ingest.adapters.fields import put
from ingest.envelope import JSON, Event, EventKind, content_id, format_time, type_name
from ingest.errors import RecordError

SOURCE = "pgaudit"
_AUDIT_PREFIX = "AUDIT: "
_SEVERITIES = (
    "DEBUG1|DEBUG2|DEBUG3|DEBUG4|DEBUG5|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT"
    "|QUERY|CONTEXT|LOCATION|STATEMENT"
)
_SEVERITY_NAMES = frozenset(_SEVERITIES.split("|"))
_ERROR_SEVERITIES = frozenset({"ERROR", "FATAL", "PANIC"})
# %m / %t, ISO variants too; then the zone PostgreSQL prints (abbreviation or numeric offset).
_TIME = (r"(?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,6})?)"
         r"(?:(?P<z>Z)|\s?(?P<tz>[A-Z]{2,5}|[+-]\d\d(?::?\d\d)?)(?!\w))?")
# PostgreSQL writes the severity followed by a colon and two spaces: the mark of its stderr log.
_STDERR = re.compile(rf"{_TIME}(?P<prefix>.*?)\b(?P<severity>{_SEVERITIES}):  (?P<message>.*)\Z",
                     re.DOTALL)
_LEADING_TIME = re.compile(_TIME)
_CSV_START = re.compile(rf"{_TIME},")
_PID = re.compile(r"\[(\d{1,10})\]")
_USER_DB = re.compile(r"(?:^|[\s:(\[])(?P<user>[^\s@:\[\]()]+)@(?P<db>[^\s@:\[\]()]+)")
_UTC_NAMES = frozenset({"UTC", "GMT", "UT", "Z"})

# csvlog columns (PostgreSQL 9.0+; later versions append columns, which are ignored).
_CSV_MESSAGE = 13
_CSV_SEVERITY = 11
_CSV_ATTRIBUTES = (
    (4, "connection_from"), (5, "session_id"), (6, "session_line_num"), (7, "command_tag"),
    (9, "virtual_transaction_id"), (10, "transaction_id"), (12, "sql_state"), (14, "detail"),
    (15, "hint"), (18, "context"), (19, "query"), (22, "application_name"), (23, "backend_type"),
)
_AUDIT_FIELDS = ("audit_type", "statement_id", "substatement_id", "class", "command",
                 "object_type", "object_name", "statement", "parameter")
_DESTRUCTIVE = frozenset({"TRUNCATE TABLE", "DELETE"})


@dataclass(frozen=True)
class _LogLine:
    """One parsed log record, whichever destination wrote it."""

    text: str
    time: datetime
    severity: str
    message: str
    user: str | None
    database: str | None
    pid: int | None
    log_format: str
    extra: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class _Audit:
    audit_type: str
    statement_id: int
    substatement_id: int
    audit_class: str
    command: str
    object_type: str
    object_name: str
    statement: str
    parameter: str | None
    rows: int | None


class PgAuditAdapter:
    name: ClassVar[str] = "pgaudit"
    line_format: ClassVar[bool] = True  # the pipeline hands records as text, not parsed JSON

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        return None  # text lines are never containers

    def accepts(self, record: JSON) -> bool:
        if not isinstance(record, str):
            return False
        try:
            _parse(record)
        except RecordError:
            return False
        return True

    def split_lines(self, text: str) -> Iterator[tuple[int, str]]:
        """Log records with the 1-based line each starts on (see ``_split``)."""
        return _split(text)

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        if not isinstance(record, str):
            raise RecordError(f"expected a log line (text), got {type_name(record)}")
        line = _parse(record)
        if line.message.startswith(_AUDIT_PREFIX):
            return [_audit_event(line, _audit(line.message), ctx)]
        return [_other_event(line, ctx)]


# --- records from lines -----------------------------------------------------------------------


def _split(text: str) -> Iterator[tuple[int, str]]:
    """Group physical lines into records.

    A line continues the record before it when it starts with a tab (stderr continuation) or
    while a csvlog record has an open quoted field — unless the line itself starts a new csvlog
    row, so one truncated row can not swallow the rest of the file.
    """
    parts: list[str] = []
    start, csv_row, quote_open = 0, False, False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if parts and (line.startswith("\t") or (quote_open and not _CSV_START.match(line))):
            parts.append(line)
            quote_open ^= csv_row and line.count('"') % 2 == 1
            continue
        if parts:
            yield start, "\n".join(parts)
        parts, start = ([line], number) if line.strip() else ([], 0)
        csv_row = bool(parts) and bool(_CSV_START.match(line))
        quote_open = csv_row and line.count('"') % 2 == 1
    if parts:
        yield start, "\n".join(parts)


def _parse(text: str) -> _LogLine:
    if _CSV_START.match(text):
        return _parse_csv(text)
    match = _STDERR.match(text)
    if match is None:
        if _LEADING_TIME.match(text):
            raise RecordError("no PostgreSQL severity ('LOG:  ', 'ERROR:  ', ...) after the "
                              "timestamp", field="severity")
        raise RecordError(f"not a PostgreSQL log line: {text[:60]!r}", field="timestamp")
    prefix = match.group("prefix")
    pid = _PID.search(prefix)
    user_db = _USER_DB.search(prefix)
    time, zone = _time(match)
    return _LogLine(
        text=text, time=time, severity=match.group("severity"),
        message=match.group("message").replace("\n\t", "\n"),  # undo the continuation tabs
        user=user_db.group("user") if user_db else None,
        database=user_db.group("db") if user_db else None,
        pid=int(pid.group(1)) if pid else None, log_format="stderr",
        extra={"log_time_zone": zone} if zone else {},
    )


def _parse_csv(text: str) -> _LogLine:
    row = _csv_row(text, "message", strict=True)  # PostgreSQL quotes csvlog rows correctly
    if len(row) <= _CSV_MESSAGE:
        raise RecordError(f"a csvlog row has at least {_CSV_MESSAGE + 1} columns, got {len(row)}",
                          field="message")
    severity = row[_CSV_SEVERITY]
    if severity not in _SEVERITY_NAMES:
        raise RecordError(f"unknown severity {severity[:20]!r}", field="error_severity")
    match = _LEADING_TIME.match(row[0])
    if match is None or match.end() != len(row[0]):
        raise RecordError(f"not a timestamp: {row[0][:40]!r}", field="log_time")
    time, zone = _time(match)
    extra: dict[str, JSON] = {name: row[i] for i, name in _CSV_ATTRIBUTES if i < len(row) and row[i]}
    if zone:
        extra["log_time_zone"] = zone
    return _LogLine(
        text=text, time=time, severity=severity, message=row[_CSV_MESSAGE],
        user=row[1] or None, database=row[2] or None,
        pid=int(row[3]) if row[3].isdigit() else None, log_format="csvlog", extra=extra,
    )


def _csv_row(text: str, field_name: str, *, strict: bool = False) -> list[str]:
    """One CSV row; ``strict`` refuses bad quoting, e.g. a row cut off inside a quoted field."""
    try:
        rows = list(csv.reader([text], strict=strict))
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit, a NUL byte
        raise RecordError(f"invalid CSV: {exc}", field=field_name) from None
    if len(rows) != 1:
        raise RecordError(f"expected one CSV row, got {len(rows)}", field=field_name)
    return rows[0]


def _time(match: re.Match[str]) -> tuple[datetime, str | None]:
    """The time in UTC, and the zone name when it could not be resolved (then read as UTC)."""
    try:
        naive = datetime.fromisoformat(match.group("time").replace(" ", "T"))
    except ValueError:  # a calendar-impossible date such as 2026-02-31
        raise RecordError(f"not a valid time: {match.group('time')!r}", field="timestamp") from None
    zone = match.group("z") or match.group("tz")
    if zone is None or zone in _UTC_NAMES:
        return naive.replace(tzinfo=UTC), None
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        try:
            local = naive.replace(tzinfo=timezone(-offset if zone[0] == "-" else offset))
        except ValueError:  # an offset of a day or more
            raise RecordError(f"invalid UTC offset {zone!r}", field="timestamp") from None
        return local.astimezone(UTC), None
    # Abbreviations (CEST, PDT) are ambiguous: kept as an attribute, the time read as UTC.
    return naive.replace(tzinfo=UTC), zone


# --- the pgAudit message ----------------------------------------------------------------------


def _audit(message: str) -> _Audit:
    fields = _csv_row(message[len(_AUDIT_PREFIX):], "audit")
    if len(fields) < 8:
        raise RecordError(f"expected {len(_AUDIT_FIELDS)} pgAudit fields, got {len(fields)}",
                          field="audit")
    audit_type = fields[0]
    if audit_type not in ("SESSION", "OBJECT"):
        raise RecordError(f"expected SESSION or OBJECT, got {audit_type[:20]!r}",
                          field="audit.audit_type")
    return _Audit(
        audit_type=audit_type,
        statement_id=_audit_int(fields[1], "audit.statement_id"),
        substatement_id=_audit_int(fields[2], "audit.substatement_id"),
        audit_class=fields[3], command=fields[4], object_type=fields[5], object_name=fields[6],
        statement=fields[7], parameter=fields[8] if len(fields) > 8 else None,
        rows=_audit_int(fields[9], "audit.rows") if len(fields) > 9 and fields[9] else None,
    )


def _audit_int(value: str, field_name: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise RecordError(f"expected a number, got {value[:20]!r}", field=field_name)
    return int(value)


# --- building events --------------------------------------------------------------------------


def _audit_event(line: _LogLine, audit: _Audit, ctx: AdapterContext) -> Event:
    attributes = _line_attributes(line, ctx)
    attributes.update({
        "audit_type": audit.audit_type, "statement_id": audit.statement_id,
        "substatement_id": audit.substatement_id, "audit_class": audit.audit_class,
        "command": audit.command, "destructive": _destructive(audit.command),
    })
    put(attributes, "object_type", audit.object_type or None)
    put(attributes, "object_name", audit.object_name or None)
    put(attributes, "rows", audit.rows)
    tool_input = {"statement": audit.statement, "object_type": audit.object_type,
                  "object_name": audit.object_name, "class": audit.audit_class,
                  "parameter": audit.parameter}
    return _emit(line, ctx, EventKind.CLOUD_CALL, text=_audit_summary(line, audit),
                 tool_name=audit.command or None, tool_input=tool_input, is_error=None,
                 attributes=attributes)


def _other_event(line: _LogLine, ctx: AdapterContext) -> Event:
    return _emit(line, ctx, EventKind.OTHER, text=line.message, tool_name=None, tool_input=None,
                 is_error=line.severity in _ERROR_SEVERITIES,
                 attributes=_line_attributes(line, ctx))


def _emit(line: _LogLine, ctx: AdapterContext, kind: EventKind, *, text: str,
          tool_name: str | None, tool_input: JSON, is_error: bool | None,
          attributes: dict[str, JSON]) -> Event:
    return Event.create(
        source=SOURCE,
        native_id=f"{format_time(line.time)}/{content_id(line.text)}",
        stream=f"postgres:{line.database or ctx.params.get('server') or 'default'}",
        kind=kind, time=line.time, received_at=ctx.received_at, actor=line.user, text=text,
        tool_name=tool_name, tool_input=tool_input, is_error=is_error, attributes=attributes,
        raw=line.text,
    )


def _audit_summary(line: _LogLine, audit: _Audit) -> str:
    who = f"{line.user or '?'}@{line.database}" if line.database else line.user or "?"
    target = f" {audit.object_name}" if audit.object_name else ""
    statement = " ".join(audit.statement.split())
    statement = statement if len(statement) <= 200 else statement[:199] + "…"
    return f"{who} {audit.command}{target}: {statement}"


def _line_attributes(line: _LogLine, ctx: AdapterContext) -> dict[str, JSON]:
    attributes: dict[str, JSON] = {"severity": line.severity, "log_format": line.log_format}
    put(attributes, "user", line.user)
    put(attributes, "database", line.database)
    put(attributes, "pid", line.pid)
    put(attributes, "server", ctx.params.get("server"))
    attributes.update(line.extra)
    return attributes


def _destructive(command: str) -> bool:
    """Statements that destroy data or objects: DROP ..., TRUNCATE, DELETE."""
    return command.startswith("DROP ") or command in _DESTRUCTIVE
