"""A lean HTTP/1.1 server for media delivery (LL-HLS playlists, parts, segments).

Why not aiohttp here: the LL-HLS edge answers a very high rate of small, uniform GETs, and
aiohttp's general request/response machinery (multidicts, streams, payload writers, a task
per request) cost about four times nginx's CPU per request. This protocol does only what
media delivery needs, on the event loop's own transport:

- GET/HEAD/OPTIONS (any other method gets an answer from the handler, usually 405), keep-alive
  (HTTP/1.1 default, HTTP/1.0 with `Connection: keep-alive`), pipelined requests answered in
  order, request bodies skipped by Content-Length (chunked request bodies: 400, connection closed);
- a handler returns an `HttpResponse` directly (no task, no await), or a future of one (a
  blocking playlist request parks as a callback on the future: still no task), or a coroutine;
- the body goes out as the handler's own bytes objects (`writelines`, no join copy);
- limits: 16 KiB request head (431), 10 s to send a head, 75 s keep-alive idle; while the
  client does not read (transport paused) no further request of that connection is handled;
- a parked answer runs to its end even when its client goes away (handlers bound their waits).

The control API stays on aiohttp; this is only for the media edge.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from email.utils import formatdate
from typing import Any, Awaitable, Callable, Union
from urllib.parse import unquote, unquote_plus

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024
HEAD_TIMEOUT_S = 10
KEEPALIVE_S = 75
_SWEEP_S = 1.0

_REASONS = {200: "OK", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
            431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}
_STATUS_LINES = {code: f"HTTP/1.1 {code} {reason}\r\n".encode() for code, reason in _REASONS.items()}


class HttpRequest:
    """One parsed request head. Header names are matched case-insensitively."""

    __slots__ = ("method", "target", "path", "query_string", "keep_alive", "_headers", "_query",
                 "t0", "edge_key")

    def __init__(self, method: str, target: str, headers: dict[bytes, bytes], keep_alive: bool) -> None:
        self.t0: float | None = None         # time.monotonic() the head arrived, when known earlier
        self.edge_key: bytes | None = None   # the native edge's answer key (edge.py), when storable
        self.method = method
        self.target = target
        path, _, self.query_string = target.partition("?")
        self.path = unquote(path) if "%" in path else path
        self.keep_alive = keep_alive
        self._headers = headers
        self._query: dict[str, str] | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        v = self._headers.get(name.lower().encode("latin-1"))
        return v.decode("latin-1") if v is not None else default

    @property
    def host(self) -> str | None:
        return self.header("host")

    @property
    def query(self) -> dict[str, str]:
        """First value of each query parameter (percent-decoded)."""
        if self._query is None:
            q: dict[str, str] = {}
            for item in self.query_string.split("&"):
                if not item:
                    continue
                k, _, v = item.partition("=")
                if "%" in k or "+" in k:
                    k = unquote_plus(k)
                if "%" in v or "+" in v:
                    v = unquote_plus(v)
                q.setdefault(k, v)
            self._query = q
        return self._query


class HttpResponse:
    """Status, headers and a body that is one bytes object or a list sent back to back.

    `raw` is an already encoded block of header lines (each ending in CRLF) sent before
    `headers`: media handlers answer most requests with a handful of fixed header sets and
    render each set once instead of per response."""

    __slots__ = ("status", "headers", "body", "raw", "store")

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None,
                 body: bytes | list[bytes] = b"", raw: bytes = b"") -> None:
        self.status = status
        self.headers = headers if headers is not None else {}
        self.body = body
        self.raw = raw
        # (group, tag, C bodies or None): the native edge may keep this answer under its
        # request's key (edge.py); None bodies: copied from `body`
        self.store: tuple[int, int, list | None] | None = None

    def header_lines(self) -> bytes:
        """Its own header lines (raw, then headers), as sent between Date and Content-Length."""
        headers = self.headers
        if not headers:
            return self.raw
        return self.raw + "".join([f"{k}: {v}\r\n" for k, v in headers.items()]).encode("latin-1")

    def body_size(self) -> int:
        body = self.body
        return sum(len(b) for b in body) if isinstance(body, list) else len(body)

    def encode_head(self, fixed_headers: bytes, keep: bool, size: int) -> bytes:
        """Status line through the blank line."""
        return b"".join((_STATUS_LINES.get(self.status) or f"HTTP/1.1 {self.status} Unknown\r\n".encode(),
                         fixed_headers, self.header_lines(), b"Content-Length: %d\r\n" % size,
                         b"\r\n" if keep else b"Connection: close\r\n\r\n"))

    @classmethod
    def text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> "HttpResponse":
        h = {"Content-Type": "text/plain; charset=utf-8"}
        if headers:
            h.update(headers)
        return cls(status, h, text.encode())


Handler = Callable[[HttpRequest], Union[HttpResponse, "asyncio.Future[HttpResponse]", Awaitable[HttpResponse]]]


class BadRequest(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def run_handler(handler: Handler, request: HttpRequest) -> Any:
    """The handler's result; a handler bug is logged and answered 500."""
    try:
        return handler(request)
    except Exception:
        log.exception("http handler failed on %s %s", request.method, request.target)
        return HttpResponse.text(500, "Internal Server Error")


