"""Webhook subscriptions and their deliveries (admin scope): register, list, delete, inspect,
redeliver. Alerts reach subscribers through ``api.webhooks``; these endpoints only manage them."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from analyzer.findings import Severity
from api.deps import CanAdmin, ServicesDep
from api.responses import JsonResponse
from api.webhooks.models import DeliveryStatus, Format
from api.webhooks.urls import check_url

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

SeverityName = Literal["info", "low", "medium", "high", "critical"]


class WebhookIn(BaseModel):
    """A subscription: where alerts go, in which format, from which severity up."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="http(s) URL; private addresses need "
                     "BLACKBOX_WEBHOOK_ALLOW_PRIVATE")
    secret: str | None = Field(None, min_length=16, max_length=256,
                               description="HMAC key (pagerduty: the routing key); default: generated "
                               "and shown once")
    min_severity: SeverityName = "high"
    format: Format = Format.JSON
    name: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _pagerduty_needs_its_key(self) -> WebhookIn:
        if self.format is Format.PAGERDUTY and self.secret is None:
            raise ValueError("a pagerduty webhook needs its routing key as `secret`")
        return self


@router.post("")
def create_webhook(body: WebhookIn, services: ServicesDep, _caller: CanAdmin) -> JsonResponse:
    url = check_url(body.url, allow_private=services.settings.webhook_allow_private)
    secret = body.secret or secrets.token_urlsafe(32)
    hook = services.webhooks.add_webhook(name=body.name, url=url, secret=secret,
                                         min_severity=Severity.parse(body.min_severity),
                                         format=body.format)
    shown = {} if body.secret else {"secret": secret}  # a generated secret is shown this once
    return JsonResponse({**hook.public(), **shown}, status_code=201)


@router.get("")
def list_webhooks(services: ServicesDep, _caller: CanAdmin) -> JsonResponse:
    return JsonResponse({"webhooks": [hook.public() for hook in services.webhooks.webhooks()]})


@router.delete("/{webhook_id}")
def delete_webhook(webhook_id: str, services: ServicesDep, _caller: CanAdmin) -> JsonResponse:
    cancelled = services.webhooks.delete_webhook(webhook_id)
    return JsonResponse({"deleted": webhook_id, "cancelled_deliveries": cancelled})


@router.get("/{webhook_id}/deliveries")
def list_deliveries(webhook_id: str, services: ServicesDep, _caller: CanAdmin,
                    status: Annotated[DeliveryStatus | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JsonResponse:
    deliveries = services.webhooks.deliveries(webhook_id, limit=limit, status=status)
    return JsonResponse({"webhook_id": webhook_id, "deliveries": [d.public() for d in deliveries]})


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver")
def redeliver(webhook_id: str, delivery_id: str, services: ServicesDep,
              _caller: CanAdmin) -> JsonResponse:
    delivery = services.webhooks.redeliver(webhook_id, delivery_id)
    return JsonResponse(delivery.public(), status_code=202)
