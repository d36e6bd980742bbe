"""The web UI: pages (sessions, timeline, dashboard, sign-in), their JSON, static assets and a
server-sent event stream of changes.

Pages need the read scope like every read endpoint. A browser can't attach an Authorization
header to a page load, so the sign-in form stores the key in an HttpOnly, SameSite=Strict cookie
that ``api.deps.authenticate`` accepts on GET/HEAD only, with the read scope only.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any, cast
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from analyzer.history import Replay, newer_records, start_replay
from analyzer.projector import CHECKPOINT
from api.deps import KEY_COOKIE, CanRead, ServicesDep, authenticate
from api.keys import Scope
from api.responses import JsonResponse, large_json
from api.routes.read import recorded_json
from api.services import Services
from dashboards import figures as fleet
from dashboards import pages
from dashboards.sessions import SORT_KEYS, SessionFilter, SessionRow, SortKey, filter_rows, session_rows
from dashboards.timeline import (
    DEFAULT_POINTS,
    MAX_POINTS,
    HistoryCache,
    findings_about,
    timeline,
)
from dashboards.timeline import call_of as find_call
from dashboards.timeline import result_of as find_result
from ingest.envelope import format_time
from ingest.errors import AuthError, ScopeError
from ingest.log import Recorded

router = APIRouter(tags=["ui"])

SESSION_LIMIT = 10_000  # sessions the list and the dashboard read (newest first)
STREAM_POLL = 0.25  # seconds between checks of the analysis checkpoint
STREAM_SECONDS = 60.0  # a stream ends after this long; EventSource reconnects (bounded shutdown wait)
KEEPALIVE_SECONDS = 15.0


# -- pages --------------------------------------------------------------------------------------

def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(pages.render(template, **context), status_code=status,
                        headers=pages.PAGE_HEADERS)


def _page_access(request: Request, services: Services) -> tuple[bool, HTMLResponse | None]:
    """(signed in with a key, None) when the caller may read; else (False, the page to show)."""
    try:
        caller = authenticate(request, services.keys)
        caller.require(Scope.READ)
    except ScopeError:
        return False, _page("login.html", 403, title="Sign in", page="login", next=request.url.path,
                            error="That key can't read sessions; sign in with a read or admin key.")
    except AuthError:
        return False, _page("login.html", 401, title="Sign in", page="login", next=request.url.path,
                            error=None)
    return caller.key_id is not None, None


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def sessions_page(request: Request, services: ServicesDep) -> HTMLResponse:
    signed_in, denied = _page_access(request, services)
    return denied or _page("sessions.html", title="Sessions", page="sessions", signed_in=signed_in)


@router.get("/sessions/{session_id}", response_class=HTMLResponse, include_in_schema=False)
def session_page(session_id: str, request: Request, services: ServicesDep) -> HTMLResponse:
    signed_in, denied = _page_access(request, services)
    return denied or _page("session.html", title=f"Session {session_id}", page="session",
                           session_id=session_id, signed_in=signed_in, plotly=True)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request, services: ServicesDep) -> HTMLResponse:
    signed_in, denied = _page_access(request, services)
    return denied or _page("dashboard.html", title="Dashboard", page="dashboard", signed_in=signed_in,
                           plotly=True, figures=fleet.FIGURES)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(next: str = "/") -> HTMLResponse:
    return _page("login.html", title="Sign in", page="login", next=_local_path(next), error=None)


@router.post("/login", include_in_schema=False)
async def login(request: Request, services: ServicesDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    key, target = form.get("key", [""])[0].strip(), _local_path(form.get("next", ["/"])[0])
    try:
        services.keys.authenticate(key).require(Scope.READ)
    except (AuthError, ScopeError):
        return _page("login.html", 401, title="Sign in", page="login", next=target,
                     error="That key is unknown, revoked, or lacks the read scope.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(KEY_COOKIE, key, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/logout", include_in_schema=False)
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _local_path(target: str) -> str:
    """Only same-site paths after sign-in (no open redirect to //evil.example)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    found = pages.static_asset(name)
    if found is None:
        raise HTTPException(404, "no such asset")
    path, media = found
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=media, headers=headers)


# -- sessions list ------------------------------------------------------------------------------

def _rows(services: Services) -> list[SessionRow]:
    return session_rows(services.log.sessions(limit=SESSION_LIMIT), services.findings.sessions())


