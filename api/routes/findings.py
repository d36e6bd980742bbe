"""Analysis endpoints: a session's findings, and the verdicts of every session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from analyzer.store import StoredSession
from api.deps import CanRead, ServicesDep
from api.responses import JsonResponse

router = APIRouter(prefix="/v1", tags=["analysis"])


@router.get("/sessions/{session_id}/findings")
def session_findings(session_id: str, services: ServicesDep, _caller: CanRead) -> JsonResponse:
    services.projector.catch_up()  # read-your-writes: include events ingested a moment ago
    stored = services.findings.sessions([session_id])
    if not stored:
        raise HTTPException(404, f"no session {session_id!r}")
    return JsonResponse(session_verdict(stored[0]))


@router.get("/findings")
def all_findings(services: ServicesDep, _caller: CanRead,
                 flagged: bool = Query(False, description="only flagged sessions")) -> JsonResponse:
    services.projector.catch_up()
    stored = services.findings.sessions()
    return JsonResponse({"sessions": [session_verdict(s) for s in stored if s.flagged or not flagged]})


def session_verdict(stored: StoredSession) -> dict[str, Any]:
    """The contract shape shared with ``blackbox analyze --json``."""
    return {"session_id": stored.session_id, "source": stored.source, "model": stored.model,
            "risk": stored.risk, "flagged": stored.flagged, "findings": stored.findings}
