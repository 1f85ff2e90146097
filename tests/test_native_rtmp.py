"""The C RTMP ingest core (native/src/rtmp_*.c, amf0.c, flv.c, codec configs)
against a real publisher: ffmpeg pushes 3 s of H.264 + AAC over RTMP to a
tiny asyncio server that does nothing but feed bytes to the C core and send
what it produces. The server part (RtmpIngestSession) is the seed of the
RTMP provider: handshake, chunk stream, the connect/createStream/publish
dialogue, and per-message dispatch; everything per byte happens in C.
"""
from __future__ import annotations

import asyncio
import shutil
import time

import pytest

from ome._native import ffi, lib

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


# --------------------------------------------------------------------- AMF0
# The provider's AMF0 helpers are thin wrappers over the C encoder/decoder.
from ome.providers.amf0 import Undefined  # noqa: E402
from ome.providers.amf0 import decode as _decode  # noqa: E402
from ome.providers.amf0 import encode as amf0  # noqa: E402


def amf0_to_list(payload) -> list:
    """AMF0 values of a payload given as (cdata pointer, length)."""
    return _decode(*payload)


# --------------------------------------------------------------- session

CSID_COMMAND = 3
CSID_STATUS = 5
STREAM_ID = 1


class RtmpIngestSession(asyncio.Protocol):
    """One publisher connection: bytes in -> C core -> events; C output -> socket."""

    def __init__(self, on_event):
        self.on_event = on_event            # callback(event: str, **fields)
        self.transport = None
        self.hs = ffi.gc(lib.omn_rtmp_handshake_new(int(time.monotonic() * 1000) & 0xFFFFFFFF,
                                                    time.time_ns()),
                         lib.omn_rtmp_handshake_free)
        self.handshake_done = False
        self.conn = ffi.gc(lib.omn_rtmp_conn_new(0), lib.omn_rtmp_conn_free)
        self._msg = ffi.new("omn_rtmp_msg *")
        self._used = ffi.new("size_t *")
        self._out = ffi.new("const uint8_t **")
        self._tag = ffi.new("omn_flv_tag *")

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.on_event("closed", error=exc)

    def data_received(self, data: bytes):
        buf = ffi.from_buffer("uint8_t[]", data)
        off, n = 0, len(data)
        if not self.handshake_done:
            state = lib.omn_rtmp_handshake_feed(self.hs, buf, n, self._used)
            off = self._used[0]
            k = lib.omn_rtmp_handshake_take_output(self.hs, self._out)
            if k:
                self.transport.write(ffi.unpack(ffi.cast("char *", self._out[0]), k))
            if state == lib.OMN_RTMP_HS_FAILED:
                return self.abort("handshake failed")
            self.handshake_done = state == lib.OMN_RTMP_HS_DONE
        while off < n:
            rc = lib.omn_rtmp_conn_read(self.conn, buf + off, n - off, self._used, self._msg)
            off += self._used[0]
            if rc < 0:
                return self.abort(f"chunk stream error {rc}")
            if rc == lib.OMN_RTMP_NEED_MORE:
                break
            self.on_message(self._msg)
        self.flush()

    def abort(self, why: str):
        self.on_event("error", reason=why)
        self.transport.abort()

    def flush(self):
        k = lib.omn_rtmp_conn_take_output(self.conn, self._out)
        if k:
            self.transport.write(ffi.unpack(ffi.cast("char *", self._out[0]), k))

    def send_command(self, msid: int, *values, csid: int = CSID_COMMAND):
        payload = amf0(*values)
        rc = lib.omn_rtmp_conn_write(self.conn, csid, lib.OMN_RTMP_MSG_COMMAND_AMF0, msid, 0,
                                     payload, len(payload))
        assert rc == 0, rc

    # messages
    def on_message(self, m):
        t = m.type_id
        if t == lib.OMN_RTMP_MSG_COMMAND_AMF0:
            self.on_command(m.stream_id, amf0_to_list((m.payload, m.length)))
        elif t == lib.OMN_RTMP_MSG_DATA_AMF0:
            self.on_event("data", values=amf0_to_list((m.payload, m.length)), timestamp=m.timestamp)
        elif t in (lib.OMN_RTMP_MSG_AUDIO, lib.OMN_RTMP_MSG_VIDEO):
            tag = self._tag
            if lib.omn_flv_parse(t, m.payload, m.length, tag) != 0:
                return self.on_event("bad_tag", type_id=t)
            data = ffi.unpack(ffi.cast("char *", tag.data), tag.data_len) \
                if tag.kind == lib.OMN_FLV_KIND_SEQUENCE_HEADER else None
            self.on_event("audio" if t == lib.OMN_RTMP_MSG_AUDIO else "video",
                          timestamp=m.timestamp, timestamp64=m.timestamp64, codec=tag.codec,
                          kind=tag.kind, keyframe=bool(tag.keyframe), cts=tag.composition_time,
                          size=tag.data_len, config=data)
        else:
            self.on_event("control", type_id=t, value=m.control_value, extra=m.control_extra)

    def on_command(self, msid: int, cmd: list):
        name, txn = cmd[0], cmd[1] if len(cmd) > 1 else 0
        self.on_event("command", name=name, args=cmd[2:])
        if name == "connect":
            lib.omn_rtmp_conn_write_window_ack_size(self.conn, 2500000)
            lib.omn_rtmp_conn_write_peer_bandwidth(self.conn, 2500000, 2)
            lib.omn_rtmp_conn_set_chunk_size(self.conn, 4096)
            self.send_command(0, "_result", txn,
                              {"fmsVer": "FMS/3,5,2,654", "capabilities": 31, "mode": 1},
                              {"level": "status", "code": "NetConnection.Connect.Success",
                               "description": "Connection succeeded", "objectEncoding": 0})
        elif name in ("releaseStream", "FCPublish"):
            self.send_command(0, "_result", txn, None, Undefined)
            if name == "FCPublish":
                self.send_command(0, "onFCPublish", 0, None,
                                  {"code": "NetStream.Publish.Start", "description": str(cmd[3])})
        elif name == "createStream":
            self.send_command(0, "_result", txn, None, STREAM_ID)
        elif name == "publish":
            lib.omn_rtmp_conn_write_user_control(self.conn, lib.OMN_RTMP_EV_STREAM_BEGIN, msid)
            self.send_command(msid, "onStatus", 0, None,
                              {"level": "status", "code": "NetStream.Publish.Start",
                               "description": f"{cmd[3]} is now published", "details": cmd[3]},
                              csid=CSID_STATUS)


