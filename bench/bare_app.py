"""The HTTP ceiling: a bare FastAPI endpoint that reads and parses the body, then discards it.

Served exactly like the real API (uvicorn, one worker, same loop and HTTP protocol: ``blackbox
serve``'s ``api.transport.BlackboxHttpProtocol``), so the difference between the two is what
Blackbox itself does per request: auth, preparing, appending. ``--stock`` serves it with stock
uvicorn's httptools protocol instead (information: what that protocol gains).
``python bench/bare_app.py PORT [--stock]``
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def main(argv: list[str]) -> None:
    import uvicorn

    # The code under test is the working directory (bench/ingest.py runs servers in its
    # snapshot), as for bench/traced_serve.py; this script's own directory would shadow nothing.
    sys.path.insert(0, str(Path.cwd()))
    from api.transport import BlackboxHttpProtocol

    http = "httptools" if "--stock" in argv else BlackboxHttpProtocol
    uvicorn.run(app, host="127.0.0.1", port=int(argv[0]), log_level="warning", workers=1, http=http)


if __name__ == "__main__":
    main(sys.argv[1:])
