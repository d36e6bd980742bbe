"""Findings over HTTP, live: the server's worker analyses what arrives, a late audit page updates
the finding, and the projections survive a restart and match a rebuild — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from analyzer.engine import SessionReport
from analyzer.findings import Finding, Severity
from analyzer.projector import CHECKPOINT, Projector
from analyzer.store import FindingStore
from api.app import create_app
from api.services import Services
from ingest.envelope import Event
from ingest.errors import StorageError
from ingest.log import open_log
from ingest.settings import Settings
from tests.backends import Backend, backend
from tests.helpers import envelope

INCIDENT = "incidents/railway-volume-delete"


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as opened:
        yield opened


def post(client: TestClient, fmt: str, path: Path) -> None:
    response = client.post(f"/v1/ingest/{fmt}", content=path.read_bytes())
    assert response.status_code == 200, response.text


def findings(client: TestClient, session_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/sessions/{session_id}/findings")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError("the condition never held")


def test_findings_update_live_when_the_audit_arrives_late(store_backend: Backend,
                                                          shared_data: Path) -> None:
    truth = json.loads((shared_data / INCIDENT / "label.json").read_text())
    sid = truth["session_id"]
    services = Services.open(Settings(db=store_backend.url))
    try:
        with TestClient(create_app(services=services)) as client:
            post(client, "claude-code", shared_data / INCIDENT / "transcript.jsonl")
            before = findings(client, sid)
            assert before["flagged"] and before["findings"][0]["effects"] == []
            post(client, "railway-audit", shared_data / INCIDENT / "railway-audit.json")
            # The worker thread picks it up on its own; the endpoint is not what triggers it.
            wait_for(lambda: services.findings.sessions([sid])[0].findings[0]["effects"])
            after = findings(client, sid)
            assert after["findings"][0]["id"] == before["findings"][0]["id"]
            assert sorted(e["native_id"] for e in after["findings"][0]["effects"]) == sorted(
                truth["effect_ids"])
            assert client.get("/v1/sessions/nope/findings").status_code == 404
            everything = client.get("/v1/findings", params={"flagged": True}).json()["sessions"]
            assert [s["session_id"] for s in everything] == [sid]
    finally:
        services.close()
    # A fresh process carries on from the checkpoint, and a rebuild gives the same answer.
    log, store = open_log(store_backend.url), FindingStore(Settings(db=store_backend.url).analysis_url)
    try:
        assert store.checkpoint(CHECKPOINT) == log.count_events()
        stored = store.sessions([sid])
        Projector(log, store).rebuild()
        assert store.sessions([sid]) == stored
    finally:
        log.close()
        store.close()


def test_checkpoint_never_moves_backwards(store_backend: Backend) -> None:
    store = FindingStore(store_backend.url)
    try:
        store.commit("t", 10, [])
        store.commit("t", 4, [])  # a stale writer
        assert store.checkpoint("t") == 10
    finally:
        store.close()


def session_report(sid: str, findings: list[Finding], events: int,
                   actions: tuple[tuple[str, str, int], ...] = ()) -> SessionReport:
    return SessionReport(sid, "test", None, 0.5, False, findings, events, "2026-04-24T08:00:00Z",
                         "2026-04-24T08:00:00Z", actions)


def finding(sid: str, n: int, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(f"f{n}", "rule", severity, sid, f"finding {n}", "2026-04-24T08:00:00Z")


def test_projections_follow_each_commit_whether_findings_changed_or_not(store_backend: Backend) -> None:
    first, other = FindingStore(store_backend.url), FindingStore(store_backend.url)
    try:
        first.commit("t", 1, [session_report("s", [finding("s", 1)], 1, (("db", "unverified", 1),))])
        first.commit("t", 2, [session_report("s", [finding("s", 1)], 2, (("db", "unverified", 1),))])
        [stored] = first.sessions(["s"])
        assert [f["id"] for f in stored.findings] == ["f1"]
        assert first.action_counts() == [("s", "db", "unverified", 1)]
        first.commit("t", 3, [session_report("s", [finding("s", 2, Severity.CRITICAL), finding("s", 1)], 3)])
        assert [f["id"] for f in first.sessions(["s"])[0].findings] == ["f2", "f1"]
        assert first.action_counts() == []
        assert first.alertable() == {"s": int(Severity.CRITICAL)}
        # Another store (another process) knows nothing of what the first wrote: it replaces it.
        other.commit("t", 4, [session_report("s", [], 4)])
        assert first.sessions(["s"])[0].findings == []
        assert first.alertable() == {}
    finally:
        first.close()
        other.close()


def events(count: int, session: str) -> list[Event]:
    return [Event.from_document({**envelope(n, session), "received_at": "2026-04-24T09:00:00Z"})
            for n in range(count)]


def test_a_catch_up_stops_at_the_end_it_read_and_the_next_takes_the_rest(tmp_path: Path) -> None:
    """Events appended while a round runs are the next round's: under a steady load a round that
    chased them would commit a few dozen events at a time."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log, store = open_log(url), FindingStore(url)
    late = events(5, "s2")

    def append_meanwhile(reports: list[SessionReport]) -> None:
        if late:
            log.append(late)
            late.clear()

    try:
        log.append(events(5, "sess-1"))
        projector = Projector(log, store, batch=10, on_change=append_meanwhile)
        assert projector.catch_up() == 5
        assert store.checkpoint(CHECKPOINT) == 5
        assert projector.catch_up() == 5  # the events appended during the first round
        assert [s.session_id for s in store.sessions()] == ["s2", "sess-1"]
        log.append(events(25, "s3"))
        assert projector.catch_up() == 25  # full batches: read on to the end
        assert store.checkpoint(CHECKPOINT) == log.count_events() == 35
    finally:
        log.close()
        store.close()


def event_counts(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT session_id, events FROM analysis_sessions").fetchall())


class FailingOnce(FindingStore):
    """A store whose next commit fails (a locked or full disk), then works again."""

    fail = True

    def commit(self, *args: Any, **kwargs: Any) -> None:
        if self.fail:
            self.fail = False
            raise StorageError("disk full")
        super().commit(*args, **kwargs)


def test_a_failed_projection_commit_is_retried_without_counting_its_batch_twice(tmp_path: Path) -> None:
    calls = [{**envelope(n), "tool_input": {"command": f"rm -rf /srv/data/{n}"}} for n in range(6)]
    log = open_log(f"sqlite:///{tmp_path / 'log.db'}")
    log.append([Event.from_document({**doc, "received_at": "2026-04-24T09:00:00Z"}) for doc in calls])
    failing = FailingOnce(f"sqlite:///{tmp_path / 'a.db'}")
    fresh = FindingStore(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        projector = Projector(log, failing)
        with pytest.raises(StorageError):
            projector.catch_up()
        assert projector.catch_up() == 6
        Projector(log, fresh).catch_up()
        counts = failing.action_counts()
        assert counts and counts == fresh.action_counts()
        assert sum(n for *_, n in counts) == 6
        assert failing.sessions() == fresh.sessions()
        assert event_counts(tmp_path / "a.db") == event_counts(tmp_path / "b.db") == {"sess-1": 6}
    finally:
        log.close()
        failing.close()
        fresh.close()
