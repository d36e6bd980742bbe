"""The HTTP ceiling: a bare FastAPI endpoint that reads and parses the body, then discards it.

Served exactly like the real API (uvicorn, one worker, same loop and HTTP implementation), so the
difference between the two is what Blackbox itself does per request: auth, preparing, appending.
``python -m uvicorn --app-dir bench bare_app:app --port P --log-level warning``
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()

_OK = orjson.dumps({"ok": True})


@app.post("/v1/events")
async def events(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(_OK, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
