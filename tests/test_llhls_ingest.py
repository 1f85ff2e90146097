"""RTMP in, LL-HLS out, end to end (issue 3): a small Python RTMP client (E-RTMP HEVC + AAC,
timestamps chosen by the test: forward/backward jumps, the 2^32 ms wrap, a publisher that
vanishes mid-part) against an in-process server on free loopback ports; every playlist reload
passes the §5 rule checks of test_llhls_publisher, the media is decoded by ffprobe, stream info
lists the default LL-HLS playlist, and LL-HLS is served on TLSPort with a self-signed cert.
"""
from __future__ import annotations

import asyncio
import time
import json
import shutil
import ssl
import struct
import subprocess
from pathlib import Path

import aiohttp
import pytest

from helpers import free_port
from test_api_support import TOKEN, Api, write_conf
from test_llhls_publisher import check_media, parse_media
from test_rtmp_provider import RtmpClient, hevc_access_units, hvcc, wait_for

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None
                                or shutil.which("openssl") is None, reason="ffmpeg/ffprobe/openssl missing")

FPS = 30
WRAP = 1 << 32


def server_xml(api: int, rtmp: int, llhls: int, tls: int, cert: Path, key: Path, cert2: Path, key2: Path) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Server version="8"><Name>OvenMediaEngine</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Modules><ERTMP><Enable>true</Enable></ERTMP></Modules>
  <Bind><Managers><API><Port>{api}</Port></API></Managers>
    <Providers><RTMP><Port>{rtmp}</Port></RTMP></Providers>
    <Publishers><LLHLS><Port>{llhls}</Port><TLSPort>{tls}</TLSPort></LLHLS></Publishers></Bind>
  <Managers><Host><Names><Name>*</Name></Names></Host>
    <API><AccessToken>{TOKEN}</AccessToken><Storage><Enabled>false</Enabled></Storage></API></Managers>
  <VirtualHosts>
  <VirtualHost><Name>other</Name>
    <Host><Names><Name>*.other.test</Name></Names><TLS><CertPath>{cert2}</CertPath><KeyPath>{key2}</KeyPath></TLS></Host>
  </VirtualHost>
  <VirtualHost><Name>default</Name>
    <Host><Names><Name>*</Name></Names><TLS><CertPath>{cert}</CertPath><KeyPath>{key}</KeyPath></TLS></Host>
    <Applications><Application><Name>app</Name><Type>live</Type>
      <OutputProfiles><OutputProfile><Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
        <Encodes><Video><Name>bypass_video</Name><Bypass>true</Bypass></Video>
                 <Audio><Name>bypass_audio</Name><Bypass>true</Bypass></Audio></Encodes>
      </OutputProfile></OutputProfiles>
      <Providers><RTMP/></Providers>
      <Publishers><LLHLS><ChunkDuration>0.2</ChunkDuration><SegmentDuration>1</SegmentDuration>
        <SegmentCount>10</SegmentCount></LLHLS></Publishers>
    </Application>
    <Application><Name>short</Name><Type>live</Type>
      <OutputProfiles><OutputProfile><Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
        <Encodes><Video><Name>v</Name><Bypass>true</Bypass></Video><Audio><Name>a</Name><Bypass>true</Bypass></Audio></Encodes>
      </OutputProfile></OutputProfiles>
      <Providers><RTMP/></Providers>
      <Publishers><LLHLS><ChunkDuration>0.2</ChunkDuration><SegmentDuration>1</SegmentDuration>
        <SegmentCount>3</SegmentCount></LLHLS></Publishers>
    </Application></Applications>
  </VirtualHost></VirtualHosts>
