"""Alerts from session verdicts: one per session, raised when it becomes flagged or a critical
finding appears, re-sent (as an update) only when its severity rises.

The projector calls ``on_reports`` after each committed batch. That is after the projection's
commit, so a crash in between could lose an alert; ``reconcile`` closes the gap from the stored
verdicts. It runs first thing in a server (an alerter starts out needing it) and again after any
failure to store an alert, so a missed alert is late, never dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from analyzer.engine import SessionReport
from analyzer.findings import Severity
from analyzer.store import FindingStore, StoredSession
from api.webhooks.formats import render
from api.webhooks.models import Alert, FindingRef, Webhook, alert_id
from api.webhooks.store import WebhookStore, now_text
from ingest.errors import BlackboxError

logger = logging.getLogger("blackbox.alerts")


@dataclass(frozen=True, slots=True)
class Verdict:
    """A session's verdict, from the live analyzer or from the stored projections alike."""

    session_id: str
    source: str
    model: str | None
    risk: float
    flagged: bool
    findings: tuple[FindingRef, ...]  # most severe first

    @classmethod
    def of_report(cls, report: SessionReport) -> Verdict:
        refs = tuple(FindingRef(f.id, f.rule, f.severity, f.summary) for f in report.findings)
        return cls(report.session_id, report.source, report.model, report.risk, report.flagged, refs)

    @classmethod
    def of_stored(cls, stored: StoredSession) -> Verdict:
        refs = tuple(FindingRef(d["id"], d["rule"], Severity.parse(d["severity"]), d["summary"])
                     for d in stored.findings)
        return cls(stored.session_id, stored.source, stored.model, stored.risk, stored.flagged, refs)


def alert_severity(verdict: Verdict) -> Severity | None:
    """The alert a verdict calls for: the worst finding's severity, at least high; None for none."""
    worst = max((f.severity for f in verdict.findings), default=None)
    if worst is not Severity.CRITICAL and not verdict.flagged:
        return None
    return max(worst or Severity.HIGH, Severity.HIGH)


def alert_of(verdict: Verdict, severity: Severity) -> Alert:
    top = max(verdict.findings, key=lambda f: f.severity, default=None)
    now = now_text()
    return Alert(alert_id(verdict.session_id), verdict.session_id, severity, verdict.risk,
                 verdict.flagged, verdict.source, verdict.model, top,
                 tuple(f.id for f in verdict.findings), now, now)


class Alerter:
    """Turns verdicts into stored alerts and deliveries; one per process, shared by its threads."""

    def __init__(self, store: WebhookStore, findings: FindingStore, *, public_url: str) -> None:
        self._store = store
        self._findings = findings
        self._public_url = public_url
        self._lock = threading.Lock()
        self._known: dict[str, Severity] | None = None  # session -> stored alert severity
        self.needs_reconcile = True  # a previous process may have died before storing an alert

    def on_reports(self, reports: Sequence[SessionReport]) -> None:
        """The projector's ``on_change``: must not raise, the projection is already committed."""
        try:
            self.apply([Verdict.of_report(r) for r in reports])
        except BlackboxError:
            self.needs_reconcile = True
            logger.exception("could not store alerts; the delivery worker will reconcile")

    def apply(self, verdicts: Sequence[Verdict]) -> None:
        """Raise the alerts these verdicts call for that are not stored yet at their severity."""
        with self._lock:
            known = self._known_severities()
            due = [alert_of(v, s) for v in verdicts
                   if (s := alert_severity(v)) is not None and known.get(v.session_id, -1) < s]
            if due:
                known.update(self._store.raise_alerts(due, self._render))

    def reconcile(self) -> None:
        """Raise every alert the stored verdicts call for and the alerts table lacks."""
        self.needs_reconcile = False
        try:
            missing = self._unalerted()
            if missing:
                logger.warning("raising %d alert(s) missed before", len(missing))
                self.apply([Verdict.of_stored(s) for s in self._findings.sessions(missing)])
        except BaseException:
            self.needs_reconcile = True
            raise

    def _unalerted(self) -> list[str]:
        """Sessions whose stored verdict calls for an alert (or a higher one) than they have.
        Compared here, not joined in SQL: the projections and the alerts may live in different
        databases (a SQLite log keeps its projections in a file of their own)."""
        have = self._store.alert_severities()
        return [session_id for session_id, worst in self._findings.alertable().items()
                if session_id not in have or have[session_id] < max(worst, Severity.HIGH)]

    def reconcile_if_needed(self) -> None:
        if self.needs_reconcile:
            self.reconcile()

    def _known_severities(self) -> dict[str, Severity]:
        # Loaded once: afterwards only this process's writes (and re-reads on a rise) change it.
        if self._known is None:
            self._known = self._store.alert_severities()
        return self._known

    def _render(self, alert: Alert, hook: Webhook, update: bool) -> bytes:
        return render(alert, hook, update=update, public_url=self._public_url)
