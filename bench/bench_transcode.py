"""Transcoding benchmark: the native transcoder against the ffmpeg CLI, same ladder, same input, one run.

    make bench-transcode   # = .venv/bin/python bench/bench_transcode.py --out bench/RESULTS.md

Input: bench/.cache/src360.mp4 (media_source: 60 s testsrc2 640x360 H.264 30 fps, GOP 2 s, 2 B-frames),
video only. Ladder: 360p 600 kb/s, 240p 300 kb/s, 144p 150 kb/s, libx264 veryfast, one encoder
thread each, keyframe every 60 frames, no scene cut, no B-frames, rc-lookahead 10, 1 s VBV at the target.

* ome: `omn_xcode_*` driven in-process from Python exactly as the server does (copy into C, C threads
  decode once / scale once per size / encode per rendition, packets popped after omn_notify).
* anchor: `ffmpeg -i src -filter_complex split=3 + scale per rendition`, three libx264 outputs with
  the same settings, written to the null muxer (decode once + split + scale per rendition).

Reported: frames per second of the whole ladder (source frames / wall time) and their ratio, CPU
seconds (total and per rendition: ome's encoder threads' CPU time; ffmpeg's total / 3) and memory
(peak RSS growth of our process vs ffmpeg's peak RSS). Repeated `--runs` times, median.
"""
from __future__ import annotations

import argparse
import os
import resource
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import media_source  # noqa: E402
import report  # noqa: E402

media_source.SOURCES.setdefault("360", ("640x360", "800k"))
KIND = "360"
LADDER = [("360p", 640, 360, 600_000), ("240p", 426, 240, 300_000), ("144p", 256, 144, 150_000)]
GOP = 60
START = "<!-- bench-transcode:start -->"
END = "<!-- bench-transcode:end -->"


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_ome(src: media_source.Source) -> dict:
    from ome._native import ffi, lib
    samples = [s for s in src.samples if s.video]
    rss0 = _rss_kb()
    peak = rss0
    notify = lib.omn_notify_new()
    x = lib.omn_xcode_new(notify)
    err = ffi.new("char[160]")
    assert lib.omn_xcode_add_input(x, 0, lib.OMN_CODEC_H264, src.avcc, len(src.avcc), 90000, 0, 0, 0, 0, err, 160) == 0
    for name, w, h, rate in LADDER:
        c = ffi.new("omn_xcode_output_config *")
        c.input_track_id, c.codec, c.bitrate, c.width, c.height = 0, lib.OMN_CODEC_H264, rate, w, h
        c.skip_frames, c.keyint_frames, c.bframes, c.threads, c.lookahead = -1, GOP, 0, 1, 10
        c.preset = b"veryfast"
        assert lib.omn_xcode_add_output(x, c, err, 160) >= 0, ffi.string(err)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    lib.omn_xcode_start(x)
    ist = ffi.new("omn_xcode_input_stats *")
    pkt = ffi.new("omn_xcode_packet *")
    fd = lib.omn_notify_fd(notify)
    got = [0] * len(LADDER)
    sent = 0
    ended = False
    st = ffi.new("omn_xcode_output_stats *")
    while True:
        lib.omn_xcode_get_input_stats(x, 0, ist)
        # keep ~120 packets queued: the loop never blocks and the input queue never overflows
        while sent < len(samples) and sent - ist.frames_decoded < 120:
            s = samples[sent]
            lib.omn_xcode_push(x, 0, s.pts, s.dts, s.key, s.data, len(s.data))
            sent += 1
        select.select([fd], [], [], 0.01)
        lib.omn_notify_drain(notify)
        while lib.omn_xcode_pop(x, pkt):
            got[pkt.output] += 1
        peak = max(peak, _rss_kb())
        if sent == len(samples) and not ended:
            lib.omn_xcode_end(x)             # drain decoders and encoders, as ffmpeg does at EOF
            ended = True
        if ended and all(lib.omn_xcode_get_output_stats(x, i, st) == 0 and st.ended for i in range(len(LADDER))):
            while lib.omn_xcode_pop(x, pkt):
                got[pkt.output] += 1
            break
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    assert got == [len(samples)] * len(LADDER), got
    per = []
    for i, (name, *_rest) in enumerate(LADDER):
        lib.omn_xcode_get_output_stats(x, i, st)
        per.append((name, st.encode_ns / 1e9, st.bytes_out))
    lib.omn_xcode_get_input_stats(x, 0, ist)
    decode_cpu = ist.decode_ns / 1e9
    lib.omn_xcode_free(x)
    lib.omn_notify_free(notify)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"fps": len(samples) / wall, "wall": wall, "cpu": cpu, "per": per, "decode_cpu": decode_cpu,
            "rss_mb": (peak - rss0) / 1024, "frames": len(samples), "dropped": int(ist.dropped)}