</Server>"""


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """(hvcC, HEVC access units, AAC ASC, raw AAC frames): 6 s, 1 s GOP, 48 kHz AAC."""
    d = tmp_path_factory.mktemp("ingest_src")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size=320x240:rate={FPS}", "-frames:v", str(6 * FPS), "-c:v", "libx265",
                    "-preset", "ultrafast", "-x265-params",
                    "bframes=0:keyint=30:min-keyint=30:scenecut=0:open-gop=0:log-level=error",
                    "-pix_fmt", "yuv420p", "-f", "hevc", str(d / "v.hevc")], check=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:a", "aac", "-b:a", "64k",
                    "-f", "adts", str(d / "a.aac")], check=True)
    aus = hevc_access_units(d / "v.hevc")
    params = {(n[0] >> 1) & 0x3F: n for n in aus[0] if 32 <= (n[0] >> 1) & 0x3F <= 34}
    adts = (d / "a.aac").read_bytes()
    frames, off = [], 0
    while off + 7 <= len(adts):
        n = ((adts[off + 3] & 3) << 11) | (adts[off + 4] << 3) | (adts[off + 5] >> 5)
        hdr = 7 if adts[off + 1] & 1 else 9
        frames.append(adts[off + hdr:off + n])
        off += n
    asc = bytes([0x11, 0x88])          # AAC LC, 48 kHz, mono (sine is mono)
    return hvcc(params[32], params[33], params[34]), aus, asc, frames


@pytest.fixture
async def ome(tmp_path):
    from ome.config import load_server_config
    from ome.server import Server

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    for name, cn in (("cert", "localhost"), ("other", "other.test")):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={cn}",
                        "-keyout", str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.pem")],
                       check=True, capture_output=True)
    key = tmp_path / "cert.key"
    ports = [free_port() for _ in range(4)]
    conf = write_conf(tmp_path / "conf", server_xml(*ports, cert, key, tmp_path / "other.pem", tmp_path / "other.key"))
    server = Server(load_server_config(conf))
    await server.start()
    session = aiohttp.ClientSession()
    api = Api(server, session, ports[0])
    api.rtmp_port, api.llhls_port, api.tls_port = ports[1], ports[2], ports[3]    # type: ignore[attr-defined]
    api.llhls_base = f"http://127.0.0.1:{ports[2]}/app"                                 # type: ignore[attr-defined]
    yield api
    await session.close()
    await server.stop()


class Publisher:
    """Pushes the media with caller-chosen RTMP timestamps (ms, sent modulo 2^32)."""

    def __init__(self, client: RtmpClient, media) -> None:
        self.c = client
        self.config, self.aus, self.asc, self.aac = media
        self.v = 0
        self.a = 0

    def headers(self) -> None:
        self.c.data(0, "@setDataFrame", "onMetaData", {"videocodecid": float(0x68766331), "audiocodecid": 10.0,
                                                      "width": 320, "height": 240})
        self.c.video(0, bytes([0x80 | 0x10 | 0]) + b"hvc1" + self.config)
        self.c.audio(0, b"\xaf\x00" + self.asc)

    async def push(self, frames: int, start_ms: int, pace: float = 4.0) -> None:
        """`frames` video frames from start_ms (33.3 ms apart) with the audio in between."""
        ka = 0
        for i in range(frames):
            au = self.aus[self.v % len(self.aus)]
            key = any(16 <= (n[0] >> 1) & 0x3F <= 21 for n in au)
            body = b"".join(struct.pack(">I", len(n)) + n for n in au          # parameter sets: hvcC only
                            if (n[0] >> 1) & 0x3F < 32 or (n[0] >> 1) & 0x3F in (39, 40))
            t = start_ms + i * 1000 // FPS
            self.c.video(t % WRAP, bytes([0x80 | (0x10 if key else 0x20) | 1]) + b"hvc1" + b"\0\0\0" + body)
            self.v += 1
            # audio frames (1024 samples at 48 kHz) due before the next video frame
            while ka * 1024 * 1000 // 48000 < (i + 1) * 1000 // FPS:
                ta = start_ms + ka * 1024 * 1000 // 48000
                self.c.audio(ta % WRAP, b"\xaf\x01" + self.aac[self.a % len(self.aac)])
                self.a += 1
                ka += 1
            await self.c.w.drain()
            await asyncio.sleep(1 / FPS / pace)


def hevc_codecs_string(hvcc_bytes: bytes) -> str:
    """ISO/IEC 14496-15 Annex E from the hvcC header, written independently of the C core."""
    space, tier, idc = hvcc_bytes[1] >> 6, (hvcc_bytes[1] >> 5) & 1, hvcc_bytes[1] & 0x1F
    compat = int.from_bytes(hvcc_bytes[2:6], "big")
    compat = int(f"{compat:032b}"[::-1], 2)
    cons = bytearray(hvcc_bytes[6:12])
    while cons and cons[-1] == 0:
        cons.pop()
    out = f"hvc1.{'' if space == 0 else 'ABC'[space - 1]}{idc}.{compat:X}.{'HL'[tier == 0]}{hvcc_bytes[12]}"
    return out + "".join(f".{c:02X}" for c in cons)


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with session.get(url) as r:
        return r.status, await r.read()


class Watcher:
    """Reloads both chunklists continuously and checks every rendering (§5 PL rules)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, uris: list[str]) -> None:
        self.session, self.base, self.uris = session, base, uris
        self.renders = 0
        self.last: dict[str, str] = {}
        self.failure: BaseException | None = None
        self.msn: dict[str, int] = {}
        self.disc: dict[tuple[str, int], int] = {}     # (uri, msn) -> discontinuity sequence number
        self.max_disc_seq = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                for uri in self.uris:
                    st, body = await fetch(self.session, self.base + uri)
                    if st != 200:
                        continue
                    text = body.decode()
                    pl = parse_media(text)
                    check_media(pl)
                    seq = pl["media_sequence"]
                    assert seq >= self.msn.get(uri, 0), "MEDIA-SEQUENCE went back"
                    self.msn[uri] = seq
                    # §6.2.2: DISCONTINUITY-SEQUENCE + tags seen so far numbers each segment's
                    # timeline; a segment keeps its number across reloads
                    d, msn = 0, seq
                    for line in text.splitlines():
                        if line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
                            d = int(line.split(":")[1])
                            self.max_disc_seq = max(self.max_disc_seq, d)
                        elif line == "#EXT-X-DISCONTINUITY":
                            d += 1
                        elif line.startswith("#EXTINF:"):
                            assert self.disc.setdefault((uri, msn), d) == d, (uri, msn, text)
                            msn += 1
                    self.last[uri] = text
                    self.renders += 1
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:          # reported by stop()
            self.failure = exc

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        if self.failure is not None:
            raise self.failure


