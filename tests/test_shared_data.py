"""Every record of the real shared samples ingests, auto-detected, with zero rejections."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from api.cli import main
from ingest.log import open_log

SAMPLES = {  # path under shared/data → (format auto-detection must choose, records)
    "cloudtrail/stratus-red-team": ("cloudtrail", 310),
    "agent-safety/assebench/dataset/AgentJudge-security.json": ("agent-trajectory", 817),
    "incidents/railway-volume-delete/railway-audit.json": ("railway-audit", None),
    "incidents/railway-volume-verified/railway-audit.json": ("railway-audit", None),
    "incidents/railway-volume-delete/transcript.jsonl": ("claude-code", None),
    "incidents/railway-volume-verified/transcript.jsonl": ("claude-code", None),
    "claude-code": ("claude-code", None),
}


def ingest(db: str, path: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["ingest", str(path), "--db", db, "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report: dict[str, object] = orjson.loads(result.output)
    return report


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_sample_ingests_without_rejections_and_only_once(sample: str, shared_data: Path,
                                                         tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first = ingest(db, shared_data / sample)
    assert first["rejected"] == 0 and first["appended"] > 0
    again = ingest(db, shared_data / sample)
    assert (again["appended"], again["duplicates"]) == (0, first["appended"])
    log = open_log(db)
    try:
        events = log.read_all(limit=100_000)
        fmt, records = SAMPLES[sample]
        assert {r.event.source for r in events} == {fmt}  # auto-detection chose the format
        if fmt == "cloudtrail":
            assert len(events) == records  # one event per CloudTrail record
            assert all(r.event.stream.startswith("aws:") for r in events)
        if fmt == "agent-trajectory":
            assert len({r.event.session_id for r in events}) == records
        if fmt == "railway-audit":
            nodes = json.loads((shared_data / sample).read_text())["data"]["auditLogs"]["edges"]
            assert len(events) == len(nodes)
            assert all(r.event.stream.startswith("railway:") for r in events)
        assert log.verify().ok
    finally:
        log.close()
