"""The contract every log backend passes: SQLite and PostgreSQL (real server) alike."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.envelope import Event, EventKind
from ingest.errors import RecordError, StorageError
from ingest.log import EventLog, Rejected, encode, open_log
from tests.backends import Backend, backend, log_on_loop

BASE = datetime(2026, 4, 24, 8, 31, tzinfo=UTC)


def make_event(n: int, stream: str = "s-1", session: str | None = "s-1", **extra: object) -> Event:
    return Event.create(source="test", native_id=f"{stream}/{n}", stream=stream, session_id=session,
                        kind=EventKind.TOOL_CALL, time=BASE + timedelta(seconds=n),
                        received_at=BASE, tool_name="Bash", call_id=f"c{n}",
                        tool_input={"command": f"echo {n}"}, raw={"n": n, **extra})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend(request.param, tmp_path) as made:
        yield made


@pytest.fixture(params=["thread", "process"])
def log(request: pytest.FixtureRequest, store: Backend) -> Iterator[EventLog]:
    """Committed by a thread of this process (CLI, embedding) or by a writer process driven by
    an event loop (``blackbox serve``)."""
    if request.param == "process":
        with log_on_loop(store.url) as on_loop:
            yield on_loop
        return
    opened = open_log(store.url)
    yield opened
    opened.close()


def test_append_assigns_contiguous_seq_and_links_the_chain(log: EventLog) -> None:
    outcome = log.append([make_event(n) for n in range(1, 6)])
    assert (outcome.appended, outcome.duplicates) == (5, 0)
    stored = log.read_stream("s-1")
    assert [r.seq for r in stored] == [1, 2, 3, 4, 5]
    assert [r.event.native_id for r in stored] == [f"s-1/{n}" for n in range(1, 6)]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(stored))
    assert stored[0].event == make_event(1)


def test_re_appending_the_same_records_is_a_no_op(log: EventLog) -> None:
    events = [make_event(n) for n in range(1, 4)]
    log.append(events)
    again = log.append([*events, make_event(4), make_event(4)])
    assert (again.appended, again.duplicates) == (1, 3 + 1)
    assert [r.seq for r in log.read_stream("s-1")] == [1, 2, 3, 4]
    assert log.count_events() == 4


def test_streams_are_independent_chains(log: EventLog) -> None:
    log.append([make_event(n, stream=f"s-{n % 2}", session=f"s-{n % 2}") for n in range(10)])
    assert [r.seq for r in log.read_stream("s-0")] == [1, 2, 3, 4, 5]
    assert [r.seq for r in log.read_stream("s-1")] == [1, 2, 3, 4, 5]
    assert log.verify().streams == 2


def test_read_by_session_and_by_offset_pages_in_order(log: EventLog) -> None:
    log.append([make_event(n, stream="a", session="a") for n in range(3)])
    log.append([make_event(n, stream="cloud", session=None) for n in range(3)])
    log.append([make_event(n, stream="a", session="a") for n in range(3, 5)])
    session = log.read_session("a")
    assert [r.event.native_id for r in session] == [f"a/{n}" for n in range(5)]
    first = log.read_all(limit=4)
    rest = log.read_all(after_position=first[-1].position)
    assert len(first) == 4 and len(rest) == 4
    assert [r.position for r in first + rest] == sorted(r.position for r in first + rest)
    assert log.read_stream("a", after_seq=3)[0].seq == 4
    assert log.read_session("nope") == []


def test_read_events_by_id_in_log_order(log: EventLog) -> None:
    events = [make_event(n, stream="cloud", session=None) for n in range(700)]
    log.append(events)
    wanted = [events[650].id, events[3].id, "no-such-id", events[3].id, events[0].id]
    found = log.read_events(wanted)
    assert [r.event.id for r in found] == [events[0].id, events[3].id, events[650].id]
    assert found[2].event == events[650] and found[2].seq == 651
    assert log.read_events([]) == []


def test_head_position_is_the_newest_event(log: EventLog) -> None:
    assert log.head_position() == 0
    log.append([make_event(n) for n in range(3)])
    log.append([make_event(n, stream="other", session=None) for n in range(2)])
    assert log.head_position() == log.read_all()[-1].position


def test_session_summaries_count_and_span(log: EventLog) -> None:
    log.append([make_event(n, stream="a", session="a") for n in (5, 1, 9)])
    log.append([make_event(n, stream="a", session="a") for n in (0, 3)])
    log.append([make_event(n, stream="cloud", session=None) for n in range(3)])
    (summary,) = log.sessions()
    assert summary.session_id == "a" and summary.event_count == 5
    assert summary.first_time == BASE and summary.last_time == BASE + timedelta(seconds=9)


def test_verify_passes_on_an_untouched_log(log: EventLog) -> None:
    log.append([make_event(n, stream=f"s{n % 3}") for n in range(30)])
    report = log.verify()
    assert report.ok and report.events == 30 and report.streams == 3


def test_the_database_refuses_update_and_delete(log: EventLog, store: Backend) -> None:
    log.append([make_event(1)])
    for sql in ("UPDATE events SET kind = 'other'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            store.execute(sql)
    assert log.read_stream("s-1")[0].event.kind == EventKind.TOOL_CALL
    assert log.verify().ok


def test_verify_names_an_altered_event(log: EventLog, store: Backend) -> None:
    log.append([make_event(n) for n in range(1, 6)])
    victim = log.read_stream("s-1")[2]
    forged = encode(make_event(3, extra="forged")).body
    store.tamper(f"UPDATE events SET body = {_blob(store, forged)} WHERE id = '{victim.event.id}'")
    (brk,) = log.verify().breaks
    assert (brk.event_id, brk.seq, brk.stream) == (victim.event.id, 3, "s-1")
    assert "altered" in brk.reason


def test_verify_names_an_edited_index_column(log: EventLog, store: Backend) -> None:
    log.append([make_event(n) for n in range(1, 4)])
    victim = log.read_stream("s-1")[1]
    store.tamper(f"UPDATE events SET kind = 'other' WHERE id = '{victim.event.id}'")
    (brk,) = log.verify().breaks
    assert brk.event_id == victim.event.id and "kind" in brk.reason


def test_verify_finds_a_removed_event(log: EventLog, store: Backend) -> None:
    log.append([make_event(n) for n in range(1, 6)])
    removed, after = log.read_stream("s-1")[1:3]
    store.tamper(f"DELETE FROM events WHERE id = '{removed.event.id}'")
    (brk,) = log.verify().breaks
    assert brk.event_id == after.event.id and "missing" in brk.reason


def test_verify_finds_the_newest_event_removed(log: EventLog, store: Backend) -> None:
    log.append([make_event(n) for n in range(1, 4)])
    last = log.read_stream("s-1")[-1]
    store.tamper(f"DELETE FROM events WHERE id = '{last.event.id}'")
    (brk,) = log.verify().breaks
    assert brk.seq == 3 and "missing" in brk.reason


def test_verify_finds_reordered_events(log: EventLog, store: Backend) -> None:
    log.append([make_event(n) for n in range(1, 5)])
    second, third = log.read_stream("s-1")[1:3]
    store.tamper(f"UPDATE events SET seq = -seq WHERE id IN ('{second.event.id}', '{third.event.id}')")
    store.tamper(f"UPDATE events SET seq = 3 WHERE id = '{second.event.id}'")
    store.tamper(f"UPDATE events SET seq = 2 WHERE id = '{third.event.id}'")
    (brk,) = log.verify().breaks
    assert brk.seq == 2 and brk.event_id == third.event.id


def test_concurrent_appends_are_group_committed_and_chain_correctly(log: EventLog) -> None:
    def worker(w: int) -> None:
        for n in range(25):
            log.append([make_event(n, stream=f"w{w % 3}", session=f"w{w % 3}", w=w)])

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.count_events() == 8 * 25 - (8 - 3) * 25  # same native ids per stream dedupe
    assert log.verify().ok
    assert log.commits <= 8 * 25


def test_writers_of_separate_processes_race_safely_on_new_streams(store: Backend) -> None:
    """Several logs over one database (a server and a CLI, or N workers): same new streams, same
    records, at once. Each record is stored once, every chain is whole, session counts add up."""
    logs = [open_log(store.url) for _ in range(4)]

    def writer(log_: EventLog, w: int) -> None:
        for n in range(30):
            log_.append([make_event(n, stream=f"race-{n % 3}", session=f"race-{n % 3}"),
                         make_event(1000 + w * 100 + n, stream=f"race-{n % 3}", session=f"race-{n % 3}")])

    try:
        threads = [threading.Thread(target=writer, args=(log_, w)) for w, log_ in enumerate(logs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        check = logs[0]
        assert check.count_events() == 30 + 4 * 30  # the shared records once, each writer's own
        assert check.verify().ok
        assert sum(s.event_count for s in check.sessions()) == check.count_events()
    finally:
        for log_ in logs:
            log_.close()


def test_many_concurrent_batches_share_commits(log: EventLog) -> None:
    futures = [log.submit([encode(make_event(n, stream=f"b{n % 4}"))]) for n in range(400)]
    assert sum(f.result().appended for f in futures) == 400
    assert log.commits < 400  # submitted faster than one commit: batched together
    assert log.verify().ok


def test_unencodable_values_are_refused_before_the_writer(log: EventLog) -> None:
    with pytest.raises(RecordError, match="JSON"):
        log.append([make_event(1, big=2**80)])
    assert log.count_events() == 0


def test_quarantine_keeps_rejected_records_verbatim(log: EventLog, store: Backend) -> None:
    log.record_rejects([Rejected("claude-code", "line 3: invalid JSON", '{"broken', "f.jsonl", 3)])
    (stored,) = log.rejects()
    assert stored.rejected.payload == '{"broken' and stored.rejected.line == 3
    assert stored.rejected.origin == "f.jsonl" and "invalid JSON" in stored.rejected.reason
    with pytest.raises(Exception, match="append-only"):
        store.execute("DELETE FROM quarantine")


def test_events_and_secrets_survive_reopening(store: Backend) -> None:
    first = open_log(store.url)
    first.append([make_event(n) for n in range(3)])
    secret = first.secret("redaction_key")
    first.close()
    second = open_log(store.url)
    try:
        assert second.count_events() == 3 and second.verify().ok
        assert second.secret("redaction_key") == secret and len(secret) == 64
        assert second.append([make_event(3)]).appended == 1
        assert second.read_stream("s-1")[-1].seq == 4
    finally:
        second.close()


def test_closed_log_refuses_appends(store: Backend) -> None:
    closed = open_log(store.url)
    closed.close()
    with pytest.raises(StorageError, match="closed"):
        closed.append([make_event(1)])


def _blob(store: Backend, data: bytes) -> str:
    return f"X'{data.hex()}'" if store.name == "sqlite" else f"'\\x{data.hex()}'::bytea"
