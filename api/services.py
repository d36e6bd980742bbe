"""Everything a request or a CLI command needs, opened once per process."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from analyzer.guard import GuardPolicy, load_policy
from analyzer.history import SessionAnalyzers
from analyzer.projector import Projector
from analyzer.store import FindingStore
from api.keys import KeyStore
from api.wakeup import Wakeup
from api.webhooks.alerts import Alerter
from api.webhooks.store import WebhookStore
from ingest.log import EventLog, open_log
from ingest.pipeline import Preparer
from ingest.preparing import Preparation, PreparationProcess, PreparationThread
from ingest.redact import Redactor
from ingest.settings import Settings


@dataclass
class Services:
    settings: Settings
    log: EventLog
    preparer: Preparer
    keys: KeyStore
    findings: FindingStore
    projector: Projector
    policy: GuardPolicy
    webhooks: WebhookStore
    alerter: Alerter
    sessions: SessionAnalyzers  # one session's live analyzer, for the guard
    preparation: Preparation  # where request bodies too large to map on the event loop are mapped
    # Set after every acknowledged append: the analysis worker wakes at once instead of on its poll.
    appended: Wakeup = field(default_factory=threading.Event)
    _ring_due: bool = field(default=False, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, follow: bool = False,
             child_processes: bool = False) -> Services:
        """``follow``: another process (the analysis worker) writes the analysis projections;
        ``child_processes``: the log commits in a child process (``ingest.log.process``), and
        large bodies are mapped in another (``ingest.preparing``)."""
        log = open_log(settings.db, writer_process=child_processes)
        try:
            key = settings.redaction_key or log.secret("redaction_key")
            preparer = Preparer(Redactor(key.encode()), max_depth=settings.max_json_depth,
                                chunk_size=settings.chunk_events,
                                max_field=settings.max_field_bytes)
            policy = load_policy(settings.guard_policy)
            findings = FindingStore(settings.analysis_url)
            webhooks = WebhookStore(settings.db)
            alerter = Alerter(webhooks, findings, public_url=settings.public_url)
            projector = Projector(log, findings, on_change=alerter.on_reports, follow=follow)
            preparation = (PreparationProcess if child_processes else PreparationThread)(preparer)
            return cls(settings, log, preparer, KeyStore(settings.db), findings, projector, policy,
                       webhooks, alerter, SessionAnalyzers(log, projector), preparation)
        except BaseException:
            log.close()
            raise

    def note_appended(self) -> None:
        """Wake the analysis worker after an acknowledged append: alerts should not wait for its
        poll. On the event loop, once per turn of the loop however many requests appended in it
        (a ring is a syscall, and single-event ingest acknowledges a commit's worth at once)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.appended.set()
            return
        if not self._ring_due:
            self._ring_due = True
            loop.call_soon(self._ring)

    def _ring(self) -> None:
        self._ring_due = False
        self.appended.set()

    def close(self) -> None:
        self.preparation.close()
        self.log.close()
        self.keys.close()
        self.findings.close()
        self.webhooks.close()
