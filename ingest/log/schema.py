"""Tables of the SQL log backends (SQLAlchemy Core: the write path batches rows, no ORM objects).

Only ``events`` and ``quarantine`` are the log; both refuse UPDATE and DELETE by trigger.
``streams`` (chain heads) and ``sessions`` (summaries) are projections kept in the same
transaction as the events they summarise.

Indexes are few on purpose: each secondary index costs about 3x on inserts. ``events`` has the
rowid-style ``position`` key, UNIQUE ``id`` (idempotent re-ingest), UNIQUE ``(stream, seq)``
(the chain order, and a fork is impossible) and ``(session_id, position)`` for session reads.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", _Position, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("stream", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("session_id", Text),
    Column("source", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("time", String(32), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream", "seq", name="events_stream_seq"),
    Index("events_session", "session_id", "position"),
)

streams = Table(
    "streams",
    metadata,
    Column("stream", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("first_time", String(32), nullable=False),
    Column("last_time", String(32), nullable=False),
    Column("event_count", BigInteger, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("position", _Position, primary_key=True, autoincrement=True),
    Column("received_at", String(32), nullable=False),
    Column("format", Text, nullable=False),
    Column("origin", Text),
    Column("line", Integer),
    Column("idx", Integer),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
)

meta = Table(
    "blackbox_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

APPEND_ONLY_TABLES = ("events", "quarantine")


def sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'blackbox: {table} is append-only'); END"
        for table in APPEND_ONLY_TABLES
        for op in ("UPDATE", "DELETE")
    ]


def postgres_triggers() -> list[str]:
    function = (
        "CREATE OR REPLACE FUNCTION blackbox_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'blackbox: %% is append-only', TG_TABLE_NAME "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    triggers = []
    for table in APPEND_ONLY_TABLES:
        triggers.append(
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION blackbox_append_only()"
        )
        triggers.append(
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION blackbox_append_only()"
        )
    return [function, *triggers]
