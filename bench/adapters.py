"""Adapter throughput: records/s parsed and mapped, and parsed, mapped and durably appended.

    python bench/adapters.py [--copies N]

For the Claude Code, CloudTrail and OTLP adapters, on real data made large by copying it with
fresh ids (so nothing dedupes). Two figures each: ``prepare`` (parse + redact + map + encode,
in process) and ``ingest`` (the same plus the durable SQLite append, via ``ingest_bytes``).
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.log import open_log  # noqa: E402
from ingest.pipeline import Preparer, ingest_bytes  # noqa: E402
from ingest.redact import Redactor  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX16 = re.compile(rb'"(traceId|spanId|parentSpanId)": ?"([0-9a-f]+)"')


def claude_code_inputs(copies: int) -> list[bytes]:
    files = [p.read_bytes() for p in sorted((SHARED / "claude-code").rglob("*.jsonl"))]
    return [_fresh_uuids(data, copy) for copy in range(copies) for data in files]


def _fresh_uuids(data: bytes, copy: int) -> bytes:
    """Same content, other session/message uuids: a distinct copy that does not dedupe."""
    return _UUID.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{copy}{m[0]!r}")).encode(), data)


def cloudtrail_inputs(copies: int) -> list[bytes]:
    records = []
    for path in sorted((SHARED / "cloudtrail" / "stratus-red-team").glob("*.json")):
        records.extend(orjson.loads(path.read_bytes()))
    out = []
    for copy in range(copies):
        fresh = [{**r, "eventID": f"{r['eventID']}-{copy}"} for r in records]
        out.append(orjson.dumps({"Records": fresh}))
    return out


def otlp_inputs(copies: int) -> list[bytes]:
    copies *= 100  # the fixtures are small exports of a few spans each
    fixtures = [p.read_bytes() for p in sorted((ROOT / "tests" / "fixtures" / "otlp").glob("*.json"))]
    return [_fresh_span_ids(data, copy) for copy in range(copies) for data in fixtures]


def _fresh_span_ids(data: bytes, copy: int) -> bytes:
    def swap(match: re.Match[bytes]) -> bytes:
        digest = uuid.uuid5(uuid.NAMESPACE_OID, f"{copy}{match[2]!r}").hex
        return b'"%s":"%s"' % (match[1], digest[: len(match[2])].encode())

    return _HEX16.sub(swap, data)


def measure(name: str, fmt: str, inputs: list[bytes]) -> tuple[str, int, float, float]:
    preparer = Preparer(Redactor(b"bench-key" * 4), max_depth=64, chunk_size=1000)
    started = time.perf_counter()
    records = sum(chunk.records for data in inputs for chunk in preparer.prepare(data, fmt)[1])
    prepare_rate = records / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        log = open_log(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        appended = sum(ingest_bytes(log, preparer, data, fmt).appended for data in inputs)
        ingest_rate = records / (time.perf_counter() - started)
        assert log.count_events() == appended and log.verify().ok
        log.close()
    return name, records, prepare_rate, ingest_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=10)
    copies = parser.parse_args().copies
    cases: list[tuple[str, str, Callable[[int], list[bytes]]]] = [
        ("Claude Code transcripts", "claude-code", claude_code_inputs),
        ("CloudTrail (S3 delivery)", "cloudtrail", cloudtrail_inputs),
        ("OTLP GenAI spans (JSON)", "otlp", otlp_inputs),
    ]
    print("| adapter | records | prepare records/s | ingest records/s (durable) |")
    print("| --- | ---: | ---: | ---: |")
    for name, fmt, make in cases:
        label, records, prepare_rate, ingest_rate = measure(name, fmt, make(copies))
        print(f"| {label} | {records:,} | {prepare_rate:,.0f} | {ingest_rate:,.0f} |")


if __name__ == "__main__":
    main()
