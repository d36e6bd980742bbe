"""The HTTP API over a real SQLite log: ingest shapes, limits, quarantine, reads, auth, metrics."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import Scope
from api.metrics import Metrics
from api.services import Services
from ingest.documents import event_from_document
from ingest.envelope import utc_now
from ingest.pipeline import Prepared, Preparer
from ingest.preparing import PreparationThread
from ingest.settings import Settings
from tests.helpers import envelope, ndjson

AWS_KEY = "AKIAQYLPMN5HFIQR7XYZ"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    opened = Services.open(Settings(db=f"sqlite:///{tmp_path / 'api.db'}", max_body_bytes=64 * 1024,
                                    max_json_depth=16))
    yield opened
    opened.close()




def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ndjson_transcript_ingests_once(client: TestClient, shared_data: Path) -> None:
    body = (shared_data / "claude-code" / "short.jsonl").read_bytes()
    first = client.post("/v1/ingest/claude-code", content=body)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["format"] == "claude-code" and report["rejected"] == 0
    assert report["appended"] >= body.count(b"\n")
    again = client.post("/v1/ingest/claude-code", content=body).json()
    assert (again["appended"], again["duplicates"]) == (0, report["appended"])


def test_auto_detects_the_format(client: TestClient, shared_data: Path) -> None:
    body = (shared_data / "claude-code" / "tool_heavy.jsonl").read_bytes()
    report = client.post("/v1/ingest/auto", content=body).json()
    assert report["format"] == "claude-code" and report["appended"] > 0


@pytest.mark.parametrize("shape", ["array", "object-with-list", "single", "ndjson"])
def test_envelopes_in_every_body_shape(client: TestClient, shape: str) -> None:
    docs = [envelope(n) for n in range(3)]
    body = {"array": orjson.dumps(docs), "object-with-list": orjson.dumps({"events": docs}),
            "single": orjson.dumps(docs[0]), "ndjson": ndjson(docs)}[shape]
    report = client.post("/v1/events", content=body).json()
    assert report["appended"] == (1 if shape == "single" else 3) and report["rejected"] == 0


def test_sessions_and_their_events_read_back(client: TestClient) -> None:
    client.post("/v1/events", content=ndjson([envelope(n) for n in range(5)]))
    sessions = client.get("/v1/sessions").json()["sessions"]
    assert [(s["session_id"], s["event_count"]) for s in sessions] == [("sess-1", 5)]
    page = client.get("/v1/sessions/sess-1/events", params={"limit": 3}).json()
    assert [e["log"]["seq"] for e in page["events"]] == [1, 2, 3]
    rest = client.get("/v1/sessions/sess-1/events", params={"after": page["next"]}).json()
    assert [e["native_id"] for e in rest["events"]] == ["sess-1/3", "sess-1/4"]
    assert client.get("/v1/sessions/unknown/events").status_code == 404


def test_rejected_records_are_reported_and_quarantined(client: TestClient) -> None:
    bad_kind = {**envelope(2), "kind": "telepathy"}
    body = ndjson([envelope(1)]) + b'{"source": "test-agent", "nati\n' + ndjson([bad_kind])
    report = client.post("/v1/events", content=body).json()
    assert report["appended"] == 1 and report["rejected"] == 2
    by_line = {e["line"]: e for e in report["errors"]}
    assert "invalid JSON" in by_line[2]["reason"]
    assert by_line[3]["field"] == "kind" and by_line[3]["index"] == 1
    kept = client.get("/v1/quarantine").json()["rejected"]
    assert sorted(r["line"] for r in kept) == [2, 3]
    assert any('"nati' in r["payload"] for r in kept)


def test_all_rejected_is_422(client: TestClient) -> None:
    response = client.post("/v1/events", content=b"[1, 2]")
    assert response.status_code == 422
    assert response.json()["rejected"] == 2


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = orjson.dumps([envelope(n, padding="x" * 1000) for n in range(100)])
    response = client.post("/v1/events", content=big)
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    assert client.get("/v1/sessions").json()["sessions"] == []


def _asgi_post(client: TestClient, chunks: list[bytes],
               headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    """POST /v1/events as an ASGI server would deliver it: the body in ``chunks`` messages."""
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/events", "headers": headers,
             "query_string": b""}
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    return sent[0]["status"], orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_bodies_are_read_whole_from_one_or_many_messages_and_refused_past_the_limit(
        client: TestClient, services: Services) -> None:
    limit = services.settings.max_body_bytes
    body = ndjson([envelope(n) for n in range(3)])
    assert _asgi_post(client, [body], [])[1]["appended"] == 3
    parts = [body[:10], body[10:100], body[100:]]
    assert _asgi_post(client, parts, [])[1]["duplicates"] == 3  # the same body, reassembled
    zipped = gzip.compress(ndjson([envelope(9)]))
    assert _asgi_post(client, [zipped[:7], zipped[7:]], [])[1]["appended"] == 1
    assert _asgi_post(client, [zipped], [])[1]["duplicates"] == 1
    # No content-length: refused by what arrives, in one message or across several.
    over = b"x" * (limit + 1)
    for chunks in ([over], [over[:1000], over[1000:]]):
        status, answer = _asgi_post(client, chunks, [])
        assert status == 413 and "limit" in answer["detail"]
    declared = [(b"content-length", str(limit + 1).encode())]
    assert _asgi_post(client, [body], declared)[0] == 413  # refused by what it says it is


def test_nesting_over_the_limit_is_422(client: TestClient) -> None:
    deep: object = "bottom"
    for _ in range(40):
        deep = {"x": deep}
    response = client.post("/v1/events", content=orjson.dumps(envelope(1, deep=deep)))
    assert response.status_code == 422
    assert "nested deeper than 16" in response.json()["errors"][0]["reason"]
    hopeless = b"[" * 5000 + b"]" * 5000
    assert client.post("/v1/events", content=hopeless).status_code == 422


def test_unknown_format_is_404(client: TestClient) -> None:
    response = client.post("/v1/ingest/no-such-format", content=b"{}")
    assert response.status_code == 404 and "no-such-format" in response.json()["detail"]


def test_secrets_never_reach_the_database(client: TestClient, services: Services,
                                          tmp_path: Path) -> None:
    doc = envelope(1, command=f"aws configure set aws_access_key_id {AWS_KEY}")
    client.post("/v1/events", content=orjson.dumps(doc))
    client.post("/v1/events", content=b'{"broken": "' + AWS_KEY.encode() + b'"')
    stored = client.get("/v1/sessions/sess-1/events").json()["events"][0]
    assert AWS_KEY not in stored["raw"]["command"] and "[REDACTED:" in stored["raw"]["command"]
    services.log.close()
    for path in tmp_path.glob("api.db*"):
        assert AWS_KEY.encode() not in path.read_bytes(), path


def test_gzip_bodies_are_accepted(client: TestClient) -> None:
    import gzip

    body = gzip.compress(ndjson([envelope(n) for n in range(4)]))
    assert client.post("/v1/events", content=body).json()["appended"] == 4


def test_metrics_count_ingest(client: TestClient) -> None:
    client.post("/v1/events", content=ndjson([envelope(n) for n in range(3)]))
    text = client.get("/metrics").text
    assert 'blackbox_events_appended_total{format="blackbox"} 3.0' in text
    assert "blackbox_group_commits" in text


def test_metrics_show_how_far_analysis_is_behind_the_log(services: Services) -> None:
    metrics = Metrics(services.log, services.findings)
    now = utc_now()
    services.log.append([event_from_document(envelope(n, session="lag"), received_at=now)
                         for n in range(3)])
    assert metrics.registry.get_sample_value("blackbox_analysis_lag_events") == 3
    services.projector.catch_up()
    assert metrics.registry.get_sample_value("blackbox_analysis_lag_events") == 0


class SlowPreparer:
    """A preparer that takes its time and notes when each preparation ran."""

    def __init__(self, inner: Preparer) -> None:
        self.inner = inner
        self.spans: list[tuple[float, float]] = []

    def prepare(self, data: bytes, fmt: str, **kwargs: Any) -> tuple[str | None, Iterator[Prepared]]:
        started = time.monotonic()
        time.sleep(0.2)
        chosen, chunks = self.inner.prepare(data, fmt, **kwargs)
        prepared = list(chunks)
        self.spans.append((started, time.monotonic()))
        return chosen, iter(prepared)

    def prepare_envelope(self, data: bytes, received_at: Any = None) -> Prepared | None:
        return None  # every body takes the slow path


def test_large_bodies_are_prepared_one_at_a_time(tmp_path: Path) -> None:
    """Prepared together, concurrent bodies would all reach the log writer late (they share the
    GIL); one at a time, the first commits while the next is prepared."""
    opened = Services.open(Settings(db=f"sqlite:///{tmp_path / 'fifo.db'}"))
    slow = SlowPreparer(opened.preparer)
    opened.preparation.close()
    opened.preparation = PreparationThread(slow)  # type: ignore[arg-type]
    bodies = [orjson.dumps([envelope(n, session=f"s{b}", pad="x" * 300)
                            for n in range(200)]) for b in range(2)]
    assert all(len(body) > 64 * 1024 for body in bodies)  # past what is mapped on the event loop
    try:
        with TestClient(create_app(services=opened)) as client, ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda body: client.post("/v1/events", content=body), bodies))
    finally:
        opened.close()
    assert [a.json()["appended"] for a in answers] == [200, 200]
    first, second = sorted(slow.spans)
    assert first[1] <= second[0]  # no overlap


def test_keys_and_scopes(client: TestClient, services: Services) -> None:
    _, ingest_key = services.keys.create([Scope.INGEST], "agent")
    _, read_key = services.keys.create([Scope.READ], "viewer")
    _, admin_key = services.keys.create([Scope.ADMIN], "ops")

    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    body = ndjson([envelope(1)])
    anonymous = client.post("/v1/events", content=body)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"] == "AuthError"
    assert client.post("/v1/events", content=body, headers=auth("bbx_wrong")).status_code == 401
    assert client.post("/v1/events", content=body, headers=auth(ingest_key)).status_code == 200
    assert client.get("/v1/sessions", headers=auth(ingest_key)).status_code == 403
    assert client.get("/v1/quarantine", headers=auth(ingest_key)).status_code == 403
    assert client.post("/v1/events", content=body, headers=auth(read_key)).status_code == 403
    assert client.get("/v1/sessions", headers=auth(read_key)).status_code == 200
    assert client.get("/v1/quarantine", headers=auth(read_key)).status_code == 403
    assert client.get("/v1/quarantine", headers=auth(admin_key)).status_code == 200
    assert client.get("/v1/sessions", headers={"X-API-Key": admin_key}).status_code == 200
    key_id = next(k.id for k in services.keys.list() if k.name == "agent")
    assert services.keys.revoke(key_id)
    assert client.post("/v1/events", content=body, headers=auth(ingest_key)).status_code == 401


def test_keys_are_stored_hashed(services: Services, tmp_path: Path) -> None:
    _, token = services.keys.create([Scope.ADMIN])
    services.close()
    for path in tmp_path.glob("api.db*"):
        assert token.encode() not in path.read_bytes()


@pytest.mark.parametrize(("db", "expected"), [
    ("sqlite:///./blackbox.db", "sqlite:///blackbox.analysis.db"),
    ("sqlite:////var/lib/bb/log", "sqlite:////var/lib/bb/log.analysis.db"),
    ("postgresql://bb@db/bb", "postgresql://bb@db/bb"),
])
def test_analysis_projections_live_beside_a_sqlite_log(db: str, expected: str) -> None:
    assert Settings(db=db).analysis_url == expected
    assert Settings(db=db, analysis_db="sqlite:////elsewhere.db").analysis_url == "sqlite:////elsewhere.db"


def test_a_stalled_analysis_transaction_does_not_hold_up_ingest(services: Services) -> None:
    """The worker's projections are another file: its write lock is not the log's."""
    path = services.settings.analysis_url.removeprefix("sqlite:///")
    stalled = sqlite3.connect(path, isolation_level=None)
    try:
        stalled.execute("BEGIN IMMEDIATE")  # as a worker stopped mid-transaction would hold it
        with TestClient(create_app(services=services)) as client:
            answer = client.post("/v1/events", json=envelope(1, session="stall"))
        assert answer.status_code == 200 and answer.json()["appended"] == 1
    finally:
        stalled.execute("ROLLBACK")
        stalled.close()


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("kind", ["tool_call"], "unknown kind"),  # not even hashable: still a clear rejection
    ("kind", "telepathy", "unknown kind"),
    ("actor", 7, "expected a string, got int"),
    ("call_id", {"id": 1}, "expected a string, got dict"),
    ("is_error", "yes", "expected true/false"),
])
def test_an_envelope_field_of_the_wrong_type_is_rejected_by_name(
        client: TestClient, field: str, value: object, reason: str) -> None:
    report = client.post("/v1/events", json=[envelope(1), {**envelope(2), field: value}]).json()
    assert (report["appended"], report["rejected"]) == (1, 1)
    [error] = report["errors"]
    assert error["field"] == field and error["index"] == 1 and reason in error["reason"]
