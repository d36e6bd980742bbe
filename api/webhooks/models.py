"""What the webhook machinery works with: subscriptions, alerts, deliveries and their states."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analyzer.findings import Severity


class Format(StrEnum):
    JSON = "json"  # our own schema (README, "Alerts and webhooks")
    SLACK = "slack"  # a Slack incoming-webhook message
    PAGERDUTY = "pagerduty"  # a PagerDuty Events API v2 trigger; the secret is the routing key


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # stored, not attempted yet
    RETRYING = "retrying"  # attempted and failed; due again at next_attempt_at
    DELIVERED = "delivered"  # a 2xx answer
    DEAD = "dead"  # the retry budget is spent; redeliver by hand
    CANCELLED = "cancelled"  # its webhook was deleted before it got through


DUE_STATES = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)


def alert_id(session_id: str) -> str:
    """One alert per session, with an id every process computes alike."""
    return "al_" + hashlib.sha256(session_id.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    name: str
    url: str
    secret: str
    min_severity: Severity
    format: Format
    created_at: str

    def public(self) -> dict[str, Any]:
        """What the API shows: everything but the secret."""
        return {"id": self.id, "name": self.name, "url": self.url, "format": self.format.value,
                "min_severity": self.min_severity.label, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class FindingRef:
    """The part of a finding an alert names."""

    id: str
    rule: str
    severity: Severity
    summary: str

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "severity": self.severity.label,
                "summary": self.summary}


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    session_id: str
    severity: Severity
    risk: float
    flagged: bool
    source: str
    model: str | None
    top_finding: FindingRef | None
    finding_ids: tuple[str, ...]
    created_at: str
    updated_at: str

    @property
    def summary(self) -> str:
        reason = self.top_finding.summary if self.top_finding else (
            f"the session's risk {self.risk:.2f} is over the flag threshold")
        return f"{self.severity.label.upper()}: {reason}"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    webhook_id: str
    alert_id: str
    update: bool
    status: DeliveryStatus
    attempts: int
    created_at: str
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None
    redelivery_of: str | None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "webhook_id": self.webhook_id, "alert_id": self.alert_id,
                "update": self.update, "status": self.status.value, "attempts": self.attempts,
                "created_at": self.created_at, "next_attempt_at": self.next_attempt_at,
                "last_attempt_at": self.last_attempt_at, "last_status_code": self.last_status_code,
                "last_error": self.last_error, "delivered_at": self.delivered_at,
                "redelivery_of": self.redelivery_of}


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due delivery leased to this process for one attempt, with where and how to send it."""

    id: str
    alert_id: str
    attempts: int  # made before this one
    body: bytes
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """What the alerts table says of one session's alert, without its body."""

    session_id: str
    severity: Severity
    created_at: str
