"""Everything a request or a CLI command needs, opened once per process."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.projector import Projector
from analyzer.store import FindingStore
from api.keys import KeyStore
from ingest.log import EventLog, open_log
from ingest.pipeline import Preparer
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

    @classmethod
    def open(cls, settings: Settings) -> Services:
        log = open_log(settings.db)
        try:
            key = settings.redaction_key or log.secret("redaction_key")
            preparer = Preparer(Redactor(key.encode()), max_depth=settings.max_json_depth,
                                chunk_size=settings.chunk_events,
                                max_field=settings.max_field_bytes)
            findings = FindingStore(settings.db)
            return cls(settings, log, preparer, KeyStore(settings.db), findings,
                       Projector(log, findings))
        except BaseException:
            log.close()
            raise

    def close(self) -> None:
        self.log.close()
        self.keys.close()
        self.findings.close()
