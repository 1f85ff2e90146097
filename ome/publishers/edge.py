"""The plain-HTTP media edge: `native/src/edge.c` serves in a C thread, this is its Python face.

The C thread owns the sockets. It answers a GET whose answer was stored (`put`) without
Python, and parks a blocking playlist request until its playlist's state moves (`advance`).
Every other request is a "miss": it arrives here through an omn_notify fd on the event loop
and goes to the same handler as `http1.HttpServer` (same `HttpRequest`/`HttpResponse`, same
answers byte for byte); an answer the handler marks with `store` is then stored under the
request's key, so the next identical request never reaches Python.

What the handler sees differs in one way: `request.t0` is when the head arrived in C (a
request the edge parked until its deadline arrives here late, and must be answered by that
deadline, not a new one).
"""
from __future__ import annotations

import asyncio
import functools
import socket
import time
from typing import Any, Iterable

from ome._native import ffi, lib

from .http1 import BadRequest, Handler, HttpRequest, HttpResponse, date_headers, dispatch, fail_bytes, parse_head


NO_TAG_LIMIT = (1 << 63) - 1          # omn_edge_drop(group, NO_TAG_LIMIT): the whole group

# Memory that both sides share: allocated as an edge body, owned by Python through a cffi
# buffer (freed when the last memoryview goes) and by every stored answer that uses it.
_shared_alloc = ffi.new_allocator(lib.omn_edge_body_alloc, lib.omn_edge_body_release,
                                  should_clear_after_alloc=False)


def shared_copy(ptr: Any, size: int) -> tuple[Any, memoryview]:
    """One copy of `size` bytes at `ptr` into shared memory: (owning cdata for `EdgeServer.body_of`,
    a read-only memoryview of it for Python)."""
    raw = _shared_alloc("uint8_t[]", size)
    if size:
        ffi.memmove(raw, ptr, size)
    return raw, memoryview(ffi.buffer(raw)).toreadonly()


def answer_key(host: str, origin: str, gzip: bool, path: str, msn: int | None = None,
               part: int | None = None, skip: str | None = None) -> bytes:
    """The edge's answer key of a GET (native/include/ome_native.h, "edge"): what C computes for
    a request with these Host/Origin values, Accept-Encoding (gzip matters for playlists only),
    path and LL-HLS directives. Under an `origin_free` prefix, C uses an empty origin."""
    query = []
    if msn is not None:
        query.append(f"_HLS_msn={msn}")
    if part is not None:
        query.append(f"_HLS_part={part}")
    if skip is not None:
        query.append(f"_HLS_skip={skip}")
    flag = "g" if gzip and path.endswith(".m3u8") else "-"
    target = path + ("?" + "&".join(query) if query else "")
    return f"{host}\n{origin}\n{flag}{target}".encode("latin-1")


def state_key(host: str, path: str) -> bytes:
    return f"{host}\n{path}".encode("latin-1")


class EdgeError(Exception):
    pass


