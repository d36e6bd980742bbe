"""The shared ingest path: every shared transcript line lands, re-ingest is a no-op, bad input
is quarantined with its position, nothing else is lost."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.envelope import EventKind
from ingest.errors import InputError, PayloadTooLarge
from ingest.log import EventLog, Recorded
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from ingest.reader import decompress, nesting_exceeds, read_path_bytes, top_values
from ingest.redact import Redactor
from tests.helpers import envelope, ndjson


def transcript_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "claude-code").rglob("*.jsonl"))


def read_everything(log: EventLog) -> list[Recorded]:
    out: list[Recorded] = []
    while batch := log.read_all(after_position=out[-1].position if out else 0, limit=5000):
        out.extend(batch)
    return out


def test_every_shared_transcript_line_ingests_once(log: EventLog, preparer: Preparer,
                                                   shared_data: Path) -> None:
    files = transcript_files(shared_data)
    assert any("subagents" in p.parts for p in files)
    lines = 0
    for path in files:
        data = path.read_bytes()
        lines += sum(1 for line in data.splitlines() if line.strip())
        report = ingest_bytes(log, preparer, data, AUTO, origin=str(path))
        assert report.format == "claude-code" and report.errors == [], (path, report.errors[:3])
    stored = read_everything(log)
    assert len(stored) >= lines
    assert log.verify().ok
    for path in files:
        again = ingest_bytes(log, preparer, path.read_bytes(), "claude-code", origin=str(path))
        assert again.appended == 0 and again.errors == []
    assert log.count_events() == len(stored)


def test_shared_transcripts_map_to_the_right_kinds(log: EventLog, preparer: Preparer,
                                                   shared_data: Path) -> None:
    for path in transcript_files(shared_data):
        ingest_bytes(log, preparer, path.read_bytes(), "claude-code", origin=str(path))
    stored = [r.event for r in read_everything(log)]
    kinds = Counter(e.kind for e in stored)
    for kind in (EventKind.AGENT_REASONING, EventKind.AGENT_MESSAGE, EventKind.TOOL_CALL,
                 EventKind.TOOL_RESULT, EventKind.USER_MESSAGE, EventKind.SYSTEM, EventKind.OTHER):
        assert kinds[kind] > 0, kind
    calls = {e.call_id for e in stored if e.kind == EventKind.TOOL_CALL}
    results = [e for e in stored if e.kind == EventKind.TOOL_RESULT]
    assert results and all(r.call_id in calls for r in results)
    subagent = [e for e in stored if e.attributes.get("agent_id")]
    assert subagent and all(e.session_id and e.stream == e.session_id for e in subagent)
    sessions = {s.session_id for s in log.sessions()}
    assert {e.session_id for e in subagent} <= sessions


def test_bad_lines_are_quarantined_with_file_and_line(log: EventLog, preparer: Preparer,
                                                      shared_data: Path) -> None:
    good = (shared_data / "claude-code" / "short.jsonl").read_bytes().splitlines()
    data = b"\n".join([good[0], b"", b"{not json", good[1], b'"a string"']) + b"\n"
    report = ingest_bytes(log, preparer, data, "claude-code", origin="mixed.jsonl")
    assert report.appended == 2
    assert [(e.location, e.line) for e in report.errors] == [("mixed.jsonl", 3), ("mixed.jsonl", 5)]
    kept = log.rejects()
    assert [r.rejected.payload for r in kept] == ["{not json", '"a string"']
    assert all(r.rejected.origin == "mixed.jsonl" for r in kept)


def test_undetectable_input_is_quarantined_naming_what_was_tried(log: EventLog,
                                                                 preparer: Preparer) -> None:
    report = ingest_bytes(log, preparer, ndjson([{"weird": 1}, {"weird": 2}]), AUTO)
    assert report.appended == 0 and report.rejected == 2
    assert "tried: " in report.errors[0].reason and "claude-code" in report.errors[0].reason
    assert len(log.rejects()) == 2


def test_a_failing_record_does_not_take_its_neighbours_down(log: EventLog,
                                                            preparer: Preparer) -> None:
    docs = [envelope(1), {**envelope(2), "time": "yesterday"}, envelope(3)]
    report = ingest_bytes(log, preparer, orjson.dumps(docs), "blackbox")
    assert report.appended == 2
    (error,) = report.errors
    assert (error.index, error.field) == (1, "time") and error.line is None


def test_secrets_are_redacted_before_append(log: EventLog, preparer: Preparer) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    report = ingest_bytes(log, preparer, orjson.dumps(envelope(1, note=f"token {token}")), "blackbox")
    assert report.appended == 1
    (stored,) = read_everything(log)
    assert token not in orjson.dumps(stored.event.to_document()).decode()
    assert "[REDACTED:" in stored.event.raw["note"]


def test_reader_shapes_and_line_numbers() -> None:
    assert [t.value for t in top_values(b'[{"a": 1}, {"a": 2}]')] == [[{"a": 1}, {"a": 2}]]
    assert [t.value for t in top_values(b'{"a": 1}')] == [{"a": 1}]
    pretty = b'{\n  "a": 1\n}\n'
    assert [t.value for t in top_values(pretty)] == [{"a": 1}]
    lines = list(top_values(b'\n\n{"a": 1}\n{"b": 2}\n'))
    assert [(t.line, t.value) for t in lines] == [(3, {"a": 1}), (4, {"b": 2})]
    assert list(top_values(b"   \n")) == []
    # One value and blank lines is a document; blank lines before the first do not count.
    assert [(t.line, t.value) for t in top_values(b'{"a": 1}\n  \n\n')] == [(None, {"a": 1})]
    assert [(t.line, t.value) for t in top_values(b' \n {"a": 1}\r\n{"b": 2}')] == [
        (2, {"a": 1}), (3, {"b": 2})]


def test_ndjson_is_parsed_as_its_chunks_are_taken(log: EventLog, preparer: Preparer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed whole, a large file held several times its size in Python objects."""
    parsed = Counter[str]()
    real_loads = orjson.loads

    def counting_loads(data: bytes | str) -> object:
        parsed["lines"] += 1
        return real_loads(data)

    monkeypatch.setattr("ingest.reader.orjson.loads", counting_loads)
    docs = [orjson.dumps(envelope(n, session="lazy")) for n in range(5 * preparer.chunk_size)]
    docs[-2] = b'{"broken": '
    chosen, chunks = preparer.prepare(b"\n".join(docs), AUTO, origin="big.jsonl")
    first = next(chunks)
    assert chosen == "blackbox" and len(first.encoded) == preparer.chunk_size
    assert parsed["lines"] <= preparer.chunk_size + 21  # the chunk, the detection sample, a probe
    rest = list(chunks)
    assert sum(len(p.encoded) for p in rest) == 4 * preparer.chunk_size - 1
    [error] = [e for p in rest for e in p.errors]  # rejected where it stands, with its place
    assert (error.location, error.line, error.reason.startswith("invalid JSON")) == (
        "big.jsonl", len(docs) - 1, True)


