"""LL-HLS playlist text: media playlists (full and delta) and masters.

OME's names and tag order (reference §2.1, §2.3, §2.5) with the fixes of
§2.7: one PT and one SERVER-CONTROL line for every playlist of a stream,
HOLD-BACK, CAN-SKIP-UNTIL + EXT-X-SKIP, UTC program date-times.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .llhls_stream import LlhlsStream, TrackState


def chunklist_name(st: "TrackState", key: str) -> str:
    return f"chunklist_{st.id}_{st.media_type}_{key}_llhls.m3u8"


def init_name(st: "TrackState", key: str) -> str:
    return f"init_{st.id}_{st.media_type}_{key}_llhls.m4s"


def seg_name(st: "TrackState", msn: int, key: str) -> str:
    return f"seg_{st.id}_{msn}_{st.media_type}_{key}_llhls.m4s"


def part_name(st: "TrackState", msn: int, idx: int, key: str) -> str:
    return f"part_{st.id}_{msn}_{idx}_{st.media_type}_{key}_llhls.m4s"


def seconds(ticks: int, timescale: int) -> str:
    """Nearest, 6 decimals (EXTINF, PART DURATION)."""
    micro = (ticks * 1_000_000 * 2 + timescale) // (2 * timescale)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def seconds_up(ticks: int, timescale: int) -> str:
    """Rounded up, 6 decimals (PART-TARGET)."""
    micro = -(-ticks * 1_000_000 // timescale)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}.0"


def pdt(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}Z"


def server_control(s: "LlhlsStream") -> str:
    td = s.target_duration
    line = (f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={_num(s.part_hold_back())},"
            f"HOLD-BACK={_num(3.0 * td)}")
    if s.can_skip:
        line += f",CAN-SKIP-UNTIL={_num(6.0 * td)}"
    return line


def listed_segments(s: "LlhlsStream", st: "TrackState") -> list:
    """The complete segments of the window (SegmentCount) + the in-progress one."""
    complete = [seg for seg in st.segments.values() if seg.complete]
    listed = complete[-s.segment_count:]
    if not s.ended:
        tail = list(st.segments.values())[-1:] if st.segments else []
        if tail and not tail[0].complete and tail[0].parts:
            listed.append(tail[0])
    return listed


def hint(s: "LlhlsStream", st: "TrackState") -> tuple[int, int] | None:
    """(msn, part index) of the next part, or None when the stream ended."""
    if s.ended:
        return None
    last = st.last
    if last is None:
        return (s.first_msn, 0)
    msn, idx = last
    if st.segments[msn].complete:
        return (msn + 1, 0)
    return (msn, idx + 1)


def media_playlist(s: "LlhlsStream", st: "TrackState", *, skip: bool = False) -> str:
    key = s.key
    ts = st.timescale
    segs = listed_segments(s, st)
    out = ["#EXTM3U",
           f"#EXT-X-VERSION:{9 if s.can_skip else 6}",
           f"#EXT-X-TARGETDURATION:{s.target_duration}",
           server_control(s),
           f"#EXT-X-PART-INF:PART-TARGET={seconds_up(s.pt_ticks, s.pt_timescale)}",
           f"#EXT-X-MEDIA-SEQUENCE:{segs[0].msn if segs else s.first_msn}"]
    disc_seq = st.discontinuity_sequence(segs[0].msn) if segs else st.disc_dropped
    if disc_seq:
        out.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_seq}")
    out.append(f'#EXT-X-MAP:URI="{init_name(st, key)}"')
    skipped = 0
    if skip and s.can_skip and segs:
        total = sum(seg.duration for seg in segs)
        until = 6 * s.target_duration * ts
        end = 0
        for seg in segs:
            end += seg.duration
            if seg.complete and total - end >= until:
                skipped += 1
            else:
                break
        if skipped:
            out.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")
    # ad markers: the same tags in every chunklist, also in delta updates (no CAN-SKIP-DATERANGES)
    out += s.markers.lines(segs[0].pdt_ms if segs else 0, pdt)
    with_parts = {seg.msn for seg in segs[-3:]}
    for seg in segs[skipped:]:
        if seg.discontinuity:
            out.append("#EXT-X-DISCONTINUITY")
        out.append(f"#EXT-X-PROGRAM-DATE-TIME:{pdt(seg.pdt_ms)}")
        if seg.msn in with_parts and not s.ended:
            for p in seg.parts:
                line = f'#EXT-X-PART:DURATION={seconds(p.duration, ts)},URI="{part_name(st, seg.msn, p.index, key)}"'
                if p.independent:
                    line += ",INDEPENDENT=YES"
                out.append(line)
        if seg.complete:
            out.append(f"#EXTINF:{seconds(seg.duration, ts)},")
            out.append(seg_name(st, seg.msn, key))
    nxt = hint(s, st)
    if nxt is not None and s.config.enable_preload_hint:
        out.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_name(st, nxt[0], nxt[1], key)}"')
    if not s.ended:
        for other in s.tracks.values():
            if other is st or other.media_type != st.media_type:
                continue
            last = other.last
            if last is not None:
                out.append(f'#EXT-X-RENDITION-REPORT:URI="{chunklist_name(other, key)}",'
                           f"LAST-MSN={last[0]},LAST-PART={last[1]}")
    if s.ended:
        out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def _prefix(s: "LlhlsStream", depth: int) -> str:
    if depth == 0:
        return ""
    if depth == 1:
        return f"../{s.name}/"
    if depth == 2:
        return f"../../{s.app}/{s.name}/"
    return f"/{s.app}/{s.name}/"


def _configured_bitrate(st: "TrackState") -> int:
    """A transcoded track's encode bitrate (its target); 0 for bypass tracks (measured instead)."""
    t = st.track
    return 0 if t.bypass or not t.stats else int(t.stats.get("bitrate_conf") or 0)


