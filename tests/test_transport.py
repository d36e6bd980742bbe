"""The HTTP protocol of ``blackbox serve``: one send per turn of the loop, nothing lost."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from api.transport import FLUSH_BYTES, BlackboxHttpProtocol, TurnBufferedTransport
from tests.helpers import free_port


class RecordingTransport:
    """What the wrapped transport was asked to do, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append(("write_eof", b""))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


@contextmanager
def buffered() -> Iterator[tuple[asyncio.AbstractEventLoop, RecordingTransport,
                                 TurnBufferedTransport]]:
    """A loop, the recording transport, and the buffering one over it; the loop closed after."""
    loop = asyncio.new_event_loop()
    inner = RecordingTransport()
    try:
        yield loop, inner, TurnBufferedTransport(inner, loop)  # type: ignore[arg-type]
    finally:
        loop.close()


def next_turn(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def test_writes_of_one_turn_are_sent_together_when_it_ends() -> None:
    with buffered() as (loop, inner, transport):
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(bytearray(b"{}"))
        transport.write(b"")
        assert inner.calls == []  # nothing sent during the turn
        assert transport.get_write_buffer_size() == 7 + 21  # the held bytes count as buffered
        next_turn(loop)
        assert inner.calls == [("write", b"HTTP/1.1 200 OK\r\n\r\n{}")]
        transport.write(b"next")
        next_turn(loop)
        assert inner.calls[1:] == [("write", b"next")]


def test_a_large_write_is_sent_at_once_so_flow_control_sees_it() -> None:
    with buffered() as (loop, inner, transport):
        transport.write(b"h")
        transport.write(b"x" * FLUSH_BYTES)
        assert inner.calls == [("write", b"h" + b"x" * FLUSH_BYTES)]
        next_turn(loop)
        assert len(inner.calls) == 1  # the scheduled flush finds nothing left


def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    with buffered() as (loop, inner, transport):
        transport.writelines([b"a", b"b"])
        transport.close()
        assert inner.calls == [("write", b"ab"), ("close", b"")]
        next_turn(loop)
        assert len(inner.calls) == 2
    with buffered() as (loop, inner, transport):
        transport.write(b"lost")
        transport.abort()
        next_turn(loop)
        assert inner.calls == [("abort", b"")]


def test_nothing_is_written_to_a_transport_already_closing() -> None:
    with buffered() as (loop, inner, transport):
        transport.write(b"late")
        inner.closing = True  # the peer went away within the turn
        next_turn(loop)
        assert inner.calls == []
        transport.write(b"eof")
        transport.write_eof()
        assert inner.calls == [("write_eof", b"")]


def test_everything_else_is_the_wrapped_transports() -> None:
    with buffered() as (_loop, _inner, transport):
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        assert transport.is_closing() is False


# -- served by uvicorn -------------------------------------------------------------------------

BIG = 3 * FLUSH_BYTES + 123


def app_under_test() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return {"got": body}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(BIG // 1000):
                yield b"%0999d\n" % n  # never awaits: every chunk is written in one turn
            yield b"z" * (BIG % 1000)

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/empty")
    async def empty() -> Response:
        return Response(status_code=204)

    return app


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app_under_test(), host="127.0.0.1", port=port, log_level="warning",
                            http=BlackboxHttpProtocol, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_uvicorn_serves_keep_alive_requests_through_it(served: str) -> None:
    with httpx.Client(base_url=served) as client:
        for n in range(50):  # one connection: every answer complete, none mixed with the next
            answer = client.post("/echo", json={"n": n})
            assert (answer.status_code, answer.json()) == (200, {"got": {"n": n}})
        assert client.get("/empty").status_code == 204
        body = client.get("/stream").content
    assert len(body) == BIG and body.startswith(b"0" * 999 + b"\n") and body.endswith(b"z")


def test_a_connection_close_request_gets_its_whole_answer(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = bytearray()
        while chunk := sock.recv(65536):  # the server closes after the last byte
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    assert body.endswith(b"0\r\n\r\n")  # chunked encoding's last chunk: nothing cut off
    assert body.count(b"z" * (BIG % 1000)) == 1
