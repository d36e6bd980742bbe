"""Webhooks, alerts and deliveries in the log's own database (SQLAlchemy Core, SQLite or PostgreSQL).

A delivery row is written, status ``pending``, in the same transaction as the alert that causes
it, before anything is sent; the worker then leases due rows (moves ``next_attempt_at`` past
the attempt's longest possible duration, so no other worker takes them meanwhile) and records
each attempt's outcome. Rows only leave the due states as ``delivered``, ``dead`` or
``cancelled``: nothing is dropped silently, and a restarted server finds what is still due.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from analyzer.findings import Severity
from api.wakeup import Wakeup
from api.webhooks.formats import alert_record
from api.webhooks.models import (
    DUE_STATES,
    Alert,
    Claimed,
    Delivery,
    DeliveryStatus,
    Format,
    StoredAlert,
    Webhook,
)
from ingest.envelope import format_time
from ingest.errors import NotFound, StorageError
from ingest.log.engines import make_engines
from ingest.log.sql import storage_errors

metadata = MetaData()

webhooks_table = Table(
    "webhooks", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("min_severity", Integer, nullable=False),
    Column("format", String(16), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("deleted_at", String(40)),
)

alerts_table = Table(
    "alerts", metadata,
    Column("id", String(32), primary_key=True),
    Column("session_id", Text, nullable=False, unique=True),
    Column("severity", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("body", Text, nullable=False),  # the alert as last sent (our JSON schema)
)

deliveries_table = Table(
    "deliveries", metadata,
    Column("id", String(32), primary_key=True),
    Column("webhook_id", String(32), nullable=False),
    Column("alert_id", String(32), nullable=False),
    Column("is_update", Boolean, nullable=False),
    Column("redelivery_of", String(32)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("body", Text, nullable=False),  # rendered once: every attempt sends the same bytes
    Column("created_at", String(40), nullable=False),
    Column("next_attempt_at", Float),  # unix seconds while due, else NULL
    Column("last_attempt_at", String(40)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", String(40)),
    Index("deliveries_due", "status", "next_attempt_at"),
    Index("deliveries_webhook", "webhook_id", "created_at"),
)

Render = Callable[[Alert, Webhook, bool], bytes]  # (alert, subscription, is_update) -> body
Sender = Callable[[list[Claimed]], None]  # takes new deliveries already leased to it


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result, as the worker decided it."""

    status: DeliveryStatus
    at: float
    status_code: int | None
    error: str | None
    next_attempt_at: float | None  # when RETRYING


def now_text(at: float | None = None) -> str:
    return format_time(datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC))


