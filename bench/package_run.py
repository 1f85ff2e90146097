"""Packaging throughput driver: our LL-HLS packager (omn_llhls_*) over pre-demuxed samples.

Drives one A/V stream the way ome/publishers/llhls_stream.py does: a LEAD packager for the
video track, a FOLLOW packager for the audio track with omn_llhls_request_cut at every video
segment start; parts popped after every feed. Writes, per track, the init segment, every part
as its own file and, at the same time, appends it to its segment's file (a segment = its parts in
order), both written straight from the packager's buffer.
"""
from __future__ import annotations

import os
from pathlib import Path

from ome._native import ffi, lib
from ome.publishers.edge import shared_copy


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _write_all(fd: int, view) -> None:
    mv = memoryview(view)
    while mv:
        mv = mv[os.write(fd, mv):]


def _new(codec: int, cfg: bytes, lead: bool, part_target: int, segment_ms: int):
    c = ffi.new("omn_llhls_config *")
    keep = ffi.new("uint8_t[]", cfg)
    c.codec, c.codec_config, c.codec_config_len = codec, keep, len(cfg)
    c.input_format = lib.OMN_INPUT_RAW
    c.segment_mode = lib.OMN_SEG_LEAD if lead else lib.OMN_SEG_FOLLOW
    c.part_target = part_target
    c.segment_ms = segment_ms
    c.max_segment_ms = segment_ms + 499
    c.first_segment = 0
    out = ffi.new("omn_llhls **")
    rc = lib.omn_llhls_new(c, out)
    if rc != 0:
        raise RuntimeError(f"omn_llhls_new: {rc}")
    return ffi.gc(out[0], lib.omn_llhls_free)


def package(samples, avcc: bytes, asc: bytes, out_dir: Path, *, part_s: float = 0.5,
            segment_ms: int = 2000, frame_ticks: int = 3000) -> dict:
    """Package everything into out_dir (None: keep every part and segment as Python bytes in memory,
    as the publisher does). Returns counts; the caller times the call."""
    if out_dir is None:
        return _package_mem(samples, avcc, asc, part_s, segment_ms, frame_ticks)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(part_s * 90000 / frame_ticks))
    pt = frames * frame_ticks
    tracks = {
        True: ["video", _new(lib.OMN_CODEC_H264, avcc, True, pt, segment_ms), 90000, None, None],
        False: ["audio", _new(lib.OMN_CODEC_AAC, asc, False, pt * 48000 // 90000, segment_ms), 48000, None, None],
    }
    written = 0
    files = 0
    b = ffi.new("omn_buf *")
    for name, pk, _, _, _ in tracks.values():
        lib.omn_llhls_init_segment(pk, b)
        with open(out_dir / f"init_{name}.mp4", "wb") as f:
            f.write(ffi.buffer(b.data, b.len))
        written += b.len
        files += 1
        lib.omn_buf_free(b)
    part = ffi.new("omn_llhls_part *")
    part_bytes = ffi.addressof(part, "bytes")
    audio_pk = tracks[False][1]
    feed, pop, free_buf, cut = lib.omn_llhls_feed, lib.omn_llhls_pop_part, lib.omn_buf_free, lib.omn_llhls_request_cut

    def collect(tr) -> None:
        nonlocal written, files
        name, pk, ts, _, seg_fd = tr
        while pop(pk, part):
            view = ffi.buffer(part.bytes.data, part.bytes.len)      # no copy: written from C memory
            msn, idx = part.segment, part.part_index
            fd = os.open(os.path.join(out_dir, f"part_{name}_{msn}_{idx}.m4s"), _FLAGS, 0o644)
            _write_all(fd, view)
            os.close(fd)
            if idx == 0:
                seg_fd = tr[4] = os.open(os.path.join(out_dir, f"seg_{name}_{msn}.m4s"), _FLAGS, 0o644)
                files += 1
            _write_all(seg_fd, view)                               # the segment = its parts in order
            written += 2 * len(view)
            files += 1
            free_buf(part_bytes)
            if tr is tracks[True] and idx == 0 and msn > 0:
                cut(audio_pk, part.start, ts)
            if part.segment_end:
                os.close(seg_fd)
                tr[4] = None

    for s in samples:
        tr = tracks[s.video]
        rc = feed(tr[1], s.data, len(s.data), s.dts, s.pts, 1 if s.key else 0)
        if rc != 0:
            raise RuntimeError(f"omn_llhls_feed: {rc} at dts {s.dts}")
        collect(tr)
    for tr in tracks.values():
        lib.omn_llhls_finish(tr[1], 0)
        collect(tr)
    return {"bytes_written": written, "files": files}


def _package_mem(samples, avcc: bytes, asc: bytes, part_s: float, segment_ms: int, frame_ticks: int) -> dict:
    pt = max(1, round(part_s * 90000 / frame_ticks)) * frame_ticks
    video = _new(lib.OMN_CODEC_H264, avcc, True, pt, segment_ms)
    audio = _new(lib.OMN_CODEC_AAC, asc, False, pt * 48000 // 90000, segment_ms)
    held: dict = {True: ([], []), False: ([], [])}     # (parts, segments) per track
    part = ffi.new("omn_llhls_part *")
    part_bytes = ffi.addressof(part, "bytes")
    feed, pop, free_buf, cut = lib.omn_llhls_feed, lib.omn_llhls_pop_part, lib.omn_buf_free, lib.omn_llhls_request_cut
    open_seg: dict = {True: [], False: []}

    def collect(is_video: bool, pk) -> None:
        while pop(pk, part):
            _raw, data = shared_copy(part.bytes.data, part.bytes.len)   # as LlhlsStream holds a part
            free_buf(part_bytes)
            held[is_video][0].append(data)
            open_seg[is_video].append(data)
            if is_video and part.part_index == 0 and part.segment > 0:
                cut(audio, part.start, 90000)
            if part.segment_end:
                # as the publisher: a segment is the list of its parts, sent back to back (no join)
                held[is_video][1].append(open_seg[is_video][:])
                open_seg[is_video].clear()

    for s in samples:
        pk = video if s.video else audio
        if feed(pk, s.data, len(s.data), s.dts, s.pts, 1 if s.key else 0) != 0:
            raise RuntimeError(f"omn_llhls_feed failed at dts {s.dts}")
        collect(s.video, pk)
    for is_video, pk in ((True, video), (False, audio)):
        lib.omn_llhls_finish(pk, 0)
        collect(is_video, pk)
    return {"bytes_held": sum(len(x) for ps, _ in held.values() for x in ps)}
