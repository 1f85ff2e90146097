"""The Python face of the native SRT I/O (native/src/srt_io.c): one `omn_srt` context per process,
its notify fd watched by the event loop, events handed to the owner of each socket.

SRT sockets are not OS fds, so libsrt runs in a C thread; this module only sees one wake-up per
batch of events and per-connection data (never per packet). Owners (providers, publishers) pass a
handler object when they open a socket; it receives, on the event loop:
  listener handler: `srt_accepted(sock, listener, peer, streamid)` (must adopt the socket with `io.adopt(sock,
      handler)` or close it), `srt_rejected(peer, streamid, reject, reason)`;
  connection handler: `srt_connected(sock)`, `srt_data(sock)` (call `io.take_into(sock, buf)`),
      `srt_closed(sock, reject, reason)`.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ome._native import ffi, lib

log = logging.getLogger("ome.providers.srt")


@dataclass
class SrtOptions:
    latency_ms: int = 0
    passphrase: str = ""
    pbkeylen: int = 0
    payload_size: int = 0
    streamid: str = ""
    peer_idle_ms: int = 0
    conn_timeout_ms: int = 0
    send_queue_bytes: int = 0
    recv_queue_bytes: int = 0

    def to_c(self) -> tuple[Any, list[Any]]:
        """(omn_srt_options *, keep-alive list for the strings it points to)."""
        opt = ffi.new("omn_srt_options *")
        keep: list[Any] = []
        for name in ("latency_ms", "pbkeylen", "payload_size", "peer_idle_ms", "conn_timeout_ms",
                     "send_queue_bytes", "recv_queue_bytes"):
            setattr(opt, name, int(getattr(self, name)))
        for name in ("passphrase", "streamid"):
            value = getattr(self, name)
            if value:
                cstr = ffi.new("char[]", value.encode())
                keep.append(cstr)
                setattr(opt, name, cstr)
        return opt, keep


class SrtError(Exception):
    pass


class SrtIo:
    def __init__(self) -> None:
        self._notify = lib.omn_notify_new()
        if self._notify == ffi.NULL:
            raise SrtError("cannot create the SRT notify")
        self._ctx = lib.omn_srt_new(self._notify)
        if self._ctx == ffi.NULL:
            lib.omn_notify_free(self._notify)
            raise SrtError("cannot start libsrt")
        self._handlers: dict[int, Any] = {}
        self._event = ffi.new("omn_srt_event *")
        self._loop = asyncio.get_running_loop()
        self._fd = lib.omn_notify_fd(self._notify)
        self._loop.add_reader(self._fd, self._on_ready)

    def close(self) -> None:
        if self._ctx == ffi.NULL:
            return
        self._loop.remove_reader(self._fd)
        lib.omn_srt_free(self._ctx)              # joins the I/O thread first
        lib.omn_notify_free(self._notify)
        self._ctx = ffi.NULL
        self._handlers.clear()

    def _error(self, rc: int, what: str) -> SrtError:
        detail = ffi.string(lib.omn_srt_last_error(self._ctx)).decode(errors="replace")
        return SrtError(f"{what}: {detail or rc}")

    # -- sockets ------------------------------------------------------------------------
    def listen(self, host: str, port: int, options: SrtOptions, handler: Any, backlog: int = 64) -> int:
        opt, _keep = options.to_c()
        sock = lib.omn_srt_listen(self._ctx, host.encode(), port, opt, backlog)
        if sock <= 0:
            raise self._error(sock, f"cannot listen on {host}:{port}")
        self._handlers[sock] = handler
        return sock

    def connect(self, host: str, port: int, options: SrtOptions, handler: Any) -> int:
        opt, _keep = options.to_c()
        sock = lib.omn_srt_connect(self._ctx, host.encode(), port, opt)
        if sock <= 0:
            raise self._error(sock, f"cannot connect to {host}:{port}")
        self._handlers[sock] = handler
        return sock

    def adopt(self, sock: int, handler: Any) -> None:
        """An accepted socket's events go to handler from now on."""
        self._handlers[sock] = handler

    def local_port(self, sock: int) -> int:
        return int(lib.omn_srt_local_port(self._ctx, sock))

    def send(self, sock: int, data: bytes) -> int:
        """0, or lib.OMN_SRT_E_FULL (nothing queued) / OMN_SRT_E_CLOSED / OMN_SRT_E_ARG."""
        return int(lib.omn_srt_send(self._ctx, sock, data, len(data)))

    def take_into(self, sock: int, buf: Any) -> int:
        """Appends every received byte of sock to buf (an `omn_buf *`); returns the count."""
        return int(lib.omn_srt_take(self._ctx, sock, buf))

    def close_socket(self, sock: int) -> None:
        lib.omn_srt_close(self._ctx, sock)

    def stats(self, sock: int) -> Any:
        out = ffi.new("omn_srt_socket_stats *")
        lib.omn_srt_socket_stats_get(self._ctx, sock, out)
        return out

    # -- events -------------------------------------------------------------------------
    def _on_ready(self) -> None:
        lib.omn_notify_drain(self._notify)
        ev = self._event
        while self._ctx != ffi.NULL and lib.omn_srt_next_event(self._ctx, ev):
            try:
                self._dispatch(ev)
            except Exception:
                log.exception("SRT event %d of socket %d", ev.type, ev.sock)

    def _dispatch(self, ev: Any) -> None:
        kind, sock = ev.type, ev.sock
        if kind == lib.OMN_SRT_EV_ACCEPTED:
            handler = self._handlers.get(ev.listener)
            if handler is None:
                lib.omn_srt_close(self._ctx, sock)
                return
            handler.srt_accepted(sock, ev.listener, ffi.string(ev.peer).decode(errors="replace"),
                                 ffi.string(ev.streamid).decode(errors="replace"))
            if sock not in self._handlers:
                lib.omn_srt_close(self._ctx, sock)          # not adopted: refused
        elif kind == lib.OMN_SRT_EV_REJECTED:
            handler = self._handlers.get(ev.listener)
            targets = [handler] if handler is not None else \
                [h for h in set(self._handlers.values()) if hasattr(h, "srt_rejected")]
            for h in targets:
                h.srt_rejected(ffi.string(ev.peer).decode(errors="replace"),
                               ffi.string(ev.streamid).decode(errors="replace"), ev.reject,
                               ffi.string(ev.reason).decode(errors="replace"))
        elif kind == lib.OMN_SRT_EV_CLOSED:
            handler = self._handlers.pop(sock, None)
            if handler is not None:
                handler.srt_closed(sock, ev.reject, ffi.string(ev.reason).decode(errors="replace"))
        else:
            handler = self._handlers.get(sock)
            if handler is None:
                return
            if kind == lib.OMN_SRT_EV_DATA:
                handler.srt_data(sock)
            elif kind == lib.OMN_SRT_EV_CONNECTED:
                handler.srt_connected(sock)


class _Closer:
    """Registered as a server listener so the context is freed when the server stops."""

    def __init__(self, io: SrtIo) -> None:
        self.io = io

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.io.close()


def get_srt_io(server: Any) -> SrtIo:
    """The process's SRT I/O context (created on first use, from the event loop; `server.srt_io`),
    shared by the SRT provider and SRT push/publishers. Freed when the server stops."""
    io = getattr(server, "srt_io", None)
    if io is None:
        io = SrtIo()
        server.srt_io = io
        server.add_listener(_Closer(io))
    return io
