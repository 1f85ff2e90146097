"""MPEG-TS push over UDP (7 x 188-byte datagrams) or TCP, and over SRT (caller) when the
native SRT layer is there. The muxing is native/src/mpegts_mux.c."""
from __future__ import annotations

import asyncio
import socket
import urllib.parse
from typing import TYPE_CHECKING, Any

from .muxers import TsMuxer

if TYPE_CHECKING:
    from .push import PushSink, PushTask

DATAGRAM = 7 * 188
WRITE_HIGH_WATER = 256 * 1024


def srt_available() -> bool:
    """SRT push needs the native SRT caller (another issue's layer); absent -> refused."""
    from ome._native import lib
    return hasattr(lib, "omn_srt_caller_new")


def ts_connection(task: "PushTask", tracks: list[Any], connect_timeout: float, send_timeout: float) -> Any:
    scheme = urllib.parse.urlsplit(task.request.url).scheme.lower()
    if scheme == "udp":
        return UdpTsPush(task, tracks)
    if scheme == "tcp":
        return TcpTsPush(task, tracks, connect_timeout, send_timeout)
    raise ConnectionError(f"no transport for {scheme}://")


class _TsPump:
    """Shared pump: packets from the push queue -> TS bytes -> send()."""

    task: "PushTask"
    tracks: list[Any]

    def _init_mux(self) -> None:
        self.mux = TsMuxer(self.tracks)
        self.pending = bytearray()

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def pump(self, sink: "PushSink") -> None:
        task, q = self.task, self.task.queue
        base: list[int] | None = None
        while task.sink is sink and not task.stopping:
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
        self.pending += data
        n = len(self.pending) - len(self.pending) % DATAGRAM
        assert self.transport is not None
        for off in range(0, n, DATAGRAM):
            self.transport.sendto(bytes(self.pending[off:off + DATAGRAM]))
        del self.pending[:n]
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