def test_lines_that_are_no_json_are_quarantined_alike_wherever_they_stand(
        preparer: Preparer) -> None:
    """Before and after the lines the format is detected from: same label, own place each."""
    docs = [orjson.dumps(envelope(n, session="bad")) for n in range(2 * preparer.chunk_size)]
    docs[1] = docs[-2] = b'{"broken": '
    chosen, chunks = preparer.prepare(b"\n".join(docs), AUTO, origin="bad.jsonl")
    prepared = list(chunks)
    rejects = [r for p in prepared for r in p.rejects]
    assert chosen == "blackbox" and sum(len(p.encoded) for p in prepared) == len(docs) - 2
    assert [(r.format, r.origin, r.line) for r in rejects] == [
        ("blackbox", "bad.jsonl", 2), ("blackbox", "bad.jsonl", len(docs) - 1)]


def test_reading_a_file_within_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"x" * 1000)
    assert read_path_bytes(str(path), limit=1000) == b"x" * 1000
    with pytest.raises(PayloadTooLarge, match=r"in\.jsonl: larger than 999 bytes"):
        read_path_bytes(str(path), limit=999)
    with pytest.raises(InputError, match=r"missing\.jsonl: can not read"):
        read_path_bytes(str(tmp_path / "missing.jsonl"), limit=1000)


@pytest.mark.parametrize(("size", "fits"), [(3 << 20, True), ((3 << 20) + 1, False)])
def test_reading_a_pipe_within_a_limit(tmp_path: Path, size: int, fits: bool) -> None:
    """A pipe has no size to check first: it is read in blocks, up to one byte past the limit."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as sink:
            sink.write(b"y" * size)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        if fits:
            assert read_path_bytes(str(fifo), limit=3 << 20) == b"y" * size
        else:
            with pytest.raises(PayloadTooLarge):
                read_path_bytes(str(fifo), limit=3 << 20)
    finally:
        writer.join(timeout=10)


def test_gzip_input_and_bombs() -> None:
    assert decompress(gzip.compress(b'{"a": 1}'), limit=100) == b'{"a": 1}'
    with pytest.raises(PayloadTooLarge):
        decompress(gzip.compress(b"0" * 10_000), limit=1000)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet='ab"\\[]{}\n/u\u00e9')
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TRICKY_TEXT,
    lambda inner: st.lists(inner) | st.dictionaries(_TRICKY_TEXT, inner),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.integers(0, 8))
def test_nesting_check_matches_the_real_depth(value: object, limit: int) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=1, ensure_ascii=False),
                 orjson.dumps(value)):
        assert nesting_exceeds(text, limit) == (_depth(value) > limit)


@pytest.mark.parametrize("fmt", ["claude-code", "cloudtrail", "blackbox"])
def test_huge_fields_are_rejected_naming_the_field(log: EventLog, fmt: str,
                                                   shared_data: Path) -> None:
    small = Preparer(Redactor(b"k" * 32), max_depth=64, chunk_size=500, max_field=2048)
    record = {
        "claude-code": orjson.loads((shared_data / "claude-code" / "short.jsonl")
                                    .read_bytes().splitlines()[3]),
        "cloudtrail": orjson.loads((shared_data / "cloudtrail" / "stratus-red-team" /
                                    "aws.defense-evasion.cloudtrail-delete.json").read_bytes())[0],
        "blackbox": envelope(1),
    }[fmt]
    huge = {**record, "notes": {"blob": ["ok", "x" * 5000]}}
    data = ndjson([record, huge]) if fmt != "cloudtrail" else orjson.dumps([record, huge])
    report = ingest_bytes(log, small, data, fmt, origin="big.json")
    (error,) = report.errors
    assert error.field == "notes.blob[1]" and "5,000 characters" in error.reason
    assert error.index == 1 and error.location == "big.json"
    assert report.appended >= 1 and len(log.rejects()) == 1
