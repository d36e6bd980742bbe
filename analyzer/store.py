"""Findings and session verdicts as projections of the log, in the log's own database.

Unlike the log, these tables are rewritten freely: they are derived data that ``blackbox
rebuild`` can always recompute from the events alone. A checkpoint row records the log position
the projections reflect; it is written in the same transaction as the rows it vouches for and
only ever moves forward, so a crash can never leave projections and checkpoint disagreeing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from analyzer.engine import SessionReport
from analyzer.findings import Finding, Severity
from ingest.log.engines import make_engines
from ingest.log.sql import storage_errors

metadata = MetaData()

findings_table = Table(
    "analysis_findings", metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", Text, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("time", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Index("analysis_findings_session", "session_id"),
)

sessions_table = Table(
    "analysis_sessions", metadata,
    Column("session_id", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("model", Text),
    Column("risk", Float, nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("max_severity", Integer),
    Column("finding_count", Integer, nullable=False),
    Column("top_finding", Text),
    Column("events", BigInteger, nullable=False),
    Column("first_time", String(40)),
    Column("last_time", String(40)),
)

# The cloud records the analyzer linked to each session's calls, in the order it linked them:
# a session's history (timeline, report) reads them here instead of replaying the whole log.
links_table = Table(
    "analysis_links", metadata,
    Column("session_id", Text, primary_key=True),
    Column("n", Integer, primary_key=True),  # ordinal of the link within the session
    Column("event_id", String(64), nullable=False),
)

# Destructive calls per session by family and state (verified / unverified / blocked).
actions_table = Table(
    "analysis_actions", metadata,
    Column("session_id", Text, primary_key=True),
    Column("family", String(64), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

checkpoints_table = Table(
    "analysis_checkpoints", metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Link:
    session_id: str
    n: int
    event_id: str


@dataclass(frozen=True, slots=True)
class StoredSession:
    session_id: str
    source: str
    model: str | None
    risk: float
    flagged: bool
    findings: list[dict[str, Any]]


class FindingStore:
    """Reads and writes the analysis projections of one database."""

    def __init__(self, url: str) -> None:
        # Not durable per commit: the projections and their checkpoint commit together, so a
        # power cut loses the last few of both and they are recomputed from the (durable) log;
        # an fsync per analysis round slowed the log's own commits (one disk) for nothing.
        self._writer, self._reader = make_engines(url, durable=False)
        dialect = self._writer.dialect.name
        self._insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
        with storage_errors("create the analysis tables"), self._writer.begin() as conn:
            metadata.create_all(conn)
        # What this store last committed of each session's findings and actions. A live round
        # rewrites every session it touched, and most rounds change a session's counts but not
        # its findings: those are not serialised and rewritten again each round. Every projector
        # computes the same rows from the same log, so another process's writes agree with it.
        self._written: dict[str, _Written] = {}

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    def checkpoint(self, name: str) -> int:
        with storage_errors("read the analysis checkpoint"), self._reader.connect() as conn:
            value = conn.scalar(select(checkpoints_table.c.position).where(
                checkpoints_table.c.name == name))
        return int(value or 0)

    def commit(self, name: str, position: int, reports: Sequence[SessionReport],
               links: Sequence[Link] = ()) -> None:
        """Step 1: replace the changed sessions' rows; step 2: add the new links; step 3: advance
        the checkpoint. One transaction."""
        with storage_errors("write analysis results"), self._writer.begin() as conn:
            written = _write_reports(conn, reports, self._written)
            if links:  # another projector (a CLI beside the server) may have written them already
                conn.execute(self._insert(links_table).on_conflict_do_nothing(), [
                    {"session_id": link.session_id, "n": link.n, "event_id": link.event_id}
                    for link in links])
            _advance(conn, name, position)
        self._written.update(written)  # only once committed

    def action_counts(self) -> list[tuple[str, str, str, int]]:
        """(session id, family, state, count) of every session's destructive calls."""
        table = actions_table
        query = select(table.c.session_id, table.c.family, table.c.state, table.c["count"])
        with storage_errors("read analysis actions"), self._reader.connect() as conn:
            return [(r[0], r[1], r[2], int(r[3])) for r in conn.execute(query.order_by(*table.primary_key))]

    def links(self, session_id: str, after: int = 0) -> list[str]:
        """The event ids of the cloud records linked to the session, from the ``after``-th on."""
        query = select(links_table.c.event_id).where(
            links_table.c.session_id == session_id, links_table.c.n >= after).order_by(links_table.c.n)
        with storage_errors("read analysis links"), self._reader.connect() as conn:
            return list(conn.scalars(query))

    def reset(self) -> None:
        """Forget every projection row (``rebuild`` starts from position 0)."""
        self._written.clear()
        with storage_errors("reset the analysis tables"), self._writer.begin() as conn:
            for table in (findings_table, sessions_table, links_table, actions_table):
                conn.execute(delete(table))
            conn.execute(delete(checkpoints_table))  # every version's: their rows are gone

    def alertable(self) -> dict[str, int]:
        """Sessions whose verdict calls for an alert (flagged, or a critical finding): each with
        its worst finding's severity (0 without findings)."""
        c = sessions_table.c
        query = select(c.session_id, c.max_severity).where(
            or_(c.flagged.is_(True), c.max_severity >= int(Severity.CRITICAL)))
        with storage_errors("read the sessions to alert on"), self._reader.connect() as conn:
            return {r.session_id: r.max_severity or 0 for r in conn.execute(query)}

    def sessions(self, session_ids: Iterable[str] | None = None) -> list[StoredSession]:
        query = select(sessions_table).order_by(sessions_table.c.session_id)
        if session_ids is not None:
            query = query.where(sessions_table.c.session_id.in_(list(session_ids)))
        with storage_errors("read analysis results"), self._reader.connect() as conn:
            rows = conn.execute(query).all()
            bodies = _finding_bodies(conn, [r.session_id for r in rows])
        return [StoredSession(r.session_id, r.source, r.model, r.risk, r.flagged,
                              bodies.get(r.session_id, [])) for r in rows]


