"""FastAPI dependencies: the process's services and the caller's principal, as Annotated types.

They are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its thread pool, a
hop per dependency per request that cost more than the work they do. Key checks hit the
database only on a cache miss or every few seconds (see ``KeyStore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.keys import KeyStore, Principal, Scope
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
    """The key a request presents in a header (``Authorization: Bearer`` or ``X-API-Key``)."""
    return header_token(request.headers.get("authorization"), request.headers.get("x-api-key"))


def header_token(authorization: str | None, api_key: str | None) -> str | None:
    """The key of the two headers that may carry one (Bearer first)."""
    if authorization is not None and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return api_key


def authenticate(request: Request, keys: KeyStore) -> Principal:
    """The caller: by a header key; else by the UI's cookie, on GET/HEAD only and with the read
    scope only (a browser attaches a cookie on its own: it may read pages and data, never change
    anything, and an admin's sign-in does not open the admin endpoints to it)."""
    token = request_token(request)
    if token is not None or request.method not in _SAFE_METHODS:
        return keys.authenticate(token)
    cookie = request.cookies.get(KEY_COOKIE)
    caller = keys.authenticate(cookie)
    if cookie is None or caller.key_id is None:
        return caller
    readable = Scope.READ in caller.scopes or Scope.ADMIN in caller.scopes
    return Principal(caller.key_id, frozenset({Scope.READ}) if readable else frozenset())


def requires(scope: Scope) -> object:
    async def check(request: Request, services: ServicesDep) -> Principal:
        caller = authenticate(request, services.keys)
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
    return Ingestion(state.services, state.metrics,
                     ingest_caller(state.services.keys, request_token(request)))


def ingest_caller(keys: KeyStore, token: str | None) -> Principal:
    """The caller of an ingest endpoint: by a header key only (never the UI's cookie), and it
    must hold the ingest scope."""
    caller = keys.authenticate(token)
    caller.require(Scope.INGEST)
    return caller


IngestDep = Annotated[Ingestion, Depends(ingestion)]
