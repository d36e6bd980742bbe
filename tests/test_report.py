"""Post-mortem reports: the facts of the shared incident pair, the sections, reproducibility and
recording, no secrets and no markup from the log, the API route and the CLI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from analyzer.projector import Projector
from analyzer.scenarios import TARGETS, twins
from analyzer.store import FindingStore
from api.app import create_app
from api.cli import main
from api.keys import Scope
from api.services import Services
from dashboards.report import Format, post_mortem, render
from dashboards.report.model import PostMortem
from dashboards.report.service import SOURCE
from ingest.log import open_log
from ingest.settings import Settings
from tests.backends import Backend, backend
from tests.test_analyzer_incidents import INCIDENT, TWIN, incident_files, ingest, label, run

VOLUME = "vol_3f9a2c71-8d4e-4b6a-a1c2-7e5f0d9b8a36"
BACKUPS = {f"bk_0{n}a7c3e9-4f21-4b8d-9e6a-00000000000{n}" for n in (1, 2, 3)}


def model_of(db: str, session_id: str) -> PostMortem:
    log, store = open_log(db), FindingStore(db)
    try:
        projector = Projector(log, store)
        projector.catch_up()
        return post_mortem(log, projector, session_id)
    finally:
        log.close()
        store.close()


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.conftest import SHARED_DATA

    db = f"sqlite:///{tmp_path_factory.mktemp('incident') / 'r.db'}"
    ingest(db, *incident_files(SHARED_DATA, INCIDENT))
    return db, label(SHARED_DATA, INCIDENT)["session_id"]


@pytest.fixture(scope="module")
def incident_report(incident: tuple[str, str]) -> PostMortem:
    return model_of(*incident)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.conftest import SHARED_DATA

    db = f"sqlite:///{tmp_path_factory.mktemp('twin') / 'r.db'}"
    ingest(db, *incident_files(SHARED_DATA, TWIN))
    return db, label(SHARED_DATA, TWIN)["session_id"]


def report_text(db: str, session_id: str, fmt: str, *extra: str) -> str:
    """The report as the CLI prints it on stdout (its notes go to stderr)."""
    result = CliRunner().invoke(main, ["report", session_id, "--db", db, "--format", fmt, *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "recorded as event" in result.stderr
    return result.stdout


# -- the facts of the incident -------------------------------------------------------------------

def test_impact_lists_the_volume_its_instances_and_the_three_backups(incident_report: PostMortem) -> None:
    pm = incident_report
    assert pm.incident and "volumeDelete" in pm.title and VOLUME in pm.title
    impact = pm.impact
    assert impact is not None
    assert {d.resource for d in impact.destroyed if d.backup} == BACKUPS and impact.backups == 3
    assert [d.operation for d in impact.destroyed if d.resource == VOLUME] == ["volumeDelete"]
    assert sum(d.operation == "volume_instance.deleted" for d in impact.destroyed) == 2
    assert len(impact.environment_ids) == 2  # the audit names environments by id only
    assert "not by name" in impact.environment_note
    assert impact.believed == ("staging",)
    # production is known from the session's own words after the call, and said to be so
    assert any("PRODUCTION IS DOWN" in q.text and q.who == "user" for q in impact.reported)
    assert "production" in impact.environment_note


def test_root_cause_is_the_claim_action_effects_chain_in_agent_words(incident_report: PostMortem) -> None:
    rc = incident_report.root_cause
    assert rc is not None
    assert rc.claim is not None and "must be the staging volume" in rc.claim.text
    assert rc.claim_kind == "guess" and rc.claim.who == "agent (thinking)"
    assert rc.command is not None and "volumeDelete" in rc.command and not rc.verified
    assert rc.trigger is not None and "psql" in rc.trigger
    assert rc.trigger_detail is not None and "password authentication failed" in rc.trigger_detail
    assert "RAILWAY_API_TOKEN" in rc.credentials
    assert {d.resource for d in rc.effects} >= BACKUPS | {VOLUME}
    assert rc.afterwards is not None and rc.afterwards.text.startswith("I'm sorry")


def test_contributing_factors_come_from_the_findings(incident_report: PostMortem) -> None:
    titles = [f.title for f in incident_report.factors]
    assert titles[0] == "Acted on an unverified belief"  # the critical explaining finding first
    for expected in ("No confirmation before an irreversible call", "Token scope reached beyond the task",
                     "Backups in the same failure domain as the data",
                     "A failed step was answered with a destructive call",
                     "The call reached an environment the task was not about"):
        assert expected in titles
    token = next(f for f in incident_report.factors if f.title.startswith("Token scope"))
    assert "RAILWAY_API_TOKEN" in token.detail and "2 environment(s)" in token.detail


def test_detection_lead_time_guard_answer_and_the_skipped_check(incident_report: PostMortem) -> None:
    d = incident_report.detection
    assert d.flagged_at is not None and d.flagged_at < "2026-04-24T08:31:43.753000Z"  # before the call
    assert d.lead_to_call_s is not None and 0 < d.lead_to_call_s < 60
    assert d.lead_to_impact_s is not None and d.lead_to_impact_s > d.lead_to_call_s
    [answer] = d.guard
    assert (answer.decision, answer.recorded) == ("deny", False)  # no guard was asked at the time
    assert incident_report.prevention is not None
    assert "query the resource first" in incident_report.prevention
    assert "environments" in incident_report.prevention and VOLUME in incident_report.prevention


def test_action_items_and_findings_are_ordered_by_severity_then_time(incident_report: PostMortem) -> None:
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    keys = [(order[f.severity], f.time) for f in incident_report.findings]
    assert keys == sorted(keys) and len(keys) >= 5
    priorities = [i.priority for i in incident_report.action_items]
    assert priorities == sorted(priorities) and priorities[0] == "P0"
    assert {i.rule for i in incident_report.action_items} >= {"unverified-assumption", "backups-destroyed",
                                                              "credential-foraging"}


def test_timeline_keeps_the_key_events_in_time_order(incident_report: PostMortem) -> None:
    rows = incident_report.timeline
    roles = [r.role for r in rows]
    assert roles.index("claim") < roles.index("action") < roles.index("effect")
    assert roles.count("backup destroyed") == 3 and "flag" in roles and "credential hunt" in roles
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    assert roles.index("flag") < roles.index("action")


def test_evidence_appendix_quotes_the_logs_hashes_and_a_verified_chain(
        incident: tuple[str, str], incident_report: PostMortem) -> None:
    db, _ = incident
    log = open_log(db)
    try:
        stored = {r.event.id: r for r in log.read_events([e.event_id for e in incident_report.evidence])}
    finally:
        log.close()
    assert len(stored) == len(incident_report.evidence) >= 10
    for row in incident_report.evidence:
        found = stored[row.event_id]
        assert (row.hash, row.prev_hash, row.seq) == (found.hash, found.prev_hash, found.seq)
    assert incident_report.chain.ok and len(incident_report.chain.streams) == 2
    assert incident_report.chain.events == 31


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as made:
        yield made


def test_reports_on_either_backend_and_a_tampered_event_breaks_the_chain(
        any_backend: Backend, shared_data: Path) -> None:
    ingest(any_backend.url, *incident_files(shared_data, INCIDENT))
    session_id = label(shared_data, INCIDENT)["session_id"]
    intact = model_of(any_backend.url, session_id)
    assert intact.chain.ok and intact.impact is not None and intact.impact.backups == 3
    edit = "'must be the staging', 'is surely the staging'"
    any_backend.tamper(f"UPDATE events SET body = replace(body, {edit})" if any_backend.path else
                       "UPDATE events SET body = "
                       f"convert_to(replace(convert_from(body, 'UTF8'), {edit}), 'UTF8')")
    pm = model_of(any_backend.url, session_id)
    [broken] = [s for s in pm.chain.streams if not s.ok]
    assert broken.stream == session_id and "altered" in (broken.problem or "")
    assert "BROKEN" in render(pm, Format.MD).content.decode()


# -- the safe twin and other sessions ------------------------------------------------------------

def test_careful_twin_gets_a_short_no_incident_report(twin: tuple[str, str]) -> None:
    pm = model_of(*twin)
    assert not pm.incident and pm.title.startswith("No incident")
    assert pm.root_cause is None and pm.impact is None and pm.factors == () and pm.timeline == ()
    assert pm.chain.ok and pm.findings == ()
    md = render(pm, Format.MD).content.decode()
    assert "## Root cause" not in md and "## Impact" not in md and "## Timeline" not in md
    assert "No incident" in md and "tool call(s)" in md and "never flagged" in md
    html = render(pm, Format.HTML).content.decode()
    assert 'id="root-cause"' not in html and "plotly" not in html.lower()


def test_benign_real_transcript_is_no_incident(tmp_path: Path, shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    ingest(db, shared_data / "claude-code" / "tool_heavy.jsonl")
    log = open_log(db)
    [session] = log.sessions()
    log.close()
    pm = model_of(db, session.session_id)
    assert not pm.incident and pm.chain.ok and pm.chain.events == session.event_count


@pytest.mark.parametrize(("family", "title"), [
    ("freeze", "A constraint the user gave was ignored"),
    ("false-success", "A failed step was treated as success"),
])
def test_other_rules_become_their_contributing_factors(tmp_path: Path, family: str, title: str) -> None:
    scenario = next(twins(family, TARGETS[0], 0))
    db = f"sqlite:///{tmp_path / 's.db'}"
    log = open_log(db)
    log.append(scenario.events)
    log.close()
    pm = model_of(db, scenario.name)
    assert pm.incident, [f.rule for f in pm.findings]
    assert title in [f.title for f in pm.factors]


def test_unknown_session_is_not_found(incident: tuple[str, str]) -> None:
    result = CliRunner().invoke(main, ["report", "no-such-session", "--db", incident[0]])
    assert result.exit_code == 2 and "no session 'no-such-session'" in result.output


def test_report_after_analyze_still_has_the_cloud_effects(tmp_path: Path, shared_data: Path) -> None:
    """The projections are current after ``analyze``: the report's process must warm up anyway."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    run("analyze", "--db", db)
    md = report_text(db, label(shared_data, INCIDENT)["session_id"], "md")
    assert "3 backup(s) were destroyed" in md and "al\\_0012" in md


