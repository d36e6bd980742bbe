from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import CanRead, MetricsDep, ServicesDep
from api.responses import JsonResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(services: ServicesDep) -> JsonResponse:
    """Liveness and readiness: the log database answers."""
    services.log.count_events()
    return JsonResponse({"status": "ok"})


@router.get("/metrics")
def metrics(metrics: MetricsDep, _caller: CanRead) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
