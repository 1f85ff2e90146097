"""The RTMP provider end to end: real ffmpeg publishers (and a small Python RTMP client
for what ffmpeg 5.1 cannot send: Enhanced RTMP HEVC, hostile input) against an in-process
ome server on free loopback ports, checked through the REST API and a recording stream module.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from helpers import free_port
from ome._native import ffi, lib
from ome.media import Packet
from ome.providers import amf0
from test_api_support import TOKEN, Api, write_conf

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

A = "/v1/vhosts/default/apps/app"

APPS = """
<Application><Name>app</Name><Type>live</Type>
  <OutputProfiles>
    <OutputProfile><Name>bypass</Name><OutputStreamName>${OriginStreamName}</OutputStreamName>
      <Encodes>
        <Video><Name>src</Name><Bypass>true</Bypass></Video>
        <Audio><Name>aac</Name><Codec>aac</Codec><Bitrate>128000</Bitrate><BypassIfMatch><Codec>eq</Codec></BypassIfMatch></Audio>
        <Audio><Name>opus</Name><Codec>opus</Codec><Bitrate>128000</Bitrate></Audio>
      </Encodes>
      <Playlist><Name>main</Name><FileName>main</FileName><Rendition><Name>src</Name><Video>src</Video><Audio>aac</Audio></Rendition></Playlist>
    </OutputProfile>
    <OutputProfile><Name>audio</Name><OutputStreamName>${OriginStreamName}_audio</OutputStreamName>
      <Encodes><Audio><Name>a</Name><Bypass>true</Bypass></Audio></Encodes>
    </OutputProfile>
    <OutputProfile><Name>hd</Name><OutputStreamName>${OriginStreamName}_720p</OutputStreamName>
      <Encodes><Video><Name>720p</Name><Codec>h264</Codec><Bitrate>2M</Bitrate><Width>1280</Width><Height>720</Height></Video></Encodes>
    </OutputProfile>
  </OutputProfiles>
  <Providers><RTMP><EventGenerator><Event><Trigger>AMFDataMessage:onTextData</Trigger>
    <HLSID3v2><EventType>video</EventType><FrameType>TXXX</FrameType><Info>ome</Info><Data>hello</Data></HLSID3v2>
  </Event></EventGenerator></RTMP></Providers>
</Application>
<Application><Name>replace</Name><Type>live</Type>
  <Providers><RTMP><BlockDuplicateStreamName>false</BlockDuplicateStreamName></RTMP></Providers>
</Application>
<Application><Name>nortmp</Name><Type>live</Type><Providers><SRT/></Providers></Application>
"""


def server_xml(api_port: int, rtmp_port: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Server version="8"><Name>OvenMediaEngine</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Modules><ERTMP><Enable>true</Enable></ERTMP></Modules>
  <Bind><Managers><API><Port>{api_port}</Port></API></Managers>
    <Providers><RTMP><Port>{rtmp_port}</Port></RTMP></Providers></Bind>
  <Managers><Host><Names><Name>*</Name></Names></Host>
    <API><AccessToken>{TOKEN}</AccessToken><Storage><Enabled>false</Enabled></Storage></API></Managers>
  <VirtualHosts>
    <VirtualHost><Name>other</Name><Host><Names><Name>*.example.com</Name></Names></Host>
      <Applications><Application><Name>app</Name><Type>live</Type><Providers><RTMP/></Providers></Application></Applications>
    </VirtualHost>
    <VirtualHost><Name>default</Name><Host><Names><Name>*</Name></Names></Host>
      <Applications>{APPS}</Applications>
    </VirtualHost>
  </VirtualHosts>
</Server>"""


