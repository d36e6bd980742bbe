"""Post-mortem reports: ``GET /v1/sessions/{id}/report?format=html|md``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CanRead, ServicesDep
from dashboards.report import Format, post_mortem, record, render

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/sessions/{session_id}/report")
def session_report(session_id: str, services: ServicesDep, caller: CanRead,
                   format: Annotated[Format, Query(description="html or md")] = Format.HTML) -> Response:
    """The session's post-mortem; each generation is recorded in the log with the report's hash.

    Markdown over HTTP has no file beside it for the figure's PNG: it says so and points to HTML."""
    services.projector.catch_up()  # read-your-writes: include events ingested a moment ago
    report = render(post_mortem(services.log, services.projector, session_id, policy=services.policy),
                    format)
    event = record(services.log, report, actor=caller.key_id)
    return Response(report.content, media_type=format.media_type,
                    headers={"X-Report-SHA256": report.sha256, "X-Report-Event": event.id})
