"""Issue 6 end to end: recordings and pushes with real peers only.

The real `ome` CLI (subprocess, free loopback ports) ingests one ffmpeg RTMP publisher
(H.264 GOP 1 s + AAC, real-time pace) and, at the same time:

* records it three ways (fragmented MP4 split every 3 s by `interval`, fragmented MP4 split
  by the cron `schedule` "*/4 * *" = every 4 s, MPEG-TS split every 4 s); every file is decoded
  by ffprobe/ffmpeg and its duration checked, and the info XML lists them;
* pushes it to nginx with libnginx-mod-rtmp (RTMP, and RTMPS through a TLS terminator in front of
  the same nginx; nginx records what arrived to FLV, which ffprobe decodes), to an ffmpeg UDP listener (MPEG-TS), to an ffmpeg SRT listener (MPEG-TS over
  SRT, our caller), and to a black-holed TCP peer (accepts, never reads) which must not hold the
  others back;
* answers bad bodies with OME's texts and clear errors (invalid cron, unwritable path,
  duplicate ids) without creating anything.

A second test SIGKILLs ome in the middle of a recording: the temporary file left behind decodes
up to its last fragment, and after a restart on the same Redis the record and push tasks come
back (same ids and createdTime, file sequence continued), the crashed file gets its final name,
and they record again; a SIGTERM then finishes and renames the open file.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from helpers import ROOT, OmeProcess, basic_auth, free_port
from nginx_rtmp import MODULE as NGINX_MODULE, NginxRtmp
from tls_proxy import TlsProxy

TOKEN = "ome-access-token"

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="ffmpeg/ffprobe not installed")

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8"><Name>OvenMediaEngine</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Bind>
    <Managers><API><Port>{api}</Port></API></Managers>
    <Providers><RTMP><Port>{rtmp}</Port></RTMP></Providers>
  </Bind>
  <Managers><Host><Names><Name>*</Name></Names></Host>
    <API><AccessToken>{token}</AccessToken>{storage}</API></Managers>
  <VirtualHosts><VirtualHost><Name>default</Name><Host><Names><Name>*</Name></Names></Host>
    <Applications><Application><Name>app</Name><Type>live</Type>
      <OutputProfiles><OutputProfile><Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
        <Encodes><Video><Name>video</Name><Bypass>true</Bypass></Video>
                 <Audio><Name>audio</Name><Bypass>true</Bypass></Audio></Encodes>
      </OutputProfile></OutputProfiles>
      <Providers><RTMP/></Providers>
      <Publishers>{publishers}</Publishers>
    </Application></Applications>
  </VirtualHost></VirtualHosts>
</Server>
"""


