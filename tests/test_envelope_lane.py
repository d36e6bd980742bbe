"""The server's lane for a body of one envelope (``Preparer.prepare_envelope``): it stores exactly
what the general path stores, and leaves every body it does not fully vouch for to that path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pipeline import Preparer
from ingest.preparing import prepare_all
from ingest.redact import Redactor
from tests.helpers import envelope

RECEIVED = datetime(2026, 11, 28, 9, 30, 1, 250000, tzinfo=UTC)
KINDS = ("user_message", "agent_reasoning", "agent_message", "tool_call", "tool_result",
         "cloud_call", "system", "other")


def _preparer(**limits: int) -> Preparer:
    return Preparer(Redactor(b"lane-test-key"), max_depth=limits.get("max_depth", 16),
                    chunk_size=100, max_field=limits.get("max_field", 4096))


def _general(preparer: Preparer, body: bytes) -> tuple[list[Any], list[Any]]:
    """(rows, errors) of the general path, the events built and encoded one by one."""
    _fmt, chunks = preparer.prepare(body, "blackbox", received_at=RECEIVED)
    done = list(chunks)
    return ([row for chunk in done for row in chunk.to_ship()],
            [(e.field, e.reason) for chunk in done for e in chunk.errors])


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | _text,
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_text, inner, max_size=3), max_leaves=8)
_times = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda t: t.isoformat()),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda t: t.isoformat() + "Z"),
    st.sampled_from(["2026-04-24T08:31:44.593+02:00", "2026-04-24T08:31:44-07:30"]),
    st.integers(631152000, 3786912000),  # epoch seconds
    st.integers(631152000000, 3786912000000),  # epoch milliseconds
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"source": draw(_text.filter(bool)), "native_id": draw(_text.filter(bool)),
                           "stream": draw(_text.filter(bool)), "kind": draw(st.sampled_from(KINDS)),
                           "time": draw(_times)}
    for name in ("session_id", "actor", "text", "tool_name", "call_id"):
        if draw(st.booleans()):
            doc[name] = draw(st.none() | _text)
    for name, values in (("tool_input", _json), ("raw", _json), ("is_error", st.none() | st.booleans()),
                         ("attributes", st.dictionaries(_text, _json, max_size=3)),
                         ("received_at", _times), ("unknown_key", _json)):
        if draw(st.booleans()):
            doc[name] = draw(values)
    return doc


@settings(max_examples=300, deadline=None)
@given(documents())
def test_the_lane_stores_byte_for_byte_what_the_general_path_stores(doc: dict[str, Any]) -> None:
    preparer = _preparer()
    body = orjson.dumps(doc)
    rows, errors = _general(preparer, body)
    lane = preparer.prepare_envelope(body, received_at=RECEIVED)
    if lane is None:  # only for a body the general path redacts or refuses
        assert preparer.redactor.might_contain_secret(body) or errors
        return
    assert not errors
    assert lane.shipped == rows
    assert (lane.records, lane.rejects, lane.errors, lane.encoded) == (1, [], [], [])


def test_prepare_all_takes_the_lane_for_one_clean_envelope_only() -> None:
    preparer = _preparer()
    one = orjson.dumps(envelope(1))
    chosen, [chunk] = prepare_all(preparer, one, "blackbox", {})
    assert chosen == "blackbox"
    assert chunk.encoded == [] and len(chunk.shipped) == 1  # the lane: the writer's form only
    assert orjson.loads(chunk.shipped[0][-1])["native_id"] == "sess-1/1"
    # Another format naming the same body is the general path's: its events are built.
    _chosen, [general] = prepare_all(preparer, one, "auto", {})
    assert len(general.encoded) == 1


def _refused_by_lane(preparer: Preparer, body: bytes) -> tuple[list[Any], list[Any]]:
    """The lane declines the body; prepare_all then answers exactly as the general path does."""
    assert preparer.prepare_envelope(body, received_at=RECEIVED) is None
    _chosen, chunks = prepare_all(preparer, body, "blackbox", {})
    rows = [(*row[:-1], {**orjson.loads(row[-1]), "received_at": None})
            for chunk in chunks for row in chunk.to_ship()]
    general_rows, errors = _general(preparer, body)
    assert rows == [(*row[:-1], {**orjson.loads(row[-1]), "received_at": None})
                    for row in general_rows]
    return rows, errors


def test_a_secret_goes_to_the_general_path_and_is_redacted() -> None:
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    rows, errors = _refused_by_lane(_preparer(), orjson.dumps(envelope(2, token=secret)))
    assert not errors and len(rows) == 1
    assert secret not in orjson.dumps(rows[0][-1]).decode()
    assert "[REDACTED:" in rows[0][-1]["raw"]["token"]


def test_bad_envelopes_go_to_the_general_path_and_are_rejected_by_field() -> None:
    preparer = _preparer()
    cases = {"kind": {**envelope(3), "kind": "telepathy"},
             "id": {**envelope(4), "id": "0" * 32},
             "stream": {**envelope(5), "stream": 7},
             "time": {**envelope(6), "time": "yesterday"},
             "source": {k: v for k, v in envelope(7).items() if k != "source"}}
    for field, doc in cases.items():
        rows, errors = _refused_by_lane(preparer, orjson.dumps(doc))
        assert rows == [] and [name for name, _ in errors] == [field]


def test_other_shapes_and_limits_go_to_the_general_path() -> None:
    preparer = _preparer(max_depth=6, max_field=1024)
    two = [envelope(8), envelope(9)]
    assert len(_refused_by_lane(preparer, orjson.dumps(two))[0]) == 2  # a JSON array
    ndjson = orjson.dumps(two[0]) + b"\n" + orjson.dumps(two[1])
    assert len(_refused_by_lane(preparer, ndjson)[0]) == 2
    wrapped = orjson.dumps({"events": two})
    assert len(_refused_by_lane(preparer, wrapped)[0]) == 2
    deep = orjson.dumps(envelope(10, nested=[[[[[["x"]]]]]]))
    _rows, errors = _refused_by_lane(preparer, deep)
    assert errors and "deeper than 6" in errors[0][1]
    long = orjson.dumps(envelope(11, note="n" * 2000))
    _rows, errors = _refused_by_lane(preparer, long)
    assert errors and "over the limit" in errors[0][1]
    _rows, errors = _refused_by_lane(preparer, b'{"source": "x",')
    assert errors
