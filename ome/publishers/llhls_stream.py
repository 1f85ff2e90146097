"""Per-output-stream LL-HLS state: one native packager per track, parts and
segments kept in memory (bounded by SegmentCount), waiters for blocking
requests woken when a part completes.

All calls come from the event loop (StreamSink contract); the C packager
does the per-byte work, this module keeps only the per-part bookkeeping.
"""
from __future__ import annotations

import asyncio
import logging
import math
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ome._native import ffi, lib
from ome.media import MediaKind, Packet

from .edge import shared_copy
from .llhls_markers import Markers

if TYPE_CHECKING:
    from ome.config.publishers import LlhlsPublisher as LlhlsConfig
    from ome.runtime.registry import Stream

log = logging.getLogger(__name__)

_CODECS = {"H264": lib.OMN_CODEC_H264, "H265": lib.OMN_CODEC_H265,
           "AAC": lib.OMN_CODEC_AAC, "OPUS": lib.OMN_CODEC_OPUS}
_KEY_CHARS = string.ascii_letters + string.digits
PROBE_FRAMES = 5             # video frames looked at to fix the part target
MAX_PENDING = 512            # packets held until the video frame duration is known
MAX_WAITERS = 1000           # parked blocking requests per stream (then 503 at once)
PDT_DRIFT_MS = 500           # media clock vs wall clock drift that re-anchors PROGRAM-DATE-TIME
BACKWARD_JUMP_MS = 100       # input time going back more than this: discontinuity (less: sample dropped)


def _buf_bytes(b: Any) -> bytes:
    return ffi.buffer(b.data, b.len)[:] if b.len else b""


@dataclass(slots=True)
class Part:
    index: int
    duration: int                 # ticks
    independent: bool
    data: memoryview              # read-only view of `raw`
    events: int = 0
    raw: Any = None               # the part's one copy, shared with the native edge (edge.shared_copy)
    edge_body: Any = None         # the native edge's reference to `raw` (llhls_edge.py), made on first use


@dataclass(slots=True)
class Segment:
    msn: int
    start: int                    # ticks (tfdt of the first part)
    pdt_ms: int                   # wall clock of `start`, ms since the epoch (UTC)
    parts: list[Part] = field(default_factory=list)
    complete: bool = False
    discontinuity: bool = False   # EXT-X-DISCONTINUITY before it (timeline restarted)

    @property
    def duration(self) -> int:
        return sum(p.duration for p in self.parts)


