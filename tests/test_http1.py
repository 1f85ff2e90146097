"""The HTTP/1.1 servers of the media edge (ome/publishers/http1.py and the native edge,
ome/publishers/edge.py + native/src/edge.c), over real sockets.

Covers what an LL-HLS edge relies on: keep-alive, pipelined requests answered in order even
when the first one parks, HEAD, HTTP/1.0, request framing errors (400/431/505 and close),
ignored request bodies, query decoding, and a client that leaves while its request is parked.
"""
from __future__ import annotations

import asyncio

import pytest

from ome.publishers.edge import EdgeServer
from ome.publishers.http1 import HttpRequest, HttpResponse, HttpServer


class App:
    """Handler under test: /now answers at once, /park answers when released, /coro via a coroutine."""

    def __init__(self) -> None:
        self.parked: list[asyncio.Future] = []
        self.seen: list[HttpRequest] = []

    def handle(self, req: HttpRequest):
        self.seen.append(req)
        if req.path == "/park":
            fut = asyncio.get_running_loop().create_future()
            self.parked.append(fut)
            return fut
        if req.path == "/coro":
            async def later() -> HttpResponse:
                await asyncio.sleep(0.01)
                return HttpResponse.text(200, "coro")
            return later()
        if req.path == "/boom":
            raise RuntimeError("handler bug")
        body = f"{req.method} {req.path} {sorted(req.query.items())} {req.header('X-Test')}".encode()
        return HttpResponse(200, {"Content-Type": "text/plain", "Cache-Control": "no-cache"},
                            [body[:3], body[3:]])      # a list body goes out back to back


@pytest.fixture(params=["http1", "native"])
async def edge(request):
    """The same behaviour from both servers of the media edge: http1.py on the event loop (the
    TLS port), and the native edge (edge.c), where every request here is a miss for Python."""
    app = App()
    if request.param == "http1":
        server = HttpServer(app.handle)
        await server.listen("127.0.0.1", 0)
        port = server._servers[0].sockets[0].getsockname()[1]
    else:
        server = EdgeServer(app.handle)
        await server.listen("127.0.0.1", 0)
        port = server.ports[0]
    yield app, port
    await server.close()


async def read_response(reader: asyncio.StreamReader, head_only: bool = False) -> tuple[int, dict, bytes]:
    status_line = await asyncio.wait_for(reader.readline(), 5)
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = b"" if head_only else await reader.readexactly(n)
    return int(status_line.split()[1]), headers, body


async def test_keep_alive_list_body_query_and_headers(edge):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(3):
        writer.write(f"GET /a%20b?x=1&y=%2Fz&x=2&flag HTTP/1.1\r\nHost: h\r\nx-test: v{i}\r\n\r\n".encode())
        status, headers, body = await read_response(reader)
        assert status == 200
        assert body == f"GET /a b [('flag', ''), ('x', '1'), ('y', '/z')] v{i}".encode()
        assert headers["content-length"] == str(len(body)) and headers["cache-control"] == "no-cache"
        assert headers["server"] == "ome" and headers["date"].endswith("GMT")
        assert "connection" not in headers
    writer.close()


async def test_pipelined_requests_are_answered_in_order_when_the_first_parks(edge):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /park HTTP/1.1\r\nHost: h\r\n\r\nGET /now?n=2 HTTP/1.1\r\nHost: h\r\n\r\n"
                 b"GET /coro HTTP/1.1\r\nHost: h\r\n\r\n")
    await asyncio.sleep(0.1)
    assert len(app.seen) == 1 and len(app.parked) == 1       # the next ones wait for the parked answer
    app.parked[0].set_result(HttpResponse.text(200, "parked"))
    assert (await read_response(reader))[2] == b"parked"
    assert (await read_response(reader))[2] == b"GET /now [('n', '2')] None"
    assert (await read_response(reader))[2] == b"coro"
    writer.close()


async def test_head_http10_and_connection_close(edge):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HEAD /now HTTP/1.1\r\nHost: h\r\n\r\n")
    status, headers, _ = await read_response(reader, head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0
    writer.write(b"GET /now HTTP/1.1\r\nHost: h\r\n\r\n")           # no body bytes leaked from HEAD
    assert (await read_response(reader))[2].startswith(b"GET /now")
    writer.close()
    for request in (b"GET /now HTTP/1.0\r\n\r\n", b"GET /now HTTP/1.1\r\nConnection: close\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        status, headers, _ = await read_response(reader)
        assert status == 200 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""       # closed by the server
        writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /now HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /now HTTP/1.0\r\n\r\n")
    assert (await read_response(reader))[0] == 200
    assert (await read_response(reader))[1]["connection"] == "close"
    writer.close()


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /x HTTP/2.0\r\n\r\n", 505),
    (b"GET x HTTP/1.1\r\n\r\n", 400),
    (b"GET /x HTTP/1.1\r\nno-colon-here\r\n\r\n", 400),
    (b"GET /x HTTP/1.1\r\n bad: folded\r\n\r\n", 400),
    (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET /x HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
    (b"GET /x HTTP/1.1\r\nX: " + b"a" * 20000, 431),                  # no end of head in sight
])
async def test_bad_request_heads_get_an_answer_and_a_closed_connection(edge, raw, status):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    got, headers, _ = await read_response(reader)
    assert got == status and headers["connection"] == "close"
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert not app.seen                                            # the handler never saw it


async def test_request_body_is_skipped_and_handler_errors_are_500(edge):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /now HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /boom HTTP/1.1\r\n\r\n"
                 b"GET /now HTTP/1.1\r\n\r\n")
    assert (await read_response(reader))[2].startswith(b"POST /now")
    assert (await read_response(reader))[0] == 500
    assert (await read_response(reader))[0] == 200                 # the connection survived the bug
    writer.close()


async def test_client_leaving_while_parked_is_harmless(edge):
    app, port = edge
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /park HTTP/1.1\r\n\r\n")
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.1)
    app.parked[0].set_result(HttpResponse.text(200, "too late"))  # answer dropped, nothing raised
    await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /now HTTP/1.1\r\n\r\n")
    assert (await read_response(reader))[0] == 200
    writer.close()


async def test_native_edge_stored_answer_outlives_pythons_copy_and_drop_removes_it():
    """A part's one copy is shared: Python may drop its view while the edge still serves it; an
    answer stored under `answer_key` is served without the handler, and after `drop` the
    handler answers again."""
    import gc

    from ome._native import ffi
    from ome.publishers.edge import answer_key, shared_copy

    app = App()
    server = EdgeServer(app.handle)
    await server.listen("127.0.0.1", 0)
    try:
        payload = bytes(range(256)) * 400
        raw, view = shared_copy(ffi.from_buffer(payload), len(payload))
        assert view == payload and view.readonly
        server.put(answer_key("h", "", False, "/m"), 1, 5,
                   HttpResponse(200, {"Content-Type": "video/mp4"}), [server.body_of(raw)])
        del raw, view
        gc.collect()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
        writer.write(b"GET /m HTTP/1.1\r\nHost: h\r\n\r\n")
        status, headers, body = await read_response(reader)
        assert status == 200 and body == payload and headers["content-type"] == "video/mp4"
        assert not app.seen                                          # answered in C
        assert server.drop(1, 5) == 0 and server.drop(1, 6) == 1     # tag 5 < 6
        writer.write(b"GET /m HTTP/1.1\r\nHost: h\r\n\r\n")
        status, _, body = await read_response(reader)
        assert status == 200 and body.startswith(b"GET /m") and len(app.seen) == 1
        writer.close()
    finally:
        await server.close()
