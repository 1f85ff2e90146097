"""HTTP/2 for the media edge's TLS port (ALPN `h2`), on the h2 state machine.

Why: a browser opens at most 6 HTTP/1.1 connections per origin, and an LL-HLS player keeps some of
them parked on blocking playlist requests; over HTTP/2 every request is a stream of one connection,
so parked requests never hold back part downloads (reference BL-10). The requests are the same
`HttpRequest`s for the same handler as http1.py (`:authority` stands for Host); each answer goes out as
HEADERS + DATA within the peer's flow-control windows. Request bodies are read and ignored, as on
HTTP/1.1. A protocol error closes the connection (after h2's GOAWAY); a stream the peer resets
drops its pending answer.
"""
from __future__ import annotations

import asyncio
import functools
from collections import deque
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from .http1 import HttpRequest, HttpResponse, dispatch

if TYPE_CHECKING:
    from .http1 import HttpServer

_pairs_cache: dict[bytes, list[tuple[bytes, bytes]]] = {}


def header_pairs(block: bytes) -> list[tuple[bytes, bytes]]:
    """`Name: value\\r\\n` lines as lower-case HTTP/2 header pairs (fixed blocks parsed once)."""
    pairs = _pairs_cache.get(block)
    if pairs is None:
        pairs = []
        for line in block.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                pairs.append((name.strip().lower(), value.strip()))
        if len(_pairs_cache) < 256:
            _pairs_cache[block] = pairs
    return pairs


class H2Connection(asyncio.Protocol):
    """One HTTP/2 connection. Has the attributes HttpServer's idle sweep and close() use."""

    def __init__(self, server: "HttpServer") -> None:
        self.server = server
        self.transport: Any = None
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.open: set[int] = set()               # streams whose answer is not fully sent
        self.pending: dict[int, deque] = {}       # stream -> body chunks waiting for window
        self.closing = False
        self.idle = 0.0
        self.in_head = False
        self.task: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()

    @property
    def busy(self) -> bool:
        return bool(self.open)                    # no idle close while requests are in flight

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.server.connections.add(self)
        self.conn.initiate_connection()
        self._write()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        self.pending.clear()
        self.open.clear()

    def data_received(self, data: bytes) -> None:
        self.idle = 0.0
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._write()
            self.closing = True
            self.transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                self._request(ev.stream_id, ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.WindowUpdated):
                for sid in ([ev.stream_id] if ev.stream_id else list(self.pending)):
                    self._flush(sid)
            elif isinstance(ev, h2.events.StreamReset):
                self.pending.pop(ev.stream_id, None)
                self.open.discard(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closing = True
                self.transport.close()
        self._write()

    # -- requests ----------------------------------------------------------------------
    def _request(self, sid: int, headers: list[tuple[bytes, bytes]]) -> None:
        fields: dict[bytes, bytes] = {}
        pseudo: dict[bytes, bytes] = {}
        for name, value in headers:
            (pseudo if name.startswith(b":") else fields)[name.lower()] = value
        if b":authority" in pseudo:
            fields.setdefault(b"host", pseudo[b":authority"])
        try:
            method = pseudo[b":method"].decode("ascii")
            target = pseudo.get(b":path", b"/").decode("ascii")
        except (KeyError, UnicodeDecodeError):
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.PROTOCOL_ERROR)
            return
        self.open.add(sid)
        request = HttpRequest(method, target, fields, True)
        dispatch(self.server.handler, request, functools.partial(self._answer, sid, request), self.tasks)

    def _answer(self, sid: int, request: HttpRequest, response: HttpResponse) -> None:
        self._respond(sid, request, response)
        self._write()

    def _respond(self, sid: int, request: HttpRequest, response: HttpResponse) -> None:
        if self.closing or sid not in self.open:
            return                                # the peer reset the stream or left
        body = response.body
        chunks = [b for b in (body if isinstance(body, list) else [body]) if len(b)]
        size = sum(len(b) for b in chunks)
        headers = [(b":status", str(response.status).encode())]
        headers += header_pairs(self.server.fixed_headers)
        headers += header_pairs(response.raw)
        headers += [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
        headers.append((b"content-length", str(size).encode()))
        head_only = request.method == "HEAD" or not size
        try:
            self.conn.send_headers(sid, headers, end_stream=head_only)
        except h2.exceptions.ProtocolError:
            self.open.discard(sid)
            return
        if head_only:
            self.open.discard(sid)
            return
        self.pending[sid] = deque(memoryview(b) for b in chunks)
        self._flush(sid)

    def _flush(self, sid: int) -> None:
        """Sends what the stream's and the connection's windows allow."""
        chunks = self.pending.get(sid)
        if chunks is None:
            return                                # nothing to send (yet): e.g. a parked request
        conn = self.conn
        while chunks:
            try:
                window = conn.local_flow_control_window(sid)
            except h2.exceptions.StreamClosedError:
                break
            if window <= 0:
                return                            # WindowUpdated continues
            piece = chunks[0]
            n = min(window, conn.max_outbound_frame_size, len(piece))
            if n < len(piece):
                chunks[0] = piece[n:]
            else:
                chunks.popleft()
            conn.send_data(sid, bytes(piece[:n]), end_stream=not chunks)
        self.pending.pop(sid, None)
        self.open.discard(sid)

    def _write(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.closing:
            self.transport.write(data)


class AlpnSwitch(asyncio.Protocol):
    """The TLS port's first protocol: once the handshake is done, hands the connection to
    H2Connection when the client chose `h2`, else to the HTTP/1.1 connection."""

    def __init__(self, server: "HttpServer", http1_factory: Any) -> None:
        self.server = server
        self.http1_factory = http1_factory

    def connection_made(self, transport: Any) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        chosen = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        protocol = H2Connection(self.server) if chosen == "h2" else self.http1_factory()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
