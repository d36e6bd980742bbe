"""OTLP/HTTP trace receiver: ``POST /v1/traces``, the path every OTLP exporter uses by default.

An exporter pointed at ``http://127.0.0.1:8765`` (``OTEL_EXPORTER_OTLP_ENDPOINT``) works unchanged:
JSON or protobuf bodies, gzip or not, go through the same ingest path as ``/v1/ingest/otlp``
(quarantine included), and the answer is an ``ExportTraceServiceResponse`` in the request's
encoding — ``{}`` when every span was accepted, else ``partialSuccess`` with the number of
rejected spans and why. An undecodable body is 400 and another content type 415, answered with a
``google.rpc.Status``-shaped JSON object (the receiver can not encode ``Status`` as protobuf).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from api.deps import IngestDep, MetricsDep, ServicesDep
from api.responses import JsonResponse
from api.routes.ingest import ingest_data, read_body
from ingest.adapters.otlp import OtlpAdapter
from ingest.log import Rejected
from ingest.pipeline import IngestReport

router = APIRouter(prefix="/v1", tags=["otlp"])

FORMAT = OtlpAdapter.name
PROTOBUF = "application/x-protobuf"
JSON_MEDIA = "application/json"
_INVALID_ARGUMENT = 3  # google.rpc.Code
_ERRORS_NAMED = 5  # errorMessage names the first few rejected spans; the quarantine keeps all
_INLINE_BYTES = 64 * 1024  # smaller bodies are decoded on the event loop: a thread hop costs more
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


@router.post("/traces")
async def export_traces(request: Request, ingest: IngestDep) -> Response:
    """OTLP ``ExportTraceServiceRequest`` (JSON or protobuf) → GenAI events in the log."""
    services, metrics = ingest.services, ingest.metrics
    media = _media_type(request)
    if media not in (PROTOBUF, JSON_MEDIA):
        return _status(415, f"unsupported content type {media!r}: send {JSON_MEDIA} or {PROTOBUF}")
    started = time.perf_counter()
    data = await read_body(request, services.settings.max_body_bytes)
    if media == PROTOBUF:
        try:
            data = await _decoded(data)
        except DecodeError as exc:
            await _quarantine(services, metrics, data, f"invalid protobuf: {exc}")
            return _status(400, f"not an OTLP protobuf ExportTraceServiceRequest: {exc}")
    report = await ingest_data(services, metrics, data, FORMAT, dict(request.query_params),
                               started=started)
    if _undecodable(report):
        return _status(400, _summary(report))
    return _answer(report, protobuf=media == PROTOBUF)


def json_from_protobuf(data: bytes) -> bytes:
    """A protobuf export as the OTLP/JSON body it stands for (ids as hex, not base64)."""
    message = ExportTraceServiceRequest.FromString(data)
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    document.setdefault("resourceSpans", [])  # an empty export is {} in protobuf's JSON form
    for span in _spans(document):
        _hex_ids(span)
        for link in span.get("links", ()):
            _hex_ids(link)
    return orjson.dumps(document)


def _spans(document: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            yield from scope_spans.get("spans", ())


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        if item.get(key):
            item[key] = base64.b64decode(item[key]).hex()


def _media_type(request: Request) -> str:
    """The content type without parameters; none at all is taken as JSON (curl, simple clients)."""
    value = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return value or JSON_MEDIA


async def _decoded(data: bytes) -> bytes:
    if len(data) <= _INLINE_BYTES:
        return json_from_protobuf(data)
    return await run_in_threadpool(json_from_protobuf, data)


def _undecodable(report: IngestReport) -> bool:
    """Nothing accepted and every error is about the body itself (not JSON), not one span."""
    return (not (report.appended or report.duplicates) and bool(report.errors)
            and all(error.index is None for error in report.errors))


def _answer(report: IngestReport, *, protobuf: bool) -> Response:
    if protobuf:
        answer = ExportTraceServiceResponse()
        if report.rejected:
            answer.partial_success.rejected_spans = report.rejected
            answer.partial_success.error_message = _summary(report)
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    if not report.rejected:
        return JsonResponse({})
    # int64 is written as a JSON number: every OTLP client parses both that and a string.
    return JsonResponse({"partialSuccess": {"rejectedSpans": report.rejected,
                                            "errorMessage": _summary(report)}})


def _summary(report: IngestReport) -> str:
    named = [error.describe() for error in report.errors[:_ERRORS_NAMED]]
    more = report.rejected - len(named)
    return "; ".join(named) + (f"; and {more} more (see the quarantine)" if more > 0 else "")


def _status(code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": _INVALID_ARGUMENT, "message": message}, status_code=code)


async def _quarantine(services: ServicesDep, metrics: MetricsDep, data: bytes, reason: str) -> None:
    """Keep an undecodable protobuf body too; as redacted text, since base64 would hide secrets
    from the redactor (NUL becomes U+FFFD: PostgreSQL text can not hold it)."""
    text = data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    payload = services.preparer.redactor.redact_text(text)
    await run_in_threadpool(services.log.record_rejects,
                            [Rejected(format=FORMAT, reason=reason, payload=payload)])
    metrics.rejected.labels(format=FORMAT).inc()