# -- reproducible, and recorded ------------------------------------------------------------------

def test_same_log_same_bytes_and_each_generation_is_recorded(incident: tuple[str, str]) -> None:
    db, session_id = incident
    first = report_text(db, session_id, "html")
    second = report_text(db, session_id, "html")
    assert first == second  # recording the first did not change the second
    md = report_text(db, session_id, "md")
    assert md == report_text(db, session_id, "md")
    log = open_log(db)
    try:
        recorded = log.read_stream(f"report:{session_id}", limit=100)
        sessions = {s.session_id: s.event_count for s in log.sessions()}
    finally:
        log.close()
    digests = [r.event.attributes["report"]["sha256"] for r in recorded if r.event.source == SOURCE]
    assert hashlib.sha256(first.encode()).hexdigest() in digests
    assert hashlib.sha256(md.encode()).hexdigest() in digests
    assert all(r.event.session_id is None for r in recorded)
    assert sessions[session_id] == 25  # report events are not the session's events
    [verdict] = json.loads(run("analyze", session_id, "--db", db, "--json"))["sessions"]
    assert verdict["flagged"] and verdict["findings"][0]["rule"] == "unverified-assumption"


# -- the route -----------------------------------------------------------------------------------

@pytest.fixture
def api(tmp_path: Path, shared_data: Path) -> Iterator[tuple[TestClient, Services, str]]:
    db = f"sqlite:///{tmp_path / 'api.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    services = Services.open(Settings(db=db))
    try:
        with TestClient(create_app(services=services)) as client:
            yield client, services, label(shared_data, INCIDENT)["session_id"]
    finally:
        services.close()


