"""One MPEG-TS publisher (an SRT connection or a UDP port): bytes -> the C demuxer
(native/src/mpegts_demux.c) -> Tracks and Packets of one input Stream.

Python sees one call per received batch and one Packet per access unit; every byte is
parsed in C. The stream is added to the registry when the demuxer announces the tracks
(then the transcoder's outputs); a program change (a PMT with another stream set) ends
that stream and publishes it again under the same name with the new tracks, since the
publishers cannot change tracks after they started.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ome._native import ffi, lib
from ome.media import MediaKind, Packet, Track
from ome.providers.stats import IngestMetrics, count_packet, new_stats

if TYPE_CHECKING:
    from ome.runtime.registry import Application, Registry, Stream

log = logging.getLogger("ome.providers.ts")

_CODECS = {lib.OMN_CODEC_H264: "H264", lib.OMN_CODEC_H265: "H265", lib.OMN_CODEC_AAC: "AAC",
           lib.OMN_CODEC_OPUS: "OPUS"}


def claim_name(app: "Application", name: str, block_duplicates: bool, who: str) -> str | None:
    """None when `name` may be published in app (a previous publisher is stopped when
    BlockDuplicateStreamName is false), else the reason it may not."""
    existing = app.streams.get(name)
    if existing is None:
        return None
    if block_duplicates:
        return f"the stream [{app.vhost.name}/{app.name}/{name}] is already being published"
    log.info("%s replaces the publisher of %s/%s/%s (BlockDuplicateStreamName is false)",
             who, app.vhost.name, app.name, name)
    import asyncio
    asyncio.ensure_future(existing.stop())
    return None


class TsIngest:
    """Demuxes one transport stream into one input stream of `app` named `name`."""

    def __init__(self, registry: "Registry", app: "Application", name: str, source_type: str,
                 source_url: str, peer: str, stop_callback: Any) -> None:
        self.registry = registry
        self.app = app
        self.name = name
        self.source_type = source_type
        self.source_url = source_url
        self.peer = peer
        self.stop_callback = stop_callback
        self.demux = ffi.gc(lib.omn_ts_demux_new(), lib.omn_ts_demux_free)
        if self.demux == ffi.NULL:
            raise MemoryError("MPEG-TS demuxer")
        self._unit = ffi.new("omn_ts_unit *")
        self._track = ffi.new("omn_ts_track *")
        self.stream: "Stream | None" = None
        self.tracks: list[Track] = []
        self.bytes_in = 0
        self.last_recv = time.monotonic()
        self.last_recv_wall = time.time()
        self.ended = False
        self._warned_ids: set[int] = set()

    def where(self) -> str:
        return f"{self.app.vhost.name}/{self.app.name}/{self.name}"

    # -- bytes in ------------------------------------------------------------------------
    def feed(self, data: Any, length: int) -> None:
        """data: bytes or a cdata pointer to `length` bytes (e.g. an omn_buf's data)."""
        if self.ended:
            return
        self.bytes_in += length
        self.last_recv = time.monotonic()
        self.last_recv_wall = time.time()
        if lib.omn_ts_demux_feed(self.demux, data, length) != 0:
            raise MemoryError("MPEG-TS demuxer")
        self._drain()

    def finish(self) -> None:
        """Input over: flush what the demuxer holds, then unpublish."""
        if self.ended:
            return
        lib.omn_ts_demux_flush(self.demux)
        self._drain()
        counters = self.counters()
        damage = {k: v for k, v in counters.items() if k not in ("packets", "units") and v}
        log.info("%s %s (%s): input ended after %d TS packets, %d units%s", self.source_type, self.peer,
                 self.where(), counters["packets"], counters["units"],
                 "; " + ", ".join(f"{k} {v}" for k, v in damage.items()) if damage else "")
        self.end()

    def _drain(self) -> None:
        unit = self._unit
        demux = self.demux
        while True:
            ev = lib.omn_ts_demux_next(demux, unit)
            if ev == lib.OMN_TS_FRAME:
                track_id = unit.track
                if track_id < 0 or track_id >= len(self.tracks) or self.stream is None:
                    continue
                track = self.tracks[track_id]
                packet = Packet(track_id, unit.dts, unit.pts, bool(unit.keyframe),
                                bytes(ffi.buffer(unit.data, unit.len)))
                count_packet(track.stats, packet, track.timescale)
                self.stream.write(packet)
            elif ev == lib.OMN_TS_TRACKS:
                self._on_tracks()
            else:
                return

    # -- tracks and publishing ---------------------------------------------------------
    def _on_tracks(self) -> None:
        tracks = []
        t = self._track
        for i in range(lib.omn_ts_demux_track_count(self.demux)):
            if lib.omn_ts_demux_track(self.demux, i, t) != 0:
                continue
            codec = _CODECS.get(t.codec, "?")
            config = bytes(ffi.buffer(t.config, t.config_len))
            video = t.codec in (lib.OMN_CODEC_H264, lib.OMN_CODEC_H265)
            tracks.append(Track(id=i, kind=MediaKind.VIDEO if video else MediaKind.AUDIO, codec=codec,
                                timescale=t.timescale, config=config, width=t.width, height=t.height,
                                samplerate=t.sample_rate, channels=t.channels, bypass=False,
                                stats=new_stats()))
        described = ", ".join(f"{t.codec} {t.width}x{t.height}" if t.kind is MediaKind.VIDEO else
                              f"{t.codec} {t.samplerate} Hz {t.channels} ch" for t in tracks) or "none"
        if self.stream is not None:
            old = ", ".join(t.codec for t in self.tracks)
            log.info("%s %s (%s): program change, tracks [%s] -> [%s]; publishing the stream again",
                     self.source_type, self.peer, self.where(), old, described)
            self._unpublish()
        self.tracks = tracks
        if not tracks:
            log.warning("%s %s (%s): the program has no supported track", self.source_type, self.peer,
                        self.where())
            return
        self._publish(described)

    def _publish(self, described: str) -> None:
        from ome.runtime.registry import Stream
        from ome.transcoder import create_outputs
        app = self.app
        if app.vhost.apps.get(app.name) is not app:
            log.warning("%s %s: application %s/%s went away", self.source_type, self.peer, app.vhost.name,
                        app.name)
            self.ended = True
            return
        if app.streams.get(self.name) is not None:
            log.warning("%s %s: %s is already published; not published again", self.source_type, self.peer,
                        self.where())
            return
        stream = Stream(app=app, name=self.name, source_type=self.source_type, source_url=self.source_url)
        stream.stop_callback = self.stop_callback
        stream.metrics = IngestMetrics(self, stream.created_time)      # type: ignore[attr-defined]
        stream.set_tracks(self.tracks)
        self.stream = stream
        self.registry.add_stream(stream)
        try:
            create_outputs(self.registry, stream)
        except Exception:
            log.exception("creating the output streams of %s", self.where())
        log.info("stream created: %s from %s %s (%s)", self.where(), self.source_type, self.peer, described)

    def _unpublish(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None and self.app.streams.get(stream.name) is stream:
            self.registry.remove_stream(stream)
            log.info("stream deleted: %s", self.where())

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._unpublish()

    def counters(self) -> dict[str, int]:
        st = ffi.new("omn_ts_stats *")
        lib.omn_ts_demux_stats_get(self.demux, st)
        return {k: int(getattr(st, k)) for k in ("packets", "sync_losses", "cc_errors", "crc_errors",
                                                 "pes_dropped", "units", "units_dropped", "pmt_changes")}
