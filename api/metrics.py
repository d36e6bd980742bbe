"""Prometheus metrics of one app instance (own registry: several apps can live in one process)."""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from analyzer.projector import CHECKPOINT
from analyzer.store import FindingStore
from ingest.log import EventLog


class IngestCounters(NamedTuple):
    """One format's labelled children of the ingest counters."""

    appended: Counter
    duplicates: Counter
    rejected: Counter


class Metrics:
    def __init__(self, log: EventLog, findings: FindingStore) -> None:
        self._by_format: dict[str, IngestCounters] = {}
        self.registry = CollectorRegistry()
        self.appended = Counter("blackbox_events_appended", "Events appended to the log",
                                ["format"], registry=self.registry)
        self.duplicates = Counter("blackbox_events_duplicate", "Events already in the log",
                                  ["format"], registry=self.registry)
        self.rejected = Counter("blackbox_records_rejected", "Records quarantined as invalid",
                                ["format"], registry=self.registry)
        self.ingest_seconds = Histogram(
            "blackbox_ingest_seconds", "Time from request body read to durable append",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry)
        commits = Gauge("blackbox_group_commits", "Transactions run by the log writer",
                        registry=self.registry)
        commits.set_function(lambda: log.commits)
        lag = Gauge("blackbox_analysis_lag_events",
                    "Log positions appended but not analysed yet (the analysis worker yields the "
                    "CPU to ingest, and catches up when the load drops)", registry=self.registry)
        lag.set_function(lambda: max(0, log.head_position() - findings.checkpoint(CHECKPOINT)))

    def ingest_counters(self, fmt: str) -> IngestCounters:
        """The counters of a format, looked up once: ``labels()`` validates, locks and builds a
        key on every call, and ingest counts on every request."""
        found = self._by_format.get(fmt)
        if found is None:
            found = IngestCounters(self.appended.labels(format=fmt),
                                   self.duplicates.labels(format=fmt),
                                   self.rejected.labels(format=fmt))
            self._by_format[fmt] = found
        return found
