"""Issue 5 end to end: OutputProfiles through the native transcoder, judged by real peers.

The real `ome` CLI runs RTMP in, the native transcoder and LL-HLS out. ffmpeg publishes
H.264 854x480 + AAC 48 kHz at real-time pace. One profile makes a 480p/360p/240p H.264 ladder
(libx264 in C threads) with an AAC bypass and an AAC->Opus conversion; its master playlists
are a `<Rendition>` list and a `<RenditionTemplate>` (`${Height}p`, encoded only, max 360).
Then:
* the masters carry one STREAM-INF per rendition with RESOLUTION, BANDWIDTH/AVERAGE-BANDWIDTH
  from the encodes, CODECS from the encoders' avcC, FRAME-RATE and one audio group;
* every rendition's segments are fetched and judged by ffprobe: size, keyframe first, bitrate
  within tolerance of the encode's, continuous 90 kHz timestamps across segments, and the same
  segment boundaries (keyframes at the same source frames) in every rendition;
* hls.js in headless Chromium plays the ABR master and switches between renditions;
* BypassIfMatch: a profile whose rules match (video Height lte, audio Samplerate eq) bypasses,
  one whose rule does not (Samplerate eq 44100) is transcoded to 44.1 kHz;
* no GPU here: the stats API reports the probe (none) and the encode that demands `nv` with
  the fail policy is an error on that track only, while its profile's other tracks run.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import aiohttp
import pytest

from helpers import OmeProcess, basic_auth, free_port
from test_e2e_llhls import FPS, Player, _player_ready, stop
from test_llhls_publisher import _attrs, parse_media

TOKEN = "ome-access-token"

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server version="8"><Name>OvenMediaEngine</Name><Type>origin</Type><IP>127.0.0.1</IP>
  <Bind>
    <Managers><API><Port>{api}</Port></API></Managers>
    <Providers><RTMP><Port>{rtmp}</Port></RTMP></Providers>
    <Publishers><LLHLS><Port>{llhls}</Port></LLHLS></Publishers>
  </Bind>
  <Managers><Host><Names><Name>*</Name></Names></Host>
    <API><AccessToken>{token}</AccessToken><Storage><Enabled>false</Enabled></Storage></API></Managers>
  <VirtualHosts><VirtualHost><Name>default</Name><Host><Names><Name>*</Name></Names></Host>
    <Applications><Application><Name>app</Name><Type>live</Type>
      <OutputProfiles>
        <HWAccels><Encoder><Enable>true</Enable><Fallback>fail</Fallback></Encoder></HWAccels>
        <OutputProfile><Name>abr</Name><OutputStreamName>${{OriginStreamName}}</OutputStreamName>
          <Encodes>
            <Video><Name>480p</Name><Codec>h264</Codec><Bitrate>800K</Bitrate><Height>480</Height>
              <Preset>faster</Preset><Profile>main</Profile><ThreadCount>1</ThreadCount><Lookahead>0</Lookahead></Video>
            <Video><Name>360p</Name><Codec>h264</Codec><Bitrate>500K</Bitrate><Height>360</Height>
              <ThreadCount>1</ThreadCount><Lookahead>0</Lookahead></Video>
            <Video><Name>240p</Name><Codec>h264</Codec><Bitrate>250K</Bitrate><Width>426</Width>
              <ThreadCount>1</ThreadCount><Lookahead>0</Lookahead></Video>
            <Audio><Name>aac</Name><Codec>aac</Codec><Bitrate>128000</Bitrate><Samplerate>48000</Samplerate>
              <Channel>2</Channel><BypassIfMatch><Codec>eq</Codec></BypassIfMatch></Audio>
            <Audio><Name>opus</Name><Codec>opus</Codec><Bitrate>96K</Bitrate><Samplerate>48000</Samplerate>
              <Channel>2</Channel></Audio>
          </Encodes>
          <Playlist><Name>abr</Name><FileName>abr</FileName>
            <Rendition><Name>480p</Name><Video>480p</Video><Audio>aac</Audio></Rendition>
            <Rendition><Name>360p</Name><Video>360p</Video><Audio>aac</Audio></Rendition>
            <Rendition><Name>240p</Name><Video>240p</Video><Audio>aac</Audio></Rendition>
          </Playlist>
          <Playlist><Name>tpl</Name><FileName>tpl</FileName>
            <RenditionTemplate><Name>${{Height}}p</Name>
              <VideoTemplate><EncodingType>encoded</EncodingType><MaxHeight>360</MaxHeight></VideoTemplate>
              <AudioTemplate><VariantName>aac</VariantName></AudioTemplate>
            </RenditionTemplate>
          </Playlist>
        </OutputProfile>
        <OutputProfile><Name>bim</Name><OutputStreamName>${{OriginStreamName}}_bim</OutputStreamName>
          <Encodes>
            <Video><Name>same</Name><Codec>h264</Codec><Bitrate>1M</Bitrate><Height>480</Height>
              <BypassIfMatch><Codec>eq</Codec><Height>lte</Height></BypassIfMatch></Video>
            <Audio><Name>a48</Name><Codec>aac</Codec><Bitrate>128K</Bitrate><Samplerate>48000</Samplerate>
              <BypassIfMatch><Samplerate>eq</Samplerate></BypassIfMatch></Audio>
            <Audio><Name>a44</Name><Codec>aac</Codec><Bitrate>96K</Bitrate><Samplerate>44100</Samplerate>
              <BypassIfMatch><Samplerate>eq</Samplerate></BypassIfMatch></Audio>
          </Encodes>
        </OutputProfile>
        <OutputProfile><Name>gpu</Name><OutputStreamName>${{OriginStreamName}}_gpu</OutputStreamName>
          <Encodes>
            <Video><Name>nvonly</Name><Codec>h264</Codec><Modules>nv</Modules><Bitrate>1M</Bitrate><Height>360</Height></Video>
            <Audio><Name>opus</Name><Codec>opus</Codec><Bitrate>96K</Bitrate><Samplerate>48000</Samplerate><Channel>2</Channel></Audio>
          </Encodes>
        </OutputProfile>
      </OutputProfiles>
      <Providers><RTMP/></Providers>
      <Publishers><LLHLS>
        <ChunkDuration>0.5</ChunkDuration><SegmentDuration>2</SegmentDuration><SegmentCount>10</SegmentCount>
        <CrossDomains><Url>*</Url></CrossDomains>
      </LLHLS></Publishers>
    </Application></Applications>
  </VirtualHost></VirtualHosts>
</Server>
"""