class TrackState:
    """One track of an output stream, with its packager and its window."""

    def __init__(self, track, media_type: str, packager, info, init: bytes) -> None:
        self.track = track
        self.id: int = track.id
        self.media_type = media_type              # "video" | "audio"
        self.packager = packager
        self.codec_info = info
        self.timescale: int = info.timescale
        self.codecs: str = ffi.string(info.codecs).decode()
        self.width: int = info.width
        self.height: int = info.height
        self.channels: int = info.channels
        self.sample_rate: int = info.sample_rate
        self.init = init
        self.segments: dict[int, Segment] = {}    # msn -> segment, oldest first
        self.bytes_total = 0                      # media bytes packaged (bitrate estimate)
        self.ticks_total = 0
        self.held_bytes = 0                       # bytes of parts currently held
        # audio: running sample clock anchored to the first frame
        self.audio_next: int | None = None
        self.last_in_dts: int | None = None
        self.last_raw_ms: int | None = None       # newest input dts in ms (jump detection)
        self.follow_jump = False                  # another track jumped: this one's jump is the same one
        self.disc_next = False                    # the next new segment starts a new timeline
        self.disc_dropped = 0                     # discontinuities in segments no longer held
        self.last: tuple[int, int] | None = None  # (M_last, P_last): newest part's segment and index
        self.has_independent = False              # an INDEPENDENT part was ever held (sticky)

    # -- window ---------------------------------------------------------------
    # `last` and `has_independent` are kept up to date by add_part (the only writer of the
    # window): every blocking request reads them, often several times.

    def ready(self) -> bool:
        return self.has_independent

    def bitrate(self) -> int:
        if self.ticks_total <= 0:
            return 0
        return self.bytes_total * 8 * self.timescale // self.ticks_total

    def add_part(self, c_part, pdt_ms: int, keep: int) -> Segment:
        msn = int(c_part.segment)
        seg = self.segments.get(msn)
        if seg is None:
            seg = Segment(msn=msn, start=int(c_part.start), pdt_ms=pdt_ms, discontinuity=self.disc_next)
            self.disc_next = False
            self.segments[msn] = seg
        raw, data = shared_copy(c_part.bytes.data, c_part.bytes.len)
        seg.parts.append(Part(index=int(c_part.part_index), duration=int(c_part.duration),
                              independent=bool(c_part.independent), data=data,
                              events=int(c_part.event_count), raw=raw))
        self.bytes_total += len(data)
        self.held_bytes += len(data)
        self.ticks_total += int(c_part.duration)
        self.has_independent = self.has_independent or bool(c_part.independent)
        if c_part.segment_end:
            seg.complete = True
        while len(self.segments) > keep:
            old = self.segments.pop(next(iter(self.segments)))
            self.held_bytes -= sum(len(p.data) for p in old.parts)
            self.disc_dropped += old.discontinuity
        newest = next(reversed(self.segments.values()))
        self.last = (newest.msn, len(newest.parts) - 1) if newest.parts else self.last
        return seg

    def discontinuity_sequence(self, first_msn: int) -> int:
        """EXT-X-DISCONTINUITY-SEQUENCE for a playlist whose first segment is first_msn."""
        return self.disc_dropped + sum(1 for seg in self.segments.values()
                                       if seg.msn < first_msn and seg.discontinuity)


