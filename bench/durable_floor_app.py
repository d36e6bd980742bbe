"""The least a durable, group-committed single-event append can cost: information beside the HTTP
ceiling, not a ceiling itself.

A plain ASGI app (no FastAPI routing, as ``blackbox serve`` answers its ingest endpoints) served
exactly like ``bench/bare_app.py``: the body is parsed as there, its bytes go to a child process
over a socket pair, and the child inserts them into a SQLite file with the log's settings and
indexes (WAL, ``synchronous=FULL``; unique id, unique (stream, seq), (session_id, position)), one
transaction for all that is waiting, and answers; the response goes out after the commit. What it
leaves out is what Blackbox does per event: validation, redaction, the envelope and its canonical
encoding, the hash chain, the sessions projection, metrics, keys, the analysis worker.
``python bench/durable_floor_app.py PORT``
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import multiprocessing
import pickle
import socket
import sqlite3
import struct
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

_OK = b'{"ok":true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_OK))]
_SCHEMA = (
    "CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,"
    " seq INTEGER NOT NULL, session_id TEXT, body BLOB NOT NULL, UNIQUE (stream, seq))",
    "CREATE INDEX events_session ON events (session_id, position)",
)
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame(obj: object) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!i", len(payload)) + payload


def unframe(buffer: bytearray) -> list[Any]:
    """The complete frames at the start of ``buffer``, removed from it."""
    found = []
    while len(buffer) >= 4:
        (size,) = struct.unpack_from("!i", buffer)
        if len(buffer) < 4 + size:
            break
        found.append(pickle.loads(bytes(buffer[4:4 + size])))
        del buffer[:4 + size]
    return found


def commit_groups(path: str, sock: socket.socket) -> None:
    """The child: commit everything waiting in one transaction, answer with its request ids."""
    # Named as the log's writer process (ingest.log.process.WRITER_NAME): bench/ingest.py counts
    # its CPU with the server's, as it counts Blackbox's writer.
    Path("/proc/self/comm").write_text("blackbox-writer")
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "wal_autocheckpoint=10000"):
        db.execute(f"PRAGMA {pragma}")
    for statement in _SCHEMA:
        db.execute(statement)
    seqs: dict[str, int] = {}
    buffer = bytearray()
    while data := sock.recv(1 << 20):
        buffer += data
        waiting = [item for message in unframe(buffer) for item in message]
        if not waiting:
            continue
        rows = []
        for _, stream, session_id, body in waiting:
            seqs[stream] = seq = seqs.get(stream, 0) + 1
            rows.append((hashlib.sha256(body).hexdigest()[:32], stream, seq, session_id, body))
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO events (id, stream, seq, session_id, body) VALUES (?, ?, ?, ?, ?)",
                       rows)
        db.execute("COMMIT")
        sock.sendall(frame([ident for ident, *_ in waiting]))


class Committer:
    """The server's side: requests of one turn of the loop go out as one frame."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        path = str(Path(tempfile.mkdtemp(prefix="durable-floor-")) / "floor.db")
        context = multiprocessing.get_context("spawn")
        context.Process(target=commit_groups, args=(path, theirs), daemon=True).start()
        theirs.close()
        ours.setblocking(False)
        self._sock, self._buffer = ours, bytearray()
        self._loop = asyncio.get_running_loop()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._outgoing: list[tuple[int, str, str | None, bytes]] = []
        self._ids = itertools.count()
        self._loop.add_reader(ours.fileno(), self._receive)

    def append(self, stream: str, session_id: str | None, body: bytes) -> asyncio.Future[None]:
        ident, future = next(self._ids), self._loop.create_future()
        self._waiting[ident] = future
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append((ident, stream, session_id, body))
        return future

    def _flush(self) -> None:
        self._sock.sendall(frame(self._outgoing))  # small frames: the socket buffer takes them
        self._outgoing = []

    def _receive(self) -> None:
        self._buffer += self._sock.recv(1 << 20)
        for idents in unframe(self._buffer):
            for ident in idents:
                self._waiting.pop(ident).set_result(None)


_committer: Committer | None = None


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _committer
    if scope["type"] != "http":
        return
    if scope["method"] == "POST" and scope["path"] == "/v1/events":
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(parts)
        document = orjson.loads(body)
        _committer = _committer or Committer()
        await _committer.append(document["stream"], document.get("session_id"), body)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _OK})


def main(argv: list[str]) -> None:
    import uvicorn

    sys.path.insert(0, str(Path.cwd()))  # the code under test, as bench/bare_app.py does
    from api.transport import BlackboxHttpProtocol

    uvicorn.run(app, host="127.0.0.1", port=int(argv[0]), log_level="warning", workers=1,
                http=BlackboxHttpProtocol, lifespan="off")


if __name__ == "__main__":
    main(sys.argv[1:])
