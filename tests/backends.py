"""Log backends under test: each yields a database URL and a way to tamper with it by hand."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.log import EventLog, open_log

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@dataclass
class Backend:
    name: str
    url: str
    schema: str | None = None
    path: Path | None = None

    def tamper(self, sql: str) -> None:
        """Run SQL as someone editing the database by hand, append-only triggers bypassed."""
        if self.path is not None:
            with sqlite3.connect(self.path) as conn:
                conn.execute("DROP TRIGGER IF EXISTS events_no_update")
                conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
                conn.execute(sql)
            return
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {self.schema}")
            conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
            conn.execute(sql)  # type: ignore[arg-type]
            conn.execute("ALTER TABLE events ENABLE TRIGGER USER")

    def execute(self, sql: str) -> None:
        """Run SQL with the triggers in place (as an ordinary client would)."""
        if self.path is not None:
            with sqlite3.connect(self.path) as conn:
                conn.execute(sql)
            return
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {self.schema}")
            conn.execute(sql)  # type: ignore[arg-type]


@contextmanager
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "log.db"
    yield Backend("sqlite", f"sqlite:///{path}", path=path)


@contextmanager
def postgres_backend() -> Iterator[Backend]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        yield Backend("postgres", url, schema=schema)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def backend(name: str, tmp_path: Path) -> Iterator[Backend]:
    manager = sqlite_backend(tmp_path) if name == "sqlite" else postgres_backend()
    with manager as made:
        yield made


@contextmanager
def log_on_loop(url: str) -> Iterator[EventLog]:
    """A log that commits in a writer process, driven by an event loop of its own thread (as in
    ``blackbox serve``); the test calls it from its own thread, as the server's threads do."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, name="test-loop", daemon=True)
    runner.start()

    async def opened() -> EventLog:
        return open_log(url, writer_process=True)

    log = asyncio.run_coroutine_threadsafe(opened(), loop).result()
    try:
        yield log
    finally:
        log.close()
        loop.call_soon_threadsafe(loop.stop)
        runner.join()
        loop.close()