def settled_response(request: HttpRequest, future: asyncio.Future) -> HttpResponse:
    """The answer a resolved handler future stands for (cancelled: 503, failed: 500)."""
    try:
        return future.result()
    except asyncio.CancelledError:
        return HttpResponse.text(503, "Service Unavailable")
    except Exception:
        log.exception("http handler failed on %s %s", request.method, request.target)
        return HttpResponse.text(500, "Internal Server Error")


async def awaited_response(request: HttpRequest, pending: Awaitable[HttpResponse]) -> HttpResponse:
    """The answer of a handler coroutine (failed: 500; cancellation goes on)."""
    try:
        return await pending
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("http handler failed on %s %s", request.method, request.target)
        return HttpResponse.text(500, "Internal Server Error")


def dispatch(handler: Handler, request: HttpRequest, answer: Callable[[HttpResponse], None],
             tasks: set) -> None:
    """Runs the handler and gives `answer` its response: now, when its future resolves (a callback,
    no task), or when its coroutine ends (a task kept in `tasks`). For servers that answer each
    request on its own (the native edge's misses, HTTP/2 streams)."""
    result = run_handler(handler, request)
    if isinstance(result, HttpResponse):
        answer(result)
    elif asyncio.isfuture(result):
        result.add_done_callback(lambda future: answer(settled_response(request, future)))
    else:
        async def finish() -> None:
            answer(await awaited_response(request, result))
        task = asyncio.ensure_future(finish())
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def fail_bytes(status: int, fixed_headers: bytes) -> bytes:
    """The whole answer to a request that cannot be parsed (the connection closes after it)."""
    body = _REASONS.get(status, "Error").encode()
    return (_STATUS_LINES[status] + fixed_headers +
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(body), body))


def date_headers(server_name: str) -> bytes:
    """Server and Date lines (Date changes once per second: callers render it once per second)."""
    return f"Server: {server_name}\r\nDate: {formatdate(time.time(), usegmt=True)}\r\n".encode()


