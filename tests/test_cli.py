"""The `blackbox` command: ingest, read back, export/re-import, verify, keys, safe binding."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from api.cli import _ingest_file, main
from api.services import Services
from tests.helpers import envelope, ndjson

BAD_LINE = b'{"type": "user", "sessionId": "s", "uuid": "u1", "timestamp": "2026-01-01T00:00:00Z"'


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_ingest_reports_counts_and_is_idempotent(db: str, shared_data: Path) -> None:
    path = str(shared_data / "claude-code" / "tool_heavy.jsonl")
    first = run("ingest", path, "--db", db, "--json")
    assert first.exit_code == 0, first.output
    counts = orjson.loads(first.output)
    assert counts["rejected"] == 0 and counts["errors"] == [] and counts["appended"] > 0
    again = orjson.loads(run("ingest", path, "--db", db, "--json").output)
    assert (again["appended"], again["duplicates"]) == (0, counts["appended"])


def test_rejections_name_file_and_line_and_exit_nonzero(db: str, shared_data: Path,
                                                        tmp_path: Path) -> None:
    good = (shared_data / "claude-code" / "short.jsonl").read_bytes().splitlines()
    bad = tmp_path / "mixed.jsonl"
    bad.write_bytes(b"\n".join([good[0], good[1], BAD_LINE, good[2]]) + b"\n")
    result = run("ingest", str(bad), "--db", db, "--json", "--format", "claude-code")
    assert result.exit_code == 1
    report = orjson.loads(result.output)
    assert report["rejected"] == 1 and report["appended"] >= 3
    (error,) = report["errors"]
    assert (error["file"], error["line"]) == (str(bad), 3) and "invalid JSON" in error["reason"]
    human = run("ingest", str(bad), "--db", db, "--format", "claude-code")
    assert f"{bad}, line 3" in human.output and "1 rejected" in human.output


def test_sessions_events_export_and_lossless_reimport(db: str, shared_data: Path,
                                                      tmp_path: Path) -> None:
    run("ingest", str(shared_data / "claude-code" / "short.jsonl"), "--db", db)
    sessions = orjson.loads(run("sessions", "--db", db, "--json").output)
    assert len(sessions) == 1
    session_id = sessions[0]["session_id"]
    exported = run("events", "--session", session_id, "--db", db, "--json").output
    lines = [orjson.loads(line) for line in exported.splitlines()]
    assert len(lines) == sessions[0]["event_count"]
    assert [d["log"]["seq"] for d in lines] == list(range(1, len(lines) + 1))
    export = tmp_path / "export.jsonl"
    export.write_text(exported)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    reimport = orjson.loads(run("ingest", str(export), "--db", other, "--json").output)
    assert reimport["appended"] == len(lines) and reimport["rejected"] == 0
    copied = [orjson.loads(x) for x in
              run("events", "--session", session_id, "--db", other, "--json").output.splitlines()]
    assert copied == lines  # same documents, same seqs, same hashes
    human = run("events", "--session", session_id, "--db", db).output
    assert len(human.splitlines()) == len(lines)


def test_verify_ok_then_names_the_tampered_event(db: str, shared_data: Path,
                                                 tmp_path: Path) -> None:
    run("ingest", str(shared_data / "claude-code" / "short.jsonl"), "--db", db)
    ok = run("verify", "--db", db)
    assert ok.exit_code == 0 and ok.output.startswith("OK")
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("DROP TRIGGER events_no_update")
        victim = conn.execute("SELECT id FROM events WHERE seq = 4").fetchone()[0]
        conn.execute("UPDATE events SET body = replace(body, 'a', 'b') WHERE id = ?", (victim,))
    broken = run("verify", "--db", db)
    assert broken.exit_code == 1 and victim in broken.output and "seq 4" in broken.output
    report = orjson.loads(run("verify", "--db", db, "--json").output)
    assert report["ok"] is False and report["breaks"][0]["event_id"] == victim


def test_directories_are_searched_recursively(db: str, shared_data: Path, tmp_path: Path) -> None:
    tree = tmp_path / "projects"
    shutil.copytree(shared_data / "claude-code" / "258c7280-ae70-4798-800f-63464d01a85d", tree / "s")
    report = orjson.loads(run("ingest", str(tree), "--db", db, "--json").output)
    assert report["rejected"] == 0 and report["appended"] > 0


def test_keys_create_list_revoke(db: str) -> None:
    created = run("keys", "create", "--scope", "ingest", "--scope", "read", "--name", "ci", "--db", db)
    assert created.exit_code == 0
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("bbx_")
    listed = run("keys", "list", "--db", db).output
    key_id = listed.split()[0]
    assert "ingest,read" in listed and "active" in listed
    assert run("keys", "revoke", key_id, "--db", db).exit_code == 0
    assert "revoked" in run("keys", "list", "--db", db).output
    assert run("keys", "revoke", key_id, "--db", db).exit_code == 1


def test_serve_refuses_a_public_bind_without_keys(db: str) -> None:
    result = run("serve", "--db", db, "--host", "0.0.0.0", "--port", "1")
    assert result.exit_code == 2 and "no API keys" in result.output


def test_serve_runs_uvicorn_with_the_one_send_per_response_protocol(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from api.transport import BlackboxHttpProtocol

    ran: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(options))
    assert run("serve", "--db", db, "--port", "8799").exit_code == 0
    assert ran["http"] is BlackboxHttpProtocol and (ran["host"], ran["port"]) == ("127.0.0.1", 8799)


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = run("sessions", "--db", "mysql://nope")
    assert result.exit_code == 2 and "unsupported database URL" in result.output


def test_a_large_file_advances_the_progress_chunk_by_chunk(services: Services,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "large.jsonl"
    path.write_bytes(ndjson([envelope(n, session="progress") for n in range(3_500)]))
    steps: list[int] = []
    report = _ingest_file(services, path, "auto", {}, steps.append)
    assert report.appended == 3_500
    assert len([step for step in steps if step > 0]) >= 4  # one per chunk of 1,000 lines
    assert min(steps) >= 0 and sum(steps) == path.stat().st_size
