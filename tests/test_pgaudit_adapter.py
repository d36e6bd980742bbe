"""The pgAudit adapter and the pipeline's text-line hook, against a real csvlog excerpt from the
pgaudit repository and a hand-written stderr log (tests/fixtures/pgaudit/README.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.adapters.base import AdapterContext
from ingest.adapters.pgaudit import PgAuditAdapter
from ingest.envelope import Event, EventKind
from ingest.errors import RecordError
from ingest.log import EventLog
from ingest.pipeline import AUTO, Preparer, ingest_bytes
from ingest.reader import text_records
from tests.helpers import FINITE_JSON, encoded_events, only_event
from tests.test_kubernetes_adapter import other_samples

FIXTURES = Path(__file__).parent / "fixtures" / "pgaudit"
CSV_LOG = FIXTURES / "pgaudit-analyze-excerpt.csv"
STDERR_LOG = FIXTURES / "postgres-stderr.log"
RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ADAPTER = PgAuditAdapter()
PREFIX = "2026-04-24 08:31:44.593 UTC [1234] pocket@pocket LOG:  "
DROP = PREFIX + ("AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.bookings,DROP TABLE bookings;,"
                 "<not logged>")


def _records(path: Path) -> list[tuple[int, str]]:
    return list(ADAPTER.split_lines(path.read_text()))


def _events(path: Path, **params: str) -> list[Event]:
    ctx = AdapterContext(received_at=RECEIVED, params=params)
    return [event for _, text in _records(path) for event in ADAPTER.to_events(text, ctx)]


def _one(text: str, **params: str) -> Event:
    return only_event(ADAPTER, text, AdapterContext(received_at=RECEIVED, params=params))




# --- the text-line hook -----------------------------------------------------------------------


def test_text_records_are_lines_with_their_numbers() -> None:
    tops = list(text_records(b"first\n\n  second\r\nthird"))
    assert [(t.line, t.value, t.text) for t in tops] == [
        (1, "first", "first"), (3, "  second", "  second"), (4, "third", "third")]
    grouped = list(text_records(b"a\nb\nc", lambda text: [(1, text)]))
    assert [(t.line, t.value) for t in grouped] == [(1, "a\nb\nc")]


def test_csvlog_rows_span_the_lines_of_their_quoted_fields() -> None:
    records = _records(CSV_LOG)
    assert [line for line, _ in records] == [1, 2, 3, 4, 5, 8, 31, 33, 34, 35, 39, 40, 42, 43, 51]
    assert records[4][1].count("\n") == 2  # grant usage / on schema / to pgaudit_etl


def test_stderr_continuation_lines_belong_to_their_record() -> None:
    records = _records(STDERR_LOG)
    assert len(records) == 15
    line, text = records[7]
    assert line == 8 and text.count("\n\t") == 3


def test_a_truncated_csv_row_does_not_swallow_the_rows_after_it() -> None:
    good = CSV_LOG.read_text().splitlines()[3]
    cut = good[:200]
    assert cut.count('"') % 2 == 1
    records = list(ADAPTER.split_lines(f"{cut}\n{good}\n{good}\n"))
    assert [line for line, _ in records] == [1, 2, 3]
    with pytest.raises(RecordError) as caught:
        ADAPTER.to_events(records[0][1], AdapterContext(received_at=RECEIVED))
    assert caught.value.field == "message"


# --- mapping ----------------------------------------------------------------------------------


def test_drop_table() -> None:
    event = _one(DROP)
    assert (event.source, event.kind, event.stream) == ("pgaudit", EventKind.CLOUD_CALL,
                                                        "postgres:pocket")
    assert (event.actor, event.tool_name, event.is_error) == ("pocket", "DROP TABLE", None)
    assert event.time == datetime(2026, 4, 24, 8, 31, 44, 593000, tzinfo=UTC)
    assert event.tool_input == {"statement": "DROP TABLE bookings;", "object_type": "TABLE",
                                "object_name": "public.bookings", "class": "DDL",
                                "parameter": "<not logged>"}
    assert event.text == "pocket@pocket DROP TABLE public.bookings: DROP TABLE bookings;"
    assert event.raw == DROP and event.session_id is None
    assert event.native_id.startswith("2026-04-24T08:31:44.593000Z/")
    assert event.attributes == {
        "severity": "LOG", "log_format": "stderr", "user": "pocket", "database": "pocket",
        "pid": 1234, "audit_type": "SESSION", "statement_id": 1, "substatement_id": 1,
        "audit_class": "DDL", "command": "DROP TABLE", "destructive": True,
        "object_type": "TABLE", "object_name": "public.bookings",
    }


def test_stderr_fixture() -> None:
    events = _events(STDERR_LOG)
    calls = [e for e in events if e.kind is EventKind.CLOUD_CALL]
    assert [e.tool_name for e in calls] == ["SELECT", "DELETE", "CREATE TABLE", "DROP TABLE",
                                            "TRUNCATE TABLE", "UPDATE"]
    assert [e.attributes["destructive"] for e in calls] == [False, True, False, True, True, False]
    assert calls[0].tool_input["statement"] == "SELECT id, email FROM users LIMIT 5;"
    assert calls[2].tool_input["statement"] == (
        "CREATE TABLE bookings_archive (\n    id bigint PRIMARY KEY,\n    payload jsonb\n);")
    assert calls[5].tool_input["parameter"] == "admin,42"
    others = [e for e in events if e.kind is EventKind.OTHER]
    assert len(others) == 9 and all(e.tool_name is None for e in others)
    error = next(e for e in others if e.is_error)
    assert (error.attributes["severity"], error.actor, error.stream) == ("ERROR", "pocket",
                                                                         "postgres:pocket")
    assert error.text == 'relation "bookings" does not exist at character 15'
    startup = others[0]
    assert (startup.stream, startup.actor, startup.attributes["pid"]) == ("postgres:default",
                                                                          None, 1)


def test_csvlog_fixture() -> None:
    events = _events(CSV_LOG)
    assert len(events) == 15
    calls = [e for e in events if e.kind is EventKind.CLOUD_CALL]
    assert len(calls) == 11 and {e.stream for e in calls} == {"postgres:postgres"}
    grant = calls[1]
    assert grant.tool_input["statement"] == "grant usage\n   on schema pgaudit\n   to pgaudit_etl;"
    assert grant.text == "vagrant@postgres GRANT: grant usage on schema pgaudit to pgaudit_etl;"
    assert grant.attributes["session_id"] == "55cb70b8.5854"
    assert grant.attributes["application_name"] == "psql"
    assert (grant.attributes["log_format"], grant.attributes["pid"]) == ("csvlog", 22612)
    quoted = next(e for e in calls if e.attributes["severity"] == "NOTICE")
    assert quoted.tool_input["statement"] == "ALTER ROLE user1 SET pgaudit.log = 'ddl, ROLE';"
    drop = next(e for e in calls if e.tool_name == "DROP TABLE")
    assert (drop.actor, drop.attributes["destructive"]) == ("user1", True)
    logged_before = next(e for e in calls if e.attributes["audit_type"] == "OBJECT")
    assert logged_before.tool_input["statement"] == "<previously logged>"
    assert logged_before.attributes["object_name"] == "public.test2"
    error = next(e for e in events if e.is_error)
    assert (error.kind, error.attributes["sql_state"]) == (EventKind.OTHER, "39P03")
    assert error.attributes["query"] == "CREATE EXTENSION pgaudit;"


@pytest.mark.parametrize(("line", "time", "user", "database", "pid", "zone"), [
    # RDS / Aurora: log_line_prefix = '%t:%r:%u@%d:[%p]:'
    ("2026-04-24 08:31:44 UTC:10.0.0.1(5432):pocket@pocket:[1234]:LOG:  ",
     datetime(2026, 4, 24, 8, 31, 44, tzinfo=UTC), "pocket", "pocket", 1234, None),
    ("2026-04-24 10:31:44.5 +02 [77] LOG:  ",
     datetime(2026, 4, 24, 8, 31, 44, 500000, tzinfo=UTC), None, None, 77, None),
    ("2026-04-24T08:31:44.593Z app@shop LOG:  ",
     datetime(2026, 4, 24, 8, 31, 44, 593000, tzinfo=UTC), "app", "shop", None, None),
    ("2026-04-24 10:31:44.593 CEST [9] a@b LOG:  ",
     datetime(2026, 4, 24, 10, 31, 44, 593000, tzinfo=UTC), "a", "b", 9, "CEST"),
    ("2026-04-24 08:31:44.593 UTC pocket pocket [1234]: LOG:  ",  # '%m %u %d [%p]: '
     datetime(2026, 4, 24, 8, 31, 44, 593000, tzinfo=UTC), None, None, 1234, None),
])
def test_log_line_prefixes(line: str, time: datetime, user: str | None, database: str | None,
                           pid: int | None, zone: str | None) -> None:
    event = _one(line + "AUDIT: SESSION,3,1,WRITE,TRUNCATE TABLE,TABLE,public.t,TRUNCATE t;,"
                 "<not logged>")
    assert (event.time, event.actor, event.attributes.get("database")) == (time, user, database)
    assert (event.attributes.get("pid"), event.attributes.get("log_time_zone")) == (pid, zone)
    assert event.tool_name == "TRUNCATE TABLE"


def test_rows_and_server_param() -> None:
    line = PREFIX.replace("pocket@pocket ", "") + (
        'AUDIT: SESSION,2,1,WRITE,DELETE,TABLE,public.sessions,"DELETE FROM sessions, x",'
        "<none>,1042")
    event = _one(line, server="db-prod-1")
    assert (event.stream, event.attributes["server"]) == ("postgres:db-prod-1", "db-prod-1")
    assert (event.attributes["rows"], event.tool_input["parameter"]) == (1042, "<none>")
    assert event.tool_input["statement"] == "DELETE FROM sessions, x"


def test_native_id_is_time_plus_content() -> None:
    assert _one(DROP).id == _one(DROP).id
    other = DROP.replace("SESSION,1,1", "SESSION,2,1")
    assert _one(other).id != _one(DROP).id
    assert _one(other).native_id.split("/")[0] == _one(DROP).native_id.split("/")[0]


@pytest.mark.parametrize(("line", "field"), [
    ("hello world", "timestamp"),
    ('{"a": 1}', "timestamp"),
    ("Apr 24 08:31:44 db postgres[1234]: LOG:  AUDIT: x", "timestamp"),
    ("2026-04-24 08:31:44 [error] 12#12: open() failed", "severity"),
    ("2026-02-31 08:31:44 UTC [1] LOG:  x", "timestamp"),
    ("2026-04-24 08:31:44 +25 [1] LOG:  x", "timestamp"),
    (PREFIX + "AUDIT: SESSION,x,1,DDL,DROP TABLE,TABLE,t,DROP TABLE t;,<none>",
     "audit.statement_id"),
    (PREFIX + "AUDIT: SESSION,1,-1,DDL,DROP TABLE,TABLE,t,DROP TABLE t;,<none>",
     "audit.substatement_id"),
    (PREFIX + "AUDIT: SESSSION,1,1,DDL,DROP TABLE,TABLE,t,DROP TABLE t;,<none>",
     "audit.audit_type"),
    (PREFIX + "AUDIT: SESSION,1,1,DDL", "audit"),
    (PREFIX + "AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,t,DROP TABLE t;,<none>,many", "audit.rows"),
    ("2026-04-24 08:31:44.593 UTC,a,b,1,,s,1,,x,,0,LOG", "message"),
    ("2026-04-24 08:31:44.593 UTC,a,b,1,,s,1,,x,,0,NOPE,00000,m", "error_severity"),
    ('2026-04-24 08:31:44.593 UTC,a,b,1,,s,1,,x,,0,LOG,00000,"cut', "message"),
])
def test_invalid_lines_name_the_field(line: str, field: str) -> None:
    with pytest.raises(RecordError) as caught:
        _one(line)
    assert caught.value.field == field


def test_only_text_is_a_record() -> None:
    for value in (None, 1, {"message": DROP}, [DROP]):
        with pytest.raises(RecordError):
            ADAPTER.to_events(value, AdapterContext(received_at=RECEIVED))


# --- accepts: this format only ------------------------------------------------------------------


def test_accepts_only_postgres_log_lines(shared_data: Path) -> None:
    for path in (CSV_LOG, STDERR_LOG):
        assert all(ADAPTER.accepts(text) for _, text in _records(path)), path
    foreign = [*other_samples(shared_data, ADAPTER.name), "hello", "",
               "2026-04-24 08:31:44 [error] 12#12: *1 open() failed",
               '127.0.0.1 - - [24/Apr/2026:08:31:44 +0000] "GET / HTTP/1.1" 200 612',
               json.dumps({"message": DROP})]
    assert len(foreign) > 30
    for sample in foreign:
        assert not ADAPTER.accepts(sample), sample


# --- through the pipeline ---------------------------------------------------------------------


def test_fixtures_ingest_by_auto_detection_once(log: EventLog, preparer: Preparer) -> None:
    for path in (CSV_LOG, STDERR_LOG):
        report = ingest_bytes(log, preparer, path.read_bytes(), AUTO, origin=path.name)
        assert (report.format, report.appended, report.errors) == ("pgaudit", 15, [])
        again = ingest_bytes(log, preparer, path.read_bytes(), "pgaudit", origin=path.name)
        assert (again.appended, again.duplicates, again.errors) == (0, 15, [])
    assert log.count_events() == 30 and log.verify().ok


def test_malformed_lines_are_quarantined_with_line_and_field(log: EventLog,
                                                             preparer: Preparer) -> None:
    good_csv = CSV_LOG.read_text().splitlines()[3]
    lines = [
        DROP,
        "hello world",
        "2026-04-24 08:31:45.000 UTC [1234] pocket@pocket checkpoint, no severity",
        PREFIX + "AUDIT: SESSION,x,1,DDL,DROP TABLE,TABLE,t,DROP TABLE t;,<none>",
        '{"kind": "Event"}',
        good_csv[:150],  # a csvlog row cut off inside its quoted message
        good_csv,
    ]
    report = ingest_bytes(log, preparer, "\n".join(lines).encode(), "pgaudit",
                          origin="postgresql.log")
    assert report.format == "pgaudit" and report.appended == 2
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "timestamp"), (3, "severity"), (4, "audit.statement_id"), (5, "timestamp"),
        (6, "message")]
    assert all(e.location == "postgresql.log" for e in report.errors)
    assert [r.rejected.payload for r in log.rejects()][:2] == lines[1:3]
    assert log.count_events() == 2


def test_json_forced_as_pgaudit_stores_nothing(log: EventLog, preparer: Preparer) -> None:
    data = (Path(__file__).parent / "fixtures" / "kubernetes" / "helm-uninstall.ndjson")
    report = ingest_bytes(log, preparer, data.read_bytes(), "pgaudit")
    assert report.rejected == 5 and [e.line for e in report.errors] == [1, 2, 3, 4, 5]
    assert {e.field for e in report.errors} == {"timestamp"}
    assert log.count_events() == 0


def test_text_that_is_no_postgres_log_is_not_detected(log: EventLog, preparer: Preparer) -> None:
    report = ingest_bytes(log, preparer, b"hello\nworld\n", AUTO)
    assert report.format is None and report.rejected == 1
    assert "invalid JSON" in report.errors[0].reason
    assert log.count_events() == 0


def test_secrets_in_statements_are_redacted_before_the_adapter(log: EventLog,
                                                               preparer: Preparer) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    line = PREFIX + f"AUDIT: SESSION,5,1,WRITE,INSERT,TABLE,public.keys,INSERT INTO keys VALUES " \
                    f"('{token}');,<not logged>"
    report = ingest_bytes(log, preparer, line.encode(), "pgaudit")
    assert report.appended == 1
    (stored,) = log.read_all(after_position=0, limit=10)
    assert token not in json.dumps(stored.event.to_document())
    assert "[REDACTED:" in stored.event.tool_input["statement"]


@pytest.mark.parametrize("statement", [
    "ALTER ROLE app WITH ENCRYPTED PASSWORD 'N7rV2xQp9LmZ';",
    "CREATE ROLE etl LOGIN PASSWORD 'N7rV2xQp9LmZ' VALID UNTIL '2027-01-01';",
    "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASSWORD ''N7rV2xQp9LmZ'''; END $$;",
])
def test_passwords_in_role_statements_are_redacted(log: EventLog, preparer: Preparer,
                                                    statement: str) -> None:
    stderr = PREFIX + f"AUDIT: SESSION,3,1,ROLE,ALTER ROLE,,,{statement},<not logged>"
    audit = f"AUDIT: SESSION,4,1,ROLE,ALTER ROLE,,,{statement},<not logged>"
    csvlog = ('2026-04-24 08:31:44.593 UTC,"pocket","pocket",1234,"10.0.0.9:51234",6629c3a8.4d2,7,'
              '"ALTER ROLE",2026-04-24 08:31:40 UTC,3/17,0,LOG,00000,"'
              + audit.replace('"', '""') + '",,,,,,,,,"psql"')
    report = ingest_bytes(log, preparer, f"{stderr}\n{csvlog}\n".encode(), "pgaudit")
    assert report.appended == 2
    stored = log.read_all(after_position=0, limit=10)
    for item in stored:
        assert "N7rV2xQp9LmZ" not in json.dumps(item.event.to_document())
        assert "[REDACTED:sql-password:" in item.event.tool_input["statement"]
    assert {item.event.attributes["log_format"] for item in stored} == {"stderr", "csvlog"}
    assert stored[0].event.tool_input["statement"] == stored[1].event.tool_input["statement"]


# --- property: anything in, events or RecordError out -----------------------------------------

_FIELD = st.sampled_from(["SESSION", "OBJECT", "1", "0", "-1", "DDL", "DROP TABLE", "", "<none>",
                          '"a,b"', '"', "\n", "\n\t", "99999999999999999999"]) | st.text(max_size=8)
_AUDIT = st.lists(_FIELD, max_size=11).map(lambda fields: "AUDIT: " + ",".join(fields))
_PREFIXES = st.sampled_from([PREFIX, "2026-04-24 08:31:44 +05:30 [1] LOG:  ",
                             "2026-04-24 08:31:44.593 UTC,u,d,1,,s,1,,x,,0,LOG,00000,"])
_LINES = (st.builds(lambda prefix, body: prefix + body, _PREFIXES, _AUDIT | st.text(max_size=30))
          | st.text(max_size=60))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_LINES | FINITE_JSON)
def test_anything_maps_to_events_or_a_record_error(record: Any) -> None:
    events = encoded_events(ADAPTER, record, RECEIVED)
    if events is None:
        return
    assert len(events) == 1 and isinstance(events[0], Event)
    assert ADAPTER.accepts(record)
