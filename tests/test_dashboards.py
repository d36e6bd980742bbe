"""The UI's data: timeline lanes, windows, risk curve and finding chains; the sessions list; the
fleet dashboard's counts and figures. Pure functions over the shared incident pair."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.history import Replay, RiskPoint, SessionHistory, newer_records, session_history, start_replay
from analyzer.projector import Projector
from analyzer.store import FindingStore, StoredSession
from dashboards import figures as fleet
from dashboards.sessions import SessionFilter, filter_rows, session_rows
from dashboards.timeline import (
    HistoryCache,
    Marker,
    finding_chains,
    lanes_of,
    marker_of,
    risk_curve,
    timeline,
    window,
)
from ingest.log import EventLog, Recorded, SessionSummary, open_log
from tests.test_analyzer_incidents import INCIDENT, TWIN, incident_files, ingest
from tests.trajectory import Trajectory

UNSAFE_ID = "5b0e2c1a-7d34-4e8f-9a61-2c3d4e5f6a7b"
DELETE_CALL = "toolu_01kjTnhNckHiApaBkCj9bk2n"


@dataclass
class Fleet:
    log: EventLog
    store: FindingStore
    projector: Projector

    def history(self, session_id: str) -> SessionHistory:
        return session_history(self.log, self.projector, session_id)


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Fleet]:
    db = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'd.db'}"
    ingest(db, *incident_files(shared_data, INCIDENT), *incident_files(shared_data, TWIN))
    log, store = open_log(db), FindingStore(db)
    projector = Projector(log, store)
    projector.catch_up()
    try:
        yield Fleet(log, store, projector)
    finally:
        log.close()
        store.close()


# -- timeline -----------------------------------------------------------------------------------

def test_lanes_cover_agent_kinds_and_one_lane_per_cloud_source(incidents: Fleet) -> None:
    history = incidents.history(UNSAFE_ID)
    keys = [lane["key"] for lane in lanes_of(history.records)]
    assert keys == ["user", "reasoning", "message", "call", "result", "cloud:railway-audit"]
    lanes = {marker_of(r).lane for r in history.records}
    assert lanes == set(keys)


def test_tool_calls_are_coloured_by_destructive_family_and_errors_marked(incidents: Fleet) -> None:
    markers = [marker_of(r) for r in incidents.history(UNSAFE_ID).records]
    destructive = [m for m in markers if m.destructive]
    assert [m.family for m in destructive] == ["http"]  # the curl volumeDelete
    assert "volumeDelete" in destructive[0].label
    assert any(m.error and m.lane == "result" for m in markers)  # the failed psql
    assert all(m.family is None for m in markers if m.lane != "call")


def test_critical_finding_chain_runs_claim_action_effects(incidents: Fleet) -> None:
    history = incidents.history(UNSAFE_ID)
    doc = timeline(history)
    top = doc["findings"][0]
    assert (top["rule"], top["severity"]) == ("unverified-assumption", "critical")
    roles = [step["role"] for step in top["chain"]]
    assert roles == ["claim", "action"] + ["effect"] * 6
    assert top["action"]["tool_use_id"] == DELETE_CALL
    assert {step["lane"] for step in top["chain"] if step["role"] == "effect"} == {"cloud:railway-audit"}
    assert top["chain"][0]["lane"] == "reasoning" and "must be the staging volume" in top["chain"][0]["label"]
    assert top["seen_at"] is not None  # when the finding first appeared in the replay
    assert doc["first_flagged"] is not None and doc["flagged"] is True
    assert doc["window"] == {"start": None, "end": None, "total": 31, "shown": 31, "decimated": False}


def test_careful_twin_has_no_chains_and_a_low_curve(incidents: Fleet) -> None:
    [twin] = [s for s in incidents.log.sessions() if s.session_id != UNSAFE_ID]
    doc = timeline(incidents.history(twin.session_id))
    assert doc["findings"] == [] and doc["flagged"] is False and doc["first_flagged"] is None
    assert max(p["risk"] for p in doc["risk"]) < 0.5


def _markers(n: int) -> list[Marker]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [Marker(i + 1, f"e{i}", (start + timedelta(seconds=i)).isoformat()[:19] + ".000000Z",
                   "call" if i % 2 else "reasoning", "tool_call", f"event {i}",
                   destructive=i % 1000 == 1, error=i % 777 == 0) for i in range(n)]


def test_window_is_bounded_and_keeps_what_matters() -> None:
    markers = _markers(10_000)
    keep = {"e5000", "e9999"}
    shown, total = window(markers, start=None, end=None, points=500, keep=keep)
    assert total == 10_000 and len(shown) == 500
    ids = {m.event_id for m in shown}
    assert keep <= ids
    assert {m.event_id for m in markers if m.destructive or m.error} <= ids
    assert [m.position for m in shown] == sorted(m.position for m in shown)  # log order


def test_window_by_time_range_returns_every_event_inside() -> None:
    markers = _markers(10_000)
    start, end = markers[100].time, markers[199].time
    shown, total = window(markers, start=start, end=end, points=500, keep=set())
    assert total == 100 and [m.position for m in shown] == list(range(101, 201))


def test_risk_curve_keeps_only_moves_in_time_order() -> None:
    points = [RiskPoint(i, f"e{i}", f"2026-01-01T00:00:{i:02d}.000000Z", 0.1 if i < 30 else 0.9, i >= 30)
              for i in range(60)]
    late = RiskPoint(60, "cloud", "2026-01-01T00:00:10.500000Z", 0.9, True)  # logged late, happened early
    curve = risk_curve([*points, late])
    assert [p["t"][17:19] for p in curve] == ["00", "10", "11", "30", "59"]
    assert curve == sorted(curve, key=lambda p: p["t"])
    many = [RiskPoint(i, f"e{i}", f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000Z", (i % 7) / 10, False)
            for i in range(3000)]
    assert len(risk_curve(many, limit=200)) == 200


Loaders = tuple[Callable[[str], Replay], Callable[[Replay], list[Recorded]]]


def replays_of(fleet_: Fleet, starts: list[str]) -> Loaders:
    def start(session_id: str) -> Replay:
        starts.append(session_id)
        return start_replay(fleet_.log, fleet_.projector, session_id)

    def newer(replayed: Replay) -> list[Recorded]:
        return newer_records(fleet_.log, fleet_.projector, replayed)

    return start, newer


def test_history_cache_reuses_until_the_log_moves_on(incidents: Fleet) -> None:
    starts: list[str] = []
    cache = HistoryCache(*replays_of(incidents, starts), size=1)
    first = cache.get(UNSAFE_ID)
    assert cache.get(UNSAFE_ID) is first and starts == [UNSAFE_ID]
    assert len(first.markers) == len(first.history.records)


def test_history_cache_resumes_a_running_session_like_a_fresh_replay(tmp_path: Path) -> None:
    t = Trajectory("live")
    t.user("Fix the staging database please.")
    t.think("That must be the staging volume (vol_1). Deleting it should be safe.")
    t.bash("railway volume delete vol_1 --yes")
    db = f"sqlite:///{tmp_path / 'live.db'}"
    log, store = open_log(db), FindingStore(db)
    try:
        fleet_ = Fleet(log, store, Projector(log, store))
        log.append(t.events[:2])
        starts: list[str] = []
        cache = HistoryCache(*replays_of(fleet_, starts))
        before = cache.get("live")
        log.append(t.events[2:])  # the session goes on: only the new events are replayed
        after = cache.get("live")
        assert starts == ["live"] and len(after.markers) == len(t.events) > len(before.markers)
        fresh = fleet_.history("live")
        assert after.history.points == fresh.points and after.history.report == fresh.report
    finally:
        log.close()
        store.close()


def test_a_replay_refuses_records_out_of_log_order(incidents: Fleet) -> None:
    history = incidents.history(UNSAFE_ID)
    resumable = Replay(UNSAFE_ID)
    resumable.extend(history.records[5:])
    with pytest.raises(ValueError, match="not after"):
        resumable.extend(history.records[:1])


def test_history_cache_is_bounded_by_records(incidents: Fleet) -> None:
    twin = next(s.session_id for s in incidents.log.sessions() if s.session_id != UNSAFE_ID)
    starts: list[str] = []
    cache = HistoryCache(*replays_of(incidents, starts), max_records=40)  # 31 + 21 records: not both
    cache.get(UNSAFE_ID)
    cache.get(twin)
    cache.get(twin)
    cache.get(UNSAFE_ID)
    assert starts == [UNSAFE_ID, twin, UNSAFE_ID]


def test_finding_chains_skip_events_outside_the_markers(incidents: Fleet) -> None:
    history = incidents.history(UNSAFE_ID)
    chains = finding_chains(history, {})
    assert chains and all(chain["chain"] == [] for chain in chains)


# -- sessions list ------------------------------------------------------------------------------

def _summary(sid: str, source: str, start: str, minutes: int, events: int) -> SessionSummary:
    first = datetime.fromisoformat(start)
    return SessionSummary(sid, source, first, first + timedelta(minutes=minutes), events)


def _verdict(sid: str, risk: float, rule: str | None = None) -> StoredSession:
    findings = [{"rule": rule, "severity": "critical", "summary": f"{rule} happened"}] if rule else []
    return StoredSession(sid, "claude-code", "claude-opus-4-6", risk, risk >= 0.5, findings)


def _rows():  # type: ignore[no-untyped-def]
    summaries = [_summary("a", "claude-code", "2026-04-24T08:00:00+00:00", 5, 10),
                 _summary("b", "codex", "2026-04-25T08:00:00+00:00", 60, 300),
                 _summary("c", "claude-code", "2026-04-26T08:00:00+00:00", 1, 3)]
    return session_rows(summaries, [_verdict("a", 0.97, "unverified-assumption"), _verdict("b", 0.1)])


def test_session_rows_join_log_and_verdicts() -> None:
    a, b, c = _rows()
    assert (a.risk, a.flagged, a.top_rule, a.finding_count, a.duration_s) == (
        0.97, True, "unverified-assumption", 1, 300.0)
    assert (b.risk, b.flagged, b.top_rule) == (0.1, False, None)
    assert (c.risk, c.flagged, c.model) == (None, False, None)  # not analysed yet


def test_filters_and_sorting() -> None:
    rows = _rows()
    ids = lambda wanted: [r.session_id for r in filter_rows(rows, wanted)]  # noqa: E731
    assert ids(SessionFilter(flagged_only=True)) == ["a"]
    assert ids(SessionFilter(source="codex")) == ["b"]
    assert ids(SessionFilter(text="UNVERIFIED")) == ["a"]
    assert ids(SessionFilter(since="2026-04-25T08:30:00.000000Z")) == ["c", "b"]
    assert ids(SessionFilter(until="2026-04-24T23:00:00.000000Z")) == ["a"]
    assert ids(SessionFilter(sort="risk")) == ["a", "b", "c"]  # unknown risk last
    assert ids(SessionFilter(sort="events", descending=False)) == ["c", "a", "b"]
    assert ids(SessionFilter()) == ["c", "b", "a"]  # newest activity first


# -- fleet dashboard ----------------------------------------------------------------------------

def test_risk_bands_and_buckets() -> None:
    assert [fleet.risk_band(r) for r in (None, 0.0, 0.19, 0.2, 0.5, 0.79, 0.8, 1.0)] == [
        "unknown", "low", "low", "medium", "high", "high", "critical", "critical"]
    assert fleet.bucket_of("2026-04-24T08:31:07.922000Z", hourly=True) == "2026-04-24T08:00Z"
    assert fleet.bucket_of("2026-04-24T08:31:07.922000Z", hourly=False) == "2026-04-24"
    assert fleet.choose_hourly(["2026-04-24T08:00:00Z", "2026-04-25T08:00:00Z"]) is True
    assert fleet.choose_hourly(["2026-04-24T08:00:00Z", "2026-04-27T08:00:00Z"]) is False


def test_sessions_and_alerts_by_band() -> None:
    rows = _rows()
    assert fleet.sessions_by_band(rows, hourly=False) == {
        "critical": {"2026-04-24": 1}, "low": {"2026-04-25": 1}, "unknown": {"2026-04-26": 1}}
    alerts = [fleet.AlertPoint("a", "2026-04-24T08:05:00.000000Z", "critical"),
              fleet.AlertPoint("gone", "2026-04-24T09:05:00.000000Z", "high")]
    assert fleet.alerts_by_band(alerts, {r.session_id: r.risk for r in rows}, hourly=True) == {
        "critical": {"2026-04-24T08:00Z": 1}, "unknown": {"2026-04-24T09:00Z": 1}}


def test_findings_by_rule_and_lead_times_of_the_incident(incidents: Fleet) -> None:
    findings = [f for s in incidents.store.sessions() for f in s.findings]
    counts = fleet.findings_by_rule(findings)
    assert counts == {"unverified-assumption": {"critical": 1}, "environment-mismatch": {"critical": 1},
                      "backups-destroyed": {"critical": 1}, "credential-foraging": {"high": 1},
                      "error-escalation": {"high": 1}}
    leads = fleet.lead_times(findings)
    assert leads == sorted(f["lead_time_s"] for f in findings if f["lead_time_s"] is not None) and leads
    histogram = dict(fleet.lead_time_histogram([0.0, 4.9, 5.0, 3600.0, 99999.0]))
    assert histogram["0 to 5 s"] == 2 and histogram["5 to 15 s"] == 1 and histogram["≥ 3600 s"] == 2
    assert sum(histogram.values()) == 5


def test_destructive_actions_by_family_and_verification(incidents: Fleet) -> None:
    actions = fleet.destructive_actions(incidents.store.action_counts())
    counts = fleet.actions_by_family(actions)
    assert counts["http"]["unverified"] == 1  # the volumeDelete nobody checked
    assert {a.session_id for a in actions if a.state == "unverified"} == {UNSAFE_ID}
    points = [fleet.ActionPoint("s", "files", "verified"), fleet.ActionPoint("s", "files", "unverified"),
              fleet.ActionPoint("t", "cloud", "blocked")]
    assert fleet.actions_by_family(points) == {"files": {"verified": 1, "unverified": 1},
                                               "cloud": {"blocked": 1}}


def test_per_model_counts() -> None:
    actions = [fleet.ActionPoint("a", "cloud", "unverified"), fleet.ActionPoint("a", "files", "verified"),
               fleet.ActionPoint("b", "files", "verified"), fleet.ActionPoint("gone", "files", "unverified")]
    stats = fleet.per_model(_rows(), actions)
    assert stats == [
        {"name": "claude-code / claude-opus-4-6", "sessions": 1, "flagged": 1, "mean_risk": 0.97,
         "destructive": 2, "unverified": 1},
        {"name": "claude-code / unknown model", "sessions": 1, "flagged": 0, "mean_risk": None,
         "destructive": 0, "unverified": 0},
        {"name": "codex / claude-opus-4-6", "sessions": 1, "flagged": 0, "mean_risk": 0.1,
         "destructive": 1, "unverified": 0}]


def test_dashboard_figures_carry_the_counts(incidents: Fleet) -> None:
    stored = incidents.store.sessions()
    rows = session_rows(incidents.log.sessions(), stored)
    data = fleet.FleetData(rows, [f for s in stored for f in s.findings],
                           [fleet.AlertPoint(UNSAFE_ID, "2026-04-24T08:31:45.000000Z", "critical")],
                           fleet.destructive_actions(incidents.store.action_counts()))
    figures = {name: fig.to_plotly_json() for name, fig in fleet.dashboard_figures(data).items()}
    assert set(figures) == set(fleet.FIGURES)
    bars = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in figures["findings"]["data"]}
    assert bars["critical"]["unverified-assumption"] == 1 and bars["high"]["credential-foraging"] == 1
    sessions = {t["name"]: sum(t["y"]) for t in figures["sessions"]["data"]}
    assert sessions == {"critical": 1, "low": 1}
    assert {t["name"]: sum(t["y"]) for t in figures["alerts"]["data"]} == {"critical": 1}
    assert figures["sessions"]["layout"]["xaxis"]["type"] == "category"
    assert [t["name"] for t in figures["actions"]["data"]] == ["unverified"]
