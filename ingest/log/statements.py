"""The log's write path as SQL text, run on the writer connection's DBAPI cursor.

One group commit of single-event requests is a handful of tiny statements. Built and executed
through SQLAlchemy Core, each cost more Python (construct, cache key, compile lookup, parameter
processing) than SQLite takes to run it: about 1.1 ms of the 1.4 ms of writer CPU per commit.
These statements are plain SQL that both dialects accept (SQLite ≥ 3.24 and PostgreSQL share
``INSERT … ON CONFLICT``), written once per paramstyle, so there is still one code path.
"""

from __future__ import annotations

EVENT_COLUMNS = ("id", "stream", "seq", "session_id", "source", "kind", "time", "body",
                 "prev_hash", "hash")
SESSION_COLUMNS = ("session_id", "source", "first_time", "last_time", "event_count")


class WriteStatements:
    """SQL text of every write-path statement for one DBAPI paramstyle.

    ``lock_rows``: ``SELECT … FOR UPDATE`` the chain heads (PostgreSQL). SQLite has no row locks;
    its writer holds the database's write lock from ``BEGIN IMMEDIATE`` instead.
    """

    def __init__(self, paramstyle: str, *, lock_rows: bool) -> None:
        # sqlite3 is "qmark"; psycopg, whatever SQLAlchemy calls it, takes positional "%s".
        self._marker = "?" if paramstyle == "qmark" else "%s"
        self._lock = " FOR UPDATE" if lock_rows else ""
        self.insert_events = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                              f"VALUES ({self.markers(len(EVENT_COLUMNS))})")
        self.insert_heads = ("INSERT INTO streams (stream, source, last_seq, last_hash) "
                             f"VALUES ({self._marker}, {self._marker}, 0, {self._marker}) "
                             "ON CONFLICT (stream) DO NOTHING")
        self.update_heads = (f"UPDATE streams SET last_seq = {self._marker}, "
                             f"last_hash = {self._marker} WHERE stream = {self._marker}")
        self.upsert_sessions = _upsert_sessions(self.markers(len(SESSION_COLUMNS)))

    def existing_ids(self, count: int) -> str:
        return f"SELECT id FROM events WHERE id IN ({self.markers(count)})"

    def heads(self, count: int) -> str:
        """The heads of ``count`` streams, in name order: the lock order of concurrent writers."""
        return ("SELECT stream, last_seq, last_hash FROM streams "
                f"WHERE stream IN ({self.markers(count)}) ORDER BY stream{self._lock}")

    def markers(self, count: int) -> str:
        return ", ".join([self._marker] * count)


def _upsert_sessions(markers: str) -> str:
    """Add a commit's per-session counts and time span to the summaries (CASE, not min/max:
    SQLite's two-argument min() is PostgreSQL's LEAST())."""
    return (f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({markers}) "
            "ON CONFLICT (session_id) DO UPDATE SET "
            "event_count = sessions.event_count + excluded.event_count, "
            "first_time = CASE WHEN excluded.first_time < sessions.first_time "
            "THEN excluded.first_time ELSE sessions.first_time END, "
            "last_time = CASE WHEN excluded.last_time > sessions.last_time "
            "THEN excluded.last_time ELSE sessions.last_time END")
