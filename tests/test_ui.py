"""The web UI over HTTP: pages, their JSON, assets served locally, read scope and sign-in,
escaping, and the live change stream (including a clean shutdown with a stream open)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from api.deps import KEY_COOKIE
from api.keys import Scope
from api.responses import large_json
from api.routes import ui
from api.services import Services
from tests.helpers import envelope, free_port
from tests.test_durability import start_server

UNSAFE = "incidents/railway-volume-delete"
TWIN = "incidents/railway-volume-verified"
UNSAFE_ID = "5b0e2c1a-7d34-4e8f-9a61-2c3d4e5f6a7b"
TWIN_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
DELETE_CALL = "toolu_01kjTnhNckHiApaBkCj9bk2n"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def load_incidents(client: TestClient, shared_data: Path) -> None:
    for folder in (UNSAFE, TWIN):
        for fmt, name in (("claude-code", "transcript.jsonl"), ("railway-audit", "railway-audit.json")):
            answer = client.post(f"/v1/ingest/{fmt}", content=(shared_data / folder / name).read_bytes())
            assert answer.status_code == 200, answer.text


@pytest.fixture
def loaded(client: TestClient, services: Services, shared_data: Path) -> TestClient:
    load_incidents(client, shared_data)
    services.projector.catch_up()
    return client


# -- pages and assets ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", f"/sessions/{UNSAFE_ID}", "/dashboard", "/login"])
def test_pages_are_shells_with_a_strict_policy_and_local_assets(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    scripts_policy = policy.split("script-src")[1].split(";")[0]
    assert "'self'" in scripts_policy and "'unsafe-inline'" not in scripts_policy
    assert "frame-ancestors 'none'" in policy
    scripts = [part.split('"')[0] for part in page.text.split('<script src="')[1:]]
    assert scripts and all(src.startswith("/static/") for src in scripts)  # nothing from a CDN
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # no inline code
    for src in scripts:
        asset = client.get(src)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")


def test_plotly_is_served_from_the_wheel(client: TestClient) -> None:
    asset = client.get("/static/plotly.min.js")
    assert asset.status_code == 200 and len(asset.content) > 1_000_000
    assert b"plotly" in asset.content[:2000].lower()


@pytest.mark.parametrize("name", ["../app.py", "..%2Fpages.py", ".hidden", "pages.py", "missing.js"])
def test_static_serves_only_shipped_assets(client: TestClient, name: str) -> None:
    assert client.get(f"/static/{name}").status_code == 404


def test_session_id_in_the_url_is_escaped(client: TestClient) -> None:
    page = client.get("/sessions/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;&#34;" in page.text


# -- JSON behind the pages ----------------------------------------------------------------------

def test_sessions_list_flags_the_unsafe_session(loaded: TestClient) -> None:
    doc = loaded.get("/v1/ui/sessions", params={"sort": "risk"}).json()
    rows = {r["session_id"]: r for r in doc["sessions"]}
    assert list(rows) == [UNSAFE_ID, TWIN_ID] and doc["sources"] == ["claude-code"]
    unsafe, twin = rows[UNSAFE_ID], rows[TWIN_ID]
    assert unsafe["flagged"] and unsafe["top_rule"] == "unverified-assumption"
    assert unsafe["top_severity"] == "critical" and unsafe["events"] == 25 and unsafe["duration_s"] > 0
    assert not twin["flagged"] and twin["top_rule"] is None
    flagged = loaded.get("/v1/ui/sessions", params={"flagged": "true"}).json()["sessions"]
    assert [r["session_id"] for r in flagged] == [UNSAFE_ID]
    found = loaded.get("/v1/ui/sessions", params={"q": "9D8C7B6A"}).json()["sessions"]
    assert [r["session_id"] for r in found] == [TWIN_ID]
    later = loaded.get("/v1/ui/sessions", params={"since": "2026-04-24T08:31:45"}).json()["sessions"]
    assert [r["session_id"] for r in later] == [UNSAFE_ID]  # the twin ended at 08:31:41
    assert loaded.get("/v1/ui/sessions", params={"since": "yesterday"}).status_code == 422
    assert loaded.get("/v1/ui/sessions", params={"sort": "nope"}).status_code == 422
    first = loaded.get("/v1/ui/sessions", params={"limit": 1, "sort": "risk", "order": "asc"}).json()
    assert [r["session_id"] for r in first["sessions"]] == [TWIN_ID]
    assert (first["matched"], first["total"]) == (2, 2)


def test_timeline_json_has_lanes_chains_and_risk(loaded: TestClient) -> None:
    doc = loaded.get(f"/v1/sessions/{UNSAFE_ID}/timeline").json()
    assert [lane["key"] for lane in doc["lanes"]][-1] == "cloud:railway-audit"
    assert doc["window"]["total"] == 31 and len(doc["events"]) == 31
    assert doc["session"] == {"source": "claude-code", "model": "claude-opus-4-6", "events": 25}
    assert doc["threshold"] == 0.5 and doc["flagged"] and doc["risk"][-1]["risk"] >= 0.5
    top = doc["findings"][0]
    assert top["rule"] == "unverified-assumption" and top["action"]["tool_use_id"] == DELETE_CALL
    assert [s["role"] for s in top["chain"]] == ["claim", "action"] + ["effect"] * 6


def test_timeline_windows_by_time_and_budget(loaded: TestClient) -> None:
    base = f"/v1/sessions/{UNSAFE_ID}/timeline"
    late = loaded.get(base, params={"start": "2026-04-24 08:31:44", "end": "2026-04-24T08:31:55Z"}).json()
    assert all("2026-04-24T08:31:44" <= e["t"] <= "2026-04-24T08:31:55Z" for e in late["events"])
    assert sum(e["lane"] == "cloud:railway-audit" for e in late["events"]) == 6
    assert late["window"]["total"] == len(late["events"]) < 31
    assert len(late["findings"][0]["chain"]) == 8  # chains stay whole
    small = loaded.get(base, params={"points": 10}).json()
    assert small["window"] == {"start": None, "end": None, "total": 31, "shown": 10, "decimated": True}
    assert loaded.get("/v1/sessions/nope/timeline").status_code == 404
    assert loaded.get(base, params={"start": "soon"}).status_code == 422


def test_event_detail_shows_call_result_record_and_chain_position(loaded: TestClient) -> None:
    doc = loaded.get(f"/v1/sessions/{UNSAFE_ID}/timeline").json()
    action = doc["findings"][0]["action"]["event_id"]
    detail = loaded.get(f"/v1/sessions/{UNSAFE_ID}/events/{action}").json()
    event = detail["event"]
    assert event["call_id"] == DELETE_CALL and "volumeDelete" in event["tool_input"]["command"]
    assert event["log"]["hash"] and event["log"]["seq"] > 0 and event["raw"]
    assert detail["result"]["text"] == '{"data":{"volumeDelete":true}}'
    assert doc["findings"][0]["id"] in detail["findings"]
    answered = loaded.get(f"/v1/sessions/{UNSAFE_ID}/events/{detail['result']['id']}").json()
    assert answered["call"]["id"] == action
    assert loaded.get(f"/v1/sessions/{UNSAFE_ID}/events/nope").status_code == 404


def test_secrets_stay_redacted_in_the_ui(loaded: TestClient) -> None:
    """The token the agent found in scripts/domains/.env reaches the UI only as a redaction mark."""
    doc = loaded.get(f"/v1/sessions/{UNSAFE_ID}/timeline").json()
    grep = next(e for e in doc["events"] if "RAILWAY_API_TOKEN=" in e["label"])
    assert "[REDACTED:" in grep["label"]
    detail = loaded.get(f"/v1/sessions/{UNSAFE_ID}/events/{grep['id']}").json()
    assert "[REDACTED:" in detail["event"]["text"] and "[REDACTED:" in json.dumps(detail["event"]["raw"])


def test_html_in_recorded_text_comes_back_as_data(client: TestClient) -> None:
    doc = {**envelope(1, session="xss"), "kind": "user_message", "text": XSS, "tool_name": None}
    assert client.post("/v1/events", content=orjson.dumps([doc])).status_code == 200
    timeline = client.get("/v1/sessions/xss/timeline")
    assert timeline.headers["content-type"].startswith("application/json")
    assert timeline.json()["events"][0]["label"] == XSS  # data; the page renders it as text
    assert XSS not in client.get("/sessions/xss").text


def test_dashboard_figures_as_json(loaded: TestClient) -> None:
    doc = loaded.get("/v1/dashboard/figures").json()
    assert set(doc["figures"]) == {"sessions", "alerts", "findings", "actions", "models", "lead_times"}
    for figure in doc["figures"].values():
        assert isinstance(figure["data"], list) and "layout" in figure
    rules = {x for t in doc["figures"]["findings"]["data"] for x in t["x"]}
    assert "unverified-assumption" in rules
    one = loaded.get("/v1/dashboard/figures/actions").json()
    assert one["data"][0]["x"] == ["http"] and one["data"][0]["name"] == "unverified"
    assert loaded.get("/v1/dashboard/figures/nope").status_code == 404


# -- read scope and sign-in -----------------------------------------------------------------------

def test_pages_and_data_need_the_read_scope(client: TestClient, services: Services) -> None:
    _, ingest_key = services.keys.create([Scope.INGEST], "agent")
    _, read_key = services.keys.create([Scope.READ], "viewer")
    for path in ("/", f"/sessions/{UNSAFE_ID}", "/dashboard"):
        anonymous = client.get(path)
        assert anonymous.status_code == 401 and 'action="/login"' in anonymous.text
        assert client.get(path, headers={"X-API-Key": ingest_key}).status_code == 403
        assert client.get(path, headers={"Authorization": f"Bearer {read_key}"}).status_code == 200
    for path in ("/v1/ui/sessions", f"/v1/sessions/{UNSAFE_ID}/timeline", "/v1/dashboard/figures",
                 "/v1/ui/stream"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": ingest_key}).status_code == 403
    assert client.get("/static/timeline.js").status_code == 200  # assets hold no data
    assert read_key not in client.get("/", headers={"X-API-Key": read_key}).text


def test_sign_in_sets_a_strict_http_only_cookie_that_only_reads(client: TestClient,
                                                                 services: Services) -> None:
    _, ingest_key = services.keys.create([Scope.INGEST], "agent")
    _, admin_key = services.keys.create([Scope.ADMIN], "ops")
    refused = client.post("/login", data={"key": ingest_key, "next": "/dashboard"})
    assert refused.status_code == 401 and KEY_COOKIE not in refused.headers.get("set-cookie", "")
    signed = client.post("/login", data={"key": admin_key, "next": "/dashboard"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert client.get("/dashboard").status_code == 200  # the client keeps the cookie
    assert client.get("/v1/ui/sessions").status_code == 200
    # A cookie rides along on any request the browser makes: it never authorizes a change.
    write = client.post("/v1/events", content=orjson.dumps([envelope(1)]))
    assert write.status_code == 401
    # Nor does an admin's sign-in open the admin endpoints to the browser: the cookie only reads.
    assert client.get("/v1/webhooks").status_code == 403
    assert client.get("/v1/webhooks", headers={"X-API-Key": admin_key}).status_code == 200
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and 'blackbox_key=""' in out.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/dashboard").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(client: TestClient, services: Services, target: str) -> None:
    _, read_key = services.keys.create([Scope.READ], "viewer")
    signed = client.post("/login", data={"key": read_key, "next": target}, follow_redirects=False)
    assert signed.headers["location"] == "/"


# -- live changes -------------------------------------------------------------------------------

def _events(stream: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    name = ""
    for line in stream:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def test_stream_announces_analysed_changes_and_ends(client: TestClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui, "STREAM_SECONDS", 3.0)
    assert client.post("/v1/events", content=orjson.dumps([envelope(1, session="live")])).status_code == 200

    def append_later() -> None:
        time.sleep(0.5)
        client.post("/v1/events", content=orjson.dumps([envelope(2, session="live")]))

    writer = threading.Thread(target=append_later)
    with client.stream("GET", "/v1/ui/stream", params={"session": "live"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        writer.start()
        seen = list(_events(response.iter_lines()))  # returns: the stream ends after STREAM_SECONDS
    writer.join()
    assert seen[0][0] == "hello"
    changes = [data for name, data in seen if name == "change"]
    assert changes and "live" in changes[0]["sessions"]  # type: ignore[operator]


@pytest.mark.slow
def test_server_stops_promptly_with_a_stream_open(tmp_path: Path) -> None:
    """uvicorn waits for open responses on shutdown; the stream must end when told to stop."""
    port = free_port()
    server: subprocess.Popen[bytes] = start_server(f"sqlite:///{tmp_path / 's.db'}", port,
                                                   tmp_path / "server.log")
    opened = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/ui/stream", timeout=30) as response:
                for _ in response.iter_lines():
                    opened.set()
        except httpx.HTTPError:
            pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        assert opened.wait(10)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < ui.STREAM_SECONDS / 4  # not the stream's own end
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    listener.join(timeout=5)
    assert not listener.is_alive()


def test_a_reconnecting_stream_replays_what_it_missed(client: TestClient, services: Services,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui, "STREAM_SECONDS", 1.0)
    assert client.post("/v1/events", content=orjson.dumps([envelope(1, session="missed")])).status_code == 200
    services.projector.catch_up()
    with client.stream("GET", "/v1/ui/stream", headers={"Last-Event-ID": "0"}) as response:
        seen = list(_events(response.iter_lines()))
    assert [name for name, _ in seen[:2]] == ["hello", "change"]
    assert seen[1][1]["sessions"] == ["missed"]


def test_large_answers_are_gzipped_for_clients_that_accept_it() -> None:
    app = FastAPI()
    doc = {"events": [{"n": n, "text": f"event {n}"} for n in range(3000)]}

    @app.get("/big")
    def big(request: Request) -> Response:
        return large_json(request, doc)

    with TestClient(app) as client:
        zipped = client.get("/big", headers={"Accept-Encoding": "gzip"})
        plain = client.get("/big", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.json() == doc
    assert "content-encoding" not in plain.headers and plain.json() == doc
    assert int(zipped.headers["content-length"]) < int(plain.headers["content-length"]) / 5