def _utc_text(value: str | None) -> str | None:
    """A time from a query (ISO 8601; no zone means UTC) as canonical UTC text."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError:
        raise HTTPException(422, f"not an ISO 8601 time: {value!r}") from None
    return format_time(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


@router.get("/v1/ui/sessions")
def ui_sessions(services: ServicesDep, _caller: CanRead,
                flagged: bool = Query(False), source: str | None = Query(None),
                since: str | None = Query(None), until: str | None = Query(None),
                q: str | None = Query(None, max_length=200),
                sort: str = Query("last_time"), order: str = Query("desc", pattern="^(asc|desc)$"),
                limit: int = Query(500, ge=1, le=SESSION_LIMIT, description="rows returned"),
                ) -> JsonResponse:
    key = "risk" if sort == "flagged" else sort  # the flag follows the risk
    if key not in SORT_KEYS:
        raise HTTPException(422, f"sort must be one of flagged, {', '.join(SORT_KEYS)}")
    rows = _rows(services)
    wanted = SessionFilter(flagged, source or None, _utc_text(since), _utc_text(until), q or None,
                           cast(SortKey, key), order == "desc")
    matched = filter_rows(rows, wanted)
    return JsonResponse({"sessions": [r.to_json() for r in matched[:limit]], "matched": len(matched),
                         "total": len(rows),
                         "sources": sorted({r.source for r in rows}),
                         "position": services.findings.checkpoint(CHECKPOINT)})


# -- timeline -----------------------------------------------------------------------------------

def _cache(request: Request, services: Services) -> HistoryCache:
    """One cache per app, made on first use (the app's lifespan belongs to api/app.py)."""
    state = request.app.state
    cache: HistoryCache | None = getattr(state, "ui_histories", None)
    if cache is None:
        def start(session_id: str) -> Replay:
            return start_replay(services.log, services.projector, session_id)

        def newer(replayed: Replay) -> list[Recorded]:
            return newer_records(services.log, services.projector, replayed)

        cache = state.ui_histories = HistoryCache(start, newer)
    return cache


@router.get("/v1/sessions/{session_id}/timeline")
def session_timeline(session_id: str, request: Request, services: ServicesDep, _caller: CanRead,
                     start: str | None = Query(None, description="window start (ISO 8601, UTC)"),
                     end: str | None = Query(None, description="window end (ISO 8601, UTC)"),
                     points: int = Query(DEFAULT_POINTS, ge=10, le=MAX_POINTS,
                                         description="most events returned; more are sampled"),
                     ) -> Response:
    cached = _cache(request, services).get(session_id)
    if not cached.history.records:
        raise HTTPException(404, f"no session {session_id!r}")
    doc = timeline(cached.history, start=_utc_text(start), end=_utc_text(end), points=points,
                   markers=cached.markers)
    stored = services.findings.sessions([session_id])
    verdict = stored[0] if stored else None
    doc["session"] = {"source": verdict.source if verdict else cached.history.records[0].event.source,
                      "model": verdict.model if verdict else None,
                      "events": sum(1 for r in cached.history.records if r.event.session_id == session_id)}
    doc["threshold"] = services.projector.analyzer.threshold
    return large_json(request, doc)


@router.get("/v1/sessions/{session_id}/events/{event_id}")
def event_detail(session_id: str, event_id: str, request: Request, services: ServicesDep,
                 _caller: CanRead) -> JsonResponse:
    """One event of the session's timeline with its tool call or result, and the findings that
    cite it. Text is as recorded: secrets were redacted before anything was stored."""
    history = _cache(request, services).get(session_id).history
    found = next((r for r in history.records if r.event.id == event_id), None)
    if found is None:
        raise HTTPException(404, f"no event {event_id!r} in session {session_id!r}")
    return JsonResponse({"event": recorded_json(found), "result": _json_or_none(find_result(history, found)),
                         "call": _json_or_none(find_call(history, found)),
                         "findings": findings_about(history, event_id)})


def _json_or_none(recorded: Recorded | None) -> dict[str, Any] | None:
    return recorded_json(recorded) if recorded else None


# -- dashboard ----------------------------------------------------------------------------------

def _alert_points(services: Services) -> list[fleet.AlertPoint]:
    return [fleet.AlertPoint(alert.session_id, alert.created_at, alert.severity.label)
            for alert in services.webhooks.alerts()]


def fleet_data(services: Services) -> fleet.FleetData:
    services.projector.catch_up()
    stored = services.findings.sessions()
    rows = session_rows(services.log.sessions(limit=SESSION_LIMIT), stored)
    actions = fleet.destructive_actions(services.findings.action_counts())
    return fleet.FleetData(rows, [f for s in stored for f in s.findings], _alert_points(services), actions)


def _figure_json(figure: Any) -> Any:
    return orjson.loads(figure.to_json())  # plotly's own encoder; then one JSON body for all


@router.get("/v1/dashboard/figures")
def dashboard_figures(request: Request, services: ServicesDep, _caller: CanRead) -> Response:
    figures = fleet.dashboard_figures(fleet_data(services))
    return large_json(request, {"generated_at": fleet.generated_at(),
                                "figures": {name: _figure_json(fig) for name, fig in figures.items()}})


@router.get("/v1/dashboard/figures/{name}")
def dashboard_figure(name: str, services: ServicesDep, _caller: CanRead) -> JsonResponse:
    if name not in fleet.FIGURES:
        raise HTTPException(404, f"no figure {name!r}; figures: {', '.join(fleet.FIGURES)}")
    return JsonResponse(_figure_json(fleet.dashboard_figures(fleet_data(services))[name]))


# -- live updates -------------------------------------------------------------------------------

_stopping = threading.Event()
_chained = False


def _watch_shutdown() -> None:
    """End open streams when the server is told to stop: uvicorn waits for running responses
    before it shuts down, and an event stream never finishes by itself. Chains onto the
    process's SIGTERM/SIGINT handlers (uvicorn's) once; only possible from the main thread."""
    global _chained
    if _chained or threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def chained(sig: int, frame: FrameType | None, previous: Any = previous) -> None:
            _stopping.set()
            if callable(previous):
                previous(sig, frame)
            else:  # default or ignore: restore it and deliver the signal again
                signal.signal(sig, previous)
                signal.raise_signal(sig)

        signal.signal(signum, chained)
    _chained = True


def _changes_since(services: Services, after: int) -> tuple[int, dict[str, Any] | None]:
    """What the analysis committed after ``after``: the sessions touched and whether cloud
    records arrived (they may belong to any session's timeline)."""
    position = services.findings.checkpoint(CHECKPOINT)
    if position <= after:
        return after, None
    records = services.log.read_all(after_position=after, limit=1000)
    records = [r for r in records if r.position <= position]
    sessions = sorted({r.event.session_id for r in records if r.event.session_id})
    cloud = any(r.event.session_id is None for r in records)
    many = len(records) == 1000
    return position, {"position": position, "sessions": sessions, "cloud": cloud or many, "many": many}


def _sse(event: str, data: dict[str, Any]) -> bytes:
    # The id is the analysed position: a reconnecting EventSource sends it back (Last-Event-ID).
    head = f"id: {data['position']}\nevent: {event}\ndata: ".encode()
    return head + orjson.dumps(data) + b"\n\n"


async def _stream(services: Services, session: str | None, resume: int | None) -> AsyncIterator[bytes]:
    position = await run_in_threadpool(services.findings.checkpoint, CHECKPOINT)
    yield b"retry: 1000\n" + _sse("hello", {"position": position})
    if resume is not None and resume < position:  # what happened while it reconnected
        position = resume
    started = last_sent = time.monotonic()
    while not _stopping.is_set() and time.monotonic() - started < STREAM_SECONDS:
        await asyncio.sleep(STREAM_POLL)
        position, change = await run_in_threadpool(_changes_since, services, position)
        if change and (session is None or session in change["sessions"] or change["cloud"]):
            yield _sse("change", change)
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield b": keepalive\n\n"
            last_sent = time.monotonic()


@router.get("/v1/ui/stream")
async def change_stream(request: Request, services: ServicesDep, _caller: CanRead,
                        session: str | None = Query(None, description="only changes touching this session"),
                        ) -> StreamingResponse:
    """Server-sent events: ``change`` {position, sessions, cloud} whenever the analysis commits
    new events. A client disconnect cancels the generator; shutdown or ``STREAM_SECONDS`` end it
    (the browser's EventSource then reconnects by itself)."""
    _watch_shutdown()
    last = request.headers.get("last-event-id", "")
    resume = int(last) if last.isdigit() else None
    return StreamingResponse(_stream(services, session, resume), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
