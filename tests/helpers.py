"""Small builders shared by tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import strategies as st

from ingest.adapters.base import Adapter, AdapterContext
from ingest.envelope import Event
from ingest.errors import RecordError
from ingest.log import EventLog, Recorded, encode


def envelope(n: int, session: str = "sess-1", **extra: Any) -> dict[str, Any]:
    """A Blackbox envelope document (what POST /v1/events takes)."""
    return {"source": "test-agent", "native_id": f"{session}/{n}", "stream": session,
            "session_id": session, "kind": "tool_call", "time": f"2026-04-24T08:{n // 60 % 60:02d}:"
            f"{n % 60:02d}Z", "tool_name": "Bash", "call_id": f"call-{n}",
            "tool_input": {"command": f"echo {n}"}, "raw": {"n": n, **extra}}


def ndjson(records: list[Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in records) + b"\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def metric_samples(base: str, name: str) -> dict[str, float]:
    """The samples of metric ``name`` a server's ``GET /metrics`` shows, by their label text
    (``'{format="blackbox"}'``; ``''`` for a metric without labels)."""
    found = {}
    for line in httpx.get(f"{base}/metrics", timeout=30).text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == name or sample.startswith(name + "{"):
            found[sample[len(name):]] = float(value)
    return found


# --- adapter tests ------------------------------------------------------------------------------

# Values no adapter maps: each must raise RecordError naming the record, not crash.
NON_OBJECTS: list[Any] = [[1, 2], "a line", 5, None]
DELETE = object()  # with_value: remove the key instead of setting it

# Records of formats other adapters read: an adapter must not accept them.
OTHER_FORMATS: list[Any] = [
    {"source": "x", "native_id": "1", "stream": "s", "kind": "tool_call",
     "time": "2026-04-24T08:00:00Z"},  # a Blackbox envelope
    {"logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity", "insertId": "abc",
     "timestamp": "2026-04-24T08:00:00Z", "protoPayload": {"methodName": "storage.buckets.delete"},
     "resource": {"type": "gcs_bucket"}},  # a GCP LogEntry
    {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a1",
     "stage": "ResponseComplete", "verb": "delete", "requestURI": "/api/v1/namespaces/prod",
     "user": {"username": "admin"}},  # a Kubernetes audit Event
    {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": []}]},  # OTLP
    {"resourceLogs": [{"resource": {}, "scopeLogs": []}]},
]




def all_recorded(log: EventLog) -> list[Recorded]:
    """Everything in the log, read page by page."""
    out: list[Recorded] = []
    while batch := log.read_all(after_position=out[-1].position if out else 0, limit=5000):
        out.extend(batch)
    return out


def with_value(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``record`` with the value at a dotted path (list items by number) set, or DELETE-d."""
    *parents, last = path.split(".")
    target: Any = record
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return record


def encoded_events(adapter: Adapter, record: Any, received_at: datetime) -> list[Event] | None:
    """The events ``record`` maps to, each encoded once as the log would; None on RecordError."""
    try:
        events = adapter.to_events(record, AdapterContext(received_at=received_at))
        for event in events:
            encode(event)
    except RecordError:
        return None
    return events


def assert_one_cloud_event(adapter: Adapter, record: Any, ctx: Callable[[], AdapterContext],
                           stream_prefix: str) -> None:
    """Any input to a cloud audit adapter: one stable, session-less event, or a RecordError."""
    assert isinstance(adapter.accepts(record), bool)
    try:
        events = adapter.to_events(record, ctx())
    except RecordError as error:
        assert error.reason
        return
    assert len(events) == 1 and isinstance(events[0], Event)
    event = events[0]
    assert event.raw is record and event.stream.startswith(stream_prefix) and event.session_id is None
    assert [e.id for e in adapter.to_events(record, ctx())] == [event.id]
    with contextlib.suppress(RecordError):  # what the pipeline does next: nothing else may escape
        encode(event)


def only_event(adapter: Adapter, record: Any, ctx: AdapterContext) -> Event:
    """The one event ``record`` maps to (the test fails on any other count)."""
    (event,) = adapter.to_events(record, ctx)
    return event


def rejected(adapter: Adapter, record: Any, ctx: AdapterContext) -> RecordError:
    """The RecordError mapping ``record`` raises (the test fails when it maps)."""
    with pytest.raises(RecordError) as info:
        adapter.to_events(record, ctx)
    return info.value


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
ANY_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)


def mostly(valid: st.SearchStrategy[Any], odds: int) -> st.SearchStrategy[Any]:
    """Usually a well-typed value (so mapping gets deep), one time in ``odds`` any JSON at all."""
    return st.integers(0, odds - 1).flatmap(lambda n: valid if n else ANY_JSON)


# Finite numbers only: for adapters whose events are compared after a JSON round trip.
_FINITE_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                   | st.text(max_size=12))
FINITE_JSON = st.recursive(_FINITE_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
