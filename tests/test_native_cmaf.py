"""The native CMAF/LL-HLS packager judged by an independent decoder.

Real H.264 (with B-frames) and AAC from ffmpeg's testsrc2/sine, muxed to
MPEG-TS (Annex B video, ADTS audio), are split into access units by
ffprobe and fed through the cffi binding of native/src/llhls_packager.c:
a LEAD video track and a FOLLOW audio track that receives the video's cut
times, as the LL-HLS publisher will drive them. The init segments and
parts are then concatenated and read back by ffprobe/ffmpeg, which must
report no errors, every frame, and gap-free timestamps.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ome._native import ffi, lib

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
                                reason="ffmpeg/ffprobe not installed")

SECONDS = 6
FPS = 30
VIDEO_PT = 15 * 3000          # 0.5 s in 90 kHz ticks = 15 frames
AUDIO_PT = 24000              # 0.5 s at 48 kHz (23 AAC frames per part)
SEGMENT_MS = 2000
MAX_SEGMENT_MS = 2499


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _unhex(dump: str) -> bytes:
    out = bytearray()
    for line in dump.splitlines():
        if ": " not in line:
            continue
        hexpart = line.split(": ", 1)[1].split("  ", 1)[0]
        out += bytes.fromhex(hexpart.replace(" ", ""))
    return bytes(out)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmaf_src")
    ts = d / "src.ts"
    r = _run("ffmpeg", "-v", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(SECONDS), "-c:v", "libx264", "-g", "30", "-bf", "2", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "96k", "-bsf:v", "h264_mp4toannexb", "-f", "mpegts", str(ts))
    assert r.returncode == 0, r.stderr
    r = _run("ffprobe", "-v", "error", "-show_packets", "-show_data", "-of", "json", str(ts))
    assert r.returncode == 0, r.stderr
    video, audio = [], []
    for p in json.loads(r.stdout)["packets"]:
        item = (int(p["dts"]), int(p["pts"]), "K" in p["flags"], _unhex(p["data"]))
        (video if p["codec_type"] == "video" else audio).append(item)
    assert len(video) == SECONDS * FPS and len(audio) > 200
    return video, audio


def _buf_bytes(b) -> bytes:
    return ffi.buffer(b.data, b.len)[:]


def _new_packager(codec: int, config: bytes, fmt: int, mode: int, pt: int):
    keep = ffi.new("uint8_t[]", config)
    cfg = ffi.new("omn_llhls_config *")
    cfg.codec = codec
    cfg.codec_config = keep
    cfg.codec_config_len = len(config)
    cfg.input_format = fmt
    cfg.segment_mode = mode
    cfg.part_target = pt
    cfg.segment_ms = SEGMENT_MS
    cfg.max_segment_ms = MAX_SEGMENT_MS
    cfg.first_segment = 0
    out = ffi.new("omn_llhls **")
    assert lib.omn_llhls_new(cfg, out) == 0
    return ffi.gc(out[0], lib.omn_llhls_free)


def _pop(pk) -> list[dict]:
    parts = []
    part = ffi.new("omn_llhls_part *")
    while lib.omn_llhls_pop_part(pk, part):
        parts.append(dict(segment=part.segment, index=part.part_index, start=part.start,
                          duration=part.duration, independent=part.independent,
                          end=part.segment_end, events=part.event_count,
                          data=_buf_bytes(part.bytes)))
        lib.omn_buf_free(ffi.addressof(part, "bytes"))
    return parts


def _from_buf(call) -> bytes:
    """call(out) appends to a fresh omn_buf; returns its bytes, frees it."""
    b = ffi.new("omn_buf *")
    assert call(b) == 0
    try:
        return _buf_bytes(b)
    finally:
        lib.omn_buf_free(b)


def _id3_txxx(desc: bytes, value: bytes) -> bytes:
    frames = ffi.new("omn_buf *")
    assert lib.omn_id3_add_txxx(frames, desc, len(desc), value, len(value)) == 0
    try:
        return _from_buf(lambda b: lib.omn_id3_tag(b, frames.data, frames.len))
    finally:
        lib.omn_buf_free(frames)


@pytest.fixture(scope="module")
def packaged(source, tmp_path_factory):
    video, audio = source
    out = tmp_path_factory.mktemp("cmaf_out")
    avcc = _from_buf(lambda b: lib.omn_avcc_from_annexb(b, video[0][3], len(video[0][3])))
    asc = _from_buf(lambda b: lib.omn_asc_from_adts(b, audio[0][3], len(audio[0][3])))
    vp = _new_packager(lib.OMN_CODEC_H264, avcc, lib.OMN_INPUT_ANNEXB, lib.OMN_SEG_LEAD, VIDEO_PT)
    ap = _new_packager(lib.OMN_CODEC_AAC, asc, lib.OMN_INPUT_ADTS, lib.OMN_SEG_FOLLOW, AUDIO_PT)

    # one stream epoch; audio dts = running sample count anchored to its first timestamp
    t0 = min(video[0][0], audio[0][0])
    a0 = (audio[0][0] - t0) * 48000 // 90000
    vq = [(d - t0, p - t0, k, data) for d, p, k, data in video]
    aq = [(a0 + i * 1024, data) for i, (_, _, _, data) in enumerate(audio)]

    tag = _id3_txxx(b"AirenSoft", b"OvenMediaEngine")
    vparts, aparts = [], []
    vi = ai = 0
    event_sent = False
    while vi < len(vq) or ai < len(aq):
        take_video = ai >= len(aq) or (vi < len(vq) and vq[vi][0] * 48000 <= aq[ai][0] * 90000)
        if take_video:
            d, p, k, data = vq[vi]
            assert lib.omn_llhls_feed(vp, data, len(data), d, p, k) == 0
            vi += 1
            for part in _pop(vp):
                vparts.append(part)
                if part["index"] == 0 and part["segment"] > 0:   # forward the cut to audio
                    assert lib.omn_llhls_request_cut(ap, part["start"], 90000) == 0
        else:
            d, data = aq[ai]
            assert lib.omn_llhls_feed(ap, data, len(data), d, d, 1) == 0
            ai += 1
        aparts += _pop(ap)
        if not event_sent and vi == 100:                          # ~3.3 s: :sendEvent
            now_ms = vq[vi - 1][0] // 90
            for pk in (vp, ap):
                assert lib.omn_llhls_add_event(pk, now_ms, 7, tag, len(tag)) == 0
            event_sent = True
    assert lib.omn_llhls_finish(vp, 0) == 0
    assert lib.omn_llhls_finish(ap, 0) == 0
    vparts += _pop(vp)
    aparts += _pop(ap)

    files = {}
    for name, pk, parts in (("video", vp, vparts), ("audio", ap, aparts)):
        init = _from_buf(lambda b: lib.omn_llhls_init_segment(pk, b))
        (out / f"init_{name}.mp4").write_bytes(init)
        segs: dict[int, bytes] = {}
        for part in parts:
            segs[part["segment"]] = segs.get(part["segment"], b"") + part["data"]
        for n, data in segs.items():
            (out / f"seg_{name}_{n}.m4s").write_bytes(data)
        (out / f"{name}.mp4").write_bytes(init + b"".join(segs[n] for n in sorted(segs)))
        info = ffi.new("omn_codec_info *")
        lib.omn_llhls_info(pk, info)
        files[name] = dict(parts=parts, segs=segs, codecs=ffi.string(info.codecs).decode())
    return dict(dir=out, src_video=vq, src_audio=aq, tag=tag, **files)


def _probe_packets(path: Path) -> list[dict]:
    r = _run("ffprobe", "-v", "error", "-show_packets", "-of", "json", str(path))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(r.stdout)["packets"]


def _probe_stream(path: Path) -> dict:
    r = _run("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    (st,) = json.loads(r.stdout)["streams"]
    return st


def _decode_clean(path: Path) -> None:
    r = _run("ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_video_decodes_cleanly_with_every_frame(packaged):
    path = packaged["dir"] / "video.mp4"
    st = _probe_stream(path)
    assert st["codec_name"] == "h264" and (st["width"], st["height"]) == (320, 240)
    assert int(st["nb_read_frames"]) == len(packaged["src_video"])
    _decode_clean(path)


def test_video_timestamps_continuous_and_exact(packaged):
    pkts = _probe_packets(packaged["dir"] / "video.mp4")
    src = packaged["src_video"]
    assert [int(p["dts"]) for p in pkts] == [d for d, _, _, _ in src]
    assert [int(p["pts"]) for p in pkts] == [p for _, p, _, _ in src]      # B-frame CTOs kept
    for a, b in zip(pkts, pkts[1:]):
        assert int(b["dts"]) - int(a["dts"]) == int(a["duration"])
    assert [("K" in p["flags"]) for p in pkts] == [k for _, _, k, _ in src]


def test_audio_decodes_cleanly_with_every_frame(packaged):
    path = packaged["dir"] / "audio.mp4"
    st = _probe_stream(path)
    assert st["codec_name"] == "aac" and st["sample_rate"] == "48000"
    assert int(st["nb_read_frames"]) == len(packaged["src_audio"])
    pkts = _probe_packets(path)
    assert [int(p["dts"]) for p in pkts] == [d for d, _ in packaged["src_audio"]]
    # ffprobe shows no duration for the first AAC packet of any fMP4 (ffmpeg's own
    # output too: priming handling); the rest must say 1024
    assert all(int(p["duration"]) == 1024 for p in pkts[1:])
    _decode_clean(path)


def test_every_segment_stands_alone(packaged):
    d = packaged["dir"]
    for name in ("video", "audio"):
        init = (d / f"init_{name}.mp4").read_bytes()
        for n, data in packaged[name]["segs"].items():
            one = d / f"alone_{name}_{n}.mp4"
            one.write_bytes(init + data)
            pkts = _probe_packets(one)
            assert pkts and "K" in pkts[0]["flags"]


def test_parts_segments_and_alignment(packaged):
    v, a = packaged["video"], packaged["audio"]
    assert sorted(v["segs"]) == sorted(a["segs"]) == list(range(len(v["segs"])))
    assert len(v["segs"]) == SECONDS * 1000 // SEGMENT_MS
    for name, pt, ts in (("video", VIDEO_PT, 90000), ("audio", AUDIO_PT, 48000)):
        parts = packaged[name]["parts"]
        for p, q in zip(parts, parts[1:]):
            assert q["start"] == p["start"] + p["duration"]              # tfdt continuity
        for p in parts:
            assert p["duration"] <= pt
            if not p["end"]:
                assert p["duration"] * 100 >= pt * 85                    # >= 0.85 x PT
        starts = {p["segment"]: p["start"] for p in parts if p["index"] == 0}
        packaged[name]["seg_start_s"] = {n: s / ts for n, s in starts.items()}
    for n in v["segs"]:
        first_v = next(p for p in v["parts"] if p["segment"] == n)
        assert first_v["independent"]
        # MSN n covers the same interval: audio starts at its first frame at/after the video cut
        dv, da = v["seg_start_s"][n], a["seg_start_s"][n]
        assert 0 <= da - dv < 1024 / 48000 or n == 0


def test_event_carried_as_emsg_in_both_tracks(packaged):
    tag = packaged["tag"]
    for name in ("video", "audio"):
        with_ev = [p for p in packaged[name]["parts"] if p["events"]]
        assert len(with_ev) == 1
        data = with_ev[0]["data"]
        assert data[4:8] == b"emsg" and data[8] == 1
        size = int.from_bytes(data[:4], "big")
        assert data[size - len(tag):size] == tag and data[size + 4:size + 8] == b"moof"
        assert int.from_bytes(data[28:32], "big") == 7                   # same id everywhere


def test_codecs_strings(packaged):
    assert packaged["video"]["codecs"].startswith("avc1.64")          # x264 High profile
    assert packaged["audio"]["codecs"] == "mp4a.40.2"


def _probe_packets_with_data(path: Path) -> tuple[list[tuple[int, int, bool, bytes]], dict]:
    r = _run("ffprobe", "-v", "error", "-show_packets", "-show_streams", "-show_data", "-of", "json",
             str(path))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    pkts = [(int(p["dts"]), int(p["pts"]), "K" in p["flags"], _unhex(p["data"])) for p in j["packets"]]
    return pkts, j["streams"][0]


def _package_alone(tmp: Path, name: str, codec: int, config: bytes, fmt: int, pt: int,
                   samples) -> tuple[Path, str, list[dict]]:
    pk = _new_packager(codec, config, fmt, lib.OMN_SEG_LEAD, pt)
    parts = []
    for dts, pts, key, data in samples:
        assert lib.omn_llhls_feed(pk, data, len(data), dts, pts, key) == 0
        parts += _pop(pk)
    assert lib.omn_llhls_finish(pk, 0) == 0
    parts += _pop(pk)
    init = _from_buf(lambda b: lib.omn_llhls_init_segment(pk, b))
    path = tmp / f"{name}.mp4"
    path.write_bytes(init + b"".join(p["data"] for p in parts))
    info = ffi.new("omn_codec_info *")
    lib.omn_llhls_info(pk, info)
    return path, ffi.string(info.codecs).decode(), parts


def test_hevc_hvc1_decodes_cleanly(tmp_path):
    ts = tmp_path / "hevc.ts"
    r = _run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
             "-t", "2", "-c:v", "libx265", "-x265-params", "log-level=error:keyint=25:bframes=2",
             "-pix_fmt", "yuv420p", "-f", "mpegts", str(ts))
    assert r.returncode == 0, r.stderr
    pkts, _ = _probe_packets_with_data(ts)
    assert len(pkts) == 50
    hvcc = _from_buf(lambda b: lib.omn_hvcc_from_annexb(b, pkts[0][3], len(pkts[0][3])))
    t0 = pkts[0][0]
    samples = [(d - t0, p - t0, k, data) for d, p, k, data in pkts]
    path, codecs, parts = _package_alone(tmp_path, "hevc", lib.OMN_CODEC_H265, hvcc,
                                         lib.OMN_INPUT_ANNEXB, 12 * 3600, samples)
    assert codecs.startswith("hvc1.1.6.L")
    st = _probe_stream(path)
    assert st["codec_name"] == "hevc" and st["codec_tag_string"] == "hvc1"
    assert (st["width"], st["height"]) == (320, 240) and int(st["nb_read_frames"]) == 50
    out = _probe_packets(path)
    assert [int(p["pts"]) for p in out] == [p for _, p, _, _ in samples]
    assert [int(p["dts"]) for p in out] == [d for d, _, _, _ in samples]
    _decode_clean(path)
    assert sum(p["end"] for p in parts) == 1          # 2 s < one 2 s segment + finish


def test_opus_decodes_cleanly(tmp_path):
    webm = tmp_path / "opus.webm"
    r = _run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=sample_rate=48000",
             "-t", "3", "-ac", "2", "-c:a", "libopus", "-f", "webm", str(webm))
    assert r.returncode == 0, r.stderr
    pkts, st = _probe_packets_with_data(webm)
    head = _unhex(st["extradata"])
    assert head[:8] == b"OpusHead"
    samples, t = [], 0
    for _, _, _, data in pkts:
        samples.append((t, t, True, data))
        t += 960                                        # libopus default: 20 ms packets
    path, codecs, parts = _package_alone(tmp_path, "opus", lib.OMN_CODEC_OPUS, head,
                                         lib.OMN_INPUT_RAW, 24000, samples)
    assert codecs == "opus"
    assert all(p["duration"] == 24000 for p in parts if not p["end"])
    out = _probe_stream(path)
    assert out["codec_name"] == "opus" and out["codec_tag_string"] == "Opus"
    assert out["sample_rate"] == "48000" and out["channels"] == 2
    assert int(out["nb_read_frames"]) == len(pkts)
    _decode_clean(path)