async def master_uris(session, base: str) -> tuple[str, list[str]]:
    st, body = await fetch(session, f"{base}/llhls.m3u8")
    assert st == 200, body
    text = body.decode()
    video = next(line for line in text.splitlines() if line.startswith("/"))
    audio = next(line for line in text.splitlines() if "URI=" in line).split('URI="')[1].rstrip('"')
    return text, [video.rsplit("/", 1)[1], audio.rsplit("/", 1)[1]]


def probe(path: Path) -> list[dict]:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_packets", "-show_streams", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(r.stdout)


async def download(session, base: str, text: str, path: Path) -> None:
    pl = parse_media(text)
    init = (await fetch(session, f"{base}/{pl['tags']['#EXT-X-MAP'].split(chr(34))[1]}"))[1]
    segs = []
    for s in pl["segments"]:
        st, data = await fetch(session, f"{base}/{s['uri']}")
        assert st == 200, s
        segs.append(data)
    path.write_bytes(init + b"".join(segs))


async def test_hevc_through_llhls_is_hvc1_and_decodes(ome, media, tmp_path):
    base = f"{ome.llhls_base}/hevc"
    async with RtmpClient(ome.rtmp_port) as c, aiohttp.ClientSession() as http:
        await c.connect("app")
        await c.publish("hevc")
        pub = Publisher(c, media)
        pub.headers()
        push = asyncio.create_task(pub.push(4 * FPS, 0))
        master, uris = await master_uris(http, base)
        await push
        await asyncio.sleep(0.3)
        # stream info: the output lists the LL-HLS default playlist (appended at GET time)
        info = (await ome.get("/v1/vhosts/default/apps/app/streams/hevc")).json["response"]
        ome.server.llhls.conclude_live(ome.server.registry.app("default", "app").streams["hevc"])
        video_pl = (await fetch(http, f"{base}/{uris[0]}"))[1].decode()
        await download(http, base, video_pl, tmp_path / "v.mp4")
    codecs = next(line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF"))
    codecs = codecs.split('CODECS="')[1].split('"')[0].split(",")
    assert codecs == [hevc_codecs_string(media[0]), "mp4a.40.2"], codecs
    assert codecs[0] == "hvc1.1.6.L60.90"          # x265 320x240: Main, level 2, progressive + frame-only
    assert parse_media(video_pl)["endlist"]
    out = probe(tmp_path / "v.mp4")
    v = out["streams"][0]
    assert (v["codec_name"], v["codec_tag_string"], v["width"], v["height"]) == ("hevc", "hvc1", 320, 240)
    assert len(out["packets"]) >= 3 * FPS
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "v.mp4"), "-f", "null", "-"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    (output,) = info["outputs"]
    assert output["playlists"] == [{
        "name": "llhls_default", "fileName": "llhls",
        "options": {"webrtcAutoAbr": True, "hlsChunklistPathDepth": -1, "enableTsPackaging": False},
        "renditions": [{"name": "bypass_video_bypass_audio", "videoVariantName": "bypass_video",
                        "audioVariantName": "bypass_audio"}]}]