class Ome:
    def __init__(self, tmp: Path, storage: str = "<Storage><Enabled>false</Enabled></Storage>",
                 env: dict[str, str] | None = None,
                 publishers: str = "<FILE><RootPath>{root}</RootPath></FILE><Push/>") -> None:
        self.api, self.rtmp = free_port(), free_port()
        self.root = tmp / "records"
        self.conf = tmp / "conf"
        self.conf.mkdir(exist_ok=True)
        (self.conf / "Server.xml").write_text(SERVER_XML.format(
            api=self.api, rtmp=self.rtmp, token=TOKEN, storage=storage,
            publishers=publishers.format(root=self.root)))
        self.proc = OmeProcess(self.conf, api_port=self.api, env=env)
        self.http: aiohttp.ClientSession | None = None
        self.publish_url = f"rtmp://127.0.0.1:{self.rtmp}/app/stream"

    async def start(self) -> "Ome":
        await asyncio.to_thread(self.proc.start, self.rtmp)
        if self.http is None:
            self.http = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        await asyncio.to_thread(self.proc.stop)

    async def call(self, action: str, body: Any = None) -> tuple[int, Any]:
        assert self.http is not None
        url = f"http://127.0.0.1:{self.api}/v1/vhosts/default/apps/app:{action}"
        async with self.http.post(url, data=json.dumps(body) if body is not None else None,
                                  headers={"Authorization": basic_auth(TOKEN)}) as r:
            return r.status, await r.json(content_type=None)

    async def ok(self, action: str, body: Any = None) -> Any:
        status, reply = await self.call(action, body)
        assert status == 200, (action, reply, self.proc.log()[-3000:])
        return reply.get("response")

    async def wait(self, action: str, pred, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            items = await self.ok(action)
            if pred(items):
                return items
            if time.monotonic() > deadline:
                raise AssertionError(f"{action} never matched: {items}\n{self.proc.log()[-3000:]}")
            await asyncio.sleep(0.2)


async def publish(url: str, seconds: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", "30", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "2", "-b:a", "96k", "-f", "flv", url,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


def probe(path: Path) -> dict[str, Any]:
    """ffprobe streams + duration, and a full decode that must print no error."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration,format_name:stream=codec_name",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (path, r.stderr)
    info = json.loads(r.stdout)
    d = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"],
                       capture_output=True, text=True, timeout=60)
    assert d.returncode == 0 and d.stderr.strip() == "", (path, d.stderr[-2000:])
    return {"codecs": sorted(s["codec_name"] for s in info["streams"]),
            "duration": float(info["format"].get("duration", 0)), "format": info["format"]["format_name"]}


def video_frames(path: Path) -> int:
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                       timeout=60)
    return int(r.stdout.strip() or 0)


class BlackHole:
    """A TCP peer that accepts and never reads."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


@pytest.mark.timeout(150)
async def test_records_and_pushes_with_real_peers(tmp_path):
    if not NGINX_MODULE.exists() or shutil.which("nginx") is None:
        pytest.fail("nginx with libnginx-mod-rtmp is not installed (scripts/install-system-deps.sh)")
    nginx = NginxRtmp(tmp_path / "ngx")
    ngx_port = await asyncio.to_thread(nginx.start)
    # rtmps: TLS terminated in front of the same nginx; ome trusts the test's self-signed CA
    tls = TlsProxy(tmp_path, ngx_port)
    tls_port = await tls.start()
    ome = await Ome(tmp_path, env={"SSL_CERT_FILE": str(tls.cert)}).start()
    hole = BlackHole()
    udp_port = free_port(socket.SOCK_DGRAM)
    udp_out = tmp_path / "udp.ts"
    listener = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "mpegts",
        "-i", f"udp://127.0.0.1:{udp_port}?timeout=6000000&buffer_size=4194304", "-c", "copy", "-f", "mpegts",
        str(udp_out), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    srt_port = free_port(socket.SOCK_DGRAM)
    srt_out = tmp_path / "srt.ts"
    srt_listener = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "mpegts",
        "-i", f"srt://127.0.0.1:{srt_port}?mode=listener", "-c", "copy", "-f", "mpegts", str(srt_out),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    publisher = None
    try:
        # -- bad bodies: OME's texts, clear errors, nothing created ----------------------------------
        assert await ome.call("startRecord", {"stream": {"name": "stream"}}) == (
            400, {"message": "[HTTP] There is no required parameter [ id] (400)", "statusCode": 400})
        st, r = await ome.call("startRecord", {"id": "x", "stream": {"name": "stream"}, "schedule": "0 0 25"})
        assert (st, r["message"]) == (400, "[HTTP] Invalid [schedule] parameter (400)")
        st, r = await ome.call("startRecord", {"id": "x", "stream": {"name": "stream"},
                                               "filePath": "/proc/no/such/dir/x.mp4"})
        assert st == 400 and "Could not create the record directory: /proc/no/such/dir" in r["message"], r
        st, r = await ome.call("startPush", {"id": "p", "stream": {"name": "stream"}, "protocol": "rtmp",
                                             "url": "srt://127.0.0.1:1"})
        assert (st, r["message"]) == (400, "[HTTP] Unsupported protocol (400)")
        assert await ome.ok("records") == [] and await ome.ok("pushes") == []

        # -- reserved before the stream exists ------------------------------------------------------
        rec = tmp_path / "records"
        await ome.ok("startRecord", {"id": "interval", "stream": {"name": "stream"}, "interval": 3000,
                                     "filePath": "interval/${Stream}_${Sequence}.mp4",
                                     "infoPath": "interval/info.xml"})
        await ome.ok("startRecord", {"id": "sched", "stream": {"name": "stream"}, "schedule": "*/4 * *",
                                     "filePath": "sched/${Stream}_${StartTime:YYYYMMDDhhmmss}_${Sequence}.mp4"})
        first = await ome.ok("startRecord", {"id": "ts", "stream": {"name": "stream", "variantNames": ["video", "audio"]},
                                             "interval": 4000, "segmentationRule": "continuity",
                                             "filePath": str(tmp_path / "abs" / "${Id}_${Sequence}.ts")})
        assert first["state"] == "ready" and first["isConfig"] is False and first["segmentationRule"] == "continuity"
        st, r = await ome.call("startRecord", {"id": "ts", "stream": {"name": "stream"}})
        assert (st, r["message"]) == (400, "[HTTP] Duplicate ID already exists (400)")
        push_bodies = [
            {"id": "hole", "stream": {"name": "stream"}, "protocol": "mpegts", "url": f"tcp://127.0.0.1:{hole.port}"},
            {"id": "rtmp", "stream": {"name": "stream"}, "protocol": "rtmp",
             "url": f"rtmp://127.0.0.1:{ngx_port}/app", "streamKey": "out"},
            {"id": "rtmps", "stream": {"name": "stream"}, "protocol": "rtmp",
             "url": f"rtmps://127.0.0.1:{tls_port}/app", "streamKey": "outs"},
            {"id": "udp", "stream": {"name": "stream"}, "protocol": "mpegts", "url": f"udp://127.0.0.1:{udp_port}"},
            {"id": "srt", "stream": {"name": "stream"}, "protocol": "SRT", "url": f"srt://127.0.0.1:{srt_port}"},
        ]
        for body in push_bodies:
            reply = await ome.ok("startPush", body)
            assert reply["state"] == "ready" and reply["totalsentBytes"] == 0
        st, r = await ome.call("startPush", push_bodies[1])
        assert (st, r["message"]) == (400, "[HTTP] Duplicate ID (400)")

        # -- publish; everything starts ---------------------------------------------------------------
        publisher = await publish(ome.publish_url, 16)
        started = time.monotonic()
        await ome.wait("records", lambda rs: all(r["state"] == "recording" for r in rs))
        await ome.wait("pushes", lambda ps: all({p["id"]: p["state"] for p in ps}[i] == "pushing"
                                                for i in ("rtmp", "rtmps", "udp", "srt")))

        def hole_stalled(ps: list[dict]) -> bool:
            """The black hole stalls only its own push: SendTimeout hit (error, reconnects), frames
            dropped from its bounded queue."""
            h = next(p for p in ps if p["id"] == "hole")
            return h["droppedFrames"] > 0 and (h["sequence"] >= 2 or h["state"] in ("error", "connecting"))

        await ome.wait("pushes", hole_stalled, timeout=14)
        await asyncio.sleep(max(0.0, 8 - (time.monotonic() - started)))
        pushes = {p["id"]: p for p in await ome.ok("pushes")}
        assert pushes["rtmp"]["state"] == "pushing" and pushes["rtmp"]["sentTime"] > 5000, pushes["rtmp"]
        assert pushes["rtmps"]["state"] == "pushing" and pushes["rtmps"]["sentTime"] > 5000, pushes["rtmps"]
        assert tls.connections >= 1
        assert pushes["udp"]["state"] == "pushing" and pushes["udp"]["totalsentBytes"] > 100000, pushes["udp"]
        assert pushes["srt"]["state"] == "pushing" and pushes["srt"]["protocol"] == "srt", pushes["srt"]
        recs = {r["id"]: r for r in await ome.ok("records")}
        assert recs["interval"]["sequence"] >= 2 and recs["interval"]["totalRecordTime"] > 5000, recs["interval"]
        _, err = await asyncio.wait_for(publisher.communicate(), 30)
        assert publisher.returncode == 0, err.decode()
        await ome.wait("records", lambda rs: all(r["state"] == "ready" for r in rs))
        for rid in ("interval", "sched", "ts"):
            stopped = await ome.ok("stopRecord", {"id": rid})
            assert stopped["state"] == "stopping" and stopped["id"] == rid
        for pid in ("hole", "rtmp", "rtmps", "udp", "srt"):
            assert (await ome.call("stopPush", {"id": pid}))[0] == 200
        assert await ome.ok("records") == [] and await ome.ok("pushes") == []
        assert (await ome.call("stopPush", {"id": "rtmp"}))[1]["message"] == \
            "[HTTP] Could not find id 'rtmp': [default/app] (404)"
    finally:
        if publisher is not None and publisher.returncode is None:
            publisher.kill()
            await publisher.wait()
        await ome.close()
        hole.close()
        await tls.close()
        await asyncio.to_thread(nginx.stop)
        for proc in (listener, srt_listener):   # UDP: ends 6 s after the last datagram; SRT: at the close
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()

    # -- interval files: 3 s each (key frames every 1 s), the last one shorter ----------------------
    files = sorted((rec / "interval").glob("stream_*.mp4"), key=lambda p: int(p.stem.split("_")[1]))
    assert not list((rec / "interval").glob("tmp_*")), "a temporary file was left"
    assert len(files) >= 5, files
    durations = [probe(f)["duration"] for f in files]
    for f, d in zip(files[:-1], durations[:-1]):
        assert 2.9 <= d <= 3.2, (f, durations)
    assert probe(files[0])["codecs"] == ["aac", "h264"]
    assert 14.0 <= sum(durations) <= 16.5, durations
    info = ET.parse(rec / "interval" / "info.xml").getroot()
    entries = info.findall("file")
    assert [int(e.findtext("sequence")) for e in entries] == list(range(len(files)))
    assert [e.findtext("filePath") for e in entries] == [str(f) for f in files]
    assert all(e.findtext("interval") == "3000" and e.findtext("id") == "interval" for e in entries)

    # -- schedule files: cut at the first key frame after each 4 s wall-clock mark ---------------------
    sched = sorted((rec / "sched").glob("stream_*.mp4"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    assert len(sched) >= 3, sched
    sd = [probe(f)["duration"] for f in sched]
    middle = sd[1:-1]        # whole periods: 4 s, give or take a GOP when the machine is loaded
    assert all(1.9 <= d <= 6.1 for d in middle) and 3.4 <= sum(middle) / len(middle) <= 4.6, sd
    starts = [int(f.stem.split("_")[1]) % 100 for f in sched[1:]]
    assert all(s % 4 in (0, 1, 2) for s in starts), starts  # started at the first key frame after a 4 s mark

    # -- MPEG-TS files (continuity: source timeline kept) ----------------------------------------------
    ts_files = sorted((tmp_path / "abs").glob("ts_*.ts"), key=lambda p: int(p.stem.split("_")[1]))
    assert len(ts_files) >= 3
    tsd = [probe(f) for f in ts_files]
    assert all(t["format"] == "mpegts" and t["codecs"] == ["aac", "h264"] for t in tsd)
    assert 3.9 <= tsd[0]["duration"] <= 4.3, tsd

    # -- what the peers received ---------------------------------------------------------------------
    flv = tmp_path / "ngx" / "rec" / "out.flv"
    got = probe(flv)
    assert got["codecs"] == ["aac", "h264"] and got["duration"] >= 10.0, got
    assert video_frames(flv) >= 300
    flv_tls = tmp_path / "ngx" / "rec" / "outs.flv"              # the same, through TLS
    got = probe(flv_tls)
    assert got["codecs"] == ["aac", "h264"] and got["duration"] >= 10.0, got
    assert video_frames(flv_tls) >= 300
    udp = probe(udp_out)
    assert udp["codecs"] == ["aac", "h264"] and udp["duration"] >= 10.0, udp
    srt = probe(srt_out)
    assert srt["codecs"] == ["aac", "h264"] and srt["duration"] >= 10.0, srt


@pytest.mark.timeout(120)
async def test_sigkill_leaves_a_playable_file_and_tasks_come_back(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (make install installs it)")
    ome = Ome(tmp_path, storage="<Storage><Enabled>true</Enabled><Path>api_data</Path></Storage>")
    await ome.start()
    udp_port = free_port(socket.SOCK_DGRAM)
    publisher = None
    try:
        created = await ome.ok("startRecord", {"id": "k", "stream": {"name": "stream"},
                                               "filePath": "kill/${Stream}_${Sequence}.mp4"})
        await ome.ok("startPush", {"id": "u", "stream": {"name": "stream"}, "protocol": "mpegts",
                                   "url": f"udp://127.0.0.1:{udp_port}"})
        publisher = await publish(ome.publish_url, 30)
        await ome.wait("records", lambda rs: rs[0].get("recordTime", 0) >= 3500)
        ome.proc.stop(signal.SIGKILL)
        publisher.kill()
        await publisher.wait()

        left = list((tmp_path / "records" / "kill").glob("tmp_*.mp4"))
        assert len(left) == 1, list((tmp_path / "records" / "kill").iterdir())
        got = probe(left[0])                   # every fragment written decodes, no error line
        left_size = left[0].stat().st_size
        assert got["codecs"] == ["aac", "h264"] and got["duration"] >= 2.9, got

        # restart on the same storage: both tasks are back, waiting for the stream
        ome.proc = OmeProcess(ome.conf, api_port=ome.api)
        await ome.start()
        recs = await ome.ok("records")
        assert [(r["id"], r["state"], r["createdTime"]) for r in recs] == [("k", "ready", created["createdTime"])]
        pushes = await ome.ok("pushes")
        assert [(p["id"], p["protocol"], p["url"]) for p in pushes] == [("u", "mpegts", f"udp://127.0.0.1:{udp_port}")]
        publisher = await publish(ome.publish_url, 20)
        await ome.wait("pushes", lambda ps: ps[0]["state"] == "pushing" and ps[0]["totalsentBytes"] > 0)
        await ome.wait("records", lambda rs: rs[0]["state"] == "recording" and rs[0].get("recordTime", 0) >= 3000)
        # SIGTERM while recording: the file is finished and renamed, numbered after the killed one (0)
        await ome.close()
        kill_dir = tmp_path / "records" / "kill"
        resumed = kill_dir / "stream_1.mp4"
        assert resumed.exists(), list(kill_dir.iterdir())
        assert 2.9 <= probe(resumed)["duration"] <= 8
        # the crashed file got its final name at the restart
        assert list(kill_dir.glob("tmp_*")) == []
        recovered = kill_dir / "stream_0.mp4"
        assert recovered.exists() and recovered.stat().st_size == left_size
        assert probe(recovered)["duration"] >= 2.9
    finally:
        if publisher is not None and publisher.returncode is None:
            publisher.kill()
            await publisher.wait()
        await ome.close()


RECORD_MAP = """<?xml version="1.0"?>
<RecordInfo>
  <Record><Enable>true</Enable><StreamName>str*</StreamName>
    <FilePath>map/${Stream}_${Sequence}.mp4</FilePath><SegmentInterval>3000</SegmentInterval></Record>
  <Record><Enable>false</Enable><StreamName>*</StreamName><FilePath>off/${Stream}.mp4</FilePath></Record>
  <Record><Enable>true</Enable><StreamName>other</StreamName><FilePath>other/${Stream}.mp4</FilePath></Record>
</RecordInfo>
"""
PUSH_MAP = """<?xml version="1.0"?>
<PushInfo>
  <Push><Enable>true</Enable><StreamName>stream</StreamName><Protocol>mpegts</Protocol>
    <Url>udp://127.0.0.1:{port}</Url></Push>
</PushInfo>
"""


@pytest.mark.timeout(90)
async def test_stream_maps_record_and_push_each_matching_stream(tmp_path):
    """OME's automatic tasks: <FILE><StreamMap> and <Push><StreamMap> name map files whose items
    start a record/push (isConfig: true) when a stream whose name matches appears, and end it
    with the stream; disabled and non-matching items start nothing; nothing goes to storage."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "record_map.xml").write_text(RECORD_MAP)
    (conf / "push_map.xml").write_text(PUSH_MAP.format(port=udp.getsockname()[1]))
    ome = await Ome(tmp_path, publishers=(
        "<FILE><RootPath>{root}</RootPath><StreamMap><Enable>true</Enable><Path>record_map.xml</Path>"
        "</StreamMap></FILE><Push><StreamMap><Enable>true</Enable><Path>push_map.xml</Path></StreamMap></Push>"
    )).start()
    try:
        assert await ome.ok("records") == [] and await ome.ok("pushes") == []   # no stream, no task
        ffmpeg = await publish(ome.publish_url, 7)
        records = await ome.wait("records", lambda r: r and r[0]["state"] == "recording")
        assert len(records) == 1 and records[0]["isConfig"] is True and records[0]["stream"]["name"] == "stream"
        pushes = await ome.wait("pushes", lambda p: p and p[0]["state"] == "pushing")
        assert len(pushes) == 1 and pushes[0]["isConfig"] is True and pushes[0]["protocol"] == "mpegts"
        loop = asyncio.get_running_loop()
        got = b""
        while len(got) < 64 * 188:
            got += await asyncio.wait_for(loop.sock_recv(udp, 65536), 10)
        assert got[0] == 0x47 and len(got) % 188 == 0                 # MPEG-TS arrived over UDP
        await asyncio.wait_for(ffmpeg.wait(), 30)
        # the stream ended: so did its map tasks, and the files were finished and renamed
        await ome.wait("records", lambda r: r == [])
        await ome.wait("pushes", lambda p: p == [])
        files = sorted((ome.root / "map").glob("stream_*.mp4"))
        assert len(files) >= 2, ome.proc.log()[-2000:]
        for f in files:
            assert probe(f)["codecs"] == ["aac", "h264"]
        assert not (ome.root / "off").exists() and not (ome.root / "other").exists()
    finally:
        udp.close()
        await ome.close()
