"""The FastAPI application: routes, error mapping at the boundary, lifespan of the services."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from api.analysis import Stoppable, WorkerProcess, start_workers
from api.metrics import Metrics
from api.responses import JsonResponse
from api.routes import findings, guard, health, hooks, ingest, otlp, read, reports, ui, webhooks
from api.services import Services
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

_YOUNG_GENERATION = 10_000  # allocations between young collections (CPython's default: 700)

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
    """An app over given services, or over services opened from settings for its lifespan.

    A server that owns its services (``blackbox serve``) runs analysis and webhook delivery in a
    worker process; an app handed services (embedding, tests) runs them as threads beside it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or Services.open(settings or get_settings(), follow=True)
        app.state.metrics = Metrics(app.state.services.log)
        workers = _start_workers(app.state.services, in_process=not owned)
        if owned:
            _settle_heap()
        try:
            yield
        finally:
            for worker in workers:
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


def _settle_heap() -> None:
    """Keep the cyclic garbage collector off a long-running server's request path.

    Measured under single-event ingest (wrk, 32 clients, 10 s): with the defaults, 16 full
    collections re-scanned the ~200k objects the server holds from start-up (SQLAlchemy, FastAPI,
    the analyzer), up to 280 ms each and 2.6 s in all; they made the p99. Frozen, the start-up
    heap is left out of every collection; a larger young generation makes collections rarer (a
    request's objects die young). Only for a server that owns its process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_GENERATION)


def _start_workers(services: Services, *, in_process: bool) -> list[Stoppable]:
    if in_process:
        return start_workers(services)
    worker = WorkerProcess(services)
    worker.start()
    return [worker]


async def _blackbox_error(_request: Request, exc: BlackboxError) -> JsonResponse:
    status = next(code for cls, code in _STATUS if isinstance(exc, cls))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JsonResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status,
                          headers=headers)
