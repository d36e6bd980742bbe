"""SQLAlchemy engines for the SQL recorder, per dialect.

SQLite: one writer connection that takes the write lock at BEGIN (``BEGIN IMMEDIATE``), so the
chain heads it reads can not change under it, and a pool of readers. WAL lets readers run
beside the writer; ``synchronous=FULL`` makes every commit durable before it returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ingest.errors import ConfigError

# How the SQLite writer begins a transaction: with the write lock, so the chain heads it reads can
# not change under it. The log's write path issues it itself (it runs below SQLAlchemy's Connection).
WRITER_BEGIN = "BEGIN IMMEDIATE"

# Pages the WAL may hold before a commit copies them into the database file (SQLite's default is
# 1,000). Event ids are hashes, so each event dirties a leaf of the id index of its own; at the
# default, a checkpoint every ~20 single-event group commits wrote most of those leaves back again.
# Measured (log schema, WAL, synchronous=FULL, raw sqlite3): 14-event commits over 32 streams,
# 0.83 -> 0.65 ms and 383 -> 315 KB written per commit; 1,000-event commits, 25,160 -> 30,983
# events/s. The WAL file grows to about 40 MB between checkpoints.
# ``blackbox serve``'s writer process checkpoints from a thread instead and keeps this only as a
# safety net, at 40,000 pages (``ingest.log.checkpoint``).
WAL_AUTOCHECKPOINT_PAGES = 10_000


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as the psycopg 3 driver; check the scheme."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith(("sqlite:///", "postgresql+psycopg://")):
        return url
    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


def make_engines(url: str, *, durable: bool = True) -> tuple[Engine, Engine]:
    """(writer, reader) engines for a database URL.

    ``durable=False`` (SQLite): commits do not wait for fsync (``synchronous=NORMAL``; in WAL
    mode still atomic and never corrupt, only the last commits can be lost to a power cut, not
    to a crash of the process). For data derived from the log that is rebuilt from it."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"bad database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engines(url, parsed.database, "FULL" if durable else "NORMAL")
    engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    return engine, engine


def _sqlite_engines(url: str, database: str | None, synchronous: str) -> tuple[Engine, Engine]:
    if not database or database == ":memory:":
        raise ConfigError("SQLite needs a file (sqlite:///PATH): an in-memory log is not durable")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    writer = create_engine(url, pool_size=1, max_overflow=0)
    reader = create_engine(url, pool_size=8, max_overflow=8)
    _configure_sqlite(writer, begin=WRITER_BEGIN, synchronous=synchronous)
    _configure_sqlite(reader, begin="BEGIN", synchronous=synchronous)
    return writer, reader


def _configure_sqlite(engine: Engine, *, begin: str, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would BEGIN lazily (DEFERRED): we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)