def parse_head(head: bytes) -> tuple[HttpRequest, int]:
    """(request, body length to skip) from the bytes before the blank line."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise BadRequest(400)
    method_b, target_b, version = parts
    if version == b"HTTP/1.1":
        keep_alive = True
    elif version == b"HTTP/1.0":
        keep_alive = False
    elif version.startswith(b"HTTP/"):
        raise BadRequest(505)
    else:
        raise BadRequest(400)
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400)
        headers[name.lower()] = value.strip()
    conn = headers.get(b"connection")
    if conn is not None:
        conn = conn.lower()
        if b"close" in conn:
            keep_alive = False
        elif b"keep-alive" in conn:
            keep_alive = True
    if b"transfer-encoding" in headers:
        raise BadRequest(400)              # no request bodies are accepted here
    body = 0
    cl = headers.get(b"content-length")
    if cl is not None:
        if not cl.isdigit() or len(cl) > 12:
            raise BadRequest(400)
        body = int(cl)
        if body > 1 << 20:
            raise BadRequest(413)
    if not target_b.startswith(b"/"):
        raise BadRequest(400)
    try:
        method = method_b.decode("ascii")
        target = target_b.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest(400) from None
    return HttpRequest(method, target, headers, keep_alive), body


class _Connection(asyncio.Protocol):
    __slots__ = ("server", "transport", "buf", "busy", "paused", "closing", "idle", "in_head", "task")

    def __init__(self, server: "HttpServer") -> None:
        self.server = server
        self.transport: Any = None
        self.buf = b""
        self.busy = False          # a parked request is being answered
        self.paused = False        # the client is not reading (transport write buffer full)
        self.closing = False
        self.idle = 0.0            # seconds without activity (advanced by the server's sweep)
        self.in_head = False       # bytes of an unfinished head are buffered
        self.task: asyncio.Task | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        # A parked request's task is not cancelled: it ends by its handler's own deadline and
        # its answer is dropped, so handlers may hold bookkeeping (e.g. waiter counts) across it.
        self.closing = True
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.idle = 0.0
        self.buf = self.buf + data if self.buf else data
        if not self.busy and not self.paused:
            self._process()
        elif len(self.buf) > MAX_HEAD:
            self.transport.pause_reading()      # pipelining beyond reason: wait for the answers

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if not self.busy and self.buf and not self.closing:
            self._process()

    # -- requests ----------------------------------------------------------------------
    def _process(self) -> None:
        handler = self.server.handler
        while self.buf and not self.busy and not self.paused and not self.closing:
            buf = self.buf
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail(431)
                else:
                    self.in_head = True
                return
            if end > MAX_HEAD:
                self._fail(431)
                return
            try:
                request, body_len = parse_head(buf[:end])
            except BadRequest as bad:
                self._fail(bad.status)
                return
            start = end + 4
            if len(buf) - start < body_len:
                self.in_head = True                 # wait for the (ignored) body
                return
            self.buf = buf[start + body_len:]
            self.in_head = False
            result = run_handler(handler, request)
            if isinstance(result, HttpResponse):
                self._send(request, result)
            elif asyncio.isfuture(result):
                self.busy = True                    # answered when the future resolves (no task)
                result.add_done_callback(functools.partial(self._future_done, request))
                return
            else:
                self.busy = True
                self.task = asyncio.ensure_future(self._finish(request, result))
                return
        if self.busy or self.paused:
            return
        self.transport.resume_reading()

    async def _finish(self, request: HttpRequest, pending: Awaitable[HttpResponse]) -> None:
        response = await awaited_response(request, pending)
        self.task = None
        self.busy = False
        if self.closing:
            return
        self._send(request, response)
        if self.buf and not self.closing:
            self._process()

    def _future_done(self, request: HttpRequest, future: asyncio.Future) -> None:
        response = settled_response(request, future)
        self.busy = False
        if self.closing:
            return
        self._send(request, response)
        if self.buf and not self.closing:
            self._process()

    def _send(self, request: HttpRequest, response: HttpResponse) -> None:
        body = response.body
        size = response.body_size()
        keep = request.keep_alive and self.server.accepting
        head = response.encode_head(self.server.fixed_headers, keep, size)
        if request.method == "HEAD" or not size:
            self.transport.write(head)
        elif isinstance(body, list):
            self.transport.writelines((head, *body))
        else:
            self.transport.writelines((head, body))
        self.idle = 0.0
        if not keep:
            self.closing = True
            self.transport.close()

    def _fail(self, status: int) -> None:
        """A request that cannot be parsed: answer and close (the stream of requests is lost)."""
        self.transport.write(fail_bytes(status, self.server.fixed_headers))
        self.closing = True
        self.buf = b""
        self.transport.close()


def _alpn_protocols(ctx: Any) -> list[str]:
    """What the SSL context offers in ALPN (ssl does not tell: the maker notes it as `ome_alpn`)."""
    return list(getattr(ctx, "ome_alpn", []))


class HttpServer:
    """Listening sockets sharing one handler; `close()` stops accepting and drops every connection."""

    def __init__(self, handler: Handler, *, server_name: str = "ome") -> None:
        self.handler = handler
        self.server_name = server_name
        self.connections: set[_Connection] = set()
        self.accepting = True
        self.fixed_headers = b""
        self._servers: list[asyncio.AbstractServer] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self._refresh_fixed_headers()

    def _refresh_fixed_headers(self) -> None:
        # Date changes once per second: render it (and Server) once, not per response.
        self.fixed_headers = date_headers(self.server_name)

    def _sweep(self) -> None:
        self._refresh_fixed_headers()
        for conn in list(self.connections):
            if conn.busy:
                continue
            conn.idle += _SWEEP_S
            limit = HEAD_TIMEOUT_S if conn.in_head else KEEPALIVE_S
            if conn.idle >= limit and not conn.closing:
                conn.closing = True
                conn.transport.close()
        self._sweeper = asyncio.get_running_loop().call_later(_SWEEP_S, self._sweep)

    async def listen(self, host: str, port: int, ssl: Any = None) -> None:
        loop = asyncio.get_running_loop()
        factory: Any = lambda: _Connection(self)                       # noqa: E731
        if ssl is not None and "h2" in _alpn_protocols(ssl):
            from .http2 import AlpnSwitch                              # HTTP/2 when the client picks h2
            http1 = factory
            factory = lambda: AlpnSwitch(self, http1)                  # noqa: E731
        server = await loop.create_server(factory, host, port, ssl=ssl, reuse_address=True, backlog=1024)
        self._servers.append(server)
        if self._sweeper is None:
            self._sweeper = loop.call_later(_SWEEP_S, self._sweep)

    async def close(self) -> None:
        self.accepting = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.closing = True
            if conn.task is not None:
                conn.task.cancel()
            conn.transport.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
        self._servers.clear()