class Recorder:
    """A StreamModule + sink recording every packet and event of every stream."""

    name = "recorder"

    def __init__(self) -> None:
        self.packets: dict[int, list[Packet]] = {}     # id(stream) -> packets
        self.streams: dict[int, Any] = {}
        self.events: list[tuple[str, Any]] = []
        self.ended: list[str] = []

    def on_stream_created(self, stream: Any) -> None:
        self.streams[id(stream)] = stream
        self.packets[id(stream)] = []
        stream.add_sink(self)

    def on_stream_deleted(self, stream: Any) -> None:
        pass

    def on_tracks(self, stream: Any) -> None:
        pass

    def on_packet(self, stream: Any, packet: Packet) -> None:
        self.packets[id(stream)].append(packet)

    def on_event(self, stream: Any, event: Any) -> bool:
        self.events.append((stream.name, event))
        return True

    def on_end(self, stream: Any) -> None:
        self.ended.append(stream.name)

    def of(self, stream: Any) -> list[Packet]:
        return self.packets[id(stream)]


@pytest.fixture
async def ome(tmp_path):
    from ome.config import load_server_config
    from ome.server import Server

    api_port, rtmp_port = free_port(), free_port()
    conf = write_conf(tmp_path / "conf", server_xml(api_port, rtmp_port))
    server = Server(load_server_config(conf))
    recorder = Recorder()
    server.registry.add_stream_module(recorder)
    await server.start()
    session = aiohttp.ClientSession()
    api = Api(server, session, api_port)
    api.rtmp_port = rtmp_port            # type: ignore[attr-defined]
    api.recorder = recorder              # type: ignore[attr-defined]
    server.rtmp.publish_timeout = 3.0
    yield api
    await session.close()
    await server.stop()


def ffmpeg_publish(url: str, seconds: float, *, size: str = "320x240", bframes: int = 0,
                   gop: int = 30) -> subprocess.Popen:
    tune = [] if bframes else ["-tune", "zerolatency"]
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", *tune, "-bf", str(bframes),
         "-g", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "96k", "-f", "flv", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def proc_exit(proc: subprocess.Popen, timeout: float) -> int:
    return await wait_for(lambda: proc.poll() is not None, timeout, "ffmpeg to exit") and proc.returncode


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# ------------------------------------------------------------------ ffmpeg H.264 + AAC