@dataclass(frozen=True, slots=True)
class _Written:
    findings: list[Finding]
    actions: tuple[tuple[str, str, int], ...]


def _write_reports(conn: Connection, reports: Sequence[SessionReport],
                   before: dict[str, _Written]) -> dict[str, _Written]:
    """Replace the sessions' rows; their findings and actions only where they changed since
    ``before`` (a session missing there: rows another process wrote may be there, replaced).
    Returns what the sessions now hold."""
    if not reports:
        return {}
    pairs = [(r, before.get(r.session_id)) for r in reports]
    _replace(conn, findings_table, [r for r, was in pairs if was is None or r.findings != was.findings],
             lambda r: [_finding_row(f.to_document(), rank) for rank, f in enumerate(r.findings)])
    _replace(conn, actions_table, [r for r, was in pairs if was is None or r.actions != was.actions],
             lambda r: [{"session_id": r.session_id, "family": family, "state": state, "count": n}
                        for family, state, n in r.actions])
    _replace(conn, sessions_table, reports, lambda r: [_session_row(r)])
    return {r.session_id: _Written(r.findings, r.actions) for r in reports}


def _replace(conn: Connection, table: Table, reports: Sequence[SessionReport],
             rows_of: Callable[[SessionReport], list[dict[str, Any]]]) -> None:
    """The reports' sessions' rows of ``table``, deleted and inserted anew."""
    if not reports:
        return
    conn.execute(_DELETE_SESSION[table.name], [{"sid": r.session_id} for r in reports])
    rows = [row for r in reports for row in rows_of(r)]
    if rows:
        conn.execute(table.insert(), rows)


# One statement per table, run once per session (executemany): a live round rewrites a few dozen
# sessions, and ``session_id IN (...)`` with a different number of ids each round was compiled
# anew each round (measured: a third of a round's fixed cost).
_DELETE_SESSION = {table.name: delete(table).where(table.c.session_id == bindparam("sid"))
                   for table in (findings_table, sessions_table, actions_table)}


def _finding_row(doc: dict[str, Any], rank: int) -> dict[str, Any]:
    return {"id": doc["id"], "session_id": doc["session_id"], "rule": doc["rule"],
            "severity": int(Severity.parse(doc["severity"])), "time": doc["time"],
            "body": orjson.dumps({**doc, "rank": rank}).decode()}


def _session_row(report: SessionReport) -> dict[str, Any]:
    top = report.findings[0] if report.findings else None
    return {"session_id": report.session_id, "source": report.source, "model": report.model,
            "risk": report.risk, "flagged": report.flagged,
            "max_severity": int(top.severity) if top else None,
            "finding_count": len(report.findings), "top_finding": top.summary if top else None,
            "events": report.events, "first_time": report.first_time, "last_time": report.last_time}


def _advance(conn: Connection, name: str, position: int) -> None:
    """Offsets never go backwards: a stale writer's checkpoint is ignored, not applied."""
    moved = conn.execute(_ADVANCE, {"name_": name, "position_": position})
    if moved.rowcount == 0 and conn.scalar(_CHECKPOINT_OF, {"name_": name}) is None:
        conn.execute(checkpoints_table.insert().values(name=name, position=position))


# Built once: every analysis round advances its checkpoint, and building the statement anew
# each time cost more than running it. (Parameters named after a column they set are reserved by
# SQLAlchemy for the SET clause, hence the trailing underscores.)
_ADVANCE = (update(checkpoints_table)
            .where(checkpoints_table.c.name == bindparam("name_"),
                   checkpoints_table.c.position < bindparam("position_"))
            .values(position=bindparam("position_")))
_CHECKPOINT_OF = select(checkpoints_table.c.position).where(checkpoints_table.c.name == bindparam("name_"))


def _finding_bodies(conn: Connection, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start:start + 500]
        query = select(findings_table.c.session_id, findings_table.c.body).where(
            findings_table.c.session_id.in_(chunk))
        for row in conn.execute(query):
            found.setdefault(row.session_id, []).append(orjson.loads(row.body))
    for docs in found.values():
        docs.sort(key=lambda d: d.pop("rank"))
    return found

