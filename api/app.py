"""The FastAPI application: routes, error mapping at the boundary, lifespan of the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from api.analysis import AnalysisWorker
from api.metrics import Metrics
from api.responses import JsonResponse
from api.routes import findings, health, hooks, ingest, otlp, read
from api.services import Services
from ingest.errors import (
    AuthError,
    BlackboxError,
    InputError,
    PayloadTooLarge,
    ScopeError,
    StorageError,
    UnknownFormat,
)
from ingest.settings import Settings, get_settings

# Most specific first: the first matching class decides the status.
_STATUS: tuple[tuple[type[BlackboxError], int], ...] = (
    (PayloadTooLarge, 413),
    (UnknownFormat, 404),
    (InputError, 422),
    (ScopeError, 403),
    (AuthError, 401),
    (StorageError, 503),
    (BlackboxError, 500),
)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """An app over given services, or over services opened from settings for its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or Services.open(settings or get_settings())
        app.state.metrics = Metrics(app.state.services.log)
        worker = AnalysisWorker(app.state.services.projector)
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            if owned:
                app.state.services.close()

    app = FastAPI(title="Blackbox", version="0.1.0", lifespan=lifespan,
                  default_response_class=JsonResponse)
    for router in (health.router, ingest.router, read.router, findings.router, hooks.router,
                   otlp.router):
        app.include_router(router)
    app.add_exception_handler(BlackboxError, _blackbox_error)  # type: ignore[arg-type]
    return app


async def _blackbox_error(_request: Request, exc: BlackboxError) -> JsonResponse:
    status = next(code for cls, code in _STATUS if isinstance(exc, cls))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JsonResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                          headers=headers)