def test_route_serves_html_and_markdown_with_their_hash(api: tuple[TestClient, Services, str]) -> None:
    client, services, session_id = api
    html = client.get(f"/v1/sessions/{session_id}/report")
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["x-report-sha256"] == hashlib.sha256(html.content).hexdigest()
    md = client.get(f"/v1/sessions/{session_id}/report", params={"format": "md"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "Figure omitted" in md.text and "volumeDelete" in md.text
    [event] = services.log.read_events([md.headers["x-report-event"]])
    assert event.event.attributes["report"]["sha256"] == hashlib.sha256(md.content).hexdigest()
    assert client.get("/v1/sessions/nope/report").status_code == 404
    assert client.get(f"/v1/sessions/{session_id}/report", params={"format": "pdf"}).status_code == 422


def test_route_needs_the_read_scope(api: tuple[TestClient, Services, str]) -> None:
    client, services, session_id = api
    _, ingest_key = services.keys.create([Scope.INGEST], "agent")
    _, read_key = services.keys.create([Scope.READ], "viewer")
    url = f"/v1/sessions/{session_id}/report"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {ingest_key}"}).status_code == 403
    assert client.get(url, headers={"Authorization": f"Bearer {read_key}"}).status_code == 200


# -- the rendered files --------------------------------------------------------------------------

class _Links(HTMLParser):
    """Every URL-valued attribute and every stylesheet text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.tags: set[str] = set()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action", "data", "poster")]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_html_is_self_contained(incident: tuple[str, str]) -> None:
    html = report_text(*incident, "html")
    links = _Links()
    links.feed(html)
    external = [u for u in links.urls if urlparse(u).scheme or urlparse(u).netloc or u.startswith("//")]
    assert external == []
    assert links.styles and all("@import" not in s and "url(" not in s for s in links.styles)
    assert "@media print" in "".join(links.styles)
    assert "link" not in links.tags and "iframe" not in links.tags
    assert "Plotly.newPlot" in html and "blackbox-report-figure" in html  # the figure, plotly.js inline
    for section in ("summary", "impact", "timeline", "root-cause", "factors", "detection", "prevention",
                    "action-items", "findings", "evidence"):
        assert f'<section id="{section}">' in html


def test_markdown_has_every_section_and_the_facts(incident: tuple[str, str]) -> None:
    md = report_text(*incident, "md")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Summary", "## The session at a glance", "## Impact", "## Timeline",
                        "## Root cause and trigger", "## Contributing factors", "## Detection",
                        "## What would have prevented it", "## Action items", "## Findings",
                        "## Evidence appendix"]
    assert "`volumeDelete`" in md and "PRODUCTION IS DOWN" in md and "query the resource first" in md
    assert all(f"`{b}`" in md for b in BACKUPS)
    assert "Figure omitted" in md and "not written to a file" in md


def test_a_recorded_guard_answer_is_reported_as_given(tmp_path: Path, shared_data: Path) -> None:
    from analyzer.guard import Decision, Verdict
    from api.guard import verdict_event

    db = f"sqlite:///{tmp_path / 'g.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT))
    truth = label(shared_data, INCIDENT)
    log = open_log(db)
    answer = Verdict(Decision.ASK, ("confirm this destructive call with the user",), 0.99, ())
    log.append_encoded([verdict_event(truth["session_id"], truth["destructive_tool_use_id"], answer)])
    log.close()
    pm = model_of(db, truth["session_id"])
    [given] = pm.detection.guard
    assert (given.decision, given.recorded) == ("ask", True)
    assert "was asked and answered ASK: confirm this destructive call" in pm.detection.summary
    assert "guard" in [r.role for r in pm.timeline]
    assert pm.detection.finding_raised_at == "2026-04-24T08:31:43.753000Z"  # raised at the call


def test_the_report_knows_the_guards_event_source() -> None:
    from api.guard import SOURCE as GUARD
    from dashboards.report.timeline import GUARD_SOURCE

    assert GUARD_SOURCE == GUARD  # repeated below the api layer, which the report may not import


def test_a_flag_without_findings_is_not_called_never_flagged(twin: tuple[str, str]) -> None:
    from analyzer.history import replay, session_records
    from dashboards.report.build import build
    from dashboards.report.chain import verify_streams

    db, session_id = twin
    log, store = open_log(db), FindingStore(db)
    try:
        projector = Projector(log, store)
        history = replay(session_id, session_records(log, projector, session_id), threshold=0.01)
        low = build(history, verify_streams(log, history.records), threshold=0.01)
    finally:
        log.close()
        store.close()
    assert history.report is not None and history.report.findings == []
    assert not low.incident  # nothing to explain, so no invented root cause
    assert history.first_flagged is not None  # a very low threshold flags the careful twin ...
    assert "flagged at" in low.summary[1] and "never flagged" not in low.summary[1]  # ... and says so


@pytest.mark.slow
def test_reports_are_the_same_across_processes(incident: tuple[str, str]) -> None:
    """Nothing in a report depends on hash randomisation or anything else a process picks."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    db, session_id = incident
    digests = set()
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-m", "api.cli", "report", session_id, "--db", db],
                              cwd=ROOT, capture_output=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        digests.add(hashlib.sha256(done.stdout).hexdigest())
    assert len(digests) == 1