async def test_timestamp_jumps_make_discontinuities_and_playlists_stay_valid(ome, media, tmp_path):
    base = f"{ome.llhls_base}/jump"
    async with RtmpClient(ome.rtmp_port) as c, aiohttp.ClientSession() as http:
        await c.connect("app")
        await c.publish("jump")
        pub = Publisher(c, media)
        pub.headers()
        push = asyncio.create_task(pub.push(2 * FPS, 1000))
        _, uris = await master_uris(http, base)
        watcher = Watcher(http, base + "/", uris)
        await push
        await pub.push(2 * FPS, 1000 + 5 * 60_000)        # forward by five minutes
        await pub.push(2 * FPS, 500)                      # backwards, before the first timestamp
        await pub.push(FPS + 10, 500 + 2 * 1000)           # ... and on from there
        await asyncio.sleep(0.5)
        await watcher.stop()
        assert watcher.renders > 20
        s = ome.server.llhls.find_stream("app", "jump")
        assert s.discontinuities == 2 and not s.ended
        texts = {uri: (await fetch(http, f"{base}/{uri}"))[1].decode() for uri in uris}
        for uri, text in texts.items():
            check_media(parse_media(text))
            assert text.count("#EXT-X-DISCONTINUITY\n") == 2, text
            await download(http, base, text, tmp_path / f"{uri}.mp4")
        # the publisher vanishes mid-part: no half part is ever listed, the stream goes (as OME)
        await pub.push(7, 500 + 2 * 1000 + (FPS + 10) * 1000 // FPS)
        hinted = parse_media((await fetch(http, f"{base}/{uris[0]}"))[1].decode())["hint"]
        parked = asyncio.create_task(fetch(http, f"{base}/{hinted}"))
        await asyncio.sleep(0.05)
        c.w.transport.abort()
        await wait_for(lambda: ome.server.llhls.find_stream("app", "jump") is None, 5, "the stream to go")
        assert (await asyncio.wait_for(parked, 2))[0] in (200, 404)    # released, never left hanging
        for uri in uris:
            assert (await fetch(http, f"{base}/{uri}"))[0] == 404
    for uri in uris:
        out = probe(tmp_path / f"{uri}.mp4")
        dts = [int(p["dts"]) for p in out["packets"]]
        assert dts == sorted(set(dts)), "tfdt must stay monotonic across discontinuities"
        steps = [b - a for a, b in zip(dts, dts[1:])]
        timescale = int(out["streams"][0]["time_base"].split("/")[1])
        assert max(steps) < timescale // 2, "the new timeline continues where the old one ended"
        r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / f"{uri}.mp4"), "-f", "null", "-"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr


