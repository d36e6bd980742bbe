"""Small builders shared by tests."""

from __future__ import annotations

import socket
from typing import Any

import orjson


def envelope(n: int, session: str = "sess-1", **extra: Any) -> dict[str, Any]:
    """A Blackbox envelope document (what POST /v1/events takes)."""
    return {"source": "test-agent", "native_id": f"{session}/{n}", "stream": session,
            "session_id": session, "kind": "tool_call", "time": f"2026-04-24T08:{n // 60 % 60:02d}:"
            f"{n % 60:02d}Z", "tool_name": "Bash", "call_id": f"call-{n}",
            "tool_input": {"command": f"echo {n}"}, "raw": {"n": n, **extra}}


def ndjson(records: list[Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in records) + b"\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