async def test_ffmpeg_h264_aac_with_bframes_api_outputs_and_timestamps(ome):
    port = ome.rtmp_port
    proc = ffmpeg_publish(f"rtmp://127.0.0.1:{port}/app/live?token=x", 3.5, size="640x360", bframes=2, gop=30)
    try:
        server = ome.server
        app = server.registry.app("default", "app")
        stream = await wait_for(lambda: app.streams.get("live"), 10, "the stream")
        # wait for three key frames on the input
        await wait_for(lambda: stream.tracks[0].stats["keyframes"] >= 3, 10, "3 key frames")

        assert (await ome.get(A + "/streams")).json["response"] == ["live"]
        info = (await ome.get(A + "/streams/live")).json["response"]
        assert info["name"] == "live"
        src = info["input"]
        assert src["sourceType"] == "Rtmp" and src["sourceUrl"].startswith("TCP://127.0.0.1:")
        video, audio = src["tracks"]
        assert video["type"] == "Video" and audio["type"] == "Audio"
        v, a = video["video"], audio["audio"]
        assert (v["codec"], v["width"], v["height"], v["bypass"]) == ("H264", 640, 360, False)
        assert v["framerate"] == 30.0 and 29 <= v["framerateAvg"] <= 31
        assert v["keyFrameInterval"] == 30.0 and v["keyFrameIntervalLatest"] == 30.0
        assert v["hasBframes"] is True and v["bitrateAvg"] > 0
        assert (a["codec"], a["samplerate"], a["channel"]) == ("AAC", 48000, 2)
        assert a["bitrateAvg"] > 0

        # outputs: bypass video + aac with opus transcoded, audio-only, hd transcoded (issue 5)
        outputs = {o["name"]: o for o in info["outputs"]}
        assert set(outputs) == {"live", "live_audio", "live_720p"}
        tracks = outputs["live"]["tracks"]
        assert [(t["name"], t["type"]) for t in tracks] == [("src", "Video"), ("aac", "Audio"), ("opus", "Audio")]
        assert tracks[2]["audio"]["bypass"] is False and tracks[2]["audio"]["codec"] == "OPUS"
        hd = outputs["live_720p"]["tracks"][0]["video"]
        assert (hd["bypass"], hd["width"], hd["height"]) == (False, 1280, 720)
        assert tracks[0]["video"]["bypass"] is True and tracks[0]["video"]["codec"] == "H264"
        assert outputs["live"]["playlists"] == [{
            "name": "main", "fileName": "main",
            "options": {"webrtcAutoAbr": True, "hlsChunklistPathDepth": -1, "enableTsPackaging": False},
            "renditions": [{"name": "src", "videoVariantName": "src", "audioVariantName": "aac"}]}]
        assert [t["type"] for t in outputs["live_audio"]["tracks"]] == ["Audio"]
        assert all(o.source_type == "Transcoder" and o.origin is stream for o in stream.outputs.values())

        # events: onTextData from the publisher is not sent by ffmpeg; the API path reaches the outputs
        r = await ome.post(A + "/streams/live:sendEvent",
                           {"eventFormat": "id3v2", "events": [{"frameType": "TXXX", "info": "k", "data": "v"}]})
        assert r.status == 200, r
        assert {n for n, _ in ome.recorder.events} >= {"live", "live_audio"}

        assert await proc_exit(proc, 15) == 0, proc.stderr.read().decode(errors="replace")
        await wait_for(lambda: "live" not in app.streams, 5, "the stream to go")
        assert (await ome.get(A + "/streams")).json["response"] == []
    finally:
        kill(proc)

    rec = ome.recorder
    packets = rec.of(stream)
    vid = [p for p in packets if p.track_id == 0]
    aud = [p for p in packets if p.track_id == 1]
    assert len(vid) >= 95 and vid[0].keyframe
    # decode order strictly increasing; every pts >= dts; B-frames reorder presentation
    assert all(b.dts > a.dts for a, b in zip(vid, vid[1:]))
    assert all(p.pts >= p.dts for p in vid) and any(p.pts > p.dts for p in vid)
    assert all((p.pts - p.dts) % 90 == 0 and p.dts % 90 == 0 for p in vid)     # exact ms -> 90 kHz
    pts = sorted(p.pts for p in vid)
    steps = [b - a for a, b in zip(pts, pts[1:])]
    assert all(2970 <= s <= 3060 for s in steps), sorted(set(steps))          # one frame each, reordered
    # the payload is length-prefixed NAL units
    first = vid[0].data
    (n,) = struct.unpack(">I", first[:4])
    assert 0 < n <= len(first) - 4
    # audio: 48 kHz timescale, one AAC frame (1024 samples) per packet, continuous
    assert len(aud) > 100 and all(b.dts - a.dts == 1024 for a, b in zip(aud, aud[1:]))
    # outputs forward the very same Packet objects (no payload copies)
    out = stream.outputs  # emptied at removal; find the recorded outputs by name
    recorded = {s.name + ("/o" if s.origin else ""): s for s in rec.streams.values()}
    bypass_out, audio_out = recorded["live/o"], recorded["live_audio/o"]
    assert not out
    bypassed = [p for p in rec.of(bypass_out) if p.track_id in (0, 1)]       # track 2: transcoded opus
    assert len(bypassed) == len(packets)
    assert all(a is b for a, b in zip(bypassed, packets))
    assert len([p for p in rec.of(bypass_out) if p.track_id == 2]) > 50
    assert [p.data for p in rec.of(audio_out)] == [p.data for p in aud]
    assert all(a is b for a, b in zip(rec.of(audio_out), aud))
    assert rec.ended.count("live") == 2 and rec.ended.count("live_audio") == 1 and rec.ended.count("live_720p") == 1