class LlhlsStream:
    """LL-HLS output of one output stream (a StreamSink)."""

    def __init__(self, stream: "Stream", config: "LlhlsConfig", *, vhost: str, app: str) -> None:
        self.stream = stream
        self.config = config
        self.vhost = vhost
        self.app = app
        self.name = stream.name
        self.key = "".join(secrets.choice(_KEY_CHARS) for _ in range(8))
        self.tracks: dict[int, TrackState] = {}
        self._part = ffi.new("omn_llhls_part *")   # reused by _collect, which runs per packet
        self.lead: TrackState | None = None
        self.ended = False          # ENDLIST (conclude / stream end)
        self.gone = False           # stream removed: waiters answer 404
        seg_s = config.segment_duration if config.segment_duration > 0 else 10.0
        self.segment_ms = max(1, round(seg_s * 1000))
        self.segment_count = max(3, config.segment_count)
        # TD frozen before the first response; forced cuts keep round(EXTINF) <= TD (§2.7 #2)
        self.target_duration = max(1, math.ceil(seg_s))
        self.window_s = self.segment_count * seg_s
        self.can_skip = self.window_s > 6 * self.target_duration
        self.pt_ticks = 0           # PART-TARGET in the lead track's ticks
        self.pt_timescale = 1
        self.first_msn = 0
        if config.server_time_based_segment_numbering:
            self.first_msn = int(time.time() * 1000) // self.segment_ms
        # stream epoch: first dts seen (value, timescale) and its wall time
        self._t0: tuple[int, int] | None = None
        self._t0_wall_ms = 0
        self.markers = Markers()                 # cue/scte35 → EXT-X-DATERANGE
        self._last_key_ms: int | None = None     # lead video: newest key frame (stream ms)
        self._key_interval_ms = 0
        self.pdt_reanchors = 0                   # times PDT was re-anchored to the wall clock
        self._pending: list[Packet] = []
        self._video_dts: dict[int, list[int]] = {}   # first dts of each video track (frame probe)
        self._frame_ticks = 0                    # mean video frame duration, 90 kHz
        self._started = False
        self._ready = False                      # sticky once every track holds an INDEPENDENT part
        self._failed = False
        self._last_media_ms = 0                  # newest media time on the stream timeline
        self._last_media_wall = 0.0
        self._event_id = 0
        self._end_ms = 0                         # end of the newest sample on the stream timeline (ms)
        self._resume_ms = 0                      # where the newest timeline started (ms)
        self.discontinuities = 0
        self._waiters: dict[int | None, asyncio.Future] = {}   # track id (None: any change) -> future
        self.waiting = 0
        self.render_cache: dict[Any, tuple[bytes, bytes | None]] = {}
        # told of every change after the waiters (track id of a new part, None: every track,
        # the end, the removal): the native edge's stored answers follow (llhls_edge.py)
        self.listener: Callable[["LlhlsStream", int | None], None] | None = None
        self.edge: Any = None                    # llhls_edge's bookkeeping of this stream

    # -- waiters ----------------------------------------------------------------
    def changed(self, track_id: int | None = None) -> asyncio.Future:
        """A future resolved at the next change: a new part of track `track_id` (any track when
        None), the end or the removal of the stream. A request blocked on one track's progress
        waits on that track only, so the other tracks' parts do not wake it for nothing."""
        fut = self._waiters.get(track_id)
        if fut is None or fut.done():
            fut = self._waiters[track_id] = asyncio.get_running_loop().create_future()
        return fut

    def _notify(self, track_id: int | None = None) -> None:
        """Wake the waiters of `track_id` and of any change; everyone when track_id is None."""
        self.render_cache.clear()
        if track_id is None:
            waiters, self._waiters = self._waiters, {}
            futures = list(waiters.values())
        else:
            futures = [f for f in (self._waiters.pop(track_id, None), self._waiters.pop(None, None)) if f]
        for fut in futures:
            if not fut.done():
                fut.set_result(None)
        if self.listener is not None:
            self.listener(self, track_id)

    # -- derived values -----------------------------------------------------------
    @property
    def pt_seconds(self) -> float:
        return self.pt_ticks / self.pt_timescale if self.pt_ticks else self.config.chunk_duration

    def part_hold_back(self) -> float:
        # three PART-TARGETs as the playlist prints it (rounded up to the microsecond): 3 x the exact
        # value can round below that (90 kHz input: PT 45750 ticks = 0.508334, 3 x 0.5083333 = 1.525)
        pt_micro = (-(-self.pt_ticks * 1_000_000 // self.pt_timescale) if self.pt_ticks
                    else round(self.config.chunk_duration * 1_000_000))
        return max(self.config.part_hold_back, 3 * pt_micro / 1_000_000)

    def ready(self) -> bool:
        if self._ready:
            return True
        self._ready = self._started and bool(self.tracks) and all(t.has_independent for t in self.tracks.values())
        return self._ready

    def keep_segments(self) -> int:
        return self.segment_count + 3

    def memory_bytes(self) -> int:
        """Bytes of media held for this stream (parts + init segments)."""
        return sum(t.held_bytes + len(t.init) for t in self.tracks.values())

    def frame_rate(self) -> float:
        return 90000 / self._frame_ticks if self._frame_ticks else 30.0

    # -- StreamSink -----------------------------------------------------------------
    def on_tracks(self, stream: "Stream") -> None:
        if self._started:
            log.warning("llhls %s/%s: track change after start is not supported", self.app, self.name)

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        if self.ended or self._failed:
            return
        track = stream.tracks.get(packet.track_id)
        if track is None or track.codec.upper() not in _CODECS:
            return
        if self._t0 is None:
            self._t0 = (packet.dts, track.timescale)
            self._t0_wall_ms = int(time.time() * 1000)
        if not self._started:
            self._pending.append(packet)
            if track.kind == MediaKind.VIDEO and not self._frame_ticks:
                probe = self._video_dts.setdefault(track.id, [])
                probe.append(packet.dts * 90000 // track.timescale)
                if len(probe) >= PROBE_FRAMES:
                    steps = sorted(b - a for a, b in zip(probe, probe[1:]) if b > a)
                    if steps:
                        # mean frame duration over the regular steps: ms-timestamped input (RTMP)
                        # alternates e.g. 2970/3060 ticks at 30 fps, and a late first frame must
                        # not stretch the estimate (steps over 1.5x the median are left out)
                        regular = [d for d in steps if d * 2 <= steps[len(steps) // 2] * 3]
                        self._frame_ticks = max(1, sum(regular) // len(regular))
            has_video = any(t.kind == MediaKind.VIDEO and t.codec.upper() in _CODECS
                            for t in stream.tracks.values())
            if (self._frame_ticks or not has_video or len(self._pending) >= MAX_PENDING):
                self._start(stream)
            return
        self._feed(packet)

    def on_end(self, stream: "Stream") -> None:
        self.conclude()

    # -- packaging ----------------------------------------------------------------
    def _start(self, stream: "Stream") -> None:
        self._started = True
        tracks = [t for t in stream.tracks.values() if t.codec.upper() in _CODECS
                  and t.kind in (MediaKind.VIDEO, MediaKind.AUDIO)]
        videos = [t for t in tracks if t.kind == MediaKind.VIDEO]
        chunk = self.config.chunk_duration if self.config.chunk_duration > 0 else 0.5
        if videos:
            frame = self._frame_ticks or 3000
            # whole frames, rounded up (§3.7.1), with a tenth of a frame of tolerance for the
            # estimate (0.5 s at a measured 2992 ticks is 15 frames, not 16)
            frames = max(1, math.ceil(round(chunk * 90000) / frame - 0.1))
            self.pt_timescale = 90000
            # + a quarter frame: n ms-rounded steps sum to n x frame +- 1 ms, never to n + 1 frames
            self.pt_ticks = frames * frame + frame // 4
        max_seg_ms = self.target_duration * 1000 + 499
        for t in tracks:
            is_video = t.kind == MediaKind.VIDEO
            cfg = ffi.new("omn_llhls_config *")
            keep = ffi.new("uint8_t[]", t.config or b"\0")
            cfg.codec = _CODECS[t.codec.upper()]
            cfg.codec_config = keep
            cfg.codec_config_len = len(t.config)
            cfg.input_format = lib.OMN_INPUT_RAW
            lead = is_video or not videos
            cfg.segment_mode = lib.OMN_SEG_LEAD if lead else lib.OMN_SEG_FOLLOW
            info = ffi.new("omn_codec_info *")
            if lib.omn_codec_probe(cfg.codec, keep, len(t.config), info) != 0:
                log.warning("llhls %s/%s: track %d (%s) has an unusable codec config; skipped",
                            self.app, self.name, t.id, t.codec)
                continue
            if is_video:
                cfg.part_target = self.pt_ticks
            elif videos:
                cfg.part_target = self.pt_ticks * info.timescale // 90000   # whole frames below PT
            else:
                frame = info.frame_ticks or 960
                cfg.part_target = math.ceil(round(chunk * info.timescale) / frame) * frame
                if not self.pt_ticks:
                    self.pt_ticks, self.pt_timescale = int(cfg.part_target), int(info.timescale)
            cfg.segment_ms = self.segment_ms
            cfg.max_segment_ms = max_seg_ms
            cfg.first_segment = self.first_msn
            out = ffi.new("omn_llhls **")
            rc = lib.omn_llhls_new(cfg, out)
            if rc != 0:
                log.warning("llhls %s/%s: packager for track %d failed (%d)", self.app, self.name, t.id, rc)
                continue
            pk = ffi.gc(out[0], lib.omn_llhls_free)
            lib.omn_llhls_info(pk, info)
            b = ffi.new("omn_buf *")
            lib.omn_llhls_init_segment(pk, b)
            init = _buf_bytes(b)
            lib.omn_buf_free(b)
            state = TrackState(t, "video" if is_video else "audio", pk, info, init)
            self.tracks[t.id] = state
            self._ready = False
            if is_video and self.lead is None:
                self.lead = state
        pending, self._pending = self._pending, []
        for p in pending:
            self._feed(p)

    def _rescale(self, v: int, ts: int, out_ts: int) -> int:
        """(v/ts - t0) in out_ts ticks, exact integer arithmetic."""
        assert self._t0 is not None
        t0v, t0ts = self._t0
        return (v * t0ts - t0v * ts) * out_ts // (ts * t0ts)

    def _jump_ms(self) -> int:
        """A forward step larger than this is a timestamp jump: one sample would make a segment
        longer than TD, so the timeline restarts instead (§2.7 #11)."""
        return max(1000, self.target_duration * 500)

    def _discontinuity(self, st: TrackState, raw_ms: int) -> None:
        """Input time jumped on track st: finish every packager (no half part), start a new
        timeline where the old one ended, and mark the next segment of every track."""
        self.discontinuities += 1
        log.info("llhls %s/%s: timestamp jump on track %d (%d -> %d ms): discontinuity",
                 self.app, self.name, st.id, st.last_raw_ms or 0, raw_ms)
        for other in self.tracks.values():
            if other.last_in_dts is not None:
                lib.omn_llhls_finish(other.packager, 0)
                self._collect(other)
                other.disc_next = True
            other.last_in_dts = None
            other.audio_next = None
            other.follow_jump = other is not st
        # the new timeline continues where the old one ended (tfdt and PDT stay monotonic)
        self._resume_ms = self._end_ms + 1
        self._t0 = (raw_ms - self._resume_ms, 1000)

    def _feed(self, packet: Packet) -> None:
        st = self.tracks.get(packet.track_id)
        if st is None:
            return
        ts_in = st.track.timescale
        out_ts = st.timescale
        raw_ms = packet.dts * 1000 // ts_in
        prev = st.last_raw_ms
        if prev is not None and (raw_ms < prev - BACKWARD_JUMP_MS or raw_ms > prev + self._jump_ms()):
            if st.follow_jump:
                st.follow_jump = False           # the jump another track already started
            else:
                self._discontinuity(st, raw_ms)
        elif st.follow_jump and self._rescale(packet.dts, ts_in, 1000) < self._resume_ms - BACKWARD_JUMP_MS:
            st.last_raw_ms = raw_ms
            return                               # still on the old timeline: too late for it
        st.last_raw_ms = raw_ms
        if st.media_type == "video":
            dts = self._rescale(packet.dts, ts_in, out_ts)
            pts = self._rescale(packet.pts, ts_in, out_ts)
            if st.last_in_dts is None and not packet.keyframe:
                return                                   # start on a sync sample
            if dts < 0:
                return
        else:
            exact = self._rescale(packet.dts, ts_in, out_ts)
            frame = st.codec_info.frame_ticks
            if exact < 0:
                return
            if st.audio_next is None or not frame or abs(exact - st.audio_next) > frame:
                if st.audio_next is not None and exact < st.audio_next:
                    exact = st.audio_next                # never go backwards
                st.audio_next = exact
            dts = pts = st.audio_next
            st.audio_next += frame
        if st.last_in_dts is not None and dts <= st.last_in_dts:
            return
        rc = lib.omn_llhls_feed(st.packager, packet.data, len(packet.data), dts, pts,
                                1 if packet.keyframe else 0)
        if rc != 0:
            log.debug("llhls %s/%s: track %d sample rejected (%d)", self.app, self.name, st.id, rc)
            return
        st.last_in_dts = dts
        self._last_media_ms = dts * 1000 // out_ts
        if packet.keyframe and st is self.lead:
            if self._last_key_ms is not None and self._last_media_ms > self._last_key_ms:
                self._key_interval_ms = self._last_media_ms - self._last_key_ms
            self._last_key_ms = self._last_media_ms
        frame = st.codec_info.frame_ticks if st.media_type == "audio" else 0
        self._end_ms = max(self._end_ms, (dts + (frame or out_ts // 30)) * 1000 // out_ts)
        self._last_media_wall = time.monotonic()
        self._collect(st)

    def _collect(self, st: TrackState) -> None:
        part = self._part
        got = False
        while lib.omn_llhls_pop_part(st.packager, part):
            got = True
            try:
                if part.part_index == 0 and part.segment > self.first_msn and (st is self.lead or self.lead is None):
                    self._reanchor_pdt(part, st.timescale)
                pdt = self._t0_wall_ms + int(part.start) * 1000 // st.timescale
                st.add_part(part, pdt, self.keep_segments())
                if st is self.lead and part.part_index == 0 and part.segment > self.first_msn:
                    for other in self.tracks.values():
                        if other.media_type == "audio":
                            lib.omn_llhls_request_cut(other.packager, part.start, st.timescale)
            finally:
                lib.omn_buf_free(ffi.addressof(part, "bytes"))
        if got:
            self._notify(st.id)

    def _reanchor_pdt(self, part: Any, timescale: int) -> None:
        """PROGRAM-DATE-TIME follows the wall clock: at a segment boundary of the lead track, when
        the media clock has drifted more than PDT_DRIFT_MS from the wall clock (publisher clock
        skew, a stalled or bursting feed), the anchor moves so the new segment's PDT is the wall
        time again. Every track's segment n takes its PDT after this (audio cuts follow video), so
        MSN n keeps one PDT across tracks."""
        end_ms = self._t0_wall_ms + (int(part.start) + int(part.duration)) * 1000 // timescale
        drift = int(time.time() * 1000) - end_ms
        if abs(drift) > PDT_DRIFT_MS:
            self._t0_wall_ms += drift
            self.pdt_reanchors += 1
            log.info("llhls %s/%s: program date-time re-anchored by %+d ms at segment %d",
                     self.app, self.name, drift, int(part.segment))

    # -- events / conclude -----------------------------------------------------------
    def media_time_ms(self) -> int:
        if not self._last_media_wall:
            return self._last_media_ms
        return self._last_media_ms + int((time.monotonic() - self._last_media_wall) * 1000)

    def on_event(self, stream: "Stream", event: Any) -> bool:
        """StreamSink side of :sendEvent (an ome.api.services.EventRequest, or the provider's
        StreamEvent with timestamp_ms on the packets' clock): one emsg with one id per event in
        every selected track (reference §4.3)."""
        event_format = getattr(event, "event_format", "")
        if event_format in ("cue", "scte35"):
            return self.add_marker(event_format, event.events)
        if event_format != "id3v2":
            log.info("llhls %s/%s: %s events are not carried", self.app, self.name, event_format or "?")
            return False
        from .llhls import id3_tag
        tag = id3_tag(event.events)
        if tag is None:
            return False
        at = None
        ts_ms = getattr(event, "timestamp_ms", None)
        if ts_ms is not None and self._t0 is not None:
            at = max(0, self._rescale(int(ts_ms), 1000, 1000))
        event_id = self._event_id
        self._event_id += 1
        return self.add_event(tag, event.event_type, event_id, at)

    def add_marker(self, event_format: str, events: list[Any]) -> bool:
        """A cue/scte35 marker (EXT-X-DATERANGE in every chunklist), one key frame interval
        ahead of the current media time (reference §4.5)."""
        if not self._started or self.ended:
            return False
        at_ms = self.media_time_ms() + (self._key_interval_ms or self.segment_ms)
        if not self.markers.add(event_format, events, at_ms, lambda ms: self._t0_wall_ms + ms):
            return False
        self._notify()              # every chunklist gets the EXT-X-DATERANGE
        return True

    def add_event(self, id3: bytes, event_type: str, event_id: int, at_ms: int | None = None) -> bool:
        if not self._started or self.ended:
            return False
        now = self.media_time_ms() if at_ms is None else at_ms
        kinds = {"video": ("video",), "audio": ("audio",)}.get(event_type, ("video", "audio"))
        ok = False
        for st in self.tracks.values():
            if st.media_type in kinds:
                if lib.omn_llhls_add_event(st.packager, now, event_id, id3, len(id3)) == 0:
                    ok = True
        return ok

    def conclude(self) -> None:
        """Flush every packager and end every chunklist (EXT-X-ENDLIST)."""
        if self.ended:
            return
        if self._started:
            for st in self.tracks.values():
                lib.omn_llhls_finish(st.packager, 0)
                self._collect(st)
        self.ended = True
        self._notify()

    def remove(self) -> None:
        self.gone = True
        self.ended = True
        self._notify()