async def test_32bit_wrap_is_continuous(ome, media, tmp_path):
    base = f"{ome.llhls_base}/wrap"
    start = WRAP - 1500                                     # wraps 1.5 s in
    async with RtmpClient(ome.rtmp_port) as c, aiohttp.ClientSession() as http:
        await c.connect("app")
        await c.publish("wrap")
        pub = Publisher(c, media)
        pub.headers()
        push = asyncio.create_task(pub.push(4 * FPS, start))
        _, uris = await master_uris(http, base)
        watcher = Watcher(http, base + "/", uris)
        await push
        await asyncio.sleep(0.3)
        await watcher.stop()
        s = ome.server.llhls.find_stream("app", "wrap")
        assert s.discontinuities == 0
        stream = ome.server.registry.app("default", "app").streams["wrap"]
        ome.server.llhls.conclude_live(stream)
        for uri in uris:
            text = (await fetch(http, f"{base}/{uri}"))[1].decode()
            assert "DISCONTINUITY" not in text and parse_media(text)["endlist"]
            await download(http, base, text, tmp_path / f"{uri}.mp4")
    for uri in uris:
        out = probe(tmp_path / f"{uri}.mp4")
        dts = [int(p["dts"]) for p in out["packets"]]
        steps = {b - a for a, b in zip(dts, dts[1:])}
        if "video" in uri:
            assert steps <= {2970, 3060}, steps             # 33/34 ms frames at 90 kHz
            assert len(dts) >= 3 * FPS
        else:
            assert steps == {1024}, steps


async def peer_cert(port: int, server_name: str | None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    _, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=server_name)
    try:
        return w.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        w.close()


async def test_llhls_on_tls_port(ome, media, tmp_path):
    async with RtmpClient(ome.rtmp_port) as c:
        await c.connect("app")
        await c.publish("tls")
        pub = Publisher(c, media)
        pub.headers()
        push = asyncio.create_task(pub.push(2 * FPS, 0))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        base = f"https://127.0.0.1:{ome.tls_port}/app/tls"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
            async with http.get(f"{base}/llhls.m3u8") as r:
                assert r.status == 200
                master = await r.text()
            uri = next(line for line in master.splitlines() if line.startswith("/app/"))
            async with http.get(f"https://127.0.0.1:{ome.tls_port}{uri}") as r:
                assert r.status == 200
                pl = parse_media(await r.text())
                check_media(pl)
            async with http.get(f"{base}/{pl['tags']['#EXT-X-MAP'].split(chr(34))[1]}") as r:
                assert r.status == 200 and (await r.read())[4:8] == b"ftyp"
        await push
    # the certificate is a vhost's <Host><TLS> one: by SNI (exact > *.domain > *), without SNI the
    # first vhost with a certificate in Server.xml order ("other")
    want = {name: ssl.PEM_cert_to_DER_cert((tmp_path / name).read_text()) for name in ("cert.pem", "other.pem")}
    assert await peer_cert(ome.tls_port, None) == want["other.pem"]
    assert await peer_cert(ome.tls_port, "localhost") == want["cert.pem"]
    assert await peer_cert(ome.tls_port, "live.other.test") == want["other.pem"]


async def test_discontinuity_sequence_when_the_jump_slides_out(ome, media):
    base = f"{ome.llhls_base}".replace("/app", "/short") + "/s"
    async with RtmpClient(ome.rtmp_port) as c, aiohttp.ClientSession() as http:
        await c.connect("short")
        await c.publish("s")
        pub = Publisher(c, media)
        pub.headers()
        push = asyncio.create_task(pub.push(2 * FPS, 60_000))
        _, uris = await master_uris(http, base)
        watcher = Watcher(http, base + "/", uris)
        await push
        await pub.push(6 * FPS, 1_000, pace=3.0)                 # back by a minute, then 6 s on
        await asyncio.sleep(0.3)
        await watcher.stop()
        for uri in uris:
            text = (await fetch(http, f"{base}/{uri}"))[1].decode()
            check_media(parse_media(text))
            assert "#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in text and "#EXT-X-DISCONTINUITY\n" not in text, text
        assert watcher.max_disc_seq == 1 and watcher.renders > 20


