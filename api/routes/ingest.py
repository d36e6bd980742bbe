"""Ingest endpoints: native records of a source format, or our own envelopes."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import MetricsDep, ServicesDep, ingestion
from api.responses import JsonResponse
from ingest.adapters import get_adapter
from ingest.errors import PayloadTooLarge
from ingest.pipeline import AUTO, IngestReport, Prepared
from ingest.reader import decompress

router = APIRouter(prefix="/v1", tags=["ingest"])

_INLINE_BYTES = 64 * 1024  # smaller bodies are mapped on the event loop: a thread hop costs more


# The two endpoints authenticate by calling ``ingestion`` themselves rather than through
# ``Depends``: FastAPI's dependency solving cost more than the check on these hottest routes.


@router.post("/ingest/{format}")
async def ingest_native(format: str, request: Request) -> JsonResponse:
    """Records of a source format: a JSON array, an object holding a list, one object, or NDJSON."""
    ingest = await ingestion(request)
    services, metrics = ingest.services, ingest.metrics
    if format != AUTO:
        get_adapter(format)  # unknown format: 404 before reading the body
    return await _ingest(format, request, services, metrics)


@router.post("/events")
async def ingest_envelopes(request: Request) -> JsonResponse:
    """Blackbox envelopes (one object, an array, ``{"events": [...]}``, or NDJSON)."""
    ingest = await ingestion(request)
    services, metrics = ingest.services, ingest.metrics
    return await _ingest("blackbox", request, services, metrics)


async def _ingest(fmt: str, request: Request, services: ServicesDep,
                  metrics: MetricsDep) -> JsonResponse:
    started = time.perf_counter()
    data = await read_body(request, services.settings.max_body_bytes)
    report = await ingest_data(services, metrics, data, fmt, dict(request.query_params),
                               started=started)
    status = 422 if report.rejected and not (report.appended or report.duplicates) else 200
    return JsonResponse(report.to_json(), status_code=status)


async def ingest_data(services: ServicesDep, metrics: MetricsDep, data: bytes, fmt: str,
                      params: dict[str, str], *, started: float | None = None) -> IngestReport:
    """Map and append a read body (durable when it returns); shared with the hooks endpoint."""
    started = time.perf_counter() if started is None else started
    chosen, prepared = await _prepare(services, data, fmt, params)
    report = IngestReport(format=chosen)
    for chunk in prepared:
        if chunk.rejects:
            await run_in_threadpool(services.log.record_rejects, chunk.rejects)
        report.add(chunk, await services.log.append_encoded_async(chunk.encoded))
    if report.appended:
        services.appended.set()  # wake the analysis worker: alerts should not wait for its poll
    _count(metrics, report)
    metrics.ingest_seconds.observe(time.perf_counter() - started)
    return report


async def _prepare(services: ServicesDep, data: bytes, fmt: str,
                   params: dict[str, str]) -> tuple[str | None, list[Prepared]]:
    def run() -> tuple[str | None, list[Prepared]]:
        chosen, chunks = services.preparer.prepare(data, fmt, params=params)
        return chosen, list(chunks)

    return run() if len(data) <= _INLINE_BYTES else await run_in_threadpool(run)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (checked while streaming, not after)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return decompress(b"".join(chunks), limit=limit)


def _count(metrics: MetricsDep, report: IngestReport) -> None:
    counters = metrics.ingest_counters(report.format or "unknown")
    counters.appended.inc(report.appended)
    if report.duplicates:
        counters.duplicates.inc(report.duplicates)
    if report.rejected:
        counters.rejected.inc(report.rejected)
