"""Ingest endpoints: native records of a source format, or our own envelopes.

``POST /v1/events`` and ``POST /v1/ingest/{format}`` are the hottest endpoints (an agent's hook
posts one event per tool call), so the app hands them to ``answer`` before FastAPI's middleware
and routing see them (``api.app.BlackboxApp``), as plain ASGI. Measured under single-event load
(wrk, 32 clients, one uvicorn process): a bare FastAPI endpoint cost ~125 µs per request, ~80 µs
of it FastAPI's middleware, routing and dependency solving; answered in front of them, ~40 µs.
Those 80 µs are the budget that group-committed, durable appends need. Everything else is as
for the other endpoints: the same key check, the same error mapping (``api.errors``), the same
limits. ``openapi_paths`` documents them in ``/openapi.json``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from api.deps import MetricsDep, ServicesDep, header_token, ingest_caller
from api.errors import error_response
from api.responses import JsonResponse, send_json
from api.services import Services
from ingest.adapters import get_adapter
from ingest.errors import BlackboxError, PayloadTooLarge
from ingest.pipeline import AUTO, IngestReport, Prepared
from ingest.preparing import ENVELOPE_FORMAT, prepare_all
from ingest.reader import decompress

EVENTS_PATH = "/v1/events"
NATIVE_PREFIX = "/v1/ingest/"

_INLINE_BYTES = 64 * 1024  # smaller bodies are mapped on the event loop: a thread hop costs more


logger = logging.getLogger("blackbox.api")


class ClientGone(Exception):
    """The client disconnected before its body was complete: nothing was appended, nobody to
    answer."""


async def answer(scope: Scope, receive: Receive, send: Send, fmt: str) -> None:
    """Answer one ingest request (``fmt``: what ``ingest_format`` found in its path)."""
    try:
        status, payload = await _answer(scope, receive, fmt)
    except ClientGone:
        return
    except BlackboxError as exc:
        response = error_response(exc)
    except Exception:  # nothing above us turns it into a 500 (FastAPI's middleware is bypassed)
        logger.exception("ingest request failed")
        response = JsonResponse({"error": "InternalError", "detail": "see the server log"},
                                status_code=500)
    else:
        await send_json(send, status, payload)
        return
    await response(scope, receive, send)


def ingest_format(scope: Scope) -> str | None:
    """The format a POST to an ingest endpoint names; None for any other request (``GET
    /v1/events`` reads the log: FastAPI routes it)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if path == EVENTS_PATH:
        return ENVELOPE_FORMAT
    if path.startswith(NATIVE_PREFIX):
        fmt = path[len(NATIVE_PREFIX):]
        return fmt if fmt and "/" not in fmt else None
    return None


async def _answer(scope: Scope, receive: Receive, fmt: str) -> tuple[int, dict[str, Any]]:
    started = time.perf_counter()
    state = scope["app"].state
    services: Services = state.services
    headers = _wanted_headers(scope)
    ingest_caller(services.keys, header_token(headers.get(b"authorization"),
                                              headers.get(b"x-api-key")))
    if fmt != AUTO:
        get_adapter(fmt)  # unknown format: 404 before reading the body
    limit = services.settings.max_body_bytes
    data = await _asgi_body(receive, headers.get(b"content-length"), limit)
    report = await ingest_data(services, state.metrics, data, fmt, _query(scope), started=started)
    return (422 if report.rejected and not (report.appended or report.duplicates) else 200,
            report.to_json())


# Headers, query and body are read from the ASGI scope here rather than through Starlette's
# Request: measured, 2.6 µs against 8.8 µs per request for the same three headers, query and body.
_WANTED = frozenset({b"authorization", b"x-api-key", b"content-length"})


def _wanted_headers(scope: Scope) -> dict[bytes, str]:
    """The few headers these endpoints read (ASGI servers give names lower-cased)."""
    return {name: value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED}


def _query(scope: Scope) -> dict[str, str]:
    """Query parameters (the adapter's params), as Starlette would parse them."""
    raw: bytes = scope["query_string"]
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


