"""FastAPI dependencies: the process's services and the caller's principal, as Annotated types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.keys import Principal, Scope
from api.metrics import Metrics
from api.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


ServicesDep = Annotated[Services, Depends(get_services)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def principal(request: Request, services: ServicesDep) -> Principal:
    return services.keys.authenticate(_token(request))


def requires(scope: Scope) -> object:
    def check(request: Request, services: ServicesDep) -> Principal:
        caller = principal(request, services)
        caller.require(scope)
        return caller

    return Depends(check)


CanIngest = Annotated[Principal, requires(Scope.INGEST)]
CanRead = Annotated[Principal, requires(Scope.READ)]
CanAdmin = Annotated[Principal, requires(Scope.ADMIN)]
