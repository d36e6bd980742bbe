"""Read endpoints: sessions, their events, the quarantine, chain verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import CanAdmin, CanRead, ServicesDep
from api.responses import JsonResponse
from ingest.envelope import format_time
from ingest.log import Recorded, SessionSummary

router = APIRouter(prefix="/v1", tags=["read"])

Limit = Query(1000, ge=1, le=10_000)


@router.get("/sessions")
def list_sessions(services: ServicesDep, _caller: CanRead, limit: int = Limit,
                  offset: int = Query(0, ge=0)) -> JsonResponse:
    sessions = services.log.sessions(limit=limit, offset=offset)
    return JsonResponse({"sessions": [session_json(s) for s in sessions]})


@router.get("/sessions/{session_id}/events")
def session_events(session_id: str, services: ServicesDep, _caller: CanRead,
                   after: int = Query(0, ge=0, description="position to read after"),
                   limit: int = Limit) -> JsonResponse:
    events = services.log.read_session(session_id, after_position=after, limit=limit)
    if not events and after == 0:
        raise HTTPException(404, f"no session {session_id!r}")
    return JsonResponse({"session_id": session_id, "events": [recorded_json(r) for r in events],
                           "next": events[-1].position if events else after})


@router.get("/events")
def tail_events(services: ServicesDep, _caller: CanRead, after: int = Query(0, ge=0),
                limit: int = Limit) -> JsonResponse:
    events = services.log.read_all(after_position=after, limit=limit)
    return JsonResponse({"events": [recorded_json(r) for r in events],
                           "next": events[-1].position if events else after})


@router.get("/quarantine")
def quarantine(services: ServicesDep, _caller: CanAdmin, limit: int = Limit) -> JsonResponse:
    rejects = services.log.rejects(limit=limit)
    return JsonResponse({"rejected": [
        {"position": r.position, "received_at": format_time(r.received_at),
         "format": r.rejected.format, "origin": r.rejected.origin, "line": r.rejected.line,
         "index": r.rejected.index, "reason": r.rejected.reason, "payload": r.rejected.payload}
        for r in rejects]})


@router.get("/verify")
def verify(services: ServicesDep, _caller: CanAdmin) -> JsonResponse:
    report = services.log.verify()
    return JsonResponse({
        "ok": report.ok, "streams": report.streams, "events": report.events,
        "breaks": [vars_of(b) for b in report.breaks]}, status_code=200 if report.ok else 409)


def session_json(summary: SessionSummary) -> dict[str, Any]:
    return {"session_id": summary.session_id, "source": summary.source,
            "first_time": format_time(summary.first_time),
            "last_time": format_time(summary.last_time), "event_count": summary.event_count}


def recorded_json(recorded: Recorded) -> dict[str, Any]:
    """The envelope plus its place in the log (also the Blackbox JSONL export line)."""
    doc = recorded.event.to_document()
    doc["log"] = {"position": recorded.position, "seq": recorded.seq,
                  "prev_hash": recorded.prev_hash, "hash": recorded.hash}
    return doc


def vars_of(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}
