"""Generate a session's post-mortem and record that it was generated.

Reproducible: the content depends only on the log (no wall-clock time, fixed figure ids), so the
same log gives byte-identical reports and the SHA-256 identifies one. Recording: every generation
appends a ``system`` event of source ``blackbox-report`` holding that hash. It lives on its own
stream (``report:<session>``) with no session id, so it is not part of any session's events and
the next report of the session is unchanged by it; the analyzer ignores it (not a cloud record).
The hash covers the report file only: a Markdown report's PNG (rendered by a browser, not
byte-stable across machines) is written beside it but not hashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from analyzer.guard import GuardPolicy
from analyzer.history import session_history
from analyzer.projector import Projector
from dashboards.report.build import build
from dashboards.report.chain import verify_streams
from dashboards.report.figure import Png, figure_png
from dashboards.report.model import PostMortem
from dashboards.report.render_html import render_html
from dashboards.report.render_md import render_md, text
from ingest.envelope import Event, EventKind
from ingest.errors import NotFound
from ingest.log import EventLog

SOURCE = "blackbox-report"
Exporter = Callable[[PostMortem], Png]


class Format(StrEnum):
    HTML = "html"
    MD = "md"

    @property
    def media_type(self) -> str:
        return "text/html; charset=utf-8" if self is Format.HTML else "text/markdown; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Report:
    session_id: str
    format: Format
    content: bytes
    figure_png: bytes | None  # Markdown only, when the figure could be exported beside it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def post_mortem(log: EventLog, projector: Projector, session_id: str, *,
                policy: GuardPolicy | None = None) -> PostMortem:
    """The report model of a session; NotFound when the log has no event of it."""
    history = session_history(log, projector, session_id, policy=policy)
    if not any(r.event.session_id == session_id for r in history.records):
        raise NotFound(f"no session {session_id!r}")
    chain = verify_streams(log, history.records)
    return build(history, chain, projector.analyzer.threshold)


def render(pm: PostMortem, fmt: Format, *, png_name: str | None = None,
           exporter: Exporter | None = None) -> Report:
    """``png_name``: the file name the PNG will have beside the Markdown (None: no file to put it)."""
    if fmt is Format.HTML:
        return Report(pm.session_id, fmt, render_html(pm).encode(), None)
    png = _export(pm, png_name, exporter or _figure_png)
    figure = (f"![Session risk over time, key events marked]({png_name})" if png.data and png_name
              else f"> **Figure omitted:** {text(png.reason or 'no image')}. The HTML report embeds it.")
    return Report(pm.session_id, fmt, render_md(pm, figure).encode(), png.data)


def _figure_png(pm: PostMortem) -> Png:
    return figure_png(pm.figure)


def _export(pm: PostMortem, png_name: str | None, exporter: Exporter) -> Png:
    if not pm.incident:
        return Png(None, "a session without an incident has no timeline figure")
    if png_name is None:
        return Png(None, "the report was not written to a file, so there is no place beside it for the image")
    return exporter(pm)


def record(log: EventLog, report: Report, *, actor: str | None = None) -> Event:
    """Append (durably) the event saying this report was generated, with its hash."""
    now = datetime.now(UTC)
    event = Event.create(
        source=SOURCE, native_id=f"{report.session_id}/{report.format}/{report.sha256}/{now.isoformat()}",
        stream=f"report:{report.session_id}", session_id=None, kind=EventKind.SYSTEM, time=now,
        received_at=now, actor=actor or "blackbox",
        text=f"post-mortem report ({report.format}) of session {report.session_id}: sha256 {report.sha256}",
        attributes={"report": {"session_id": report.session_id, "format": str(report.format),
                               "sha256": report.sha256, "bytes": len(report.content),
                               "figure_png": report.figure_png is not None}})
    log.append([event])
    return event
