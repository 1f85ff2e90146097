"""RTMP/RTMPS push: an RTMP client publishing FLV (H.264 + AAC) to `url/streamKey`.

The handshake (simple, C0/C1/C2) and the command flow (connect, releaseStream, FCPublish,
createStream, publish, @setDataFrame onMetaData) are per-connection work here; chunking,
AMF0 and FLV tag bodies are the native core's (rtmp_chunk.c, amf0.c, flv_mux.c).
"""
from __future__ import annotations

import asyncio
import os
import ssl
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from ome._native import ffi, lib
from ome.media import MediaKind
from ome.providers import amf0

from .muxers import FlvBodies
from .push import limit_send_buffer

if TYPE_CHECKING:
    from .push import PushSink, PushTask

CSID_COMMAND = 3
CSID_AUDIO = 4
CSID_VIDEO = 6
CSID_DATA = 5
CHUNK_SIZE = 4096
WRITE_HIGH_WATER = 256 * 1024     # bytes in the transport before we wait for the peer


def split_url(url: str, stream_key: str) -> tuple[str, int, bool, str, str, str]:
    """(host, port, tls, app, stream name, tcUrl) of OME's `url + "/" + streamKey`."""
    full = url + ("/" + stream_key if stream_key else "")
    u = urllib.parse.urlsplit(full)
    tls = u.scheme.lower() == "rtmps"
    port = u.port or (443 if tls else 1935)
    path = u.path.lstrip("/")
    app, _, name = path.rpartition("/")
    if u.query:
        name += "?" + u.query
    tc_url = f"{u.scheme}://{u.hostname}:{port}/{app}"
    return u.hostname or "", port, tls, app, name, tc_url


