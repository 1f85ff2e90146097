"""Bench input media: generated once with ffmpeg into bench/.cache/, demuxed once (untimed).

`ensure_source(kind)` makes `bench/.cache/src{kind}.mp4` (60 s testsrc2 H.264 High, 30 fps, GOP 2 s,
2 B-frames + AAC-LC 128k stereo 48 kHz) and a sample index `src{kind}.index.json` (ffprobe
packets: byte position/size in the mp4, dts/pts, key flag; avcC and ASC from the stream
extradata). `load(kind)` returns the samples with their bytes read from the file: video samples
are the mp4's 4-byte length-prefixed NAL units (what the RTMP provider hands on), audio samples
raw AAC frames. Timestamps: video 90 kHz, audio 48 kHz, shifted so the first video dts is 0.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
SOURCES = {
    # kind: (size, video bitrate)
    "1080": ("1920x1080", "6M"),
    "720": ("1280x720", "2400k"),
}
SECONDS = 60
FPS = 30


@dataclass
class Sample:
    video: bool
    dts: int          # video: 90 kHz, audio: 48 kHz (stream timeline, first video dts = 0)
    pts: int
    key: bool
    data: bytes


@dataclass
class Source:
    path: Path
    avcc: bytes
    asc: bytes
    samples: list[Sample]          # in decode-time order across both tracks
    media_bytes: int               # sum of sample sizes (both tracks)
    description: str


def _unhex(dump: str) -> bytes:
    out = bytearray()
    for line in dump.splitlines():
        if ": " in line:
            out += bytes.fromhex(line.split(": ", 1)[1].split("  ", 1)[0].replace(" ", ""))
    return bytes(out)


def ensure_source(kind: str, log=print) -> Path:
    size, rate = SOURCES[kind]
    CACHE.mkdir(parents=True, exist_ok=True)
    mp4 = CACHE / f"src{kind}.mp4"
    index = CACHE / f"src{kind}.index.json"
    if not mp4.exists():
        log(f"generating {mp4} (one-off, ffmpeg libx264 veryfast) ...")
        tmp = mp4.with_suffix(".tmp.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(SECONDS),
                        "-c:v", "libx264", "-preset", "veryfast", "-b:v", rate, "-maxrate", rate,
                        "-bufsize", "4800k" if kind == "720" else "12M", "-g", str(2 * FPS), "-bf", "2",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                        "-movflags", "+faststart", str(tmp)], check=True)
        tmp.rename(mp4)
        index.unlink(missing_ok=True)
    if not index.exists():
        streams = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_data", "-of", "json",
                                             str(mp4)], check=True, capture_output=True, text=True).stdout)
        packets = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_packets", "-of", "json", str(mp4)],
                                            check=True, capture_output=True, text=True).stdout)["packets"]
        st = {s["codec_type"]: s for s in streams["streams"]}
        v, a = st["video"], st["audio"]
        assert v["codec_name"] == "h264" and a["codec_name"] == "aac"
        out = {
            "avcc": _unhex(v["extradata"]).hex(),
            "asc": _unhex(a["extradata"]).hex(),
            "video_tb": v["time_base"], "audio_tb": a["time_base"],
            "desc": f"{v['width']}x{v['height']} H.264 {v.get('profile', '')} "
                    f"{int(v.get('bit_rate', 0)) // 1000} kb/s + AAC {a['sample_rate']} Hz "
                    f"{a['channels']} ch {int(a.get('bit_rate', 0)) // 1000} kb/s, {SECONDS} s",
            "packets": [[p["codec_type"] == "video", int(p["dts"]), int(p["pts"]), "K" in p["flags"],
                         int(p["pos"]), int(p["size"])] for p in packets],
        }
        index.write_text(json.dumps(out))
    return mp4


def load(kind: str, log=print) -> Source:
    mp4 = ensure_source(kind, log)
    idx = json.loads((CACHE / f"src{kind}.index.json").read_text())
    raw = mp4.read_bytes()

    def scale(tb: str, out: int):
        num, den = (int(x) for x in tb.split("/"))
        return lambda v: v * num * out // den

    vs, as_ = scale(idx["video_tb"], 90000), scale(idx["audio_tb"], 48000)
    pk = idx["packets"]
    v0 = min(vs(p[1]) for p in pk if p[0])            # first video dts -> 0
    a0 = v0 * 48000 // 90000
    samples = []
    for is_v, dts, pts, key, pos, size in pk:
        if is_v:
            d, p = vs(dts) - v0, vs(pts) - v0
        else:
            d = p = as_(dts) - a0
            if d < 0:
                continue                                 # priming frame before the video starts
        samples.append(Sample(is_v, d, p, key, raw[pos:pos + size]))
    samples.sort(key=lambda s: (s.dts * (1 if s.video else 90000 / 48000), not s.video))
    return Source(mp4, bytes.fromhex(idx["avcc"]), bytes.fromhex(idx["asc"]), samples,
                  sum(len(s.data) for s in samples), idx["desc"])
