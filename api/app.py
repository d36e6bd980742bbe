"""The FastAPI application: routes, error mapping at the boundary, lifespan of the services."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import Receive, Scope, Send

from api.analysis import Stoppable, WorkerProcess, start_workers
from api.errors import error_response
from api.metrics import Metrics
from api.responses import JsonResponse
from api.routes import findings, guard, health, hooks, ingest, otlp, read, reports, ui, webhooks
from api.services import Services
from ingest.errors import BlackboxError
from ingest.settings import Settings, get_settings

_YOUNG_GENERATION = 10_000  # allocations between young collections (CPython's default: 700)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """An app over given services, or over services opened from settings for its lifespan.

    A server that owns its services (``blackbox serve``) runs analysis and webhook delivery in a
    worker process; an app handed services (embedding, tests) runs them as threads beside it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or Services.open(settings or get_settings(), follow=True,
                                                       child_processes=True)
        app.state.metrics = Metrics(app.state.services.log, app.state.services.findings)
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

    app = BlackboxApp(title="Blackbox", version="0.1.0", lifespan=lifespan,
                      default_response_class=JsonResponse)
    for router in (health.router, read.router, findings.router, guard.router,
                   hooks.router, otlp.router, webhooks.router, ui.router, reports.router):
        app.include_router(router)
    app.add_exception_handler(BlackboxError, _blackbox_error)  # type: ignore[arg-type]
    _document_ingest(app)
    return app


class BlackboxApp(FastAPI):
    """FastAPI, with the ingest endpoints answered before its middleware and routing: they are
    the hot path, and those layers cost more than a durable append (``api.routes.ingest``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fmt = ingest.ingest_format(scope)
        if fmt is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await ingest.answer(scope, receive, send, fmt)


def _document_ingest(app: FastAPI) -> None:
    """Add the ingest endpoints, answered below FastAPI's routing, to its OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate()["paths"].update(ingest.openapi_paths())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


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
    return error_response(exc)