async def test_duplicate_blocked_delete_disconnects_and_kill_removes(ome):
    port = ome.rtmp_port
    app = ome.server.registry.app("default", "app")
    first = ffmpeg_publish(f"rtmp://127.0.0.1:{port}/app/dup", 30)
    second = third = None
    try:
        stream = await wait_for(lambda: app.streams.get("dup"), 10, "the first publisher")
        second = ffmpeg_publish(f"rtmp://127.0.0.1:{port}/app/dup", 30)
        assert await proc_exit(second, 10) != 0                  # BlockDuplicateStreamName (default true)
        assert app.streams.get("dup") is stream and first.poll() is None

        # DELETE disconnects the publisher
        assert (await ome.delete(A + "/streams/dup")).status == 200
        assert await proc_exit(first, 10) != 0
        assert "dup" not in app.streams
        assert (await ome.get(A + "/streams/dup")).status == 404

        # a publisher killed mid-stream: the stream goes, the server stays
        third = ffmpeg_publish(f"rtmp://127.0.0.1:{port}/app/dup", 30)
        await wait_for(lambda: app.streams.get("dup"), 10, "the third publisher")
        third.kill()
        third.wait()
        await wait_for(lambda: "dup" not in app.streams, 5, "the killed publisher's stream to go")
        assert (await ome.get(A + "/streams")).json["response"] == []
    finally:
        for p in (first, second, third):
            if p is not None:
                kill(p)


async def test_unknown_app_and_app_without_rtmp_are_rejected(ome, caplog):
    port = ome.rtmp_port
    proc = ffmpeg_publish(f"rtmp://127.0.0.1:{port}/nope/s", 5)
    try:
        assert await proc_exit(proc, 10) != 0
    finally:
        kill(proc)
    assert "Could not find the application: [default/nope]" in caplog.text
    async with RtmpClient(port) as c:
        reply = await c.connect("nortmp")
        assert reply[0] == "_error" and reply[3]["code"] == "NetConnection.Connect.Rejected"
        await c.closed()
    assert "The RTMP provider is not enabled in the application [default/nortmp]" in caplog.text
    # host names pick the vhost: *.example.com -> "other" (its app exists there)
    async with RtmpClient(port) as c:
        assert (await c.connect("app", host="live.example.com"))[0] == "_result"
        await c.publish("s")
        await c.audio_only()
        other = ome.server.registry.app("other", "app")
        await wait_for(lambda: "s" in other.streams, 5, "the stream in vhost other")
    await wait_for(lambda: "s" not in other.streams, 5, "the stream to go with its publisher")


# ------------------------------------------------------------------ Python RTMP client

