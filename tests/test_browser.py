"""The web UI in a real browser: Debian's Chromium driven by Playwright against a live
``blackbox serve`` holding the shared incident pair and a real benign transcript.

Screenshots land in tests/artifacts/ (one per test) for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from api.keys import KeyStore, Scope
from tests.helpers import envelope, free_port
from tests.test_durability import start_server

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
UNSAFE_ID = "5b0e2c1a-7d34-4e8f-9a61-2c3d4e5f6a7b"
TWIN_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
BENIGN = "claude-code/short.jsonl"
BENIGN_ID = "55604662-cf2a-4331-851a-ec234028f8ca"
DELETE_CALL = "toolu_01kjTnhNckHiApaBkCj9bk2n"
BULK = "bulk-10k"
BULK_EVENTS = 10_000
XSS = '<img src=x onerror="window.__xss=1">'


@dataclass
class Live:
    base: str
    benign_id: str
    client: httpx.Client

    def post(self, path: str, body: bytes) -> dict[str, Any]:
        answer = self.client.post(path, content=body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def wait_analysed(self, session_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.client.get(f"/v1/sessions/{session_id}/findings")
            if answer.status_code == 200:
                verdict: dict[str, Any] = answer.json()
                return verdict
            time.sleep(0.1)
        raise AssertionError(f"{session_id} was never analysed")


def load(live: Live, shared_data: Path) -> None:
    for folder in ("incidents/railway-volume-delete", "incidents/railway-volume-verified"):
        live.post("/v1/ingest/claude-code", (shared_data / folder / "transcript.jsonl").read_bytes())
        live.post("/v1/ingest/railway-audit", (shared_data / folder / "railway-audit.json").read_bytes())
    live.post("/v1/ingest/claude-code", (shared_data / BENIGN).read_bytes())
    xss = {**envelope(0, session="xss-probe"), "kind": "user_message", "text": XSS, "tool_name": None}
    live.post("/v1/events", orjson.dumps([xss]))
    for start in range(0, BULK_EVENTS, 2500):  # a long session: 10,000 calls and results
        docs = [_bulk_event(n) for n in range(start, start + 2500)]
        live.post("/v1/events", orjson.dumps(docs))
    assert live.wait_analysed(UNSAFE_ID)["flagged"] is True


def _bulk_event(n: int) -> dict[str, Any]:
    doc = envelope(n, session=BULK)
    doc["time"] = f"2026-05-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
    if n % 2:
        doc.update(kind="tool_result", text=f"output {n}", is_error=n % 997 == 0, call_id=f"call-{n - 1}")
    return doc


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    db = f"sqlite:///{folder / 'ui.db'}"
    server: subprocess.Popen[bytes] = start_server(db, port, folder / "server.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            session = Live(f"http://127.0.0.1:{port}", BENIGN_ID, client)
            load(session, shared_data)
            yield session
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@dataclass
class Tab:
    page: Page
    errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


@pytest.fixture
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    opened = Tab(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.errors.append(f"page error: {error}"))
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


def wait_rows(page: Page, ids: list[str]) -> None:
    page.wait_for_function("ids => JSON.stringify([...document.querySelectorAll('#rows tr')]"
                           ".map(r => r.dataset.sessionId)) === JSON.stringify(ids)", arg=ids)


def rows(page: Page) -> dict[str, str]:
    """Session id -> its flag, as the sessions table shows them."""
    found: dict[str, str] = page.eval_on_selector_all(
        "#rows tr", "rows => Object.fromEntries(rows.map(r => [r.dataset.sessionId, r.dataset.flagged]))")
    return found


def test_sessions_page_lists_the_incidents_with_the_unsafe_one_flagged(live: Live, tab: Tab) -> None:
    tab.open(live.base + "/")
    shown = rows(tab.page)
    assert shown[UNSAFE_ID] == "true"
    assert shown[TWIN_ID] == "false" and shown[live.benign_id] == "false"
    unsafe = tab.page.locator(f"#rows tr[data-session-id='{UNSAFE_ID}']")
    assert "unverified-assumption" in unsafe.inner_text() and "⚑ flagged" in unsafe.inner_text()
    tab.page.check("#f-flagged")
    wait_rows(tab.page, [UNSAFE_ID])
    tab.page.uncheck("#f-flagged")
    tab.page.fill("#f-q", "9d8c7b6a")
    wait_rows(tab.page, [TWIN_ID])
    tab.page.fill("#f-q", "")
    tab.page.wait_for_function("document.querySelectorAll('#rows tr').length > 3")
    assert tab.errors == []


def test_timeline_renders_lanes_chains_and_risk_without_console_errors(live: Live, tab: Tab) -> None:
    tab.open(f"{live.base}/sessions/{UNSAFE_ID}")
    traces = tab.page.evaluate("document.getElementById('timeline').data.map(t => [t.type, t.name])")
    kinds = {kind for kind, _ in traces}
    assert kinds == {"scattergl", "scatter"}  # WebGL lanes; SVG chains and risk
    names = {name for _, name in traces}
    assert {"risk", "critical · unverified-assumption", "destructive · http", "railway-audit audit"} <= names
    ticks = tab.page.evaluate("document.getElementById('timeline').layout.yaxis.ticktext")
    assert ticks == ["user", "agent reasoning", "agent messages", "tool calls", "tool results",
                     "railway-audit"]
    assert tab.page.locator("#findings li.finding").count() == 5
    assert "the guess" in tab.page.inner_text("#timeline")
    # plotly reports a WebGL failure (e.g. a policy without 'unsafe-eval') as page text, not an error.
    assert "WebGL is not supported" not in tab.page.inner_text("#timeline")
    assert tab.page.locator("#timeline canvas.gl-canvas-context").count() == 1
    assert tab.errors == []


def test_clicking_the_critical_finding_shows_the_call_and_its_railway_effects(live: Live, tab: Tab) -> None:
    tab.open(f"{live.base}/sessions/{UNSAFE_ID}")
    tab.page.click("li.finding[data-rule='unverified-assumption'][data-severity='critical']")
    tab.page.wait_for_selector("#detail .chain")
    detail = tab.page.inner_text("#detail")
    assert "volumeDelete" in detail and DELETE_CALL in detail
    assert '{"data":{"volumeDelete":true}}' in detail  # the call's result
    effects = tab.page.locator("#detail .chain button.role-effect")
    assert effects.count() == 6
    labels = effects.all_inner_texts()
    assert sum("volume_instance_backup.deleted" in text for text in labels) == 3
    assert any("volume.deleted" in text and "volumeDelete" in text for text in labels)
    effects.nth(0).click()  # one effect's own native record
    tab.page.wait_for_function("document.querySelector('#detail h3:not(.chain h3)') &&"
                               " document.getElementById('detail').innerText.includes('cloud call')")
    assert "railway-audit" in tab.page.inner_text("#detail")
    assert tab.errors == []


def marker_point(page: Page, trace: str) -> dict[str, Any]:
    """Where on the screen the first marker of a trace is drawn, and its event id."""
    point: dict[str, Any] = page.evaluate("""name => {
      const chart = document.getElementById('timeline');
      const trace = chart.data.find(t => t.name === name);
      const full = chart._fullLayout;
      const plot = chart.querySelector('.draglayer .xy .nsewdrag').getBoundingClientRect();
      const x = full.xaxis.d2p(trace.x[0]) + plot.left, y = full.yaxis.d2p(trace.y[0]) + plot.top;
      return {x, y, id: trace.customdata[0]};
    }""", trace)
    return point


def test_clicking_a_marker_opens_its_event(live: Live, tab: Tab) -> None:
    tab.open(f"{live.base}/sessions/{UNSAFE_ID}")
    box = marker_point(tab.page, "destructive · http")
    tab.page.mouse.move(box["x"], box["y"])
    tab.page.mouse.click(box["x"], box["y"])
    tab.page.wait_for_function(f"document.getElementById('detail').dataset.eventId === '{box['id']}'")
    assert "volumeDelete" in tab.page.inner_text("#detail")
    assert tab.errors == []


def test_events_ingested_during_the_test_appear_without_reload(live: Live, tab: Tab) -> None:
    tab.open(live.base + "/")
    tab.page.evaluate("window.__same_page = true")
    doc = {**envelope(1, session="arrives-live"), "kind": "user_message", "text": "hello", "tool_name": None}
    live.post("/v1/events", orjson.dumps([doc]))
    tab.page.wait_for_selector("#rows tr[data-session-id='arrives-live']", timeout=15_000)
    assert tab.page.evaluate("window.__same_page") is True  # no reload happened
    tab.open(f"{live.base}/sessions/arrives-live")
    tab.page.evaluate("window.__same_page = true")
    before = int(tab.page.evaluate("document.body.dataset.position"))
    later = {**envelope(2, session="arrives-live"), "text": "echo more"}
    live.post("/v1/events", orjson.dumps([later]))
    tab.page.wait_for_function(f"Number(document.body.dataset.position) > {before}", timeout=15_000)
    assert tab.page.evaluate("window.__same_page") is True
    points = tab.page.evaluate("document.getElementById('timeline').data.filter(t => t.type === 'scattergl')"
                               ".reduce((n, t) => n + t.x.length, 0)")
    assert points == 2
    assert tab.errors == []


def test_recorded_html_is_shown_as_text(live: Live, tab: Tab) -> None:
    tab.open(f"{live.base}/sessions/xss-probe")
    box = marker_point(tab.page, "user")
    tab.page.mouse.move(box["x"], box["y"])  # the hover label goes through plotly: escaped too
    hover = tab.page.wait_for_selector("#timeline .hoverlayer .hovertext")
    assert XSS in hover.text_content() and tab.page.locator("#timeline .hoverlayer img").count() == 0
    tab.page.mouse.click(box["x"], box["y"])
    tab.page.wait_for_selector("#detail pre")
    assert XSS in tab.page.inner_text("#detail")
    assert tab.page.locator("#detail img, #findings img").count() == 0
    assert tab.page.evaluate("window.__xss") is None
    assert tab.errors == []


def test_dashboard_draws_every_figure(live: Live, tab: Tab) -> None:
    tab.open(live.base + "/dashboard")
    drawn = tab.page.evaluate(
        "[...document.querySelectorAll('.figure')].map(f => [f.id, (f.data || []).length])")
    assert {name for name, _ in drawn} == {"fig-sessions", "fig-alerts", "fig-findings", "fig-actions",
                                           "fig-models", "fig-lead_times"}
    assert all(count > 0 for name, count in drawn if name != "fig-alerts"), drawn
    assert tab.errors == []


def test_a_ten_thousand_event_session_is_windowed(live: Live, tab: Tab) -> None:
    tab.open(f"{live.base}/sessions/{BULK}")
    count = ("document.getElementById('timeline').data.filter(t => t.type === 'scattergl')"
             ".reduce((n, t) => n + t.x.length, 0)")
    assert tab.page.evaluate(count) == 2000  # the server's budget, not 10,000
    note = tab.page.inner_text("#window-note")
    assert "2,000 of 10,000" in note and "sampled" in note
    # WebGL: no DOM element per point.
    assert tab.page.evaluate("document.querySelectorAll('#timeline *').length") < 3000
    # Zooming in asks the server for that range: every event inside it, unsampled.
    tab.page.evaluate("Plotly.relayout('timeline', "
                      "{'xaxis.range': ['2026-05-01 00:10:00', '2026-05-01 00:20:00']})")
    tab.page.wait_for_function("document.getElementById('window-note').innerText.startsWith('601 events')")
    assert tab.page.evaluate(count) == 601
    assert tab.errors == []


def test_signing_in_with_a_read_key(browser: Browser, tmp_path: Path, shared_data: Path) -> None:
    """With keys configured: the login page, a refused ingest key, then a read key in an HttpOnly
    cookie that the page's own requests (fetch and the event stream) carry."""
    db, port = f"sqlite:///{tmp_path / 'keys.db'}", free_port()
    store = KeyStore(db)
    _, read_key = store.create([Scope.READ], "viewer")
    _, ingest_key = store.create([Scope.INGEST], "agent")
    store.close()
    server = start_server(db, port, tmp_path / "server.log")
    base, agent = f"http://127.0.0.1:{port}", {"X-API-Key": ingest_key}
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        transcript = (shared_data / "incidents/railway-volume-delete/transcript.jsonl").read_bytes()
        sent = httpx.post(f"{base}/v1/ingest/claude-code", content=transcript, headers=agent)
        assert sent.status_code == 200
        assert page.goto(base + "/").status == 401  # type: ignore[union-attr]
        page.fill("input[name=key]", ingest_key)
        page.click("button[type=submit]")
        assert "lacks the read scope" in page.inner_text(".error")
        page.fill("input[name=key]", read_key)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-loaded=true]")
        assert rows(page) == {UNSAFE_ID: "true"}
        [cookie] = context.cookies()
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("blackbox_key", True, "Strict")
        assert page.evaluate("document.cookie") == ""  # scripts can't read the key
        assert read_key not in page.content()
        page.wait_for_function("document.getElementById('live').textContent.includes('live')")
        doc = {**envelope(1, session="after-sign-in"), "kind": "user_message", "text": "hi",
               "tool_name": None}
        assert httpx.post(f"{base}/v1/events", content=orjson.dumps([doc]), headers=agent).status_code == 200
        page.wait_for_selector("#rows tr[data-session-id='after-sign-in']", timeout=15_000)
        assert errors == []
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_signing_in_with_a_read_key.png"), full_page=True)
        context.close()
        server.terminate()
        server.wait(timeout=30)
