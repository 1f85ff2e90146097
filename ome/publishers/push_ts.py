"""MPEG-TS push over UDP (7 x 188-byte datagrams) or TCP, and over SRT (caller) when the
native SRT layer is there. The muxing is native/src/mpegts_mux.c."""
from __future__ import annotations

import asyncio
import socket
import urllib.parse
from typing import TYPE_CHECKING, Any

from .muxers import TsMuxer
from .push import limit_send_buffer

if TYPE_CHECKING:
    from .push import PushSink, PushTask

DATAGRAM = 7 * 188
WRITE_HIGH_WATER = 256 * 1024


def srt_available() -> bool:
    """SRT push needs the native SRT layer (native/src/srt_io.c); absent -> refused."""
    from ome._native import lib
    return hasattr(lib, "omn_srt_connect")


def ts_connection(task: "PushTask", tracks: list[Any], connect_timeout: float, send_timeout: float) -> Any:
    scheme = urllib.parse.urlsplit(task.request.url).scheme.lower()
    if scheme == "udp":
        return UdpTsPush(task, tracks)
    if scheme == "tcp":
        return TcpTsPush(task, tracks, connect_timeout, send_timeout)
    if scheme == "srt":
        return SrtTsPush(task, tracks, connect_timeout, send_timeout)
    raise ConnectionError(f"no transport for {scheme}://")


class _TsPump:
    """Shared pump: packets from the push queue -> TS bytes -> send()."""

    task: "PushTask"
    tracks: list[Any]
    error: str | None = None

    def _init_mux(self) -> None:
        self.mux = TsMuxer(self.tracks)

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def pump(self, sink: "PushSink") -> None:
        task, q = self.task, self.task.queue
        base: list[int] | None = None
        while task.sink is sink and not task.stopping:
            if self.error:
                raise ConnectionError(self.error)
            item = q.pop()
            if item is None:
                await q.ready.wait()
                continue
            i, packet = item
            t = self.tracks[i]
            if base is None:
                base = [packet.dts * tr.timescale // t.timescale for tr in self.tracks]
            dts = packet.dts - base[i]
            if dts < 0:
                continue
            data = self.mux.write(i, packet.data, dts, packet.pts - base[i], packet.keyframe)
            if data:
                await self.send(data)
                task.count_sent(len(data), dts * 1000 // t.timescale)


class UdpTsPush(_TsPump):
    def __init__(self, task: "PushTask", tracks: list[Any]) -> None:
        self.task, self.tracks = task, tracks
        self.transport: asyncio.DatagramTransport | None = None
        self._init_mux()

    async def connect(self) -> None:
        u = urllib.parse.urlsplit(self.task.request.url)
        if not u.hostname or not u.port:
            raise ConnectionError("udp:// needs a host and a port")
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in u.hostname else socket.AF_INET
        self.transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(u.hostname, u.port), family=family)

    async def send(self, data: bytes) -> None:
        """One access unit's TS packets (whole 188-byte packets) in datagrams of up to 7; the
        last one may be shorter, so nothing waits for the next frame."""
        assert self.transport is not None
        for off in range(0, len(data), DATAGRAM):
            self.transport.sendto(data[off:off + DATAGRAM])
        if self.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            raise ConnectionError("UDP send buffer full")

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class TcpTsPush(_TsPump):
    def __init__(self, task: "PushTask", tracks: list[Any], connect_timeout: float, send_timeout: float) -> None:
        self.task, self.tracks = task, tracks
        self.connect_timeout, self.send_timeout = connect_timeout, send_timeout
        self.writer: asyncio.StreamWriter | None = None
        self._init_mux()

    async def connect(self) -> None:
        u = urllib.parse.urlsplit(self.task.request.url)
        _reader, self.writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port),
                                                      self.connect_timeout)
        limit_send_buffer(self.writer)

    async def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            try:
                await asyncio.wait_for(self.writer.drain(), self.send_timeout)
            except asyncio.TimeoutError:
                raise ConnectionError(f"the peer took no data for {self.send_timeout:g} s") from None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None


def _srt_options(query: str, connect_timeout: float) -> Any:
    """srt:// query options (libsrt / srt-live-transmit names; latency in ms)."""
    from ome.providers.srt_io import SrtOptions
    q = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    opts = SrtOptions(conn_timeout_ms=int(connect_timeout * 1000), send_queue_bytes=1 << 20)
    for name, attr in (("latency", "latency_ms"), ("pbkeylen", "pbkeylen"), ("payload_size", "payload_size"),
                       ("peeridletimeo", "peer_idle_ms")):
        if q.get(name, "").isdigit():
            setattr(opts, attr, int(q[name]))
    opts.passphrase = q.get("passphrase", "")
    opts.streamid = q.get("streamid", "")
    return opts


class SrtTsPush(_TsPump):
    """MPEG-TS over SRT, caller mode, on the process's native SRT context (ome/providers/srt_io.py)."""

    def __init__(self, task: "PushTask", tracks: list[Any], connect_timeout: float, send_timeout: float) -> None:
        self.task, self.tracks = task, tracks
        self.connect_timeout, self.send_timeout = connect_timeout, send_timeout
        self.sock = 0
        self.connected: asyncio.Future[None] | None = None
        self.full_since: float | None = None
        self._init_mux()

    async def connect(self) -> None:
        from ome.providers.srt_io import get_srt_io
        u = urllib.parse.urlsplit(self.task.request.url)
        if not u.hostname or not u.port:
            raise ConnectionError("srt:// needs a host and a port")
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(u.hostname, u.port, type=socket.SOCK_DGRAM)
        host = infos[0][4][0]
        self.io = get_srt_io(self.task.module.server)
        self.connected = loop.create_future()
        self.sock = self.io.connect(host, u.port, _srt_options(u.query, self.connect_timeout), self)
        await asyncio.wait_for(asyncio.shield(self.connected), self.connect_timeout + 1)

    # SrtIo handler
    def srt_connected(self, sock: int) -> None:
        if self.connected is not None and not self.connected.done():
            self.connected.set_result(None)

    def srt_closed(self, sock: int, reject: int, reason: str) -> None:
        self.sock = 0
        self.error = f"SRT connection closed: {reason or reject}"
        if self.connected is not None and not self.connected.done():
            self.connected.set_exception(ConnectionError(self.error))
        self.task.queue.ready.set()

    def srt_data(self, sock: int) -> None:
        """A receiver has nothing to say to a pusher: whatever arrives is dropped."""
        from ome._native import ffi, lib
        buf = ffi.new("omn_buf *")
        self.io.take_into(sock, buf)
        lib.omn_buf_free(buf)

    async def send(self, data: bytes) -> None:
        from ome._native import lib
        if not self.sock:
            raise ConnectionError(self.error or "SRT connection closed")
        rc = self.io.send(self.sock, data)           # whole TS packets: messages stay aligned
        if rc == lib.OMN_SRT_E_FULL:       # the peer is not taking data: drop, and give up after a while
            now = asyncio.get_running_loop().time()
            self.full_since = self.full_since or now
            if now - self.full_since > self.send_timeout:
                raise ConnectionError(f"the peer took no data for {self.send_timeout:g} s")
        elif rc != 0:
            raise ConnectionError(f"SRT send failed ({rc})")
        else:
            self.full_since = None

    async def close(self) -> None:
        if self.sock:
            self.io.close_socket(self.sock)
            self.sock = 0