async def _asgi_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """``collect_body`` of the request's messages. A body that came in one message (a small
    POST: nearly every ingest request) skips the chunk iterator: an async generator's set-up
    and teardown cost more than reading the message."""
    first: Message = await receive()
    if first["type"] == "http.request" and not first.get("more_body", False):
        body: bytes = first.get("body", b"")
        _refuse_declared(declared, limit)
        _refuse_size(len(body), limit)
        return decompress(body, limit=limit)
    return await collect_body(_asgi_chunks(receive, first), declared, limit)


async def _asgi_chunks(receive: Receive, first: Message) -> AsyncIterator[bytes]:
    message = first
    while True:
        if message["type"] == "http.disconnect":
            raise ClientGone
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
        message = await receive()


async def ingest_data(services: ServicesDep, metrics: MetricsDep, data: bytes, fmt: str,
                      params: dict[str, str], *, started: float | None = None) -> IngestReport:
    """Map and append a read body (durable when it returns); shared with the hooks and OTLP
    endpoints."""
    started = time.perf_counter() if started is None else started
    chosen, prepared = await _prepare(services, data, fmt, params)
    report = IngestReport(format=chosen)
    for chunk in prepared:
        if chunk.rejects:
            await run_in_threadpool(services.log.record_rejects, chunk.rejects)
        report.add(chunk, await services.log.append_shipped_async(chunk.to_ship()))
    if report.appended:
        services.note_appended()
    _count(metrics, report)
    metrics.ingest_seconds.observe(time.perf_counter() - started)
    return report


async def _prepare(services: ServicesDep, data: bytes, fmt: str,
                   params: dict[str, str]) -> tuple[str | None, list[Prepared]]:
    if len(data) <= _INLINE_BYTES:
        return prepare_all(services.preparer, data, fmt, params)
    return await services.preparation.prepare(data, fmt, params)  # see ingest.preparing


async def read_body(request: Request, limit: int) -> bytes:
    """A FastAPI route's request body, refused with 413 past ``limit`` bytes."""
    return await collect_body(request.stream(), request.headers.get("content-length"), limit)


async def collect_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (checked while streaming, not after), and
    gunzipped when it is gzip."""
    _refuse_declared(declared, limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        _refuse_size(size, limit)
        parts.append(chunk)
    return decompress(b"".join(parts), limit=limit)


def _refuse_declared(declared: str | None, limit: int) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit}")


def _refuse_size(size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")


def _count(metrics: MetricsDep, report: IngestReport) -> None:
    counters = metrics.ingest_counters(report.format or "unknown")
    counters.appended.inc(report.appended)
    if report.duplicates:
        counters.duplicates.inc(report.duplicates)
    if report.rejected:
        counters.rejected.inc(report.rejected)


_BODY = {"description": "A JSON array, an object holding a list, one object, or NDJSON; gzip ok.",
         "required": True,
         "content": {"application/json": {"schema": {}}, "application/x-ndjson": {"schema": {}}}}
_ANSWERS = {
    "200": {"description": 'What was appended: {"format","appended","duplicates","rejected",'
                          '"errors":[{"index","line","field","reason"}]}'},
    "401": {"description": "No valid API key"},
    "403": {"description": "The key lacks the ingest scope"},
    "413": {"description": "The body exceeds the size limit"},
    "422": {"description": "Every record was rejected (each kept in quarantine with its reason)"},
}


def openapi_paths() -> dict[str, Any]:
    """The two endpoints as ``/openapi.json`` documents them (FastAPI only sees its routes)."""
    native = {"summary": "Ingest native records of a source format", "tags": ["ingest"],
              "parameters": [{"name": "format", "in": "path", "required": True,
                              "schema": {"type": "string"}, "description": "adapter name or auto"}],
              "requestBody": _BODY,
              "responses": {**_ANSWERS, "404": {"description": "Unknown format"}}}
    events = {"summary": "Ingest Blackbox envelopes", "tags": ["ingest"], "requestBody": _BODY,
              "responses": _ANSWERS}
    return {NATIVE_PREFIX + "{format}": {"post": native}, EVENTS_PATH: {"post": events}}
