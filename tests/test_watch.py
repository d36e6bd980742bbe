"""`blackbox watch`: tail transcripts as they grow; every line reaches the log exactly once.

Unit tests pin the tailing rules (complete lines only, truncation, replacement, rewrites, chunks,
sink failures). Live tests run the real command as a subprocess while lines are appended, stop it
gracefully and SIGKILL it mid-way, and compare the log with the ids a one-shot ingest produces.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import Preparer
from ingest.redact import Redactor
from ingest.watch import (
    OffsetStore,
    Position,
    ShipFailed,
    Unshippable,
    Watcher,
    read_new_lines,
)
from tests.conftest import ROOT
from tests.helpers import free_port, metric_samples
from tests.test_durability import start_server

DEADLINE_SECONDS = 60.0


def transcript_ids(data: bytes) -> list[str]:
    """The event ids a one-shot ingest of these transcript lines produces (no storage)."""
    preparer = Preparer(Redactor(b"test-key"), max_depth=64, chunk_size=1000)
    _, chunks = preparer.prepare(data, "claude-code")
    ids: list[str] = []
    for chunk in chunks:
        assert not chunk.errors, chunk.errors
        ids.extend(encoded.event.id for encoded in chunk.encoded)
    return ids


def wait_for(check: Callable[[], bool], what: str, timeout: float = DEADLINE_SECONDS) -> None:
    """Poll until ``check`` holds: no sleeping a fixed time and hoping."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- tailing rules ------------------------------------------------------------------------------


def test_only_complete_lines_are_read_and_a_partial_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": ')
    first = read_new_lines(path, None)
    assert first is not None and first.data == b'{"a": 1}\n'
    assert read_new_lines(path, first.position) is None  # the half line waits
    with path.open("ab") as handle:
        handle.write(b'2}\n{"c": 3}\n')
    second = read_new_lines(path, first.position)
    assert second is not None and second.data == b'{"b": 2}\n{"c": 3}\n'
    assert second.position.offset == path.stat().st_size


def test_truncated_replaced_or_rewritten_files_are_read_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"one\ntwo\n")
    done = read_new_lines(path, None)
    assert done is not None
    path.write_bytes(b"x\n")  # truncated below the saved offset
    assert _data(path, done.position) == b"x\n"
    path.write_bytes(b"one\ntwo\n")
    assert _data(path, Position(done.position.device, done.position.inode + 1, 8)) == b"one\ntwo\n"
    path.write_bytes(b"one+two+three\n")  # same inode, longer, no newline before the offset
    assert _data(path, done.position) == b"one+two+three\n"


def _data(path: Path, saved: Position) -> bytes | None:
    new = read_new_lines(path, saved)
    return None if new is None else new.data


def test_chunks_end_at_line_boundaries_and_a_long_line_comes_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [b"a" * 10 + b"\n", b"b" * 50 + b"\n", b"c\n"]
    path.write_bytes(b"".join(lines))
    chunks: list[bytes] = []
    position = None
    while (new := read_new_lines(path, position, limit=16)) is not None:
        chunks.append(new.data)
        position = new.position
    assert chunks == [lines[0], lines[1] + lines[2]]  # the read that finished "b…" also had "c"


def test_offsets_survive_a_new_store_and_a_corrupt_state_file_means_start_over(
        tmp_path: Path) -> None:
    store = OffsetStore(tmp_path / "state")
    target = tmp_path / "t.jsonl"
    store.save(target, Position(1, 2, 3))
    assert OffsetStore(tmp_path / "state").get(target) == Position(1, 2, 3)
    (state_file,) = (tmp_path / "state").iterdir()
    state_file.write_bytes(b"{not json")
    assert store.get(target) is None


