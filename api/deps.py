"""FastAPI dependencies: the process's services and the caller's principal, as Annotated types.

They are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its thread pool, a
hop per dependency per request that cost more than the work they do. Key checks hit the
database only on a cache miss or every few seconds (see ``KeyStore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.keys import Principal, Scope
from api.metrics import Metrics
from api.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


ServicesDep = Annotated[Services, Depends(get_services)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


# The web UI's sign-in keeps the key in this cookie (HttpOnly, SameSite=Strict, see api/routes/ui.py).
KEY_COOKIE = "blackbox_key"
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def request_token(request: Request) -> str | None:
    """The key a request presents: header first; the UI's cookie only on GET/HEAD, so a cookie
    (which a browser attaches on its own) can read pages and data but never change anything."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if key := request.headers.get("x-api-key"):
        return key
    return request.cookies.get(KEY_COOKIE) if request.method in _SAFE_METHODS else None


def requires(scope: Scope) -> object:
    async def check(request: Request, services: ServicesDep) -> Principal:
        caller = services.keys.authenticate(request_token(request))
        caller.require(scope)
        return caller

    return Depends(check)


CanIngest = Annotated[Principal, requires(Scope.INGEST)]
CanRead = Annotated[Principal, requires(Scope.READ)]
CanAdmin = Annotated[Principal, requires(Scope.ADMIN)]


@dataclass(frozen=True, slots=True)
class Ingestion:
    """What an ingest endpoint needs, resolved as one dependency (these are the hot endpoints)."""

    services: Services
    metrics: Metrics
    caller: Principal


async def ingestion(request: Request) -> Ingestion:
    state = request.app.state
    caller = state.services.keys.authenticate(request_token(request))
    caller.require(Scope.INGEST)
    return Ingestion(state.services, state.metrics, caller)


IngestDep = Annotated[Ingestion, Depends(ingestion)]