class EdgeServer:
    """Same face as `http1.HttpServer` (listen/close), plus what the handler's owner uses to keep
    answers in C: `body`, `put`, `drop`, `advance`, `stats`."""

    def __init__(self, handler: Handler, *, server_name: str = "ome") -> None:
        self.handler = handler
        self.server_name = server_name
        self.accepting = True
        self.ports: list[int] = []
        self._notify = lib.omn_notify_new()
        if self._notify == ffi.NULL:
            raise EdgeError("cannot create the edge's notify")
        self._edge = lib.omn_edge_new(self._notify, server_name.encode())
        if self._edge == ffi.NULL:
            lib.omn_notify_free(self._notify)
            raise EdgeError("cannot create the edge")
        self._miss = ffi.new("omn_edge_miss *")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fixed = b""
        self._fixed_at = -1
        self._tasks: set[asyncio.Task] = set()
        self._started = False

    # -- life cycle ------------------------------------------------------------------------
    async def listen(self, host: str, port: int, ssl: Any = None) -> None:
        if ssl is not None:
            raise EdgeError("the native edge serves plain HTTP only (TLS stays on http1.py)")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(1024)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.ports.append(sock.getsockname()[1])
        fd = sock.detach()
        if lib.omn_edge_add_listener(self._edge, fd) != 0:
            socket.socket(fileno=fd).close()
            raise OSError("too many listening sockets on the edge")
        if not self._started:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(lib.omn_notify_fd(self._notify), self._on_misses)
            if lib.omn_edge_start(self._edge) != 0:
                raise EdgeError("cannot start the edge thread")
            self._started = True

    async def close(self) -> None:
        if self._edge == ffi.NULL:
            return
        self.accepting = False
        if self._loop is not None:
            self._loop.remove_reader(lib.omn_notify_fd(self._notify))
        for task in list(self._tasks):
            task.cancel()
        edge, self._edge = self._edge, ffi.NULL
        await asyncio.get_running_loop().run_in_executor(None, lib.omn_edge_free, edge)   # joins the thread
        lib.omn_notify_free(self._notify)
        self._notify = ffi.NULL

    # -- stored answers ----------------------------------------------------------------------
    @staticmethod
    def body(data: Any) -> Any:
        """A C-owned copy of `data`, shared by every answer it is put in (freed with the last)."""
        b = lib.omn_edge_body_new(data, len(data))
        if b == ffi.NULL:
            raise MemoryError("edge body")
        return ffi.gc(b, lib.omn_edge_body_unref)

    @staticmethod
    def body_of(raw: Any) -> Any:
        """The edge body of shared memory from `shared_copy` (no copy)."""
        return ffi.gc(lib.omn_edge_body_of(raw), lib.omn_edge_body_unref)

    def put(self, key: bytes, group: int, tag: int, response: HttpResponse, bodies: Iterable[Any]) -> None:
        """Stores a 200 answer (`bodies`: C bodies of its body, in order) under `key`."""
        if self._edge == ffi.NULL:
            return
        head = response.header_lines()
        arr = list(bodies)
        lib.omn_edge_put(self._edge, key, len(key), group, tag, head, len(head), arr, len(arr))

    def drop(self, group: int, below: int = NO_TAG_LIMIT) -> int:
        if self._edge == ffi.NULL:
            return 0
        return lib.omn_edge_drop(self._edge, group, below)

    def advance(self, key: bytes, msn: int, part: int, parts_ahead: int, timeout_ms: int, max_parked: int = 1000,
                open_: bool = True) -> None:
        if self._edge != ffi.NULL:
            lib.omn_edge_advance(self._edge, key, len(key), msn, part, parts_ahead, timeout_ms, max_parked,
                                 1 if open_ else 0)

    def origin_free(self, prefix: str, on: bool) -> None:
        """Answers under `prefix` do not vary by Origin: their keys carry an empty origin."""
        if self._edge != ffi.NULL:
            p = prefix.encode("latin-1")
            lib.omn_edge_origin_free(self._edge, p, len(p), 1 if on else 0)

    def stats(self) -> dict[str, int]:
        out = ffi.new("omn_edge_stats *")
        if self._edge != ffi.NULL:
            lib.omn_edge_get_stats(self._edge, out)
        return {name: int(getattr(out, name)) for name in
                ("connections", "requests", "hits", "misses", "parked", "bytes_out", "open_connections",
                 "parked_now", "answers", "states", "answer_bytes")}

    # -- misses --------------------------------------------------------------------------
    def _fixed_headers(self) -> bytes:
        now = int(time.time())
        if now != self._fixed_at:
            self._fixed = date_headers(self.server_name)
            self._fixed_at = now
        return self._fixed

    def _on_misses(self) -> None:
        lib.omn_notify_drain(self._notify)
        m = self._miss
        while self._edge != ffi.NULL and lib.omn_edge_next_miss(self._edge, m):
            conn = m.conn
            head = ffi.buffer(m.head, m.head_len)[:]
            key = ffi.buffer(m.key, m.key_len)[:] if m.key_len else None
            t0 = m.t0_ns / 1e9
            try:
                request, _ = parse_head(head)
            except BadRequest as bad:
                self._respond(conn, fail_bytes(bad.status, self._fixed_headers()), True)
                continue
            request.t0 = t0
            request.edge_key = key
            dispatch(self.handler, request, functools.partial(self._answer, conn, request), self._tasks)

    def _answer(self, conn: int, request: HttpRequest, response: HttpResponse) -> None:
        if self._edge == ffi.NULL:
            return
        body = response.body
        size = response.body_size()
        keep = request.keep_alive and self.accepting
        head = response.encode_head(self._fixed_headers(), keep, size)
        if request.method == "HEAD" or not size:
            data = head
        elif isinstance(body, list):
            data = b"".join((head, *body))
        else:
            data = b"".join((head, body))
        self._respond(conn, data, not keep)
        if (response.store is not None and request.edge_key is not None and response.status == 200
                and request.method == "GET"):
            group, tag, bodies = response.store
            if bodies is None:
                bodies = [self.body(p) for p in (body if isinstance(body, list) else [body])]
            self.put(request.edge_key, group, tag, response, bodies)

    def _respond(self, conn: int, data: bytes, close_after: bool) -> None:
        if self._edge != ffi.NULL:
            lib.omn_edge_respond(self._edge, conn, data, len(data), 1 if close_after else 0)
