"""Claude Code hooks: record the payload durably, then answer with valid hook output.

``blackbox hook claude-code`` posts here (Claude Code's own ``http`` hooks could too). The body
goes through the same ingest path as ``/v1/ingest/{format}``, so the event is in the log before
the answer leaves; the answer is what Claude Code reads from the hook's stdout.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from api.deps import IngestDep
from api.hook_client import pre_tool_use_output
from api.responses import JsonResponse
from api.routes.ingest import ingest_data, read_body
from ingest.adapters.claude_code_hooks import ClaudeCodeHooksAdapter

router = APIRouter(prefix="/v1", tags=["hooks"])

FORMAT = ClaudeCodeHooksAdapter.name
# Until a risk model exists every recorded call is allowed. Note what "allow" means to Claude
# Code: the call proceeds without its permission prompt (deny/ask rules still apply).
DECISION = "allow"
REASON = "recorded by Blackbox; no risk policy is active yet"


@router.post("/hooks/claude-code")
async def claude_code_hook(request: Request, ingest: IngestDep) -> JsonResponse:
    """One hook payload in, the hook output out (422 with the ingest report if it is unusable)."""
    services, metrics = ingest.services, ingest.metrics
    data = await read_body(request, services.settings.max_body_bytes)
    report = await ingest_data(services, metrics, data, FORMAT, {})
    if not (report.appended or report.duplicates):  # quarantined (or empty): no event to answer
        return JsonResponse(report.to_json(), status_code=422)
    return JsonResponse(hook_output(_event_name(data)))


def hook_output(event: str | None) -> dict[str, Any]:
    """Claude Code's hook output: a permission decision for PreToolUse, nothing to say otherwise."""
    return pre_tool_use_output(DECISION, REASON) if event == "PreToolUse" else {}


def _event_name(data: bytes) -> str | None:
    """The payload's ``hook_event_name`` (the body was already accepted as one JSON object)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:  # e.g. NDJSON of several payloads: no single decision
        return None
    name = payload.get("hook_event_name") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None
