"""Publish-to-part latency through the real RTMP path: an RTMP publisher in this process → a real
`ome` process (RTMP provider → bypass output → LL-HLS packager) → a blocking LL-HLS client here.

The publisher is ome's own RTMP push client (`ome.publishers.push_rtmp.RtmpPushConnection`:
handshake, connect/publish, FLV bodies and chunking by the native core), fed the 720p bench
source in real time. For every video frame the time its bytes were handed to the socket is kept
(CLOCK_MONOTONIC is shared by both processes); the client loop of `bench_media.measure_latency`
then times each part's arrival and `bench_media.latency_summary` pairs the two by decode time
(RTMP carries milliseconds: a frame's dts in the part is its RTMP time x 90).
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>BenchRtmpLatency</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Bind><Providers><RTMP><Port>{rtmp}</Port></RTMP></Providers>
        <Publishers><LLHLS><Port>{llhls}</Port></LLHLS></Publishers></Bind>
  <VirtualHosts><VirtualHost><Name>default</Name><Host><Names><Name>*</Name></Names></Host>
    <Applications><Application><Name>app</Name><Type>live</Type>
      <OutputProfiles><OutputProfile><Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
        <Encodes><Video><Bypass>true</Bypass></Video><Audio><Bypass>true</Bypass></Audio></Encodes>
      </OutputProfile></OutputProfiles>
      <Providers><RTMP/></Providers>
      <Publishers><LLHLS><ChunkDuration>{part}</ChunkDuration><SegmentDuration>{segment}</SegmentDuration>
        <SegmentCount>{count}</SegmentCount></LLHLS></Publishers>
    </Application></Applications>
  </VirtualHost></VirtualHosts>
</Server>
"""


async def _publish(port: int, src, writes: dict[int, float], stop: asyncio.Event) -> None:
    from ome.media import MediaKind, Track
    from ome.publishers.push_rtmp import RtmpPushConnection
    from ome._native import lib

    video = Track(0, MediaKind.VIDEO, "H264", 90000, src.avcc, width=1280, height=720)
    audio = Track(1, MediaKind.AUDIO, "AAC", 48000, src.asc, samplerate=48000, channels=2)
    task = SimpleNamespace(request=SimpleNamespace(url=f"rtmp://127.0.0.1:{port}/app", stream_key="s0"))
    conn = RtmpPushConnection(task, [video, audio], connect_timeout=10, send_timeout=10)
    await conn.connect()
    try:
        start = time.monotonic()
        loop_ms = 0
        while not stop.is_set():
            for smp in src.samples:
                ts = 90000 if smp.video else 48000
                ms = loop_ms + smp.dts * 1000 // ts
                delay = start + ms / 1000 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if stop.is_set():
                    break
                t = video if smp.video else audio
                cts = (smp.pts - smp.dts) * 1000 // ts if smp.video else 0
                body = conn.flv.body(t.codec, False, smp.key, cts, smp.data)
                lib.omn_rtmp_conn_write(conn.conn, 6 if smp.video else 4,
                                        lib.OMN_RTMP_MSG_VIDEO if smp.video else lib.OMN_RTMP_MSG_AUDIO,
                                        conn.msid, ms & 0xFFFFFFFF, body, len(body))
                conn._flush()
                if smp.video:
                    writes[ms * 90] = time.monotonic()
                await conn._drain()
            loop_ms += 60_000 + 1000
    finally:
        await conn.close()


async def _chunklist_key(port: int, timeout: float = 30) -> str:
    import aiohttp
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/app/s0/llhls.m3u8") as r:
                    if r.status == 200:
                        text = await r.text()
                        line = next(l for l in text.splitlines() if "chunklist_0_video_" in l)
                        return line.split("chunklist_0_video_", 1)[1].split("_llhls", 1)[0]
            except (aiohttp.ClientError, StopIteration):
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("no LL-HLS master from ome")


async def _run(rtmp: int, llhls: int, src, seconds: float) -> tuple[list, dict[int, float]]:
    import bench_media
    writes: dict[int, float] = {}
    stop = asyncio.Event()
    pub = asyncio.create_task(_publish(rtmp, src, writes, stop))
    try:
        key = await _chunklist_key(llhls)
        await asyncio.sleep(2 * bench_media.SEGMENT_S)          # past the start-up segment
        parts = await bench_media.measure_latency(llhls, key, seconds)
    finally:
        stop.set()
        await asyncio.gather(pub, return_exceptions=True)
    return parts, writes


def rtmp_publish_latency(seconds: float, log=print) -> dict:
    """Runs one ome process and returns bench_media.latency_summary over `seconds` of parts."""
    import bench_media
    import media_source
    from bench_api import wait_port
    src = media_source.load("720", log=log)
    rtmp, llhls = bench_media.free_port(), bench_media.free_port()
    with tempfile.TemporaryDirectory(prefix="ome-bench-rtmp-") as tmp:
        conf = Path(tmp) / "conf"
        conf.mkdir()
        (conf / "Server.xml").write_text(SERVER_XML.format(
            rtmp=rtmp, llhls=llhls, part=bench_media.PART_S, segment=bench_media.SEGMENT_S,
            count=bench_media.SEGMENT_COUNT))
        out = open(Path(tmp) / "ome.log", "wb")
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "ome"), "-c", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_port(rtmp, proc)
            parts, writes = asyncio.run(_run(rtmp, llhls, src, seconds))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            out.close()
    summary = bench_media.latency_summary(parts, writes)
    if not summary["parts"]:
        raise RuntimeError("no part could be paired with the frames sent over RTMP")
    return summary


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(rtmp_publish_latency(float(sys.argv[1]) if len(sys.argv) > 1 else 10))
