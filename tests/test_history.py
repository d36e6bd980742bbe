"""A session's history: the replayed risk curve, first flag and finding appearances."""

from __future__ import annotations

from pathlib import Path

from analyzer.engine import Analyzer
from analyzer.history import SessionAnalyzers, session_history
from analyzer.projector import Projector
from analyzer.store import FindingStore
from ingest.envelope import EventKind
from ingest.log import open_log
from tests.test_analyzer_incidents import INCIDENT, TWIN, incident_files, ingest
from tests.trajectory import Trajectory


def history_of(db: str, shared_data: Path, folder: str, *, cloud_first: bool = False):  # type: ignore[no-untyped-def]
    ingest(db, *incident_files(shared_data, folder, cloud_first=cloud_first))
    log, store = open_log(db), FindingStore(db)
    projector = Projector(log, store)
    projector.catch_up()
    [summary] = log.sessions()
    try:
        return session_history(log, projector, summary.session_id), projector
    finally:
        log.close()
        store.close()


def test_incident_history_flags_before_the_delete_and_includes_its_effects(
        tmp_path: Path, shared_data: Path) -> None:
    history, projector = history_of(f"sqlite:///{tmp_path / 'h.db'}", shared_data, INCIDENT)
    kinds = [r.event.kind for r in history.records]
    assert kinds.count(EventKind.CLOUD_CALL) == 6  # the volume, its instances and three backups
    assert len(history.points) == len(history.records)
    live = projector.analyzer.report(history.session_id)
    assert history.report is not None and live is not None
    assert history.report.risk == live.risk  # the replay ends where the live analysis is
    assert [f.id for f in history.report.findings] == [f.id for f in live.findings]
    delete = next(r for r in history.records if "volumeDelete" in str(r.event.tool_input))
    assert history.first_flagged is not None
    assert history.first_flagged.position < delete.position  # flagged before the call ran
    assert set(history.finding_seen) == {f.id for f in live.findings}


def test_careful_twin_is_never_flagged(tmp_path: Path, shared_data: Path) -> None:
    history, _ = history_of(f"sqlite:///{tmp_path / 'h.db'}", shared_data, TWIN)
    assert history.first_flagged is None
    assert max(p.risk for p in history.points) < 0.5


def test_history_is_the_same_whichever_source_arrives_first(tmp_path: Path, shared_data: Path) -> None:
    first, _ = history_of(f"sqlite:///{tmp_path / 'a.db'}", shared_data, INCIDENT)
    second, _ = history_of(f"sqlite:///{tmp_path / 'b.db'}", shared_data, INCIDENT, cloud_first=True)
    assert first.report is not None and second.report is not None
    assert {f.id for f in first.report.findings} == {f.id for f in second.report.findings}
    assert first.report.risk == second.report.risk


def test_links_are_stored_so_a_history_needs_no_replay_of_the_log(tmp_path: Path,
                                                                   shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    history, projector = history_of(db, shared_data, INCIDENT, cloud_first=True)
    session_id = history.session_id
    log, store = open_log(db), FindingStore(db)
    try:
        assert store.links(session_id) == projector.analyzer.effect_event_ids(session_id)
        cold = Projector(log, store)  # a new process: its projections are current
        again = session_history(log, cold, session_id)
        assert cold.position == 0  # its analyzer was never fed: the links came from the store
        assert [r.event.id for r in again.records] == [r.event.id for r in history.records]
        assert again.report == history.report
        assert store.links(session_id, after=4) == store.links(session_id)[4:]
    finally:
        log.close()
        store.close()


def test_links_keep_their_numbering_across_a_restart_and_a_rebuild(tmp_path: Path,
                                                                   shared_data: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    ingest(db, shared_data / INCIDENT / "transcript.jsonl")
    log, store = open_log(db), FindingStore(db)
    try:
        Projector(log, store).catch_up()
        [summary] = log.sessions()
        assert store.links(summary.session_id) == []
        ingest(db, shared_data / INCIDENT / "railway-audit.json")
        restarted = Projector(log, store)  # warms up to the checkpoint, then links the audit records
        restarted.catch_up()
        linked = store.links(summary.session_id)
        assert len(linked) == 6 and linked == restarted.analyzer.effect_event_ids(summary.session_id)
        restarted.rebuild()
        assert store.links(summary.session_id) == linked
    finally:
        log.close()
        store.close()


def test_session_analyzers_resume_and_answer_like_a_fresh_replay(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'live.db'}"
    t = Trajectory("guarded")
    t.user("Fix the staging database please.")
    t.think("That must be the staging volume (vol_1). Deleting it should be safe.")
    t.bash("railway volume delete vol_1 --yes")
    log, store = open_log(db), FindingStore(db)
    try:
        projector = Projector(log, store)
        live = SessionAnalyzers(log, projector)
        log.append(t.events[:2])
        first = live.consult("guarded", lambda analyzer: analyzer)
        log.append(t.events[2:])
        second = live.consult("guarded", lambda analyzer: analyzer)
        assert second is first  # resumed: only the new events were fed
        fresh = Analyzer()
        fresh.feed_all(t.events)
        assert second.report("guarded") == fresh.report("guarded")
    finally:
        log.close()
        store.close()
