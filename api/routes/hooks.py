"""Claude Code hooks: record the payload durably, then answer with valid hook output.

``blackbox hook claude-code`` posts here (Claude Code's own ``http`` hooks could too). The body
goes through the same ingest path as ``/v1/ingest/{format}``, so the event is in the log before
the answer leaves; the answer is what Claude Code reads from the hook's stdout.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import IngestDep
from api.guard import record_verdict, verdict_for
from api.hook_client import pre_tool_use_output
from api.responses import JsonResponse
from api.routes.ingest import ingest_data, read_body
from api.services import Services
from ingest.adapters.claude_code_hooks import ClaudeCodeHooksAdapter

router = APIRouter(prefix="/v1", tags=["hooks"])

FORMAT = ClaudeCodeHooksAdapter.name


@router.post("/hooks/claude-code")
async def claude_code_hook(request: Request, ingest: IngestDep) -> JsonResponse:
    """One hook payload in, the hook output out (422 with the ingest report if it is unusable)."""
    services, metrics = ingest.services, ingest.metrics
    data = await read_body(request, services.settings.max_body_bytes)
    report = await ingest_data(services, metrics, data, FORMAT, {})
    if not (report.appended or report.duplicates):  # quarantined (or empty): no event to answer
        return JsonResponse(report.to_json(), status_code=422)
    payload = _payload(data)
    if payload.get("hook_event_name") != "PreToolUse":
        return JsonResponse({})
    return JsonResponse(await _pre_tool_use(services, payload))


async def _pre_tool_use(services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """The guard's answer for the call just recorded. Claude Code reads ``allow`` as "run it
    without the permission prompt", ``ask`` as "prompt the user", ``deny`` as "refuse and tell
    the agent why" (the reason is shown to the agent)."""
    session_id, call_id = payload.get("session_id"), payload.get("tool_use_id")
    if not isinstance(session_id, str):
        return {}
    call_id = call_id if isinstance(call_id, str) else None
    verdict = await run_in_threadpool(verdict_for, services, session_id, call_id)
    record_verdict(services, session_id, call_id, verdict)
    return pre_tool_use_output(str(verdict.decision), f"Blackbox: {verdict.reason}")


def _payload(data: bytes) -> dict[str, Any]:
    """The hook payload (the body was already accepted as one JSON object)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:  # e.g. NDJSON of several payloads: no single decision
        return {}
    return payload if isinstance(payload, dict) else {}