class H2Client:
    """A minimal HTTP/2 client over TLS (ALPN h2) on the h2 state machine: many requests in flight
    on one connection, each answered independently."""

    def __init__(self) -> None:
        import h2.config
        import h2.connection
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.streams: dict[int, dict] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task | None = None
        self.alpn: str | None = None

    async def connect(self, port: int) -> "H2Client":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
        self.alpn = self.writer.get_extra_info("ssl_object").selected_alpn_protocol()
        self.conn.initiate_connection()
        self.writer.write(self.conn.data_to_send())
        self.reader_task = asyncio.create_task(self._read(reader))
        return self

    async def _read(self, reader: asyncio.StreamReader) -> None:
        import h2.events
        while data := await reader.read(65536):
            for ev in self.conn.receive_data(data):
                st = self.streams.get(getattr(ev, "stream_id", 0))
                if isinstance(ev, h2.events.ResponseReceived):
                    st["headers"] = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    st["body"] += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    st["done"].set_result((int(st["headers"][b":status"]), st["headers"], bytes(st["body"])))
            self.writer.write(self.conn.data_to_send())

    def get(self, path: str) -> asyncio.Future:
        sid = self.conn.get_next_available_stream_id()
        fut = asyncio.get_running_loop().create_future()
        self.streams[sid] = {"body": bytearray(), "done": fut}
        self.conn.send_headers(sid, [(b":method", b"GET"), (b":path", path.encode()), (b":scheme", b"https"),
                                     (b":authority", b"localhost")], end_stream=True)
        self.writer.write(self.conn.data_to_send())
        return fut

    async def close(self) -> None:
        self.reader_task.cancel()
        self.writer.close()


async def test_llhls_over_http2_parked_requests_do_not_hold_back_parts(ome, media):
    """Reference BL-10: on TLSPort a client that offers h2 gets HTTP/2; 20 blocking playlist requests
    parked on one connection do not delay a part and the init segment fetched on the same
    connection, and they are all answered when the next part exists."""
    async with RtmpClient(ome.rtmp_port) as c:
        await c.connect("app")
        await c.publish("h2")
        pub = Publisher(c, media)
        pub.headers()
        await pub.push(3 * FPS, 0)                          # then the publisher pauses
        h2c = await H2Client().connect(ome.tls_port)
        try:
            assert h2c.alpn == "h2"
            status, headers, master = await asyncio.wait_for(h2c.get("/app/h2/llhls.m3u8"), 5)
            assert status == 200 and headers[b"content-type"] == b"application/vnd.apple.mpegurl"
            uri = next(line for line in master.decode().splitlines() if line.startswith("/app/"))
            status, _, body = await asyncio.wait_for(h2c.get(uri), 5)
            pl = parse_media(body.decode())
            m, p = (int(x) for x in pl["hint"].split("_")[2:4])
            parked = [h2c.get(f"{uri}?_HLS_msn={m}&_HLS_part={p}") for _ in range(20)]
            await asyncio.sleep(0.3)
            assert not any(f.done() for f in parked)
            base = uri.rsplit("/", 1)[0]
            newest = pl["parts_by_msn"][max(pl["parts_by_msn"])][-1]["uri"]
            t = time.monotonic()
            status, headers, part = await asyncio.wait_for(h2c.get(f"{base}/{newest}"), 5)
            status_i, _, init = await asyncio.wait_for(
                h2c.get(f"{base}/{pl['tags']['#EXT-X-MAP'].split(chr(34))[1]}"), 5)
            assert status == 200 and status_i == 200 and time.monotonic() - t < 0.5
            assert int(headers[b"content-length"]) == len(part) and part[4:8] in (b"moof", b"emsg")
            assert init[4:8] == b"ftyp" and not any(f.done() for f in parked)
            await pub.push(FPS, 3000)                           # the next parts arrive
            answers = await asyncio.wait_for(asyncio.gather(*parked), 5)
            assert {a[0] for a in answers} == {200}
            assert all(f"_{m}_{p}_" in a[2].decode() for a in answers)    # the awaited part is listed
            # a second, independent HTTP/2 client (curl on nghttp2)
            r = await asyncio.to_thread(subprocess.run, [
                "curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                f"https://127.0.0.1:{ome.tls_port}{base}/{newest}"], capture_output=True, text=True, timeout=10)
            assert r.stdout == "2 200", (r.stdout, r.stderr)
        finally:
            await h2c.close()
