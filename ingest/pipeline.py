"""The one ingest path, shared by HTTP and CLI: bytes → records → redacted → events → log.

Preparation (parse, detect, redact, map, encode) is pure CPU work done chunk by chunk; appending
goes through the log's group committer. Every record ends either in the log or, with its reason
and position, in the quarantine table — never silently dropped. A request holding one clean
envelope (what an agent's hook posts per tool call) may skip the chunking stages
(``Preparer.prepare_envelope``); it stores the same bytes, and any other body takes this path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice
from typing import Any

import orjson

from ingest.adapters import Adapter, AdapterContext, adapter_names, detect_adapter, get_adapter
from ingest.documents import envelope_fields
from ingest.envelope import JSON, utc_now
from ingest.errors import RecordError, UnknownFormat
from ingest.log import AppendOutcome, Encoded, EventLog, Rejected, Shipped, encode, ship_fields
from ingest.reader import (
    BadInput,
    TopValue,
    container_count,
    max_depth_exceeded,
    nesting_exceeds,
    text_records,
    top_values,
)
from ingest.redact import Redactor

log = logging.getLogger(__name__)

AUTO = "auto"
_DETECT_SAMPLE = 20


@dataclass(frozen=True, slots=True)
class SourceRecord:
    value: JSON
    index: int | None
    line: int | None
    text: str | None  # the record's own source text when known (one NDJSON line)
    error: RecordError | None = None  # the text is no JSON: quarantined where it stands


@dataclass
class Prepared:
    """One chunk of an input, mapped: events to append and records to quarantine."""

    encoded: list[Encoded] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    records: int = 0
    # The events as the log's writer takes them, when only that form came back (a chunk mapped
    # in a preparation process: ``ingest.preparing``); else made from ``encoded`` when needed.
    shipped: list[Shipped] = field(default_factory=list)
    through_line: int | None = None  # the input's line this chunk ends at, when lines are known

    def to_ship(self) -> list[Shipped]:
        """The chunk's events in the log writer's form."""
        return self.shipped or [encoded.shipped() for encoded in self.encoded]

    def without_events(self) -> Prepared:
        """This chunk with its events in the writer's form only: what a preparation process sends
        back (plain tuples pickle in C; the events themselves would cost more than mapping them)."""
        return Prepared([], self.rejects, self.errors, self.records, self.to_ship(),
                        self.through_line)


@dataclass
class IngestReport:
    format: str | None = None
    appended: int = 0
    duplicates: int = 0
    errors: list[RecordError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def add(self, prepared: Prepared, outcome: AppendOutcome) -> None:
        self.appended += outcome.appended
        self.duplicates += outcome.duplicates
        self.errors.extend(prepared.errors)

    def merge(self, other: IngestReport) -> None:
        self.appended += other.appended
        self.duplicates += other.duplicates
        self.errors.extend(other.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "appended": self.appended,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [error_json(e) for e in self.errors],
        }


def error_json(error: RecordError) -> dict[str, Any]:
    return {"file": error.location, "line": error.line, "index": error.index,
            "field": error.field, "reason": error.reason}


class Preparer:
    """Maps one input (file or request body) of a format to encoded events, chunk by chunk."""

    def __init__(self, redactor: Redactor, *, max_depth: int, chunk_size: int,
                 max_field: int = 4 * 1024 * 1024) -> None:
        self.redactor = redactor
        self.max_depth = max_depth
        self.chunk_size = chunk_size
        self.max_field = max_field

    def prepare(self, data: bytes, fmt: str, *, origin: str | None = None,
                received_at: datetime | None = None,
                params: Mapping[str, str] | None = None) -> tuple[str | None, Iterator[Prepared]]:
        """The chosen format and the input's prepared chunks (lazily mapped).

        NDJSON is parsed chunk by chunk, after the lines the format is detected from: parsed
        whole, a file held about 7 times its size in Python objects (bench/cli_memory.py)."""
        named = _named_adapter(fmt)
        lines = named is not None and _reads_lines(named)
        rest = iter(()) if lines else top_values(data)
        head = _detection_sample(rest)
        try:
            adapter = get_adapter(fmt) if fmt != AUTO else _detect(head)
        except UnknownFormat as exc:
            no_json = not any(isinstance(top, TopValue) for top in head)
            found = _detect_text(data) if fmt == AUTO and no_json else None
            if found is None:
                rejected = self._reject_all(Prepared(), chain(head, rest), str(exc), fmt, origin)
                return None, iter([rejected])
            adapter, lines = found, True  # no JSON at all, but a text log
        tops: Iterable[TopValue | BadInput] = (
            _text_values(data, adapter) if lines else chain(head, rest))
        ctx = AdapterContext(received_at=received_at or utc_now(), origin=origin,
                             params=dict(params or {}))
        scan = _Scan(data, self.redactor, self.max_depth)
        return adapter.name, self._chunks(adapter, _records(tops, adapter), ctx, scan)

    def prepare_envelope(self, data: bytes, received_at: datetime | None = None) -> Prepared | None:
        """A body of one envelope with nothing to redact, within the nesting and size limits,
        prepared in the writer's form only; None for any other body (``prepare`` takes it, and
        says what is wrong with it). What an agent's hook posts per tool call: measured in
        process, the general path's parsing, chunking and mapping stages and the ``Event`` it
        builds cost about 14 µs of the 21 µs this body took to prepare. The checks are the
        general path's own pre-checks of a whole body (``_Scan``, and the field limit of
        ``_clean``), so both paths accept and store the same bytes."""
        scan = _Scan(data, self.redactor, self.max_depth)
        if len(data) > self.max_field or scan.may_be_deep(None) or scan.may_hold_secret(None):
            return None
        try:
            fields = envelope_fields(orjson.loads(data), received_at=received_at or utc_now())
            return Prepared(records=1, shipped=[ship_fields(fields)])
        except (orjson.JSONDecodeError, RecordError):
            return None

    def _chunks(self, adapter: Adapter, records: Iterable[SourceRecord], ctx: AdapterContext,
                scan: _Scan) -> Iterator[Prepared]:
        for chunk in _chunked(records, self.chunk_size):
            prescan = getattr(adapter, "prescan", None)
            if prescan is not None:
                prescan([record.value for record in chunk if record.error is None], ctx)
            yield self._map_chunk(chunk, adapter, ctx, scan)

    def _map_chunk(self, chunk: Sequence[SourceRecord], adapter: Adapter, ctx: AdapterContext,
                   scan: _Scan) -> Prepared:
        prepared = Prepared(records=len(chunk), through_line=chunk[-1].line)
        for record in chunk:
            if record.error is not None:
                self._reject(prepared, record.error.at(location=ctx.origin), record.text or "",
                             adapter.name)
                continue
            try:
                value = self._clean(record, scan)
                prepared.encoded.extend(encode(e) for e in _map(adapter, value, ctx))
            except RecordError as error:
                placed = error.at(index=record.index, line=record.line, location=ctx.origin)
                self._reject(prepared, placed, record.text or _dump(record.value), adapter.name)
        return prepared

    def _clean(self, record: SourceRecord, scan: _Scan) -> JSON:
        """Depth-checked and secret-redacted value (walks only when the cheap scans say so)."""
        value = record.value
        if scan.may_be_deep(record.text) and max_depth_exceeded(value, self.max_depth):
            raise RecordError(f"JSON nested deeper than {self.max_depth} levels")
        if len(record.text if record.text is not None else scan.data) > self.max_field:
            _check_field_sizes(value, self.max_field)
        if scan.may_hold_secret(record.text):
            value = self.redactor.redact_value(value)
        return value

    def _reject(self, prepared: Prepared, error: RecordError, payload: str, fmt: str) -> None:
        prepared.errors.append(error)
        prepared.rejects.append(Rejected(
            format=fmt, reason=error.describe(), payload=self.redactor.redact_text(payload),
            origin=error.location, line=error.line, index=error.index))

    def _reject_all(self, prepared: Prepared, tops: Iterable[TopValue | BadInput], reason: str,
                    fmt: str, origin: str | None) -> Prepared:
        index = 0
        for top in tops:
            if isinstance(top, BadInput):
                self._reject(prepared, top.error.at(location=origin), top.text, fmt)
                continue
            error = RecordError(reason, index=index, line=top.line, location=origin)
            self._reject(prepared, error, top.text or _dump(top.value), fmt)
            index += 1
        return prepared


class _Scan:
    """C-speed pre-checks that decide whether a record needs a Python walk.

    A record with its own text (an NDJSON line) is checked alone; records of a whole JSON
    document share one check of the document, made at most once.
    """

    def __init__(self, data: bytes, redactor: Redactor, max_depth: int) -> None:
        self.data, self._redactor, self._max_depth = data, redactor, max_depth
        self._whole_secret: bool | None = None
        self._whole_deep: bool | None = None

    def may_be_deep(self, text: str | None) -> bool:
        if text is not None:
            return container_count(text) > self._max_depth and nesting_exceeds(text, self._max_depth)
        if self._whole_deep is None:  # fewer brackets than the limit can not nest past it
            self._whole_deep = (container_count(self.data) > self._max_depth
                                and nesting_exceeds(self.data, self._max_depth))
        return self._whole_deep

    def may_hold_secret(self, text: str | None) -> bool:
        if text is not None:
            return self._redactor.might_contain_secret(text)
        if self._whole_secret is None:
            self._whole_secret = self._redactor.might_contain_secret(self.data)
        return self._whole_secret


def _check_field_sizes(value: JSON, limit: int) -> None:
    """RecordError naming the first string (value or key) longer than ``limit`` characters."""
    stack: list[tuple[str, JSON]] = [("", value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, str) and len(current) > limit:
            raise RecordError(f"{len(current):,} characters, over the limit of {limit:,}",
                              field=path or "(record)")
        if isinstance(current, dict):
            for key, child in current.items():
                if len(key) > limit:
                    raise RecordError(f"a key of {len(key):,} characters", field=path or "(record)")
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(current, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(current))


def ingest_bytes(log_: EventLog, preparer: Preparer, data: bytes, fmt: str, *,
                 origin: str | None = None, params: Mapping[str, str] | None = None) -> IngestReport:
    """Synchronous ingest of one input (CLI and tests): durable when it returns."""
    chosen, chunks = preparer.prepare(data, fmt, origin=origin, params=params)
    report = IngestReport(format=chosen)
    for prepared in chunks:
        report.add(prepared, commit_prepared(log_, prepared))
    return report


def commit_prepared(log_: EventLog, prepared: Prepared) -> AppendOutcome:
    """Quarantine first, then append: both durable before the caller is answered."""
    log_.record_rejects(prepared.rejects)
    return log_.append_encoded(prepared.encoded)


def _map(adapter: Adapter, value: JSON, ctx: AdapterContext) -> list[Any]:
    try:
        return adapter.to_events(value, ctx)
    except RecordError:
        raise
    except Exception as exc:  # an adapter bug must quarantine the record, not lose the request
        log.exception("adapter %s failed on a record", adapter.name)
        raise RecordError(f"internal error in the {adapter.name} adapter: {exc!r}") from None


def _detection_sample(tops: Iterator[TopValue | BadInput]) -> list[TopValue | BadInput]:
    """The input's first values up to the ``_DETECT_SAMPLE``-th that is JSON (the format is
    detected from those); the rest stays unread, to be parsed chunk by chunk."""
    head: list[TopValue | BadInput] = []
    found = 0
    for top in tops:
        head.append(top)
        found += isinstance(top, TopValue)
        if found >= _DETECT_SAMPLE:
            break
    return head


def _detect(tops: list[TopValue | BadInput]) -> Adapter:
    sample: list[JSON] = []
    for top in tops:
        if isinstance(top, TopValue):
            sample.extend(top.value if isinstance(top.value, list) else [top.value])
    return detect_adapter(sample[:_DETECT_SAMPLE])


def _named_adapter(fmt: str) -> Adapter | None:
    """The adapter a format names; None for ``auto`` or an unknown name (rejected later)."""
    if fmt == AUTO:
        return None
    try:
        return get_adapter(fmt)
    except UnknownFormat:
        return None


def _reads_lines(adapter: Adapter) -> bool:
    """Formats of text logs (e.g. pgaudit) set ``line_format = True``: their records are the
    input's lines as strings, grouped by the adapter's optional ``split_lines(text)``."""
    return getattr(adapter, "line_format", False) is True


def _text_values(data: bytes, adapter: Adapter) -> Iterator[TopValue]:
    return text_records(data, getattr(adapter, "split_lines", None))


def _detect_text(data: bytes) -> Adapter | None:
    """For input that is not JSON: the line format that accepts most of its first records."""
    for name in adapter_names():
        adapter = get_adapter(name)
        if _reads_lines(adapter):
            sample = [top.value for top in islice(_text_values(data, adapter), _DETECT_SAMPLE)]
            if sample and sum(adapter.accepts(value) for value in sample) * 2 > len(sample):
                return adapter
    return None


def _records(tops: Iterable[TopValue | BadInput], adapter: Adapter) -> Iterator[SourceRecord]:
    index = 0
    for top in tops:
        if isinstance(top, BadInput):
            yield SourceRecord(None, None, top.error.line, top.text, top.error)
            continue
        values = _unwrapped(top.value, adapter)
        single = len(values) == 1 and values[0] is top.value
        for value in values:
            yield SourceRecord(value, index, top.line, top.text if single else None)
            index += 1


def _unwrapped(value: JSON, adapter: Adapter) -> Sequence[JSON]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        inner = adapter.unwrap(value)
        if inner is not None:
            return inner
    return [value]


def _chunked(records: Iterable[SourceRecord], size: int) -> Iterator[list[SourceRecord]]:
    chunk: list[SourceRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _dump(value: JSON) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)
