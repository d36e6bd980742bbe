"""JSON responses encoded with orjson (FastAPI's own ORJSONResponse is deprecated)."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.types import Send

_GZIP_FROM = 16 * 1024  # smaller bodies are not worth the CPU


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def send_json(send: Send, status: int, payload: Any) -> None:
    """What ``JsonResponse(payload, status)`` sends, without building one: on the ingest hot path,
    its header handling cost more than the two messages themselves."""
    body = orjson.dumps(payload)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", b"%d" % len(body)),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def large_json(request: Request, content: Any) -> Response:
    """JSON, gzipped when it is large and the client accepts it (timelines, figures: hundreds of
    KiB that compress ~10x). Per route rather than a middleware: ingest answers stay unwrapped."""
    body = orjson.dumps(content)
    if len(body) < _GZIP_FROM or "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(body, media_type="application/json", headers={"Vary": "Accept-Encoding"})
    return Response(gzip.compress(body, compresslevel=5), media_type="application/json",
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