class RtmpClient:
    """Just enough of an RTMP publisher: handshake, chunked messages via the C writer,
    replies parsed with the C reader."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = ffi.gc(lib.omn_rtmp_conn_new(0), lib.omn_rtmp_conn_free)
        self.reader_conn = ffi.gc(lib.omn_rtmp_conn_new(0), lib.omn_rtmp_conn_free)
        self._out = ffi.new("const uint8_t **")
        self._msg = ffi.new("omn_rtmp_msg *")
        self._used = ffi.new("size_t *")
        self.txn = 1
        self.replies: list[list[Any]] = []

    async def __aenter__(self) -> "RtmpClient":
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.w.close()

    async def handshake(self) -> None:
        c1 = bytes(8) + os.urandom(1528)
        self.w.write(b"\x03" + c1)
        s = await asyncio.wait_for(self.r.readexactly(1 + 1536 + 1536), 5)
        assert s[0] == 3
        self.w.write(s[1:1537])                               # C2 = S1

    def send(self, csid: int, type_id: int, msid: int, ts: int, payload: bytes) -> None:
        assert lib.omn_rtmp_conn_write(self.conn, csid, type_id, msid, ts, payload, len(payload)) == 0
        self.flush()

    def flush(self) -> None:
        k = lib.omn_rtmp_conn_take_output(self.conn, self._out)
        if k:
            self.w.write(bytes(ffi.buffer(self._out[0], k)))

    def command(self, *values: Any, msid: int = 0) -> None:
        self.send(3, lib.OMN_RTMP_MSG_COMMAND_AMF0, msid, 0, amf0.encode(*values))

    async def reply(self, *names: str, timeout: float = 5.0) -> list[Any]:
        """The next command from the server whose name is one of `names`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, cmd in enumerate(self.replies):
                if cmd[0] in names:
                    return self.replies.pop(i)
            data = await asyncio.wait_for(self.r.read(65536), max(0.01, deadline - time.monotonic()))
            if not data:
                raise ConnectionError("closed by the server")
            buf = ffi.from_buffer("uint8_t[]", data)
            off = 0
            while off < len(data):
                rc = lib.omn_rtmp_conn_read(self.reader_conn, buf + off, len(data) - off, self._used, self._msg)
                off += self._used[0]
                assert rc >= 0
                if rc == 0:
                    break
                if self._msg.type_id == lib.OMN_RTMP_MSG_COMMAND_AMF0:
                    self.replies.append(amf0.decode(self._msg.payload, self._msg.length))

    async def closed(self, timeout: float = 5.0) -> None:
        """Reads until the server closes the connection."""
        async def drain() -> None:
            try:
                while await self.r.read(65536):
                    pass
            except ConnectionError:
                pass
        await asyncio.wait_for(drain(), timeout)

    async def connect(self, app: str, host: str = "127.0.0.1") -> list[Any]:
        await self.handshake()
        self.command("connect", 1, {"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0",
                                    "tcUrl": f"rtmp://{host}:{self.port}/{app}"})
        return await self.reply("_result", "_error")

    async def publish(self, name: str) -> list[Any]:
        self.command("releaseStream", 2, None, name)
        self.command("FCPublish", 3, None, name)
        self.command("createStream", 4, None)
        await self.reply("_result")
        self.command("publish", 5, None, name, "live", msid=1)
        return await self.reply("onStatus")

    def data(self, ts: int, *values: Any) -> None:
        self.send(4, lib.OMN_RTMP_MSG_DATA_AMF0, 1, ts, amf0.encode(*values))

    def video(self, ts: int, payload: bytes) -> None:
        self.send(6, lib.OMN_RTMP_MSG_VIDEO, 1, ts, payload)

    def audio(self, ts: int, payload: bytes) -> None:
        self.send(4, lib.OMN_RTMP_MSG_AUDIO, 1, ts, payload)

    async def audio_only(self, frames: int = 5) -> None:
        """onMetaData (AAC only), an AAC sequence header (LC, 48 kHz, stereo) and a few frames."""
        self.data(0, "@setDataFrame", "onMetaData", {"audiocodecid": 10, "audiosamplerate": 48000})
        self.audio(0, b"\xaf\x00\x11\x90")
        for i in range(frames):
            self.audio(i * 21, b"\xaf\x01" + bytes(50))
        await self.w.drain()


async def test_block_duplicate_false_replaces_the_first_publisher(ome):
    app = ome.server.registry.app("default", "replace")
    async with RtmpClient(ome.rtmp_port) as a, RtmpClient(ome.rtmp_port) as b:
        await a.connect("replace")
        assert (await a.publish("s"))[3]["code"] == "NetStream.Publish.Start"
        await a.audio_only()
        first = await wait_for(lambda: app.streams.get("s"), 5, "the first stream")
        assert [t.codec for t in first.tracks.values()] == ["AAC"]
        await b.connect("replace")
        assert (await b.publish("s"))[3]["code"] == "NetStream.Publish.Start"
        await a.closed()                                   # the first publisher is dropped
        assert "s" not in app.streams or app.streams["s"] is not first
        await b.audio_only()
        second = await wait_for(lambda: app.streams.get("s"), 5, "the second stream")
        assert second is not first and second.source_url != first.source_url