class ListSink:
    """A sink that can be told to fail, remembering what it took."""

    def __init__(self) -> None:
        self.taken: list[tuple[str, bytes]] = []
        self.failure: Exception | None = None

    def __call__(self, path: Path, lines: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.taken.append((path.name, lines))


def test_watcher_ships_new_files_and_retries_after_a_failed_sink(tmp_path: Path) -> None:
    root, sink, reports = tmp_path / "projects", ListSink(), []
    (root / "p").mkdir(parents=True)
    watcher = Watcher(root, OffsetStore(tmp_path / "state"), sink, report=reports.append)
    (root / "p" / "a.jsonl").write_bytes(b"a1\n")
    assert watcher.scan() and sink.taken == [("a.jsonl", b"a1\n")]
    sink.failure = ShipFailed("server down")
    (root / "p" / "b.jsonl").write_bytes(b"b1\n")
    assert not watcher.scan() and not watcher.scan()
    assert reports == ["can not ship, will retry: server down"]  # once per outage
    sink.failure = None
    assert watcher.scan() and sink.taken[1:] == [("b.jsonl", b"b1\n")]
    restarted = Watcher(root, OffsetStore(tmp_path / "state"), sink, report=reports.append)
    assert restarted.scan() and len(sink.taken) == 2  # positions were saved: nothing again


def test_lines_the_sink_can_never_take_are_skipped_not_retried_forever(tmp_path: Path) -> None:
    root, sink, reports = tmp_path / "projects", ListSink(), []
    root.mkdir()
    (root / "a.jsonl").write_bytes(b"huge\n")
    sink.failure = Unshippable("too large")
    watcher = Watcher(root, OffsetStore(tmp_path / "state"), sink, report=reports.append)
    assert watcher.scan() and "skipped 5 bytes" in reports[0]
    sink.failure = None
    (root / "a.jsonl").write_bytes(b"huge\nnext\n")
    assert watcher.scan() and sink.taken == [("a.jsonl", b"next\n")]


# --- the live command ---------------------------------------------------------------------------


class Transcripts:
    """Real transcripts written into a projects directory a few lines (and half lines) at a time."""

    def __init__(self, root: Path, shared_data: Path) -> None:
        source = shared_data / "claude-code"
        session = "258c7280-ae70-4798-800f-63464d01a85d"
        self.plan = [  # (target, source lines); the subagent file appears mid-way
            (root / "proj" / f"{session}.jsonl", (source / "tool_heavy.jsonl").read_bytes()),
            (root / "proj" / session / "subagents" / "agent-a881341.jsonl",
             (source / session / "subagents" / "agent-a881341.jsonl").read_bytes()),
            (root / "other" / "short.jsonl", (source / "short.jsonl").read_bytes()),
        ]
        self.written: dict[Path, int] = {target: 0 for target, _ in self.plan}

    def steps(self, lines_per_step: int = 3) -> Iterator[None]:
        """Append the next lines plus half of the following line; yield after each write."""
        for target, data in self.plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = data.splitlines(keepends=True)
            for start in range(0, len(lines), lines_per_step):
                chunk = b"".join(lines[start:start + lines_per_step])
                upto = sum(map(len, lines[:start])) + len(chunk)
                half = lines[start + lines_per_step][:40] if start + lines_per_step < len(lines) else b""
                self._write_upto(target, data, upto, half)
                yield

    def _write_upto(self, target: Path, data: bytes, upto: int, half: bytes) -> None:
        with target.open("ab") as handle:
            handle.write(data[self.written[target]:upto] + half)
        self.written[target] = upto + len(half)

    def complete_ids(self) -> set[str]:
        """Ids of every complete line written so far."""
        ids: set[str] = set()
        for target, data in self.plan:
            done = data[:self.written[target]]
            ids.update(transcript_ids(done[:done.rfind(b"\n") + 1]))
        return ids

    def all_ids(self) -> list[str]:
        return [i for _, data in self.plan for i in transcript_ids(data)]


def start_watch(root: Path, state: Path, *dest: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "api.cli", "watch", str(root), *dest,
                             "--state-dir", str(state), "--interval", "0.05"],
                            cwd=ROOT, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> str:
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=30)
    return err.decode()


def server_ids(base: str) -> list[str]:
    ids: list[str] = []
    after = 0
    while True:
        page = httpx.get(f"{base}/v1/events", params={"after": after, "limit": 5000}).json()
        if not page["events"]:
            return ids
        ids.extend(event["id"] for event in page["events"])
        after = page["next"]


@pytest.mark.slow
def test_watch_ships_each_line_once_to_a_server_across_restarts(tmp_path: Path,
                                                                shared_data: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(f"sqlite:///{tmp_path / 'log.db'}", port, tmp_path / "server.log")
    transcripts = Transcripts(tmp_path / "projects", shared_data)
    (tmp_path / "projects").mkdir()
    watcher = start_watch(tmp_path / "projects", tmp_path / "state", "--server", base)
    try:
        for n, _ in enumerate(transcripts.steps()):
            expected = transcripts.complete_ids()
            wait_for(lambda e=expected: e <= set(server_ids(base)), f"lines of step {n}")
            if n == 5:  # a graceful restart saved every position: nothing is shipped twice
                assert "watching" in stop(watcher)
                watcher = start_watch(tmp_path / "projects", tmp_path / "state", "--server", base)
        assert metric_samples(base, "blackbox_events_duplicate_total")['{format="claude-code"}'] == 0
        stored = server_ids(base)
        assert sorted(stored) == sorted(transcripts.all_ids())  # every line, each once
        assert httpx.get(f"{base}/v1/quarantine").json()["rejected"] == []  # no half line shipped
    finally:
        stop(watcher)
        server.terminate()
        server.wait()


@pytest.mark.slow
def test_watch_into_the_local_log_survives_sigkill(tmp_path: Path, shared_data: Path) -> None:
    db_path = tmp_path / "log.db"
    db = f"sqlite:///{db_path}"
    transcripts = Transcripts(tmp_path / "projects", shared_data)
    (tmp_path / "projects").mkdir()
    watcher = start_watch(tmp_path / "projects", tmp_path / "state", "--db", db)
    try:
        for n, _ in enumerate(transcripts.steps(lines_per_step=4)):
            if n in (3, 9):  # killed at once, positions possibly behind what it shipped
                stop(watcher, signal.SIGKILL)
                watcher = start_watch(tmp_path / "projects", tmp_path / "state", "--db", db)
            expected = transcripts.complete_ids()
            wait_for(lambda e=expected: e <= set(db_ids(db_path)), f"lines of step {n}")
    finally:
        stop(watcher)
    assert sorted(db_ids(db_path)) == sorted(transcripts.all_ids())
    once = subprocess.run([sys.executable, "-m", "api.cli", "watch", str(tmp_path / "projects"),
                           "--db", db, "--state-dir", str(tmp_path / "state"), "--once"],
                          cwd=ROOT, capture_output=True)
    assert once.returncode == 0, once.stderr
    assert sorted(db_ids(db_path)) == sorted(transcripts.all_ids())
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def db_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM events")]
    except sqlite3.OperationalError:  # the watcher has not created the schema yet
        return []
    finally:
        conn.close()


def test_a_second_watcher_on_the_same_state_is_refused(tmp_path: Path) -> None:
    from api.hook_client import locked

    (tmp_path / "projects").mkdir()
    (tmp_path / "state").mkdir()
    with locked(tmp_path / "state" / "watch.lock") as mine:
        assert mine
        result = subprocess.run([sys.executable, "-m", "api.cli", "watch", str(tmp_path / "projects"),
                                 "--db", f"sqlite:///{tmp_path / 'x.db'}", "--state-dir",
                                 str(tmp_path / "state"), "--once"],
                                cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "another watcher" in result.stderr