# ------------------------------------------------------------------ test

def sps_info(avcc: bytes):
    info = ffi.new("omn_sps_info *")
    assert lib.omn_avcc_parse(avcc, len(avcc), info) == 0
    return info


def asc_info(asc: bytes):
    info = ffi.new("omn_asc_info *")
    assert lib.omn_aac_asc_parse(asc, len(asc), info) == 0
    return info


async def test_ffmpeg_publishes_to_c_core():
    events: list[tuple[str, dict]] = []
    closed = asyncio.get_running_loop().create_future()

    def on_event(event, **fields):
        events.append((event, fields))
        if event == "closed" and not closed.done():
            closed.set_result(None)

    server = await asyncio.get_running_loop().create_server(
        lambda: RtmpIngestSession(on_event), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
            "-t", "3", "-c:v", "libx264", "-g", "30", "-c:a", "aac",
            "-f", "flv", f"rtmp://127.0.0.1:{port}/app/stream",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode == 0, err.decode(errors="replace")
        await asyncio.wait_for(closed, timeout=5)
    finally:
        server.close()
        await server.wait_closed()

    assert not [e for e in events if e[0] in ("error", "bad_tag")], events[:5]

    # the command dialogue ffmpeg drove us through
    names = [f["name"] for k, f in events if k == "command"]
    assert names[:5] == ["connect", "releaseStream", "FCPublish", "createStream", "publish"], names
    connect = next(f["args"][0] for k, f in events if k == "command" and f["name"] == "connect")
    assert connect["app"] == "app" and connect["tcUrl"] == f"rtmp://127.0.0.1:{port}/app"
    publish = next(f["args"] for k, f in events if k == "command" and f["name"] == "publish")
    assert publish[1:] == ["stream", "live"]

    # onMetaData
    data = [f["values"] for k, f in events if k == "data"]
    assert data and data[0][:2] == ["@setDataFrame", "onMetaData"]
    meta = data[0][2]
    assert meta["width"] == 640 and meta["height"] == 360 and meta["framerate"] == 30
    assert meta["videocodecid"] == 7 and meta["audiocodecid"] == 10

    video = [f for k, f in events if k == "video"]
    audio = [f for k, f in events if k == "audio"]

    # AVC sequence header first; its SPS says 640x360 at 30 fps
    assert video[0]["kind"] == lib.OMN_FLV_KIND_SEQUENCE_HEADER and video[0]["codec"] == lib.OMN_FLV_CODEC_H264
    sps = sps_info(video[0]["config"])
    assert (sps.width, sps.height) == (640, 360)
    assert sps.fps_den and sps.fps_num / sps.fps_den == 30
    assert sps.nal_length_size == 4
    cs = ffi.new("char[48]")
    assert lib.omn_sps_codec_string(sps, cs, 48) > 0
    assert ffi.string(cs).decode().startswith("avc1.64")        # High profile

    # AAC sequence header: the ASC agrees with onMetaData
    assert audio[0]["kind"] == lib.OMN_FLV_KIND_SEQUENCE_HEADER and audio[0]["codec"] == lib.OMN_FLV_CODEC_AAC
    asc = asc_info(audio[0]["config"])
    assert asc.object_type == 2
    assert asc.sample_rate == meta["audiosamplerate"]
    assert asc.channels == (2 if meta["stereo"] else 1)

    # frames: a keyframe every 30 frames, increasing decode timestamps, ~3 s
    frames = [f for f in video if f["kind"] == lib.OMN_FLV_KIND_FRAME]
    assert 85 <= len(frames) <= 95, len(frames)
    keys = [i for i, f in enumerate(frames) if f["keyframe"]]
    assert keys[0] == 0 and all(b - a == 30 for a, b in zip(keys, keys[1:])) and len(keys) >= 3, keys
    vts = [f["timestamp"] for f in frames]
    assert all(b > a for a, b in zip(vts, vts[1:]))
    assert all(f["cts"] >= 0 for f in frames) and any(f["cts"] > 0 for f in frames)   # B-frames
    ats = [f["timestamp"] for f in audio if f["kind"] == lib.OMN_FLV_KIND_FRAME]
    assert len(ats) > 100 and all(b > a for a, b in zip(ats, ats[1:]))
    assert 2800 <= vts[-1] <= 3100 and 2800 <= ats[-1] <= 3100
    assert all(f["timestamp64"] == f["timestamp"] for f in video + audio)
