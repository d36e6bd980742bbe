"""The SQL recorder: one implementation for SQLite (embedded default) and PostgreSQL.

Dialect differences are confined to engine set-up, triggers and placeholders. All writes of one
group commit happen in one transaction: dedupe against stored ids, lock and advance the chain
heads, insert the events (one executemany), update the projections, commit. The commit is durable
(SQLite WAL with ``synchronous=FULL``; PostgreSQL's own commit) before any caller is told. The
write path is SQL text on the driver's cursor (``ingest.log.statements``); reads use SQLAlchemy.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import PoolProxiedConnection, func, insert, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ingest.envelope import format_time, parse_time, utc_now
from ingest.errors import StorageError, TamperError
from ingest.log import schema
from ingest.log.chain import GENESIS_HASH, Shipped, chain_hash, decode
from ingest.log.checkpoint import SAFETY_NET_PAGES, WalCheckpointer
from ingest.log.engines import WRITER_BEGIN, make_engines
from ingest.log.statements import WriteStatements
from ingest.log.types import (
    AppendOutcome,
    Recorded,
    Rejected,
    SessionSummary,
    StoredReject,
    VerifyReport,
)
from ingest.log.verify import ChainVerifier

_ID_CHUNK = 500  # stays under every SQLite build's bound-parameter limit
_WRITE_ATTEMPTS = 3  # concurrent PostgreSQL writers may race on a new id or stream head


class SqlRecorder:
    """Stores the log in a SQL database given by a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._writer, self._reader = make_engines(url)
        self.dialect = self._writer.dialect.name
        self._insert = pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert
        paramstyle = self._writer.dialect.paramstyle
        self._sql = WriteStatements(paramstyle, lock_rows=self.dialect == "postgresql")
        self._begin = WRITER_BEGIN if self.dialect == "sqlite" else None  # psycopg begins by itself
        self._dbapi = self._writer.dialect.loaded_dbapi  # the write path sees the driver's errors
        self._read_all_sql = _read_all_sql(paramstyle)
        self._checkpointer: WalCheckpointer | None = None
        self.catch_ups = 0  # passes the writer ran itself for a due WAL restart
        with storage_errors("create the schema"):
            self._create_schema()

    def _create_schema(self) -> None:
        with self._writer.begin() as conn:
            if self.dialect == "postgresql":  # concurrent set-ups would race on CREATE FUNCTION
                conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
            schema.metadata.create_all(conn)
            triggers = schema.postgres_triggers() if self.dialect == "postgresql" else (
                schema.sqlite_triggers())
            for statement in triggers:
                conn.exec_driver_sql(statement)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._writer.dispose()
        self._reader.dispose()

    # -- WAL checkpoints (SQLite) ---------------------------------------------------------------

    def start_background_checkpoints(self, **options: Any) -> WalCheckpointer | None:
        """Checkpoint the WAL from a thread instead of on commits (see ``ingest.log.checkpoint``);
        for a process that commits and does nothing else (the log writer). None on PostgreSQL."""
        if self.dialect != "sqlite" or self._checkpointer is not None:
            return self._checkpointer
        database = self._writer.url.database
        assert database is not None  # make_engines refuses SQLite URLs without a file
        try:
            self._on_writer_connection(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
            self._checkpointer = WalCheckpointer(database, **options)
        except self._dbapi.Error as exc:
            raise StorageError(f"could not start background checkpoints: {exc}") from None
        self._checkpointer.start()
        return self._checkpointer

    def checkpoint_if_due(self) -> None:
        """Between two commits: after the thread's pass over a large WAL, copy what was
        committed during it, so the next commit starts the WAL over. A reader's snapshot can
        keep some frames from being copied: then again after the next commit, a few times."""
        checkpointer = self._checkpointer
        if checkpointer is None or not checkpointer.restart_due:
            return
        try:
            _busy, frames, copied = self._on_writer_connection("PRAGMA wal_checkpoint(PASSIVE)")
        except self._dbapi.Error as exc:
            checkpointer.restart_due = False
            raise StorageError(f"could not checkpoint: {exc}") from None
        self.catch_ups += 1
        checkpointer.caught_up(every_frame=frames == copied)

    def _on_writer_connection(self, statement: str) -> Any:
        """One statement on the writer's connection, outside any transaction (a checkpoint
        can not run inside the connection's own write transaction); its first row."""
        raw = self._writer.raw_connection()
        try:
            return raw.cursor().execute(statement).fetchone()
        finally:
            raw.close()

    # -- write path ---------------------------------------------------------------------------

    def write(self, batches: Sequence[Sequence[Shipped]]) -> list[AppendOutcome]:
        """Append several callers' batches in one transaction; one outcome per batch."""
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self._write_transaction() as cursor:
                    return self._write_in(cursor, batches)
            except self._dbapi.IntegrityError as exc:
                if attempt == _WRITE_ATTEMPTS:
                    raise StorageError(f"append failed: {exc}") from None
            except (self._dbapi.Error, sa_exc.SQLAlchemyError) as exc:
                raise _converted(exc, "append") from None
        raise AssertionError("unreachable")

    @contextmanager
    def _write_transaction(self) -> Iterator[Any]:
        """A DBAPI cursor in one transaction on the writer connection, committed on a clean exit.

        Below SQLAlchemy's ``Connection`` on purpose (see ``ingest.log.statements``): its
        begin/commit bookkeeping alone cost more than the commit's statements. The commit goes
        through the dialect all the same, so it stays where SQLAlchemy (and bench tooling) put it.
        """
        raw = self._writer.raw_connection()
        try:
            cursor = raw.cursor()
            if self._begin is not None:  # SQLite: take the write lock before reading the heads
                cursor.execute(self._begin)
            try:
                yield cursor
                self._writer.dialect.do_commit(raw)  # durable (synchronous=FULL) when it returns
            except BaseException:
                _roll_back(raw)
                raise
        finally:
            raw.close()  # back to the pool

    def _write_in(self, cursor: Any, batches: Sequence[Sequence[Shipped]]) -> list[AppendOutcome]:
        seen = self._existing_ids(cursor, [shipped[0] for batch in batches for shipped in batch])
        fresh: list[Shipped] = []
        outcomes = []
        for batch in batches:
            new = _unseen(batch, seen)
            fresh.extend(new)
            outcomes.append(AppendOutcome(appended=len(new), duplicates=len(batch) - len(new)))
        if fresh:
            self._insert_chained(cursor, fresh)
            summaries = _summarise_sessions(fresh)
            if summaries:
                cursor.executemany(self._sql.upsert_sessions, summaries)
        return outcomes

    def _existing_ids(self, cursor: Any, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunked(list(dict.fromkeys(ids))):
            cursor.execute(self._sql.existing_ids(len(chunk)), chunk)
            found.update(row[0] for row in cursor.fetchall())
        return found

    def _insert_chained(self, cursor: Any, fresh: list[Shipped]) -> None:
        heads = self._lock_heads(cursor, {stream: source for _, stream, _, source, *_ in fresh})
        rows = []
        for event_id, stream, session_id, source, kind, time, body in fresh:
            last_seq, last_hash = heads[stream]
            seq = last_seq + 1
            digest = chain_hash(last_hash, seq, body)
            heads[stream] = (seq, digest)
            rows.append((event_id, stream, seq, session_id, source, kind, time, body, last_hash,
                         digest))  # EVENT_COLUMNS order
        cursor.executemany(self._sql.insert_events, rows)
        cursor.executemany(self._sql.update_heads,
                           [(seq, digest, stream) for stream, (seq, digest) in heads.items()])

    def _lock_heads(self, cursor: Any, sources: dict[str, str]) -> dict[str, tuple[int, str]]:
        """Current (seq, hash) of each stream, locked until commit (SQLite: BEGIN IMMEDIATE).

        New streams get a genesis head first (a no-op for existing ones), so every head has a
        row to lock; a PostgreSQL writer inserting the same new head waits for the other's commit.
        """
        names = sorted(sources)  # a fixed lock order: concurrent PostgreSQL writers never deadlock
        cursor.executemany(self._sql.insert_heads, [(s, sources[s], GENESIS_HASH) for s in names])
        heads: dict[str, tuple[int, str]] = {}
        for chunk in _chunked(names):
            cursor.execute(self._sql.heads(len(chunk)), chunk)
            heads.update((stream, (seq, digest)) for stream, seq, digest in cursor.fetchall())
        return heads

    def record_rejects(self, rejects: Sequence[Rejected]) -> None:
        if not rejects:
            return
        now = format_time(utc_now())
        rows = [{"received_at": now, "format": r.format, "origin": r.origin, "line": r.line,
                 "idx": r.index, "reason": r.reason, "payload": r.payload} for r in rejects]
        with storage_errors("quarantine rejected records"), self._writer.begin() as conn:
            conn.execute(insert(schema.quarantine), rows)

    def secret(self, name: str) -> str:
        """A random per-database secret, created once (e.g. the redaction hash key)."""
        with storage_errors("read settings"), self._writer.begin() as conn:
            conn.execute(self._insert(schema.meta).on_conflict_do_nothing(),
                         {"key": name, "value": secrets.token_hex(32)})
            return str(conn.scalar(select(schema.meta.c.value).where(schema.meta.c.key == name)))

    # -- read path ----------------------------------------------------------------------------

    def read_stream(self, stream: str, after_seq: int = 0, limit: int = 1000) -> list[Recorded]:
        c = schema.events.c
        query = select(schema.events).where(c.stream == stream, c.seq > after_seq).order_by(c.seq)
        return self._recorded(query.limit(limit))

    def read_session(self, session_id: str, after_position: int = 0,
                     limit: int = 1000) -> list[Recorded]:
        c = schema.events.c
        query = select(schema.events).where(c.session_id == session_id, c.position > after_position)
        return self._recorded(query.order_by(c.position).limit(limit))

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Recorded]:
        """Driver-level, like the insert: the analyzer's rebuild reads the whole log through here,
        and SQLAlchemy's per-row result processing cost a fifth of it."""
        with storage_errors("read events"), self._reader.connect() as conn:
            rows = conn.exec_driver_sql(self._read_all_sql, (after_position, limit)).fetchall()
        return [Recorded(decode(body), position, seq, prev_hash, digest)
                for position, seq, body, prev_hash, digest in rows]

    def read_events(self, event_ids: Sequence[str]) -> list[Recorded]:
        c = schema.events.c
        found: list[Recorded] = []
        unique = sorted(set(event_ids))
        for start in range(0, len(unique), 500):  # bounded IN lists: SQLite caps bound parameters
            found += self._recorded(select(schema.events).where(c.id.in_(unique[start:start + 500])))
        return sorted(found, key=lambda r: r.position)

    def _recorded(self, query: Any) -> list[Recorded]:
        with storage_errors("read events"), self._reader.connect() as conn:
            return [Recorded(decode(row.body), row.position, row.seq, row.prev_hash, row.hash)
                    for row in conn.execute(query)]

    def sessions(self, limit: int = 1000, offset: int = 0) -> list[SessionSummary]:
        c = schema.sessions.c
        query = select(schema.sessions).order_by(c.last_time.desc(), c.session_id)
        with storage_errors("read sessions"), self._reader.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [SessionSummary(r.session_id, r.source, parse_time(r.first_time),
                               parse_time(r.last_time), r.event_count) for r in rows]

    def head_position(self) -> int:
        with storage_errors("read the log's end"), self._reader.connect() as conn:
            return int(conn.scalar(select(func.max(schema.events.c.position))) or 0)

    def count_events(self) -> int:
        with storage_errors("count events"), self._reader.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(schema.events)) or 0)

    def rejects(self, limit: int = 1000) -> list[StoredReject]:
        query = select(schema.quarantine).order_by(schema.quarantine.c.position).limit(limit)
        with storage_errors("read the quarantine"), self._reader.connect() as conn:
            return [StoredReject(r.position, parse_time(r.received_at),
                                 Rejected(r.format, r.reason, r.payload, r.origin, r.line, r.idx))
                    for r in conn.execute(query)]

    def verify(self) -> VerifyReport:
        """Recompute every stream's chain from the stored rows (see ``ChainVerifier``)."""
        c = schema.events.c
        columns = (c.position, c.id, c.stream, c.seq, c.session_id, c.source, c.kind, c.time,
                   c.body, c.prev_hash, c.hash)
        with storage_errors("verify"), self._reader.connect() as conn:
            heads = {r.stream: (r.last_seq, r.last_hash) for r in conn.execute(select(schema.streams))}
            rows = conn.execution_options(yield_per=2000).execute(
                select(*columns).order_by(c.stream, c.seq))
            return ChainVerifier(heads).run(rows)


