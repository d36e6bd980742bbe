"""Tail growing JSONL files (Claude Code transcripts) and hand their new complete lines to a sink.

Positions are kept per file in a state directory and saved (atomically, fsynced) only after the
sink acknowledged the lines, so a crash between shipping and saving re-ships lines, which the log
dedupes by event id: every line ends in the log exactly once. A partially written last line waits
for its newline. A file that shrank, was replaced (other inode) or rewritten in place (the byte
before the saved offset is no longer a newline) is read again from the start.

The watcher polls (``stat`` per file, every ``interval`` seconds) rather than using inotify /
FSEvents: it is portable, works on network file systems, cannot miss events when a notification
queue overflows, and needs the same stat-and-offset logic anyway; the cost is half a second of
latency and a cheap stat per transcript per pass.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

CHUNK_BYTES = 4 * 1024 * 1024  # lines shipped per request: well under the server's body limit
PATTERN = "*.jsonl"
_STOP_POLL_SECONDS = 0.2


class ShipFailed(Exception):
    """The sink did not take the lines now (server down, database busy): retry them later."""


class Unshippable(Exception):
    """The sink will never take these lines (one line over the server's body limit): skip them."""


Sink = Callable[[Path, bytes], None]
"""Takes a file and some of its complete lines; returns once they are durable, else raises."""


@dataclass(frozen=True, slots=True)
class Position:
    """How far a file was shipped: its identity (device, inode) and the byte offset reached."""

    device: int
    inode: int
    offset: int


@dataclass(frozen=True, slots=True)
class NewLines:
    path: Path
    data: bytes  # complete lines only, each ending in b"\n"
    position: Position  # where the file stands once ``data`` is shipped


class OffsetStore:
    """One small JSON file per tailed file, replaced atomically and fsynced on every save."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def get(self, path: Path) -> Position | None:
        try:
            doc = orjson.loads(self._file(path).read_bytes())
            return Position(int(doc["device"]), int(doc["inode"]), int(doc["offset"]))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # never saved (or unreadable): start from the beginning, the log dedupes

    def save(self, path: Path, position: Position) -> None:
        doc = {"path": str(path), "device": position.device, "inode": position.inode,
               "offset": position.offset}
        write_atomic(self._file(path), orjson.dumps(doc))

    def _file(self, path: Path) -> Path:
        key = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:32]
        return self.directory / f"{key}.json"


def write_atomic(target: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``target`` with ``data`` so that a crash leaves either the old or the new content."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    fsync_dir(target.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (a no-op where dirs can't be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some platforms / file systems refuse fsync on directories
    finally:
        os.close(fd)


def read_new_lines(path: Path, saved: Position | None, *, limit: int = CHUNK_BYTES) -> NewLines | None:
    """The complete lines after ``saved`` (about ``limit`` bytes at most), or None if there are none."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            start = _resume_offset(handle, stat, saved)
            if stat.st_size <= start:
                return None
            handle.seek(start)
            data = _complete_lines(handle, limit)
    except FileNotFoundError:
        return None  # deleted between listing and reading
    if not data:
        return None
    return NewLines(path, data, Position(stat.st_dev, stat.st_ino, start + len(data)))


def _resume_offset(handle: BinaryIO, stat: os.stat_result, saved: Position | None) -> int:
    """The saved offset if it still describes this file, else 0 (replaced, truncated, rewritten)."""
    if saved is None or (saved.device, saved.inode) != (stat.st_dev, stat.st_ino):
        return 0
    if saved.offset > stat.st_size:
        return 0
    if saved.offset > 0:
        handle.seek(saved.offset - 1)
        if handle.read(1) != b"\n":  # we only ever stop after a newline: the file was rewritten
            return 0
    return saved.offset


def _complete_lines(handle: BinaryIO, limit: int) -> bytes:
    """Up to the last newline of the first ``limit``-byte read that has one (a line longer than
    ``limit`` takes several reads and comes whole)."""
    buffer = bytearray()
    while chunk := handle.read(limit):
        buffer += chunk
        end = chunk.rfind(b"\n")
        if end >= 0:
            return bytes(buffer[: len(buffer) - len(chunk) + end + 1])
    return b""  # no newline at all: a line still being written


class Watcher:
    """Ships the new lines of every ``*.jsonl`` under ``root`` (new files too) to a sink."""

    def __init__(self, root: Path, store: OffsetStore, sink: Sink, *,
                 report: Callable[[str], None], limit: int = CHUNK_BYTES) -> None:
        self.root, self.store, self.sink, self.report = root, store, sink, report
        self.limit = limit
        self.shipped_lines = 0
        # A plain flag, not a threading.Event: setting an Event from a signal handler can deadlock
        # on the Event's own lock. Checked between chunks, so a stop never cuts a ship in half.
        self.stopped = False
        self._positions: dict[Path, Position | None] = {}  # saves a state-file read per pass
        self._failing = False

    def files(self) -> Iterator[Path]:
        try:
            return iter(sorted(p for p in self.root.rglob(PATTERN) if p.is_file()))
        except OSError as exc:  # a directory vanished mid-walk: the next pass sees the new tree
            self.report(f"can not list {self.root}: {exc}")
            return iter(())

    def scan(self) -> bool:
        """One pass over all files; False when the sink failed (the rest waits for a later pass)."""
        try:
            for path in self.files():
                if self.stopped:
                    break
                self._drain_file(path)
        except ShipFailed as exc:
            if not self._failing:  # say it once per outage, not once per pass
                self.report(f"can not ship, will retry: {exc}")
            self._failing = True
            return False
        if self._failing:
            self.report("shipping again")
        self._failing = False
        return True

    def run(self, interval: float) -> None:
        """Scan every ``interval`` seconds until ``stopped`` is set."""
        while not self.stopped:
            self.scan()
            deadline = time.monotonic() + interval
            while not self.stopped and (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, _STOP_POLL_SECONDS))

    def _drain_file(self, path: Path) -> None:
        try:
            self._drain(path)
        except OSError as exc:  # unreadable file, full state disk: the other files still go
            self.report(f"can not tail {path}: {exc}")

    def _drain(self, path: Path) -> None:
        if self._unchanged(path):
            return
        while not self.stopped and (
                new := read_new_lines(path, self._position(path), limit=self.limit)) is not None:
            try:
                self.sink(path, new.data)
            except Unshippable as exc:  # never shippable: skip rather than block the file forever
                self.report(f"skipped {len(new.data)} bytes of {path}: {exc}")
            self.store.save(path, new.position)
            self._positions[path] = new.position
            self.shipped_lines += new.data.count(b"\n")

    def _unchanged(self, path: Path) -> bool:
        """Same file, same size as shipped: skip opening it (the common case of a pass)."""
        position = self._position(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return True
        return position == Position(stat.st_dev, stat.st_ino, stat.st_size)

    def _position(self, path: Path) -> Position | None:
        if path not in self._positions:
            self._positions[path] = self.store.get(path)
        return self._positions[path]
