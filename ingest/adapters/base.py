"""What every source adapter provides.

One adapter per source format; inside it, a small function per record shape. An adapter never
touches the log: it maps one native record to zero or more envelopes, or raises RecordError.
Records it does not recognise become ``other`` events — never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ingest.envelope import JSON, Event


@dataclass
class AdapterContext:
    """Per-input state shared by the records of one file or request.

    ``origin`` is the file path (CLI) or ``None`` (HTTP). ``params`` are caller-given facts the
    records themselves lack (e.g. ``cluster`` for Kubernetes audit logs), from HTTP query
    parameters or ``blackbox ingest --param k=v``. ``state`` lets an adapter remember what
    earlier records said (e.g. which tool a call id belongs to) within one input.
    """

    received_at: datetime
    origin: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    """The required members. Optional ones, looked up with ``getattr`` by the pipeline:

    - ``prescan(records, ctx)``: sees each chunk of records before they are mapped (e.g. to learn
      a session id that only later records carry).
    - ``line_format = True``: a text-log format (pgAudit); its records are the input's lines as
      strings instead of JSON values, grouped into records by ``split_lines(text)`` when the
      adapter defines it (multi-line log entries), as ``(first line number, text)`` pairs.
    """

    name: ClassVar[str]
    """Format name used in ``--format`` and ``/v1/ingest/{format}``."""

    def unwrap(self, document: Mapping[str, JSON]) -> Sequence[JSON] | None:
        """The records held by a container object, or None if the object is itself a record."""
        ...

    def accepts(self, record: JSON) -> bool:
        """True when the record looks like this format (used by ``--format auto``)."""
        ...

    def to_events(self, record: JSON, ctx: AdapterContext) -> list[Event]:
        """Map one native record to envelopes; raise RecordError naming the field if invalid."""
        ...