async def test_event_generator_turns_ontextdata_into_events(ome):
    rec = ome.recorder
    async with RtmpClient(ome.rtmp_port) as c:
        await c.connect("app")
        await c.publish("ev")
        await c.audio_only()
        app = ome.server.registry.app("default", "app")
        await wait_for(lambda: "ev" in app.streams, 5, "the stream")
        c.data(500, "onTextData", {"text": "hi"})
        c.data(600, "onCuePoint", {"name": "x"})          # no trigger configured for it
        await wait_for(lambda: rec.events, 5, "an event")
    name, event = rec.events[0]
    assert name == "ev" and event.timestamp_ms == 500 and event.trigger == "onTextData"
    assert event.event_format == "id3v2" and event.event_type == "video"
    assert event.events == [{"frameType": "TXXX", "info": "ome", "data": "hello"}]
    assert event.amf == [{"text": "hi"}]
    assert {n for n, _ in rec.events} == {"ev", "ev_audio"}       # input and its output


# ------------------------------------------------------------------ Enhanced RTMP HEVC

def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def annexb_nals(data: bytes) -> list[bytes]:
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i)
        i = data.find(b"\x00\x00\x01", i + 3)
    nals = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(data)
        if k + 1 < len(starts) and data[end - 1] == 0:
            end -= 1                                   # 4-byte start code of the next NAL
        nals.append(data[start + 3:end])
    return nals


def hevc_access_units(path: Path) -> list[list[bytes]]:
    aus: list[list[bytes]] = []
    cur: list[bytes] = []
    has_vcl = False
    for nal in annexb_nals(path.read_bytes()):
        t = (nal[0] >> 1) & 0x3F
        first_slice = t < 32 and bool(nal[2] & 0x80)
        if has_vcl and (32 <= t <= 40 or first_slice):
            aus.append(cur)
            cur, has_vcl = [], False
        cur.append(nal)
        has_vcl = has_vcl or t < 32
    if cur:
        aus.append(cur)
    return aus


def hvcc(vps: bytes, sps: bytes, pps: bytes) -> bytes:
    ptl = _unescape(sps)[3:15]          # general profile/tier/level: 12 bytes after header + 1 byte
    rec = bytes([1]) + ptl[:11] + ptl[11:12]
    rec += struct.pack(">HBBBBHB", 0xF000, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0x0F)   # 4:2:0, 8 bit, 4-byte lengths
    rec += bytes([3])
    for t, nal in ((32, vps), (33, sps), (34, pps)):
        rec += bytes([0x80 | t]) + struct.pack(">HH", 1, len(nal)) + nal
    return rec