LADDER = {"480p": (854, 480, 800 * 1024), "360p": (640, 360, 500 * 1024), "240p": (426, 240, 250 * 1024)}


@pytest.fixture
async def ome(tmp_path):
    api, rtmp, llhls = free_port(), free_port(), free_port()
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "Server.xml").write_text(SERVER_XML.format(api=api, rtmp=rtmp, llhls=llhls, token=TOKEN))
    proc = OmeProcess(conf, api_port=api)
    await asyncio.to_thread(proc.start, llhls)
    http = aiohttp.ClientSession()
    try:
        yield {"proc": proc, "api": api, "rtmp": rtmp, "origin": f"http://127.0.0.1:{llhls}", "http": http}
    finally:
        await http.close()
        await asyncio.to_thread(proc.stop)


async def get(ome, url: str, timeout: float = 15.0) -> tuple[int, bytes]:
    async with ome["http"].get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
        return r.status, await r.read()


async def api(ome, path: str):
    async with ome["http"].get(f"http://127.0.0.1:{ome['api']}/v1{path}",
                               headers={"Authorization": basic_auth(TOKEN)}) as r:
        return r.status, await r.json(content_type=None)


async def publish(url: str, seconds: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size=854x480:rate={FPS}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", str(FPS), "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", "1500k",
        "-c:a", "aac", "-ac", "2", "-b:a", "96k", "-f", "flv", url,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def wait_200(ome, url: str, timeout: float = 20.0) -> bytes:
    deadline = asyncio.get_event_loop().time() + timeout
    while True:
        st, body = await get(ome, url)
        if st == 200:
            return body
        if asyncio.get_event_loop().time() > deadline:
            raise AssertionError(f"{url}: {st}\n{ome['proc'].log()[-3000:]}")
        await asyncio.sleep(0.2)


def master_entries(text: str) -> tuple[list[dict], list[dict]]:
    lines = text.splitlines()
    infs = [dict(_attrs(l.split(":", 1)[1]), uri=lines[i + 1]) for i, l in enumerate(lines)
            if l.startswith("#EXT-X-STREAM-INF:")]
    media = [_attrs(l.split(":", 1)[1]) for l in lines if l.startswith("#EXT-X-MEDIA:")]
    return infs, media


def probe_segment(path: Path) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-show_entries",
                        "stream=width,height,codec_name:packet=pts,dts,flags,size", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(r.stdout)


@pytest.mark.timeout(150)
async def test_ladder_abr_llhls_bypass_rules_and_gpu_fail_policy(ome, tmp_path):
    _player_ready()
    origin = ome["origin"]
    pub = await publish(f"rtmp://127.0.0.1:{ome['rtmp']}/app/stream", 45)
    player = None
    try:
        master = (await wait_200(ome, f"{origin}/app/stream/abr.m3u8")).decode()
        infs, media = master_entries(master)
        assert len(infs) == 3, master
        audio_groups = {m["GROUP-ID"] for m in media if m["TYPE"] == "AUDIO"}
        assert len(audio_groups) == 1, master
        by_res = {}
        for inf in infs:
            w, h = (int(v) for v in inf["RESOLUTION"].split("x"))
            by_res[h] = inf
            name = f"{h}p"
            assert (w, h) == LADDER[name][:2], inf
            assert int(inf["AVERAGE-BANDWIDTH"]) == LADDER[name][2] + 96 * 1024 or \
                int(inf["AVERAGE-BANDWIDTH"]) >= LADDER[name][2], inf          # video + measured audio
            assert int(inf["BANDWIDTH"]) >= int(inf["AVERAGE-BANDWIDTH"]), inf
            assert inf["CODECS"].startswith("avc1.4d") if name == "480p" else inf["CODECS"].startswith("avc1."), inf
            assert inf["CODECS"].endswith(",mp4a.40.2"), inf
            assert inf["FRAME-RATE"] == "30.000", inf
            assert inf["AUDIO"] in audio_groups
        assert [int(i["BANDWIDTH"]) for i in infs] == sorted((int(i["BANDWIDTH"]) for i in infs), reverse=True)

        tpl = (await wait_200(ome, f"{origin}/app/stream/tpl.m3u8")).decode()
        t_infs, _ = master_entries(tpl)
        assert sorted(i["RESOLUTION"] for i in t_infs) == ["426x240", "640x360"], tpl

        # hls.js plays the ABR master and switches rendition (started now, judged at the end)
        player = await Player().start(f"{origin}/app/stream/abr.m3u8", 24, "--switch")

        # every rendition: wait for 3 complete segments, judge them with ffprobe
        segs: dict[str, list] = {}
        for h, inf in by_res.items():
            url = origin + inf["uri"]
            pl = parse_media((await wait_200(ome, url + "?_HLS_msn=4&_HLS_part=0", 30)).decode())
            complete = [s for s in pl["segments"] if s.get("uri")][:3]
            assert len(complete) == 3, pl
            segs[f"{h}p"] = (url, pl, complete)
        msns = {name: [s["msn"] for s in c] for name, (_, _, c) in segs.items()}
        common = sorted(set.intersection(*(set(m) for m in msns.values())))[:3]
        assert len(common) >= 2, msns
        first_pts: dict[str, list[int]] = {}
        for name, (url, pl, complete) in segs.items():
            base = url.rsplit("/", 1)[0]
            init = (await wait_200(ome, f"{base}/{_attrs(pl['tags']['#EXT-X-MAP'])['URI']}"))
            pts_all: list[int] = []
            total_bytes, total_ticks = 0, 0
            for s in complete:
                if s["msn"] not in common:
                    continue
                body = await wait_200(ome, f"{base}/{s['uri']}")
                path = tmp_path / f"{name}_{s['msn']}.mp4"
                path.write_bytes(init + body)
                info = await asyncio.to_thread(probe_segment, path)
                st = info["streams"][0]
                assert (st["codec_name"], st["width"], st["height"]) == ("h264", *LADDER[name][:2])
                pk = info["packets"]
                assert pk[0]["flags"].startswith("K"), (name, pk[0])
                pts = sorted(int(p["pts"]) for p in pk)
                first_pts.setdefault(name, []).append(pts[0])
                pts_all += pts
                total_bytes += sum(int(p["size"]) for p in pk)
                total_ticks += len(pk) * 3000
            steps = {b - a for a, b in zip(pts_all, pts_all[1:])}
            assert steps <= {2970, 3000, 3060, 3030, 2940}, (name, steps)          # ms-based 90 kHz, no gap
            kbps = total_bytes * 8 * 90000 / total_ticks
            want = LADDER[name][2]
            assert 0.5 * want <= kbps <= 1.5 * want, (name, kbps, want)
        # keyframes (segment starts) at the same source frames in every rendition
        assert len({tuple(v) for v in first_pts.values()}) == 1, first_pts

        # stream info: BypassIfMatch, transcoded tracks, gpu profile with its error; stats: probe + sessions
        st, body = await api(ome, "/vhosts/default/apps/app/streams/stream")
        assert st == 200, body
        outs = {o["name"]: o for o in body["response"]["outputs"]}
        assert set(outs) == {"stream", "stream_bim", "stream_gpu"}, outs.keys()
        tr = {t["name"]: t for t in outs["stream_bim"]["tracks"]}
        assert tr["same"]["video"]["bypass"] is True
        assert tr["a48"]["audio"]["bypass"] is True
        assert tr["a44"]["audio"]["bypass"] is False and tr["a44"]["audio"]["samplerate"] == 44100
        tr = {t["name"]: t for t in outs["stream"]["tracks"]}
        assert tr["480p"]["video"]["bypass"] is False and tr["480p"]["video"]["height"] == 480
        assert tr["opus"]["audio"]["codec"] == "OPUS" and tr["aac"]["audio"]["bypass"] is True
        assert [t["name"] for t in outs["stream_gpu"]["tracks"]] == ["opus"]      # nvonly failed alone
        st, stats = await api(ome, "/stats/current")
        assert st == 200
        xc = stats["response"]["transcoder"]
        assert xc["hwaccels"]["devices"] == [] and xc["hwaccels"]["summary"] == "none", xc
        sess = xc["sessions"]["default/app/stream"]
        errs = sess["errors"]
        assert [(e["profile"], e["track"]) for e in errs] == [("gpu", "nvonly")], errs
        assert "no device with an encoder engine" in errs[0]["error"], errs
        running = [o for o in sess["outputs"] if o["packetsOut"] > 0 and o["state"] == "running"]
        assert {o["name"] for o in running} >= {"480p", "360p", "240p", "opus", "a44"}, sess["outputs"]
        assert all(o["module"] == "cpu" for o in sess["outputs"])
        assert "nvonly" in ome["proc"].log() and "failed" in ome["proc"].log()
        st, body = await api(ome, "/stats/current/vhosts/default/apps/app/streams/stream")
        assert st == 200 and body["response"]["transcoder"]["outputs"], body

        rc, res = await player.result(60)
        assert rc == 0, res["errors"]
        assert not [e for e in res["errors"] if "FATAL" in e], res["errors"]
        assert len(res["levels"]) == 3 and {lv["height"] for lv in res["levels"]} == {480, 360, 240}
        assert len(set(res["fragLevels"])) >= 2, res                                 # fragments of 2+ renditions
        assert len(res["levelSwitches"]) >= 2, res["levelSwitches"]
        assert res["currentTime"] - (res["firstTime"] or 0) > 8, res
    finally:
        if player is not None:
            await player.kill()
        await stop(pub)