class RtmpPushConnection:
    def __init__(self, task: "PushTask", tracks: list[Any], connect_timeout: float, send_timeout: float) -> None:
        self.task = task
        self.tracks = tracks
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.conn = ffi.gc(lib.omn_rtmp_conn_new(0), lib.omn_rtmp_conn_free)
        self._msg = ffi.new("omn_rtmp_msg *")
        self._used = ffi.new("size_t *")
        self._out = ffi.new("const uint8_t **")
        self.flv = FlvBodies()
        self.msid = 0
        self.replies: dict[float, list[Any]] = {}
        self.status: list[dict[str, Any]] = []
        self.event = asyncio.Event()
        self.read_task: asyncio.Task[None] | None = None
        self.error: str | None = None

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> None:
        host, port, tls, app, name, tc_url = split_url(self.task.request.url, self.task.request.stream_key)
        context = ssl.create_default_context() if tls else None
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host if tls else None),
            self.connect_timeout)
        await asyncio.wait_for(self._handshake(), self.connect_timeout)
        limit_send_buffer(self.writer)
        self.read_task = asyncio.get_running_loop().create_task(self._read_loop())
        lib.omn_rtmp_conn_set_chunk_size(self.conn, CHUNK_SIZE)
        self._command(0, "connect", 1, {"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; ome)",
                                        "tcUrl": tc_url})
        await self._wait_reply(1)
        self._command(0, "releaseStream", 2, None, name)
        self._command(0, "FCPublish", 3, None, name)
        self._command(0, "createStream", 4, None)
        reply = await self._wait_reply(4)
        self.msid = int(reply[3]) if len(reply) > 3 and isinstance(reply[3], (int, float)) else 1
        self._command(self.msid, "publish", 5, None, name, "live")
        await self._wait_status("NetStream.Publish.Start")
        self._send_headers()
        await self._drain()

    async def _handshake(self) -> None:
        assert self.reader is not None and self.writer is not None
        c1 = (int(time.monotonic() * 1000) & 0xFFFFFFFF).to_bytes(4, "big") + bytes(4) + os.urandom(1528)
        self.writer.write(b"\x03" + c1)
        s0s1 = await self.reader.readexactly(1 + 1536)
        if s0s1[0] != 3:
            raise ConnectionError(f"RTMP version {s0s1[0]} from the server")
        await self.reader.readexactly(1536)           # S2
        self.writer.write(s0s1[1:])                    # C2 = S1
        await self.writer.drain()

    async def _read_loop(self) -> None:
        assert self.reader is not None
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                buf = ffi.from_buffer("uint8_t[]", data)
                off = 0
                while off < len(data):
                    rc = lib.omn_rtmp_conn_read(self.conn, buf + off, len(data) - off, self._used, self._msg)
                    off += self._used[0]
                    if rc < 0:
                        raise ConnectionError(f"bad RTMP from the server ({rc})")
                    if rc == lib.OMN_RTMP_NEED_MORE:
                        break
                    self._on_message(self._msg)
                self._flush()
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            self.event.set()

    def _on_message(self, m: Any) -> None:
        if m.type_id == lib.OMN_RTMP_MSG_COMMAND_AMF0:
            try:
                values = amf0.decode(m.payload, m.length)
            except amf0.Amf0Error:
                return
            if len(values) >= 2 and values[0] in ("_result", "_error") and isinstance(values[1], (int, float)):
                self.replies[float(values[1])] = values
            elif values and values[0] == "onStatus":
                info = next((v for v in values[2:] if isinstance(v, dict)), {})
                self.status.append(info)
            self.event.set()
        elif m.type_id == lib.OMN_RTMP_MSG_USER_CONTROL and m.control_extra == lib.OMN_RTMP_EV_PING_REQUEST:
            lib.omn_rtmp_conn_write_user_control(self.conn, lib.OMN_RTMP_EV_PING_RESPONSE, m.control_value)

    async def _wait_reply(self, txn: int) -> list[Any]:
        async def wait() -> list[Any]:
            while float(txn) not in self.replies:
                if self.error:
                    raise ConnectionError(self.error)
                self.event.clear()
                await self.event.wait()
            return self.replies.pop(float(txn))
        reply = await asyncio.wait_for(wait(), self.connect_timeout)
        if reply[0] == "_error":
            info = next((v for v in reply[2:] if isinstance(v, dict)), {})
            raise ConnectionError(f"RTMP {info.get('code', '_error')}: {info.get('description', '')}")
        return reply

    async def _wait_status(self, code: str) -> None:
        async def wait() -> None:
            while True:
                for info in self.status:
                    got = str(info.get("code", ""))
                    if got == code:
                        return
                    if info.get("level") == "error" or got.endswith(("Failed", "BadName", "Rejected")):
                        raise ConnectionError(f"RTMP {got}: {info.get('description', '')}")
                self.status.clear()
                if self.error:
                    raise ConnectionError(self.error)
                self.event.clear()
                await self.event.wait()
        await asyncio.wait_for(wait(), self.connect_timeout)

    # -- writing ------------------------------------------------------------------------------
    def _command(self, msid: int, *values: Any) -> None:
        payload = amf0.encode(*values)
        lib.omn_rtmp_conn_write(self.conn, CSID_COMMAND, lib.OMN_RTMP_MSG_COMMAND_AMF0, msid, 0, payload, len(payload))
        self._flush()

    def _flush(self) -> int:
        n = lib.omn_rtmp_conn_take_output(self.conn, self._out)
        if n and self.writer is not None:
            self.writer.write(ffi.buffer(self._out[0], n)[:])
        return int(n)

    async def _drain(self) -> None:
        assert self.writer is not None
        if self.writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            try:
                await asyncio.wait_for(self.writer.drain(), self.send_timeout)
            except asyncio.TimeoutError:
                raise ConnectionError(f"the peer took no data for {self.send_timeout:g} s") from None
        if self.error:
            raise ConnectionError(self.error)

    def _send_headers(self) -> None:
        meta: dict[str, Any] = {}
        for t in self.tracks:
            if t.kind == MediaKind.VIDEO:
                meta.update(width=t.width, height=t.height, videocodecid=7)
            else:
                meta.update(audiocodecid=10, audiosamplerate=t.samplerate or t.timescale,
                            audiochannels=t.channels or 2)
        payload = amf0.encode("@setDataFrame", "onMetaData", meta)
        lib.omn_rtmp_conn_write(self.conn, CSID_DATA, lib.OMN_RTMP_MSG_DATA_AMF0, self.msid, 0, payload, len(payload))
        for t in self.tracks:
            body = self.flv.body(t.codec.upper(), True, True, 0, t.config)
            video = t.kind == MediaKind.VIDEO
            lib.omn_rtmp_conn_write(self.conn, CSID_VIDEO if video else CSID_AUDIO,
                                    lib.OMN_RTMP_MSG_VIDEO if video else lib.OMN_RTMP_MSG_AUDIO,
                                    self.msid, 0, body, len(body))
        self._flush()

    async def pump(self, sink: "PushSink") -> None:
        """Send queued packets until the stream goes away; raises on a dead or stuck peer."""
        task, q = self.task, self.task.queue
        base: list[int] | None = None
        while task.sink is sink and not task.stopping:
            item = q.pop()
            if item is None:
                if self.error:
                    raise ConnectionError(self.error)
                await q.ready.wait()
                continue
            i, packet = item
            t = self.tracks[i]
            if base is None:                     # zero-based timestamps, one origin for all tracks
                base = [packet.dts * tr.timescale // t.timescale for tr in self.tracks]
            dts = packet.dts - base[i]
            if dts < 0:
                continue
            ms = dts * 1000 // t.timescale
            video = t.kind == MediaKind.VIDEO
            cts = (packet.pts - packet.dts) * 1000 // t.timescale if video else 0
            body = self.flv.body(t.codec.upper(), False, packet.keyframe, cts, packet.data)
            lib.omn_rtmp_conn_write(self.conn, CSID_VIDEO if video else CSID_AUDIO,
                                    lib.OMN_RTMP_MSG_VIDEO if video else lib.OMN_RTMP_MSG_AUDIO,
                                    self.msid, ms & 0xFFFFFFFF, body, len(body))
            task.count_sent(self._flush(), ms)
            await self._drain()

    async def close(self) -> None:
        if self.read_task is not None:
            self.read_task.cancel()
            await asyncio.gather(self.read_task, return_exceptions=True)
        if self.writer is not None:
            try:
                if self.msid and self.error is None:
                    self._command(self.msid, "deleteStream", 6, None, self.msid)
            except Exception:
                pass
            self.writer.transport.abort()
            self.writer = None
