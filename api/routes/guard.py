"""``POST /v1/guard``: may the agent run this call? Judges it, records it with the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import IngestDep
from api.guard import SOURCE, verdict_event, verdict_on_proposal
from api.responses import JsonResponse
from api.services import Services
from ingest.errors import RecordError
from ingest.log import Encoded

router = APIRouter(prefix="/v1", tags=["guard"])


class ProposedCall(BaseModel):
    session_id: str = Field(min_length=1, max_length=512)
    tool: str = Field(min_length=1, max_length=512)
    input: Any = None
    call_id: str | None = Field(None, max_length=512,
                                description="the agent's own call id, so the later record of the "
                                            "same call is recognised as the same call")


@router.post("/guard")
async def guard(proposed: ProposedCall, ingest: IngestDep) -> JsonResponse:
    """``{decision: allow|ask|deny, reasons, risk, finding_ids, call_id}`` for the proposed call."""
    services = ingest.services
    call_id = proposed.call_id or f"guard_{uuid.uuid4().hex}"
    encoded = _prepare(services, proposed, call_id)  # redacted like every record
    verdict = await run_in_threadpool(verdict_on_proposal, services, encoded.event)
    # Proposal and answer in one transaction: one durable commit before the answer leaves.
    await services.log.append_encoded_async([encoded, verdict_event(proposed.session_id, call_id, verdict)])
    return JsonResponse({**verdict.to_document(), "call_id": call_id})


def _prepare(services: Services, proposed: ProposedCall, call_id: str) -> Encoded:
    _format, chunks = services.preparer.prepare(_envelope(proposed, call_id), "blackbox")
    for chunk in chunks:
        if chunk.errors:
            raise chunk.errors[0]
        if chunk.encoded:
            return chunk.encoded[0]
    raise RecordError("the proposed call could not be recorded")


def _envelope(proposed: ProposedCall, call_id: str) -> bytes:
    now = datetime.now(UTC).isoformat()
    return orjson.dumps({
        "source": SOURCE, "native_id": f"{proposed.session_id}/{call_id}", "stream": proposed.session_id,
        "session_id": proposed.session_id, "kind": "tool_call", "time": now, "received_at": now,
        "actor": "agent", "tool_name": proposed.tool, "call_id": call_id, "tool_input": proposed.input,
        "attributes": {"proposed": True}})
