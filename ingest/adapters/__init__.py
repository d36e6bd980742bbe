"""The adapter registry: format name → adapter, and content-based auto-detection."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.adapters.base import Adapter, AdapterContext
from ingest.adapters.blackbox import BlackboxAdapter
from ingest.adapters.claude_code import ClaudeCodeAdapter
from ingest.adapters.claude_code_hooks import ClaudeCodeHooksAdapter
from ingest.adapters.cloudtrail import CloudTrailAdapter
from ingest.adapters.codex import CodexAdapter
from ingest.adapters.gcp_audit import GcpAuditAdapter
from ingest.adapters.kubernetes import KubernetesAuditAdapter
from ingest.adapters.otlp import OtlpAdapter
from ingest.adapters.pgaudit import PgAuditAdapter
from ingest.adapters.railway import RailwayAuditAdapter
from ingest.adapters.trajectory import TrajectoryAdapter
from ingest.envelope import JSON
from ingest.errors import UnknownFormat

__all__ = ["Adapter", "AdapterContext", "adapter_names", "detect_adapter", "get_adapter"]

# Order matters for auto-detection: the most specific formats first. One line per adapter.
_ADAPTERS: tuple[Adapter, ...] = (
    BlackboxAdapter(),
    ClaudeCodeAdapter(),
    KubernetesAuditAdapter(),
    RailwayAuditAdapter(),
    PgAuditAdapter(),
    OtlpAdapter(),
    CodexAdapter(),
    TrajectoryAdapter(),
    CloudTrailAdapter(),
    GcpAuditAdapter(),
    ClaudeCodeHooksAdapter(),
)
_BY_NAME = {adapter.name: adapter for adapter in _ADAPTERS}


def adapter_names() -> list[str]:
    return [adapter.name for adapter in _ADAPTERS]


def get_adapter(name: str) -> Adapter:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(_BY_NAME)}") from None


def detect_adapter(sample: Sequence[JSON]) -> Adapter:
    """The first adapter that accepts most of the sample records (content, not file names)."""
    if not sample:
        raise UnknownFormat("no records to detect the format from")
    for adapter in _ADAPTERS:
        if sum(adapter.accepts(record) for record in sample) * 2 > len(sample):
            return adapter
    raise UnknownFormat(f"could not detect the format; tried: {', '.join(_BY_NAME)}")
