#!/usr/bin/env python3
"""A real ome Server (in this process, uvloop) with N synthetic live streams fed into it.

Each stream: an input Stream (source_type Rtmp) with the cached source's H.264 + AAC tracks,
published through the registry and the bypass transcoder exactly as the RTMP provider does
(registry.add_stream + create_outputs), then fed packet by packet at `--speed` x real time from
an asyncio task (the file loops). Stream i is app/s{i}. What a benchmark needs to read back:
- `--stats FILE`: rewritten every 0.5 s: {rss_bytes, memory_bytes (the LL-HLS publisher's own
  accounting), media_s (media time fed), streams, ready}.
- `--writes FILE`: on SIGTERM, the CLOCK_MONOTONIC time at which each video frame of s0 entered
  the server (just before input.write), keyed by its dts on the stream timeline (90 kHz).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import media_source  # noqa: E402

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8">
  <Name>BenchMedia</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Bind><Publishers><LLHLS><Port>{port}</Port></LLHLS></Publishers></Bind>
  <VirtualHosts><VirtualHost>
    <Name>default</Name>
    <Host><Names><Name>*</Name></Names></Host>
    <Applications><Application>
      <Name>app</Name><Type>live</Type>
      <OutputProfiles><OutputProfile>
        <Name>bypass</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
        <Playlist><Name>abr</Name><FileName>abr</FileName>
          <Rendition><Name>src</Name><Video>bypass_video</Video><Audio>bypass_audio</Audio></Rendition>
        </Playlist>
        <Encodes><Video><Name>bypass_video</Name><Bypass>true</Bypass></Video>
                 <Audio><Name>bypass_audio</Name><Bypass>true</Bypass></Audio></Encodes>
      </OutputProfile></OutputProfiles>
      <Publishers><LLHLS>
        <ChunkDuration>{part}</ChunkDuration><SegmentDuration>{segment}</SegmentDuration>
        <SegmentCount>{count}</SegmentCount>
      </LLHLS></Publishers>
    </Application></Applications>
  </VirtualHost></VirtualHosts>
</Server>
"""
LOOP_S = 61        # media time between two passes over the 60 s file (keeps dts increasing)


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def main(args) -> None:
    from ome.config import load_server_config
    from ome.media import MediaKind, Packet, Track
    from ome.runtime.registry import Stream
    from ome.server import Server
    from ome.transcoder.bypass import create_outputs

    src = media_source.load(args.source, log=lambda m: print(m, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="ome-bench-media-") as tmp:
        (Path(tmp) / "Server.xml").write_text(SERVER_XML.format(
            port=args.port, part=args.part, segment=args.segment, count=args.count))
        server = Server(load_server_config(Path(tmp)))
        await server.start()
    app = server.registry.app("default", "app")
    inputs = []
    for i in range(args.streams):
        video = Track(0, MediaKind.VIDEO, "H264", 90000, src.avcc, width=1280, height=720)
        audio = Track(1, MediaKind.AUDIO, "AAC", 48000, src.asc, samplerate=48000, channels=2)
        s = Stream(app=app, name=f"s{i}", source_type="Rtmp", source_url="TCP://127.0.0.1:0")
        s.set_tracks([video, audio])
        server.registry.add_stream(s)
        create_outputs(server.registry, s)
        inputs.append(s)
    writes: dict[int, float] = {}
    state = {"media_s": 0.0}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    async def feed() -> None:
        start = time.monotonic()
        n = 0
        while True:
            off_s = n * LOOP_S
            for smp in src.samples:
                ts = 90000 if smp.video else 48000
                t = off_s + smp.dts / ts
                delay = start + t / args.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                off = off_s * ts
                pkt = Packet(0 if smp.video else 1, smp.dts + off, smp.pts + off, smp.key, smp.data)
                if smp.video and len(writes) < 200000:
                    writes[smp.dts + off] = time.monotonic()
                for s in inputs:
                    s.write(pkt)
                state["media_s"] = t
            n += 1

    async def stats() -> None:
        tmp_path = args.stats + ".tmp"
        while True:
            llhls = server.llhls
            ready = all((st := llhls.find_stream("app", f"s{i}")) is not None and st.ready()
                        for i in range(args.streams))
            data = {"rss_bytes": rss_bytes(), "memory_bytes": llhls.memory_bytes(), "media_s": state["media_s"],
                    "streams": args.streams, "ready": ready, "pid": os.getpid(), "edge": llhls.edge_stats(),
                    "keys": {f"s{i}": llhls.find_stream("app", f"s{i}").key for i in range(args.streams)
                             if llhls.find_stream("app", f"s{i}") is not None}}
            Path(tmp_path).write_text(json.dumps(data))
            os.replace(tmp_path, args.stats)
            await asyncio.sleep(0.5)

    tasks = [asyncio.create_task(feed()), asyncio.create_task(stats())]
    await stop.wait()
    for t in tasks:
        t.cancel()
    if args.writes:
        Path(args.writes).write_text(json.dumps(writes))
    await server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--source", default="720")
    p.add_argument("--part", type=float, default=0.5)
    p.add_argument("--segment", type=float, default=2)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--stats", required=True)
    p.add_argument("--writes", default="")
    a = p.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(a))