def master_playlist(s: "LlhlsStream", renditions: list[tuple[list, list]], depth: int = -1) -> str:
    """renditions: (video tracks, audio tracks) per EXT-X-STREAM-INF (one video or none each)."""
    prefix = _prefix(s, depth)
    media: list[str] = []
    groups: dict[str, str] = {}
    infs: list[str] = []
    for videos, audios in renditions:
        video = videos[0] if videos else None
        if video is None and not audios:
            continue
        group = None
        if video is not None and audios:
            names = tuple(a.id for a in audios)
            group = groups.get(str(names))
            if group is None:
                group = audios[0].track.name or audios[0].codecs.split(".")[0].replace("mp4a", "aac")
                base, n = group, 1
                while group in groups.values():
                    n += 1
                    group = f"{base}_{n}"
                groups[str(names)] = group
                for i, a in enumerate(audios):
                    name = a.track.name or group
                    media.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{group}",NAME="{name}",'
                                 f'DEFAULT={"YES" if i == 0 else "NO"},AUTOSELECT=YES,FORCED=NO,'
                                 f'CHANNELS="{a.channels or 2}",URI="{prefix}{chunklist_name(a, s.key)}"')
        parts = [t for t in (video, audios[0] if audios else None) if t is not None]
        average = sum(_configured_bitrate(t) or t.bitrate() for t in parts)
        peak = max(sum(t.bitrate() for t in parts), average * 11 // 10)   # 1 s VBV: ~10 % over the target
        attrs = [f"BANDWIDTH={peak or 1000000}"]
        if average:
            attrs.append(f"AVERAGE-BANDWIDTH={average}")
        if video is not None:
            if video.width and video.height:
                attrs.append(f"RESOLUTION={video.width}x{video.height}")
            fps = float(video.track.stats.get("framerate_conf") or 0) if video.track.stats else 0.0
            attrs.append(f"FRAME-RATE={fps or s.frame_rate():.3f}")
        codecs = ([video.codecs] if video else []) + ([audios[0].codecs] if audios else [])
        attrs.append(f'CODECS="{",".join(codecs)}"')
        if group:
            attrs.append(f'AUDIO="{group}"')
        target = video if video is not None else audios[0]
        infs.append(f"#EXT-X-STREAM-INF:{','.join(attrs)}\n{prefix}{chunklist_name(target, s.key)}")
    out = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS", *media, ""]
    out += infs
    return "\n".join(out) + "\n"