class WebhookStore:
    """Reads and writes the webhook tables of one database; rings ``enqueued`` on new deliveries."""

    def __init__(self, url: str) -> None:
        self._writer, self._reader = make_engines(url)
        self.enqueued: Wakeup = threading.Event()
        self._sender: Sender | None = None
        self._lease_seconds = 0.0
        with storage_errors("create the webhook tables"), self._writer.begin() as conn:
            metadata.create_all(conn)

    def attach_sender(self, sender: Sender, lease_seconds: float) -> None:
        """Hand new alert deliveries straight to this process's worker, leased to it when they are
        inserted: the alert goes out without waiting for a claim transaction, which under SQLite
        write contention was the largest part of the alert's latency."""
        self._sender, self._lease_seconds = sender, lease_seconds

    def detach_sender(self) -> None:
        self._sender = None

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    # -- subscriptions ----------------------------------------------------------------------------

    def add_webhook(self, *, name: str, url: str, secret: str, min_severity: Severity,
                    format: Format) -> Webhook:
        hook = Webhook("wh_" + secrets.token_hex(8), name, url, secret, min_severity, format, now_text())
        with storage_errors("register the webhook"), self._writer.begin() as conn:
            conn.execute(webhooks_table.insert().values(
                id=hook.id, name=name, url=url, secret=secret, min_severity=int(min_severity),
                format=format.value, created_at=hook.created_at))
        return hook

    def webhooks(self) -> list[Webhook]:
        with storage_errors("read the webhooks"), self._reader.connect() as conn:
            return _active_webhooks(conn)

    def delete_webhook(self, webhook_id: str) -> int:
        """Retire a subscription; its undelivered deliveries become ``cancelled``. Returns how many."""
        with storage_errors("delete the webhook"), self._writer.begin() as conn:
            _webhook(conn, webhook_id)
            conn.execute(update(webhooks_table).where(webhooks_table.c.id == webhook_id)
                         .values(deleted_at=now_text()))
            cancelled = conn.execute(
                update(deliveries_table)
                .where(deliveries_table.c.webhook_id == webhook_id,
                       deliveries_table.c.status.in_(DUE_STATES))
                .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None))
        return cancelled.rowcount

    # -- alerts -------------------------------------------------------------------------------------

    def raise_alerts(self, alerts: Sequence[Alert], render: Render) -> dict[str, Severity]:
        """Store new alerts and severity rises, with a pending delivery per matching subscription.

        Returns every given session's alert severity as now stored. One transaction; a concurrent
        writer inserting the same alert first makes it start over (and then see that alert).
        """
        sender = self._sender
        leased_until = time.time() + self._lease_seconds if sender else None
        for attempt in range(3):
            try:
                with storage_errors("store alerts"), self._writer.begin() as conn:
                    stored, queued = _raise_alerts(conn, alerts, render, leased_until)
                break
            except StorageError as exc:
                if not isinstance(exc.__cause__, sa_exc.IntegrityError) or attempt == 2:
                    raise
        if queued and sender:
            sender(queued)
        elif queued:
            self.enqueued.set()
        return stored

    def alerts(self) -> list[StoredAlert]:
        """Every stored alert (one per session): its session, severity and when it was raised."""
        table = alerts_table
        with storage_errors("read the alerts"), self._reader.connect() as conn:
            rows = conn.execute(select(table.c.session_id, table.c.severity, table.c.created_at)).all()
        return [StoredAlert(r.session_id, Severity(r.severity), r.created_at) for r in rows]

    def alert_severities(self) -> dict[str, Severity]:
        return {alert.session_id: alert.severity for alert in self.alerts()}

    # -- deliveries ---------------------------------------------------------------------------------

    def deliveries(self, webhook_id: str, *, limit: int = 100,
                   status: DeliveryStatus | None = None) -> list[Delivery]:
        """A webhook's deliveries, newest first."""
        table = deliveries_table
        query = (select(table).where(table.c.webhook_id == webhook_id)
                 .order_by(table.c.created_at.desc(), table.c.id).limit(limit))
        if status is not None:
            query = query.where(table.c.status == status.value)
        with storage_errors("read the deliveries"), self._reader.connect() as conn:
            _webhook(conn, webhook_id)
            return [_delivery(row) for row in conn.execute(query)]

    def redeliver(self, webhook_id: str, delivery_id: str) -> Delivery:
        """A new pending delivery (new id) of a stored delivery's exact body."""
        table = deliveries_table
        with storage_errors("queue the redelivery"), self._writer.begin() as conn:
            _webhook(conn, webhook_id)
            original = conn.execute(select(table).where(
                table.c.id == delivery_id, table.c.webhook_id == webhook_id)).first()
            if original is None:
                raise NotFound(f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
            row = _delivery_row(webhook_id, original.alert_id, original.is_update,
                                original.body.encode(), redelivery_of=delivery_id)
            conn.execute(table.insert().values(row))
            made = _delivery(conn.execute(select(table).where(table.c.id == row["id"])).one())
        self.enqueued.set()
        return made

    def claim_due(self, now: float, lease_until: float, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries (oldest due first) for one attempt each."""
        table = deliveries_table
        due = (select(table.c.id).where(table.c.status.in_(DUE_STATES), table.c.next_attempt_at <= now)
               .order_by(table.c.next_attempt_at).limit(limit))
        lease = (update(table).where(table.c.id.in_(due), table.c.next_attempt_at <= now)
                 .values(next_attempt_at=lease_until)
                 .returning(table.c.id, table.c.webhook_id, table.c.alert_id, table.c.attempts,
                            table.c.body))
        with storage_errors("lease due deliveries"), self._writer.begin() as conn:
            leased = conn.execute(lease).all()
            hooks = _webhooks_by_id(conn, {r.webhook_id for r in leased})
        return [Claimed(r.id, r.alert_id, r.attempts, r.body.encode(), hooks[r.webhook_id].url,
                        hooks[r.webhook_id].secret) for r in leased if r.webhook_id in hooks]

    def record(self, delivery_id: str, outcome: Outcome) -> None:
        """Write one attempt's outcome (unless the delivery was cancelled meanwhile)."""
        table = deliveries_table
        values: dict[str, Any] = {
            "status": outcome.status.value, "attempts": table.c.attempts + 1,
            "last_attempt_at": now_text(outcome.at), "last_status_code": outcome.status_code,
            "last_error": outcome.error, "next_attempt_at": outcome.next_attempt_at}
        if outcome.status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now_text(outcome.at)
        with storage_errors("record a delivery attempt"), self._writer.begin() as conn:
            conn.execute(update(table).where(table.c.id == delivery_id,
                                             table.c.status.in_(DUE_STATES)).values(values))

    def next_due(self) -> float | None:
        """When the earliest due delivery (leased ones included) becomes due, in unix seconds."""
        table = deliveries_table
        query = select(func.min(table.c.next_attempt_at)).where(table.c.status.in_(DUE_STATES))
        with storage_errors("read the delivery queue"), self._reader.connect() as conn:
            value = conn.scalar(query)
        return None if value is None else float(value)


def _raise_alerts(conn: Connection, alerts: Sequence[Alert], render: Render,
                  leased_until: float | None) -> tuple[dict[str, Severity], list[Claimed]]:
    table = alerts_table
    ids = [a.id for a in alerts]
    old = {r.id: r for r in conn.execute(select(table.c.id, table.c.session_id, table.c.severity,
                                                table.c.created_at).where(table.c.id.in_(ids)))}
    hooks = _active_webhooks(conn)
    stored: dict[str, Severity] = {}
    deliveries: list[tuple[dict[str, Any], Claimed]] = []
    for alert in alerts:
        before = old.get(alert.id)
        if before is not None and before.severity >= alert.severity:
            stored[alert.session_id] = Severity(before.severity)
            continue
        alert = replace(alert, created_at=before.created_at) if before is not None else alert
        _save_alert(conn, alert, exists=before is not None)
        previous = None if before is None else Severity(before.severity)
        deliveries += _deliveries_for(alert, previous, hooks, render, leased_until)
        stored[alert.session_id] = alert.severity
    if deliveries:
        conn.execute(deliveries_table.insert(), [row for row, _ in deliveries])
    return stored, [claimed for _, claimed in deliveries]


def _save_alert(conn: Connection, alert: Alert, *, exists: bool) -> None:
    body = orjson.dumps(alert_record(alert)).decode()
    values = {"severity": int(alert.severity), "updated_at": alert.updated_at, "body": body}
    if exists:
        conn.execute(update(alerts_table).where(alerts_table.c.id == alert.id).values(values))
    else:
        conn.execute(alerts_table.insert().values(id=alert.id, session_id=alert.session_id,
                                                  created_at=alert.created_at, **values))


def _deliveries_for(alert: Alert, previous: Severity | None, hooks: list[Webhook], render: Render,
                    leased_until: float | None) -> list[tuple[dict[str, Any], Claimed]]:
    """One delivery per subscription the alert now matches: an update for those that had it."""
    made = []
    for hook in hooks:
        if hook.min_severity > alert.severity:
            continue
        is_update = previous is not None and hook.min_severity <= previous
        body = render(alert, hook, is_update)
        row = _delivery_row(hook.id, alert.id, is_update, body, due_at=leased_until)
        made.append((row, Claimed(row["id"], alert.id, 0, body, hook.url, hook.secret)))
    return made


def _delivery_row(webhook_id: str, alert_id: str, is_update: bool, body: bytes, *,
                  redelivery_of: str | None = None, due_at: float | None = None) -> dict[str, Any]:
    created = datetime.now(UTC)
    return {"id": "dl_" + secrets.token_hex(12), "webhook_id": webhook_id, "alert_id": alert_id,
            "is_update": is_update, "redelivery_of": redelivery_of,
            "status": DeliveryStatus.PENDING.value, "attempts": 0, "body": body.decode(),
            "created_at": format_time(created),
            "next_attempt_at": created.timestamp() if due_at is None else due_at,
            "last_attempt_at": None, "last_status_code": None, "last_error": None,
            "delivered_at": None}


def _active_webhooks(conn: Connection) -> list[Webhook]:
    query = (select(webhooks_table).where(webhooks_table.c.deleted_at.is_(None))
             .order_by(webhooks_table.c.created_at, webhooks_table.c.id))
    return [_webhook_of(row) for row in conn.execute(query)]


def _webhooks_by_id(conn: Connection, ids: set[str]) -> dict[str, Webhook]:
    if not ids:
        return {}
    rows = conn.execute(select(webhooks_table).where(webhooks_table.c.id.in_(sorted(ids))))
    return {row.id: _webhook_of(row) for row in rows}


def _webhook(conn: Connection, webhook_id: str) -> Webhook:
    row = conn.execute(select(webhooks_table).where(webhooks_table.c.id == webhook_id,
                                                    webhooks_table.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    return _webhook_of(row)


def _webhook_of(row: Row[Any]) -> Webhook:
    return Webhook(row.id, row.name, row.url, row.secret, Severity(row.min_severity),
                   Format(row.format), row.created_at)


def _delivery(row: Row[Any]) -> Delivery:
    due = row.next_attempt_at
    return Delivery(row.id, row.webhook_id, row.alert_id, row.is_update, DeliveryStatus(row.status),
                    row.attempts, row.created_at, None if due is None else now_text(due),
                    row.last_attempt_at, row.last_status_code, row.last_error, row.delivered_at,
                    row.redelivery_of)
