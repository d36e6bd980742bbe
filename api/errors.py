"""Blackbox errors mapped to HTTP answers: one table, used by FastAPI's handler and by the
ingest endpoints that answer below FastAPI's routing (``api/routes/ingest.py``)."""

from __future__ import annotations

from api.responses import JsonResponse
from ingest.errors import (
    AuthError,
    BlackboxError,
    InputError,
    NotFound,
    PayloadTooLarge,
    ScopeError,
    StorageError,
    Unavailable,
    UnknownFormat,
)

# Most specific first: the first matching class decides the status.
_STATUS: tuple[tuple[type[BlackboxError], int], ...] = (
    (PayloadTooLarge, 413),
    (UnknownFormat, 404),
    (NotFound, 404),
    (InputError, 422),
    (ScopeError, 403),
    (AuthError, 401),
    (StorageError, 503),
    (Unavailable, 503),
    (BlackboxError, 500),
)


def error_response(exc: BlackboxError) -> JsonResponse:
    status = next(code for cls, code in _STATUS if isinstance(exc, cls))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JsonResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                        headers=headers)
