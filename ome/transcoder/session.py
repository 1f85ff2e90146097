"""One native transcoder session per input stream (ome._native omn_xcode_*).

The session is a StreamSink on the input: each packet of a transcoded input track is
copied into C (`omn_xcode_push`, never blocks). C threads decode once, scale once per
distinct size and encode per output; when packets are ready C signals an omn_notify
whose fd the event loop watches (`add_reader`), and `_drain` pops them into the output
streams as Packets. Python never waits on C work and C never calls Python.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ome.media import MediaKind, Packet, Track
from ome.native import ffi, lib
from ome.providers.stats import count_packet, new_stats

from . import hwaccel

if TYPE_CHECKING:
    from ome.runtime.registry import Stream

log = logging.getLogger(__name__)

CODECS = {"H264": lib.OMN_CODEC_H264, "H265": lib.OMN_CODEC_H265, "AAC": lib.OMN_CODEC_AAC,
          "OPUS": lib.OMN_CODEC_OPUS, "VP8": lib.OMN_XCODE_VP8}
CODEC_NAMES = {v: k for k, v in CODECS.items()}
_ERR = 160


class TranscodeError(Exception):
    """An output (or input) track that cannot be transcoded; the message names why."""


class TranscodeSession:
    def __init__(self, stream: "Stream") -> None:
        self.stream = stream
        self.where = f"{stream.app.vhost.name}/{stream.app.name}/{stream.name}"
        self._notify = lib.omn_notify_new()
        if self._notify == ffi.NULL:
            raise MemoryError("omn_notify_new")
        self._x = lib.omn_xcode_new(self._notify)
        self.inputs: dict[int, dict[str, Any]] = {}       # input track id -> {"hw": ..., "codec": ...}
        self.outputs: list[dict[str, Any]] = []           # by output index
        self.routes: list[list[tuple["Stream", int]]] = []  # output index -> [(output stream, track id)]
        self.errors: list[dict[str, str]] = []             # tracks that failed, for stats and logs
        self._shared: dict[tuple, int] = {}               # identical settings share one encoder
        self._stats: list[dict[str, Any]] = []            # output index -> Track.stats of its tracks
        self._pkt = ffi.new("omn_xcode_packet *")
        self._loop: asyncio.AbstractEventLoop | None = None
        self.started = False

    # -- building -------------------------------------------------------------
    def add_input(self, track: Track, hw: Any) -> None:
        if track.id in self.inputs:
            return
        codec = CODECS.get(track.codec.upper())
        if codec is None:
            raise TranscodeError(f"input codec {track.codec} cannot be decoded here")
        err = ffi.new(f"char[{_ERR}]")
        cands, warnings = hwaccel.candidates(hw, "", "", what="decoder")
        for w in warnings:
            log.warning("[%s] decoder: %s", self.where, w)
        last = "no decoder candidate"
        for family, dev in cands:
            index = 0
            if family != hwaccel.SOFTWARE:
                picked = hwaccel.pick_device(family, dev, encoder=False)
                if picked is None:
                    last = f"no {hwaccel.FAMILY_NAMES.get(family)} device with a decoder engine"
                    log.warning("[%s] track %d: %s; trying the next module", self.where, track.id, last)
                    continue
                index = picked
            rc = lib.omn_xcode_add_input(self._x, track.id, codec, track.config, len(track.config),
                                         track.timescale, track.width, track.height, family, index, err, _ERR)
            if rc == 0:
                self.inputs[track.id] = {"codec": track.codec, "hw": hwaccel.FAMILY_NAMES.get(family, "cpu"),
                                         "device": index if family != hwaccel.SOFTWARE else None}
                if family == hwaccel.SOFTWARE and len(cands) > 1:
                    log.warning("[%s] track %d: decoding on the CPU (fallback): %s", self.where, track.id, last)
                return
            last = ffi.string(err).decode(errors="replace")
        raise TranscodeError(f"no decoder for input track {track.id} ({track.codec}): {last}")

    def add_output(self, source: Track, encode: Any, kind: MediaKind, hw: Any) -> tuple[int, dict[str, Any]]:
        """Opens (or shares) the encoder of one encode; returns (output index, description)."""
        c = ffi.new("omn_xcode_output_config *")
        c.input_track_id = source.id
        codec_name = _codec(encode.codec, kind)
        if codec_name not in CODECS:
            raise TranscodeError(f"codec {encode.codec!r} has no encoder")
        c.codec = CODECS[codec_name]
        c.bitrate = int(encode.bitrate or 0)
        c.skip_frames = -1
        c.lookahead = -1
        if kind is MediaKind.VIDEO:
            c.width, c.height = int(encode.width or 0), int(encode.height or 0)
            if encode.framerate and encode.framerate > 0:
                c.fps_num, c.fps_den = round(encode.framerate * 1000), 1000
            c.skip_frames = encode.skip_frames
            if encode.key_frame_interval > 0:
                if encode.key_frame_interval_type == "time":
                    c.keyint_ms = encode.key_frame_interval
                else:
                    c.keyint_frames = encode.key_frame_interval
            c.bframes = encode.b_frames
            c.threads = max(0, encode.thread_count)
            c.lookahead = encode.lookahead
            c.preset = (encode.preset or "").encode()[:23]
            c.profile = (encode.profile or "").encode()[:23]
        else:
            c.samplerate = int(encode.samplerate or 0)
            c.channels = int(encode.channel or 0)
        key = (source.id, bytes(ffi.buffer(c)))
        if key in self._shared:
            index = self._shared[key]
            return index, self.outputs[index]
        # audio and images always use software (§10.3); video follows the module rules
        cands, warnings = (hwaccel.candidates(hw, encode.modules, encode.codec, what="encoder")
                           if kind is MediaKind.VIDEO else ([(hwaccel.SOFTWARE, None)], []))
        for w in warnings:
            log.warning("[%s] encode %s: %s", self.where, encode.name, w)
        err = ffi.new(f"char[{_ERR}]")
        tried: list[str] = []
        for family, dev in cands:
            c.hw_family, c.hw_index = family, 0
            if family != hwaccel.SOFTWARE:
                picked = hwaccel.pick_device(family, dev, encoder=True)
                if picked is None:
                    where = f"{hwaccel.FAMILY_NAMES.get(family)}" + (f":{dev}" if dev is not None else "")
                    tried.append(f"{where}: no device with an encoder engine")
                    continue
                c.hw_index = picked
            rc = lib.omn_xcode_add_output(self._x, c, err, _ERR)
            if rc >= 0:
                info = ffi.new("omn_xcode_output_info *")
                buf = ffi.new("omn_buf *")
                lib.omn_xcode_describe_output(self._x, rc, info, buf)
                config = bytes(ffi.buffer(buf.data, buf.len)) if buf.len else b""
                lib.omn_buf_free(buf)
                desc = {"index": rc, "name": encode.name, "codec": codec_name, "config": config,
                        "timescale": int(info.timescale), "width": int(info.width), "height": int(info.height),
                        "samplerate": int(info.samplerate), "channels": int(info.channels),
                        "fps_num": int(info.fps_num), "fps_den": int(info.fps_den) or 1,
                        "bitrate": int(info.bitrate), "input": source.id,
                        "hw": hwaccel.FAMILY_NAMES.get(family, "cpu"),
                        "device": int(c.hw_index) if family != hwaccel.SOFTWARE else None}
                if family == hwaccel.SOFTWARE and tried:
                    log.warning("[%s] encode %s: encoding on the CPU (fallback): %s", self.where, encode.name,
                                "; ".join(tried))
                    desc["fallback"] = "; ".join(tried)
                self.outputs.append(desc)
                self.routes.append([])
                self._stats.append(new_stats())
                self._shared[key] = rc
                return rc, desc
            tried.append(ffi.string(err).decode(errors="replace"))
        if not cands:
            tried.append("no module left to try")
        raise TranscodeError("; ".join(tried))

    def output_stats(self, index: int) -> dict[str, Any]:
        """The stats dict shared by every track fed from encoder output `index`."""
        return self._stats[index]

    def route(self, index: int, output: "Stream", track_id: int) -> None:
        self.routes[index].append((output, track_id))

    def start(self) -> None:
        if self.started or not self.outputs:
            return
        self.started = True
        lib.omn_xcode_start(self._x)
        self._loop = asyncio.get_event_loop()
        self._loop.add_reader(lib.omn_notify_fd(self._notify), self._drain)

    # -- StreamSink on the input --------------------------------------------------
    def on_tracks(self, stream: "Stream") -> None:
        pass

    def on_packet(self, stream: "Stream", packet: Packet) -> None:
        if self.started and packet.track_id in self.inputs:
            lib.omn_xcode_push(self._x, packet.track_id, packet.pts, packet.dts, packet.keyframe,
                               packet.data, len(packet.data))

    def on_end(self, stream: "Stream") -> None:
        self.close()

    def _drain(self) -> None:
        lib.omn_notify_drain(self._notify)
        p = self._pkt
        x = self._x
        routes = self.routes
        while x is not None and lib.omn_xcode_pop(x, p):
            index = p.output
            dts, pts, key, data = p.dts, p.pts, bool(p.keyframe), ffi.buffer(p.data, p.len)[:]
            count_packet(self._stats[index], Packet(-1, dts, pts, key, data), self.outputs[index]["timescale"])
            for output, track_id in routes[index]:
                output.write(Packet(track_id, dts, pts, key, data))
            x = self._x                    # a sink may have ended the stream meanwhile

    def close(self) -> None:
        if self._x is None:
            return
        if self._loop is not None and self.started:
            self._loop.remove_reader(lib.omn_notify_fd(self._notify))
        lib.omn_xcode_free(self._x)        # joins the threads
        lib.omn_notify_free(self._notify)
        self._x = None
        self._notify = ffi.NULL

    # -- stats ------------------------------------------------------------------------
    def stats_json(self) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        if self._x is not None:
            st = ffi.new("omn_xcode_output_stats *")
            for desc in self.outputs:
                lib.omn_xcode_get_output_stats(self._x, desc["index"], st)
                out.append({"name": desc["name"], "codec": desc["codec"], "module": desc["hw"],
                            "device": desc["device"], "fallback": desc.get("fallback"),
                            "state": "failed" if st.state else "running",
                            "error": ffi.string(st.error).decode(errors="replace") or None,
                            "framesIn": int(st.frames_in), "packetsOut": int(st.packets_out),
                            "bytesOut": int(st.bytes_out), "keyFrames": int(st.keyframes),
                            "cpuMs": int(st.encode_ns) // 1_000_000})
        inputs: list[dict[str, Any]] = []
        if self._x is not None:
            ist = ffi.new("omn_xcode_input_stats *")
            for tid, info in self.inputs.items():
                lib.omn_xcode_get_input_stats(self._x, tid, ist)
                inputs.append({"trackId": tid, "codec": info["codec"], "module": info["hw"],
                               "device": info["device"], "packetsIn": int(ist.packets_in),
                               "framesDecoded": int(ist.frames_decoded), "decodeErrors": int(ist.decode_errors),
                               "decoderRestarts": int(ist.decoder_restarts), "dropped": int(ist.dropped),
                               "cpuMs": int(ist.decode_ns) // 1_000_000,
                               "width": int(ist.width), "height": int(ist.height)})
        return {"inputs": inputs, "outputs": out, "errors": list(self.errors)}


def _codec(value: str, kind: MediaKind) -> str:
    from .bypass import _AUDIO_CODECS, _VIDEO_CODECS, _codec_name
    return _codec_name(value, _VIDEO_CODECS if kind is MediaKind.VIDEO else _AUDIO_CODECS)