def _unseen(batch: Sequence[Shipped], seen: set[str]) -> list[Shipped]:
    """Events not stored yet and not earlier in this commit; marks them as seen."""
    new = []
    for shipped in batch:
        if shipped[0] not in seen:
            seen.add(shipped[0])
            new.append(shipped)
    return new


def _read_all_sql(paramstyle: str) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    return ("SELECT position, seq, body, prev_hash, hash FROM events "
            f"WHERE position > {marker} ORDER BY position LIMIT {marker}")


def _summarise_sessions(fresh: Iterable[Shipped]) -> list[tuple[Any, ...]]:
    """Per session of a commit, values in ``SESSION_COLUMNS`` order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, str] = {}
    for _, _, session_id, source, _, time, _ in fresh:
        if session_id is not None:
            grouped[session_id].append(time)
            sources.setdefault(session_id, source)
    return [(sid, sources[sid], min(times), max(times), len(times)) for sid, times in grouped.items()]


def _chunked(values: list[str]) -> Iterator[list[str]]:
    """Bounded IN lists: SQLite caps the number of bound parameters."""
    for start in range(0, len(values), _ID_CHUNK):
        yield values[start : start + _ID_CHUNK]


def _roll_back(raw: PoolProxiedConnection) -> None:
    try:
        raw.rollback()
    except Exception:  # the connection is broken: the pool must not hand it out again
        raw.invalidate()


def _converted(exc: Exception, action: str) -> StorageError:
    """SQLAlchemy's errors wrap the driver's (``orig``); the write path sees the driver's own."""
    message = str(getattr(exc, "orig", None) or exc)
    if "append-only" in message:
        return TamperError(f"{action}: {message.splitlines()[0]}")
    return StorageError(f"could not {action}: {message.splitlines()[0]}")


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """SQLAlchemy errors become StorageError (TamperError for the append-only triggers).

    The cause is kept (``__cause__``) so a caller can tell a retryable conflict from the rest.
    """
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise _converted(exc, action) from exc