async def test_enhanced_rtmp_hevc(ome, tmp_path):
    raw = tmp_path / "v.hevc"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=30", "-frames:v", "30", "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "bframes=0:keyint=10:min-keyint=10:scenecut=0:open-gop=0:log-level=error", "-pix_fmt", "yuv420p",
                    "-f", "hevc", str(raw)], check=True)
    aus = hevc_access_units(raw)
    assert len(aus) == 30
    params = {(n[0] >> 1) & 0x3F: n for n in aus[0] if 32 <= (n[0] >> 1) & 0x3F <= 34}
    config = hvcc(params[32], params[33], params[34])
    app = ome.server.registry.app("default", "app")
    async with RtmpClient(ome.rtmp_port) as c:
        await c.connect("app")
        await c.publish("hevc")
        c.data(0, "@setDataFrame", "onMetaData", {"videocodecid": float(0x68766331), "width": 320, "height": 240})
        # E-RTMP: IsExHeader | FrameType (1 key, 2 inter) | PacketType, FourCC, [SI24 cts], body
        c.video(0, bytes([0x80 | 0x10 | 0]) + b"hvc1" + config)
        for i, au in enumerate(aus):
            key = any(16 <= (n[0] >> 1) & 0x3F <= 21 for n in au)
            body = b"".join(struct.pack(">I", len(n)) + n for n in au if (n[0] >> 1) & 0x3F < 32 or
                            (n[0] >> 1) & 0x3F in (39, 40))
            c.video(i * 33, bytes([0x80 | (0x10 if key else 0x20) | 1]) + b"hvc1" + b"\x00\x00\x00" + body)
        await c.w.drain()
        stream = await wait_for(lambda: app.streams.get("hevc"), 5, "the HEVC stream")
        await wait_for(lambda: len(ome.recorder.of(stream)) == 30, 5, "30 HEVC frames")
        info = (await ome.get(A + "/streams/hevc")).json["response"]
    v = info["input"]["tracks"][0]["video"]
    assert (v["codec"], v["width"], v["height"]) == ("H265", 320, 240)
    # bypass keeps H.265; the hd profile transcodes it to H.264 (issue 5)
    assert [t["video"]["codec"] for o in info["outputs"] for t in o["tracks"] if "video" in t] == ["H265", "H264"]
    packets = ome.recorder.of(stream)
    assert [p.dts for p in packets] == [i * 33 * 90 for i in range(30)]
    assert [p.keyframe for p in packets] == [i % 10 == 0 for i in range(30)]
    assert stream.tracks[0].config == config


# ------------------------------------------------------------------ hostile input

async def _api_alive(ome) -> None:
    assert (await ome.get("/v1/vhosts")).status == 200


async def test_garbage_and_malformed_input_drop_only_that_connection(ome):
    port = ome.rtmp_port
    # 1. not RTMP at all (C0 != 3)
    async with RtmpClient(port) as c:
        c.w.write(b"GET / HTTP/1.1\r\n\r\n" + os.urandom(3000))
        await c.closed()
    # 2. random chunk-stream bytes after a valid handshake
    async with RtmpClient(port) as c:
        await c.handshake()
        c.w.write(b"\x44" + os.urandom(5000))          # fmt 1 on a chunk stream never opened
        await c.closed()
    # 3. absurd Set Chunk Size (top bit set), then a message
    async with RtmpClient(port) as c:
        await c.connect("app")
        c.send(2, lib.OMN_RTMP_MSG_SET_CHUNK_SIZE, 0, 0, struct.pack(">I", 0x80000000))
        c.command("createStream", 2, None)
        await c.closed()
    # 4. a message header announcing 16 MiB (over the per-message cap)
    async with RtmpClient(port) as c:
        await c.handshake()
        c.w.write(bytes([0x03]) + b"\x00\x00\x00" + b"\xff\xff\xff" + bytes([20]) + b"\x00\x00\x00\x00" + bytes(128))
        await c.closed()
    # 5. AMF0 garbage in a command
    async with RtmpClient(port) as c:
        await c.connect("app")
        c.send(3, lib.OMN_RTMP_MSG_COMMAND_AMF0, 0, 0, b"\x02\xff\xffabc\x11\x0d")
        await c.closed()
    # 6. a lying FLV tag: an AVC sequence header whose avcC claims more than it has
    async with RtmpClient(port) as c:
        await c.connect("app")
        await c.publish("liar")
        c.video(0, b"\x17\x00\x00\x00\x00" + b"\x01\x64\x00\x1f\xff\xe1\xff\xff\x67")
        await c.closed()
    # 7. no publish at all: closed after the publish timeout
    async with RtmpClient(port) as c:
        await c.connect("app")
        t0 = time.monotonic()
        await c.closed(timeout=6)
        assert time.monotonic() - t0 >= 2
    await _api_alive(ome)
    assert ome.server.registry.app("default", "app").streams == {}
    # and a good publisher still gets through
    async with RtmpClient(port) as c:
        await c.connect("app")
        await c.publish("ok")
        await c.audio_only()
        await wait_for(lambda: "ok" in ome.server.registry.app("default", "app").streams, 5, "a good stream")
