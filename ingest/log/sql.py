"""The SQL recorder: one implementation for SQLite (embedded default) and PostgreSQL.

Dialect differences are confined to engine set-up, triggers and the upsert construct. All writes
of one group commit happen in one transaction: dedupe against stored ids, lock and advance the
chain heads, insert the events (one executemany), update the projections, commit. The commit is
durable (SQLite WAL with ``synchronous=FULL``; PostgreSQL's own commit) before any caller is told.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ingest.envelope import format_time, parse_time, utc_now
from ingest.errors import StorageError, TamperError
from ingest.log import schema
from ingest.log.chain import GENESIS_HASH, Encoded, chain_hash, decode
from ingest.log.engines import make_engines
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
        self._insert_events_sql = _insert_events_sql(self._writer.dialect.paramstyle)
        self._read_all_sql = _read_all_sql(self._writer.dialect.paramstyle)
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
        self._writer.dispose()
        self._reader.dispose()

    # -- write path ---------------------------------------------------------------------------

    def write(self, batches: Sequence[Sequence[Encoded]]) -> list[AppendOutcome]:
        """Append several callers' batches in one transaction; one outcome per batch."""
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with self._writer.begin() as conn:
                    return self._write_in(conn, batches)
            except sa_exc.IntegrityError as exc:
                if attempt == _WRITE_ATTEMPTS:
                    raise StorageError(f"append failed: {exc.orig}") from None
            except sa_exc.SQLAlchemyError as exc:
                raise _converted(exc, "append") from None
        raise AssertionError("unreachable")

    def _write_in(self, conn: Connection, batches: Sequence[Sequence[Encoded]]) -> list[AppendOutcome]:
        seen = self._existing_ids(conn, [e.event.id for batch in batches for e in batch])
        fresh: list[Encoded] = []
        outcomes = []
        for batch in batches:
            new = _unseen(batch, seen)
            fresh.extend(new)
            outcomes.append(AppendOutcome(appended=len(new), duplicates=len(batch) - len(new)))
        if fresh:
            self._insert_chained(conn, fresh)
            self._update_sessions(conn, fresh)
        return outcomes

    def _existing_ids(self, conn: Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _ID_CHUNK):
            chunk = unique[start : start + _ID_CHUNK]
            found.update(conn.scalars(select(schema.events.c.id).where(schema.events.c.id.in_(chunk))))
        return found

    def _insert_chained(self, conn: Connection, fresh: list[Encoded]) -> None:
        heads = self._lock_heads(conn, {e.event.stream: e.event.source for e in fresh})
        rows = []
        for encoded in fresh:
            event = encoded.event
            last_seq, last_hash = heads[event.stream]
            seq = last_seq + 1
            digest = chain_hash(last_hash, seq, encoded.body)
            heads[event.stream] = (seq, digest)
            rows.append(_event_row(encoded, seq, last_hash, digest))
        conn.exec_driver_sql(self._insert_events_sql, rows)
        conn.execute(
            update(schema.streams)
            .where(schema.streams.c.stream == bindparam("b_stream"))
            .values(last_seq=bindparam("b_seq"), last_hash=bindparam("b_hash")),
            [{"b_stream": s, "b_seq": seq, "b_hash": h} for s, (seq, h) in heads.items()],
        )

    def _lock_heads(self, conn: Connection, sources: dict[str, str]) -> dict[str, tuple[int, str]]:
        """Current (seq, hash) of each stream, locked until commit (SQLite: BEGIN IMMEDIATE)."""
        names = sorted(sources)  # a fixed lock order: concurrent PostgreSQL writers never deadlock
        new_heads = [{"stream": s, "source": sources[s], "last_seq": 0, "last_hash": GENESIS_HASH}
                     for s in names]
        conn.execute(self._insert(schema.streams).on_conflict_do_nothing(), new_heads)
        heads: dict[str, tuple[int, str]] = {}
        for start in range(0, len(names), _ID_CHUNK):
            query = select(schema.streams.c.stream, schema.streams.c.last_seq,
                           schema.streams.c.last_hash).where(
                schema.streams.c.stream.in_(names[start : start + _ID_CHUNK])
            ).order_by(schema.streams.c.stream)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            heads.update({row.stream: (row.last_seq, row.last_hash) for row in conn.execute(query)})
        return heads

    def _update_sessions(self, conn: Connection, fresh: list[Encoded]) -> None:
        summaries = _summarise_sessions(fresh)
        if not summaries:
            return
        table = schema.sessions
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.session_id],
            set_={
                "event_count": table.c.event_count + stmt.excluded.event_count,
                "first_time": case((stmt.excluded.first_time < table.c.first_time,
                                    stmt.excluded.first_time), else_=table.c.first_time),
                "last_time": case((stmt.excluded.last_time > table.c.last_time,
                                   stmt.excluded.last_time), else_=table.c.last_time),
            },
        )
        conn.execute(stmt, summaries)

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


def _unseen(batch: Sequence[Encoded], seen: set[str]) -> list[Encoded]:
    """Events not stored yet and not earlier in this commit; marks them as seen."""
    new = []
    for encoded in batch:
        if encoded.event.id not in seen:
            seen.add(encoded.event.id)
            new.append(encoded)
    return new


_EVENT_COLUMNS = ("id", "stream", "seq", "session_id", "source", "kind", "time", "body",
                  "prev_hash", "hash")


def _insert_events_sql(paramstyle: str) -> str:
    """The hot INSERT, executed at driver level: SQLAlchemy's per-row parameter processing cost
    about 15% of batch ingest, and these columns need no type conversion."""
    marker = "?" if paramstyle == "qmark" else "%s"
    return (f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
            f"VALUES ({', '.join([marker] * len(_EVENT_COLUMNS))})")


def _read_all_sql(paramstyle: str) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"
    return ("SELECT position, seq, body, prev_hash, hash FROM events "
            f"WHERE position > {marker} ORDER BY position LIMIT {marker}")


def _event_row(encoded: Encoded, seq: int, prev_hash: str, digest: str) -> tuple[Any, ...]:
    """Values in ``_EVENT_COLUMNS`` order."""
    event = encoded.event
    return (event.id, event.stream, seq, event.session_id, event.source, str(event.kind),
            format_time(event.time), encoded.body, prev_hash, digest)


def _summarise_sessions(fresh: Iterable[Encoded]) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, str] = {}
    for encoded in fresh:
        event = encoded.event
        if event.session_id is not None:
            grouped[event.session_id].append(format_time(event.time))
            sources.setdefault(event.session_id, event.source)
    return [{"session_id": sid, "source": sources[sid], "first_time": min(times),
             "last_time": max(times), "event_count": len(times)} for sid, times in grouped.items()]


def _converted(exc: sa_exc.SQLAlchemyError, action: str) -> StorageError:
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


