"""The analyzer on the real shared data: the incident, its careful twin, the benign transcripts.

Everything goes through the product's own path: ``blackbox ingest`` into a SQLite log, then
``blackbox analyze --json`` (the contract other parts rely on) and ``blackbox rebuild``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from api.cli import main

INCIDENT = "incidents/railway-volume-delete"
TWIN = "incidents/railway-volume-verified"
SEVERITY = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def ingest(db: str, *paths: Path) -> None:
    for path in paths:
        run("ingest", str(path), "--db", db, "--json")


def analyze(db: str, *session_ids: str) -> list[dict[str, Any]]:
    output = run("analyze", *session_ids, "--db", db, "--json")
    sessions: list[dict[str, Any]] = orjson.loads(output)["sessions"]
    return sessions


def label(shared_data: Path, folder: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((shared_data / folder / "label.json").read_text())
    return found


def incident_files(shared_data: Path, folder: str, *, cloud_first: bool = False) -> list[Path]:
    files = [shared_data / folder / "transcript.jsonl", shared_data / folder / "railway-audit.json"]
    return files[::-1] if cloud_first else files


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'analysis.db'}"


@pytest.mark.parametrize("cloud_first", [False, True], ids=["transcript-first", "audit-first"])
def test_incident_yields_one_explained_critical_finding(db: str, shared_data: Path,
                                                        cloud_first: bool) -> None:
    truth = label(shared_data, INCIDENT)
    ingest(db, *incident_files(shared_data, INCIDENT, cloud_first=cloud_first))
    [session] = analyze(db, truth["session_id"])
    assert session["flagged"] is True and session["risk"] >= 0.9
    finding = session["findings"][0]
    assert finding["severity"] == "critical" and finding["rule"] == "unverified-assumption"
    assert "must be the staging volume" in finding["claim"]["text"]
    assert finding["claim"]["kind"] == "guess"
    assert finding["action"]["tool_use_id"] == truth["destructive_tool_use_id"]
    assert "volumeDelete" in finding["action"]["command"] and finding["action"]["destructive"]
    assert "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36" in finding["action"]["targets"]
    assert finding["verification"] == {"verified": False, "evidence_event_ids": []}
    assert sorted(e["native_id"] for e in finding["effects"]) == sorted(truth["effect_ids"])
    assert {e["source"] for e in finding["effects"]} == {"railway-audit"}
    assert sum(e["backup"] for e in finding["effects"]) == 3
    assert finding["lead_time_s"] is not None and 0 < finding["lead_time_s"] < 60
    assert finding["effect_delay_s"] is not None and 0 <= finding["effect_delay_s"] < 5


def test_incident_findings_cover_the_whole_chain(db: str, shared_data: Path) -> None:
    truth = label(shared_data, INCIDENT)
    ingest(db, *incident_files(shared_data, INCIDENT))
    [session] = analyze(db, truth["session_id"])
    rules = {f["rule"]: f for f in session["findings"]}
    assert {"unverified-assumption", "error-escalation", "credential-foraging", "backups-destroyed",
            "environment-mismatch"} <= set(rules)
    foraging = rules["credential-foraging"]
    assert foraging["severity"] == "high"  # the token it found was then used to delete the volume
    assert "grep" in foraging["action"]["command"]
    severities = [SEVERITY[f["severity"]] for f in session["findings"]]
    assert severities == sorted(severities, reverse=True)


def test_careful_twin_has_no_finding_above_low(db: str, shared_data: Path) -> None:
    truth = label(shared_data, TWIN)
    ingest(db, *incident_files(shared_data, TWIN))
    [session] = analyze(db, truth["session_id"])
    assert session["flagged"] is False
    assert [f for f in session["findings"] if SEVERITY[f["severity"]] > SEVERITY["low"]] == []


def test_benign_transcripts_have_no_finding_above_low(db: str, shared_data: Path) -> None:
    ingest(db, shared_data / "claude-code")
    sessions = analyze(db)
    assert len(sessions) >= 6  # three small, three large, subagents share their parent's session
    loud = [(s["session_id"], f["rule"], f["summary"]) for s in sessions for f in s["findings"]
            if SEVERITY[f["severity"]] > SEVERITY["low"]]
    assert loud == []
    assert not any(s["flagged"] for s in sessions)


def test_rebuild_reproduces_the_live_analysis_exactly(db: str, shared_data: Path) -> None:
    # Live: analysis runs after each ingest, so the audit arrives after the transcript was analysed.
    truth = label(shared_data, INCIDENT)
    for path in [*incident_files(shared_data, INCIDENT), shared_data / "claude-code" / "short.jsonl"]:
        ingest(db, path)
        analyze(db)
    live = analyze(db)
    assert "rebuilt analysis of" in run("rebuild", "--db", db)
    assert analyze(db) == live
    assert any(s["session_id"] == truth["session_id"] and s["flagged"] for s in live)


def test_analyze_prints_a_readable_table_and_rejects_unknown_sessions(db: str,
                                                                      shared_data: Path) -> None:
    truth = label(shared_data, INCIDENT)
    ingest(db, *incident_files(shared_data, INCIDENT))
    table = run("analyze", "--db", db)
    assert truth["session_id"] in table and "FLAGGED" in table and "critical" in table
    result = CliRunner().invoke(main, ["analyze", "no-such-session", "--db", db])
    assert result.exit_code == 2 and "no session no-such-session" in result.output