def run_ffmpeg(src: media_source.Source) -> dict:
    n = len(LADDER)
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + ";".join(
        f"[s{i}]scale={w}:{h}[o{i}]" for i, (_, w, h, _) in enumerate(LADDER))
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(src.path), "-filter_complex", graph]
    for i, (_, w, h, rate) in enumerate(LADDER):
        cmd += ["-map", f"[o{i}]", "-an", "-c:v", "libx264", "-preset", "veryfast", "-threads", "1",
                "-b:v", str(rate), "-maxrate", str(rate), "-bufsize", str(rate), "-g", str(GOP),
                "-keyint_min", "1", "-bf", "0", "-forced-idr", "1",
                "-x264-params", "scenecut=0:open-gop=0:rc-lookahead=10", "-f", "null", "-"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    frames = sum(1 for s in src.samples if s.video)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"fps": frames / wall, "wall": wall, "cpu": cpu, "rss_mb": after.ru_maxrss / 1024, "cmd": cmd}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    src = media_source.load(KIND)
    ours, theirs = [], []
    for i in range(args.runs):           # interleaved so load changes hit both alike
        theirs.append(run_ffmpeg(src))
        ours.append(run_ome(src))
        print(f"run {i + 1}: ome {ours[-1]['fps']:.0f} fps, ffmpeg {theirs[-1]['fps']:.0f} fps", flush=True)
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    o_fps, f_fps = med(ours, "fps"), med(theirs, "fps")
    best = min(ours, key=lambda r: abs(r["fps"] - o_fps))
    per_run = ", ".join(f"{o['fps'] / t['fps']:.2f}" for o, t in zip(ours, theirs))
    ff = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    load = os.getloadavg()
    lines = [
        "## Transcoding: native ladder vs the ffmpeg CLI (`make bench-transcode`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {report.machine(f'ffmpeg {ff}')}; load average "
        f"{load[0]:.1f} at the end. Other work on the machine moves absolute figures; the ratio comes "
        "from interleaved runs of both on the same input.",
        "",
        f"Command: `.venv/bin/python bench/bench_transcode.py --out bench/RESULTS.md --runs {args.runs}`. "
        f"Input: {src.description}, video only ({best['frames']} frames). Ladder: "
        + ", ".join(f"{n} {w}x{h} {r // 1000} kb/s" for n, w, h, r in LADDER)
        + f"; libx264 veryfast, 1 thread per encoder, keyframe every {GOP} frames, no scene cut, no B-frames, "
        "rc-lookahead 10, 1 s VBV. Anchor: `ffmpeg -i src -filter_complex split=3,scale×3` with three libx264 "
        "outputs of the same settings to the null muxer.",
        "",
        "| | ladder fps (source frames/s, median) | wall s | CPU s (total) | CPU s per rendition | memory |",
        "|---|---|---|---|---|---|",
        f"| ome native transcoder | {o_fps:.0f} | {med(ours, 'wall'):.1f} | {med(ours, 'cpu'):.1f} | "
        + ", ".join(f"{n} {c:.1f}" for n, c, _ in best["per"]) + f" (+ decode/scale {best['decode_cpu']:.1f}) | "
        f"+{max(r['rss_mb'] for r in ours):.0f} MB peak RSS growth, first run in a fresh process "
        f"(~{max(r['rss_mb'] for r in ours) / len(LADDER):.0f} MB per rendition) |",
        f"| ffmpeg CLI | {f_fps:.0f} | {med(theirs, 'wall'):.1f} | {med(theirs, 'cpu'):.1f} | "
        f"{med(theirs, 'cpu') / len(LADDER):.1f} each (total / 3) | {med(theirs, 'rss_mb'):.0f} MB peak RSS "
        f"(~{med(theirs, 'rss_mb') / len(LADDER):.0f} MB per rendition) |",
        "",
        f"**Ratio: {o_fps / f_fps:.2f}× the ffmpeg CLI's ladder fps** (target ≥ 1.1×). Both decode once and "
        "scale once per rendition here and spend about the same CPU; any gain is wall time: each of ome's "
        "encoders runs in its own C thread beside the decoder thread, while ffmpeg 5.1's CLI runs its filter "
        "graph and its three single-threaded encoders from one thread. On 2 shared cores the ratio varies "
        f"with the load (per-run ratios: {per_run}). "
        f"Input packets dropped by ome: {best['dropped']}.",
        "",
        f"CPU efficiency (source frames per CPU-second of the whole process, median): ome "
        f"{best['frames'] / med(ours, 'cpu'):.0f}, ffmpeg {best['frames'] / med(theirs, 'cpu'):.0f} = "
        f"**{med(theirs, 'cpu') / med(ours, 'cpu'):.2f}×** (ome's figure includes the Python driver that pushes "
        "and pops every packet, as the server does). When other work holds both cores, extra threads cannot "
        "buy wall time, and the fps ratio falls towards this CPU ratio.",
        "",
        "GPU: **no GPU was available in this session** (the device tool offered none); the probe on this "
        "machine reports none (`NVML: libnvidia-ml.so.1 not present; No supported NVIDIA accelerator; QSV: none; "
        "VAAPI: none`), so no NVDEC/NVENC figures could be measured.",
    ]
    text = "\n".join(lines)
    report.write_section(args.out, START, END, text)
    print(text)


if __name__ == "__main__":
    main()
