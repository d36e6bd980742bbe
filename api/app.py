"""The FastAPI application: routes, error mapping at the boundary, lifespan of the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from api.analysis import AnalysisWorker
from api.metrics import Metrics
from api.responses import JsonResponse
from api.routes import findings, guard, health, hooks, ingest, otlp, read, reports, ui, webhooks
from api.services import Services
from api.webhooks.delivery import DeliveryWorker
from ingest.errors import (
    AuthError,
    BlackboxError,
    InputError,
    NotFound,
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
    (NotFound, 404),
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
        workers = _start_workers(app.state.services)
        try:
            yield
        finally:
            for worker in workers:  # analysis first: it is what raises alerts to deliver
                worker.stop()
            if owned:
                app.state.services.close()

    app = FastAPI(title="Blackbox", version="0.1.0", lifespan=lifespan,
                  default_response_class=JsonResponse)
    for router in (health.router, ingest.router, read.router, findings.router, guard.router,
                   hooks.router, otlp.router, webhooks.router, ui.router, reports.router):
        app.include_router(router)
    app.add_exception_handler(BlackboxError, _blackbox_error)  # type: ignore[arg-type]
    return app


def _start_workers(services: Services) -> tuple[AnalysisWorker, DeliveryWorker]:
    """The background threads of a server: analysis (woken by each append) and webhook delivery
    (woken by each stored delivery; it first raises alerts a previous process may have missed)."""
    analysis = AnalysisWorker(services.projector, wake=services.appended)
    delivery = DeliveryWorker(services.webhooks, services.settings,
                              housekeeping=services.alerter.reconcile_if_needed)
    analysis.start()
    delivery.start()
    return analysis, delivery


async def _blackbox_error(_request: Request, exc: BlackboxError) -> JsonResponse:
    status = next(code for cls, code in _STATUS if isinstance(exc, cls))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JsonResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                          headers=headers)
