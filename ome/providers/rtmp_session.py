"""One RTMP publisher connection: bytes -> C core (handshake, chunk stream, AMF0, FLV)
-> per-message control here -> Tracks and Packets into a Stream.

Python sees one call per RTMP message; every byte is parsed in C. Any malformed input
(chunk stream error, bad AMF0, a lying FLV tag) drops this connection only.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ome._native import ffi, lib
from ome.media import MediaKind, Packet, Track
from ome.providers import amf0
from ome.providers.events import StreamEvent, deliver_event
from ome.providers.stats import count_packet, new_stats

if TYPE_CHECKING:
    from ome.providers.rtmp import RtmpProvider
    from ome.runtime.registry import Application, Stream

log = logging.getLogger("ome.providers.rtmp")

CSID_COMMAND = 3
CSID_STATUS = 5
STREAM_ID = 1
VIDEO_TRACK_ID = 0                # OME's RTMP track ids
AUDIO_TRACK_ID = 1
MAX_MESSAGE_SIZE = 8 * 1024 * 1024
FOURCC_HVC1 = 0x68766331

# Tracks are published once every announced track has its sequence header, or when this
# much media has piled up without them (then with what is there).
READY_MAX_PACKETS = 200
READY_MAX_SPAN_MS = 1500

_VIDEO_META_IDS = {7: "H264", 12: "H265", FOURCC_HVC1: "H265", 0x68657631: "H265", 0x61766331: "H264"}
_AUDIO_META_IDS = {10: "AAC", 0x4F707573: "OPUS"}
_FOURCC_STR = {"avc1": "H264", "hvc1": "H265", "hev1": "H265", "mp4a": "AAC", "Opus": "OPUS"}


class Reject(Exception):
    """A protocol-level refusal: logged as a warning, connection closed."""


def _meta_codec(value: Any, table: dict[int, str]) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return table.get(int(value), "?")
    if isinstance(value, str):
        return _FOURCC_STR.get(value, "?")
    return None


class RtmpSession(asyncio.Protocol):
    def __init__(self, provider: "RtmpProvider") -> None:
        self.provider = provider
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.hs = ffi.gc(lib.omn_rtmp_handshake_new(int(time.monotonic() * 1000) & 0xFFFFFFFF, time.time_ns()),
                         lib.omn_rtmp_handshake_free)
        self.handshake_done = False
        self.conn = ffi.gc(lib.omn_rtmp_conn_new(MAX_MESSAGE_SIZE), lib.omn_rtmp_conn_free)
        if self.hs == ffi.NULL or self.conn == ffi.NULL:
            raise MemoryError("RTMP session")
        self._msg = ffi.new("omn_rtmp_msg *")
        self._used = ffi.new("size_t *")
        self._out = ffi.new("const uint8_t **")
        self._tag = ffi.new("omn_flv_tag *")
        self.closed = False
        self._deadline: asyncio.TimerHandle | None = None
        # connect / publish state
        self.app: "Application | None" = None
        self.tc_url = ""
        self.stream: "Stream | None" = None
        self.published = False          # in the registry
        # media state
        self.metadata: dict[str, Any] | None = None
        self.video: Track | None = None
        self.audio: Track | None = None
        self.pending: list[Packet] = []
        self._audio_next: int | None = None
        self._audio_frame = 1024
        self._warned: set[str] = set()

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        self.provider.session_opened(self)
        self._deadline = asyncio.get_running_loop().call_later(
            self.provider.publish_timeout, self._publish_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._deadline is not None:
            self._deadline.cancel()
        if self.stream is not None:
            log.info("RTMP publisher %s of %s left (%s)", self.peer, self._where(),
                     exc or "connection closed")
        self._unpublish()
        self.provider.session_closed(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._feed(data)
        except Reject as e:
            log.warning("RTMP %s: %s; closing the connection", self.peer, e)
            self.close()
        except Exception as e:   # malformed input never takes more than this connection
            log.warning("RTMP %s: dropping the connection: %s", self.peer, e,
                        exc_info=not isinstance(e, (amf0.Amf0Error, ValueError)))
            self.abort()
        else:
            self._flush()

    # -- connection control -------------------------------------------------------------
    def close(self) -> None:
        """Close after what is queued is sent (rejections)."""
        if not self.closed:
            self._flush()
            self.closed = True
            self._unpublish()
            if self.transport is not None:
                self.transport.close()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self._unpublish()
            if self.transport is not None:
                self.transport.abort()

    async def stop(self) -> None:
        """stream.stop_callback: DELETE .../streams/{s}, app deletion, replacement."""
        log.info("RTMP publisher %s of %s disconnected by the server", self.peer, self._where())
        self.abort()

    def _publish_deadline(self) -> None:
        if self.stream is None and not self.closed:
            log.warning("RTMP %s: no publish within %g s; closing the connection", self.peer,
                        self.provider.publish_timeout)
            self.abort()

    def _where(self) -> str:
        app = self.app
        name = self.stream.name if self.stream is not None else "?"
        return f"{app.vhost.name}/{app.name}/{name}" if app is not None else "?"

    # -- bytes in -----------------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        buf = ffi.from_buffer("uint8_t[]", data)
        off, n = 0, len(data)
        if not self.handshake_done:
            state = lib.omn_rtmp_handshake_feed(self.hs, buf, n, self._used)
            off = self._used[0]
            k = lib.omn_rtmp_handshake_take_output(self.hs, self._out)
            if k and self.transport is not None:
                self.transport.write(bytes(ffi.buffer(self._out[0], k)))
            if state == lib.OMN_RTMP_HS_FAILED:
                raise ValueError("RTMP handshake failed (C0 is not version 3)")
            self.handshake_done = state == lib.OMN_RTMP_HS_DONE
        while off < n and not self.closed:
            rc = lib.omn_rtmp_conn_read(self.conn, buf + off, n - off, self._used, self._msg)
            off += self._used[0]
            if rc < 0:
                raise ValueError(f"chunk stream error {rc}")
            if rc == lib.OMN_RTMP_NEED_MORE:
                break
            self._on_message(self._msg)

    def _flush(self) -> None:
        k = lib.omn_rtmp_conn_take_output(self.conn, self._out)
        if k and self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes(ffi.buffer(self._out[0], k)))

    def _send_command(self, msid: int, *values: Any, csid: int = CSID_COMMAND) -> None:
        payload = amf0.encode(*values)
        rc = lib.omn_rtmp_conn_write(self.conn, csid, lib.OMN_RTMP_MSG_COMMAND_AMF0, msid, 0, payload, len(payload))
        if rc != 0:
            raise ValueError(f"cannot write a command ({rc})")

    # -- messages -----------------------------------------------------------------------
    def _on_message(self, m: Any) -> None:
        t = m.type_id
        if t == lib.OMN_RTMP_MSG_VIDEO or t == lib.OMN_RTMP_MSG_AUDIO:
            self._on_media(t, m)
        elif t == lib.OMN_RTMP_MSG_COMMAND_AMF0:
            self._on_command(m.stream_id, amf0.decode(m.payload, m.length))
        elif t == lib.OMN_RTMP_MSG_COMMAND_AMF3:
            if m.length < 1:
                raise ValueError("empty AMF3 command")
            self._on_command(m.stream_id, amf0.decode(m.payload + 1, m.length - 1))
        elif t == lib.OMN_RTMP_MSG_DATA_AMF0:
            self._on_data(amf0.decode(m.payload, m.length), m.timestamp64)
        elif t == lib.OMN_RTMP_MSG_DATA_AMF3:
            if m.length >= 1:
                self._on_data(amf0.decode(m.payload + 1, m.length - 1), m.timestamp64)
        elif t == lib.OMN_RTMP_MSG_AGGREGATE:
            self._warn_once("aggregate", "aggregate messages are not supported; ignored")
        # protocol control (chunk size, ack, window) is applied by the C core

    def _on_command(self, msid: int, cmd: list[Any]) -> None:
        if not cmd or not isinstance(cmd[0], str):
            raise ValueError("command without a name")
        name = cmd[0]
        txn = cmd[1] if len(cmd) > 1 and isinstance(cmd[1], (int, float)) else 0
        args = cmd[2:]
        if name == "connect":
            self._on_connect(txn, args[0] if args and isinstance(args[0], dict) else {})
            return
        if self.app is None:
            raise Reject(f"command {name!r} before connect")
        if name in ("releaseStream", "FCPublish"):
            self._send_command(0, "_result", txn, None, amf0.Undefined)
            if name == "FCPublish":
                key = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
                self._send_command(0, "onFCPublish", 0, None,
                                   {"code": "NetStream.Publish.Start", "description": key})
        elif name == "createStream":
            self._send_command(0, "_result", txn, None, STREAM_ID)
        elif name == "publish":
            self._on_publish(msid, args)
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            if self.stream is not None:
                log.info("RTMP publisher %s of %s: %s", self.peer, self._where(), name)
                self._unpublish()
                self.stream = None
        elif name in ("_checkbw", "getStreamLength"):
            if txn:
                self._send_command(0, "_result", txn, None, 0)
        else:
            log.debug("RTMP %s: command %s ignored", self.peer, name)

    def _on_connect(self, txn: Any, obj: dict[str, Any]) -> None:
        if self.app is not None:
            raise Reject("second connect on one connection")
        app_field = obj.get("app") if isinstance(obj.get("app"), str) else ""
        tc_url = obj.get("tcUrl") if isinstance(obj.get("tcUrl"), str) else ""
        app, reason = self.provider.resolve(tc_url, app_field)
        if app is None:
            self._send_command(0, "_error", txn, None,
                               {"level": "error", "code": "NetConnection.Connect.Rejected",
                                "description": reason})
            raise Reject(f"connect rejected: {reason}")
        self.app, self.tc_url = app, tc_url
        lib.omn_rtmp_conn_write_window_ack_size(self.conn, 2500000)
        lib.omn_rtmp_conn_write_peer_bandwidth(self.conn, 2500000, 2)
        lib.omn_rtmp_conn_set_chunk_size(self.conn, 4096)
        self._send_command(0, "_result", txn,
                           {"fmsVer": "FMS/3,5,2,654", "capabilities": 31, "mode": 1},
                           {"level": "status", "code": "NetConnection.Connect.Success",
                            "description": "Connection succeeded", "objectEncoding": 0})

    def _on_publish(self, msid: int, args: list[Any]) -> None:
        raw = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        name = raw.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        assert self.app is not None
        if self.stream is not None:
            raise Reject("publish while already publishing")
        if not name:
            self._publish_error(msid, "NetStream.Publish.BadName", "empty stream name")
            raise Reject(f"publish with an empty stream name on {self.app.vhost.name}/{self.app.name}")
        error = self.provider.claim(self, self.app, name)
        if error is not None:
            self._publish_error(msid, "NetStream.Publish.BadName", error)
            raise Reject(f"publish rejected: {error}")
        from ome.runtime.registry import Stream
        stream = Stream(app=self.app, name=name, source_type="Rtmp", source_url=f"TCP://{self.peer}")
        stream.stop_callback = self.stop
        stream.send_event = self.send_event      # type: ignore[attr-defined]
        self.stream = stream
        if self._deadline is not None:
            self._deadline.cancel()
        lib.omn_rtmp_conn_write_user_control(self.conn, lib.OMN_RTMP_EV_STREAM_BEGIN, msid)
        self._send_command(msid, "onStatus", 0, None,
                           {"level": "status", "code": "NetStream.Publish.Start",
                            "description": f"{name} is now published", "details": name},
                           csid=CSID_STATUS)
        log.info("RTMP publisher %s started %s (%s)", self.peer, self._where(), self.tc_url)

    def _publish_error(self, msid: int, code: str, description: str) -> None:
        self._send_command(msid, "onStatus", 0, None, {"level": "error", "code": code, "description": description},
                           csid=CSID_STATUS)

    # -- data messages (onMetaData, EventGenerator triggers) -----------------------------
    def _on_data(self, values: list[Any], timestamp_ms: int) -> None:
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if not values or not isinstance(values[0], str):
            return
        name = values[0]
        if name == "onMetaData":
            meta = values[1] if len(values) > 1 and isinstance(values[1], dict) else {}
            self.metadata = meta
            return
        if self.stream is None:
            return
        for trigger, hls in self.provider.event_triggers(self.stream.app):
            if trigger != name:
                continue
            event_type = (hls.event_type or "both").lower()
            event = StreamEvent(event_format="id3v2", event_type="event" if event_type == "both" else event_type,
                                urgent=False,
                                events=[{"frameType": hls.frame_type, "info": hls.info, "data": hls.data}],
                                timestamp_ms=timestamp_ms, trigger=name, amf=values[1:])
            deliver_event(self.stream, event)

    def send_event(self, event: Any) -> bool:
        """stream.send_event (API :sendEvent): hand the event to the stream's sinks."""
        if self.stream is None or not self.published:
            return False
        return deliver_event(self.stream, event)

    # -- media ---------------------------------------------------------------------------
    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("RTMP %s (%s): " + msg, self.peer, self._where(), *args)

    def _on_media(self, type_id: int, m: Any) -> None:
        if self.stream is None:
            return                                  # media before publish: ignored
        tag = self._tag
        rc = lib.omn_flv_parse(type_id, m.payload, m.length, tag)
        if rc != 0:
            raise ValueError(f"malformed FLV tag (type {type_id}, {m.length} bytes, {rc})")
        kind = tag.kind
        if kind == lib.OMN_FLV_KIND_SEQUENCE_HEADER:
            self._on_sequence_header(tag)
        elif kind == lib.OMN_FLV_KIND_FRAME:
            self._on_frame(type_id, tag, m.timestamp64)
        elif kind == lib.OMN_FLV_KIND_UNSUPPORTED:
            self._warn_once(f"unsupported-{type_id}", "unsupported %s tag (E-RTMP multitrack?); ignored",
                            "video" if type_id == lib.OMN_RTMP_MSG_VIDEO else "audio")

    def _codec_allowed(self, tag: Any) -> bool:
        codec = tag.codec
        if codec in (lib.OMN_FLV_CODEC_H264, lib.OMN_FLV_CODEC_AAC):
            return True
        if codec in (lib.OMN_FLV_CODEC_HEVC, lib.OMN_FLV_CODEC_OPUS):
            if self.provider.ertmp_enabled:
                return True
            self._warn_once(f"ertmp-{codec}", "%s needs Enhanced RTMP (<Modules><ERTMP><Enable>true); track ignored",
                            "HEVC" if codec == lib.OMN_FLV_CODEC_HEVC else "Opus")
            return False
        self._warn_once(f"codec-{codec}", "codec %d is not supported; track ignored", codec)
        return False

    def _on_sequence_header(self, tag: Any) -> None:
        if not self._codec_allowed(tag):
            return
        config = bytes(ffi.buffer(tag.data, tag.data_len))
        is_video = tag.media == lib.OMN_RTMP_MSG_VIDEO
        current = self.video if is_video else self.audio
        if current is not None:
            if current.config != config:
                self._warn_once("config-change", "codec configuration changed mid-stream; not supported yet, "
                                "the first one is kept")
            return
        stats = new_stats()
        meta = self.metadata or {}
        codec = tag.codec
        if is_video:
            info = ffi.new("omn_sps_info *")
            parse = lib.omn_avcc_parse if codec == lib.OMN_FLV_CODEC_H264 else lib.omn_hvcc_parse
            if parse(config, len(config), info) != 0:
                raise ValueError("malformed video sequence header")
            if info.nal_length_size != 4:
                raise Reject(f"NAL length size {info.nal_length_size} is not supported (4 only)")
            if info.fps_num and info.fps_den:
                stats["framerate_conf"] = info.fps_num / info.fps_den
            elif isinstance(meta.get("framerate"), (int, float)) and not isinstance(meta.get("framerate"), bool):
                stats["framerate_conf"] = float(meta["framerate"])
            rate = meta.get("videodatarate")
            if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
                stats["bitrate_conf"] = int(rate * 1000)
            self.video = Track(id=VIDEO_TRACK_ID, kind=MediaKind.VIDEO,
                               codec="H264" if codec == lib.OMN_FLV_CODEC_H264 else "H265",
                               timescale=90000, config=config, width=info.width, height=info.height, bypass=False,
                               stats=stats)
        else:
            rate = meta.get("audiodatarate")
            if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
                stats["bitrate_conf"] = int(rate * 1000)
            if codec == lib.OMN_FLV_CODEC_AAC:
                info = ffi.new("omn_asc_info *")
                if lib.omn_aac_asc_parse(config, len(config), info) != 0 or info.sample_rate <= 0:
                    raise ValueError("malformed AAC AudioSpecificConfig")
                channels = info.channels or (2 if tag.sound_type == 1 else 1)
                self._audio_frame = info.frame_length or 1024
                self.audio = Track(id=AUDIO_TRACK_ID, kind=MediaKind.AUDIO, codec="AAC",
                                   timescale=info.sample_rate, config=config, samplerate=info.sample_rate,
                                   channels=channels, bypass=False, stats=stats)
            else:
                info = ffi.new("omn_opus_info *")
                if lib.omn_opus_head_parse(config, len(config), info) != 0:
                    raise ValueError("malformed OpusHead")
                self.audio = Track(id=AUDIO_TRACK_ID, kind=MediaKind.AUDIO, codec="OPUS", timescale=48000,
                                   config=config, samplerate=48000, channels=info.channels, bypass=False,
                                   stats=stats)
        self._maybe_ready()

    def _on_frame(self, type_id: int, tag: Any, ts: int) -> None:
        if type_id == lib.OMN_RTMP_MSG_VIDEO:
            track = self.video
            if track is None or tag.codec != (lib.OMN_FLV_CODEC_H264 if track.codec == "H264"
                                               else lib.OMN_FLV_CODEC_HEVC):
                return
            dts = ts * 90
            packet = Packet(VIDEO_TRACK_ID, dts, dts + tag.composition_time * 90, bool(tag.keyframe),
                            bytes(ffi.buffer(tag.data, tag.data_len)))
        else:
            track = self.audio
            if track is None:
                return
            rate = track.timescale
            clock = ts * rate // 1000
            if track.codec == "AAC":
                nxt = self._audio_next
                if nxt is None or abs(clock - nxt) > self._audio_frame:
                    nxt = clock                        # (re-)anchor on the publisher's clock
                self._audio_next = nxt + self._audio_frame
                dts = nxt
            else:
                dts = clock
            packet = Packet(AUDIO_TRACK_ID, dts, dts, True, bytes(ffi.buffer(tag.data, tag.data_len)))
        if self.published:
            count_packet(track.stats, packet, track.timescale)
            self.stream.write(packet)                  # type: ignore[union-attr]
        else:
            self.pending.append(packet)
            self._maybe_ready()

    def _maybe_ready(self) -> None:
        if self.published or self.stream is None:
            return
        have = {k for k, t in (("video", self.video), ("audio", self.audio)) if t is not None}
        if not have:
            return
        meta = self.metadata
        if meta is not None:
            expected = set()
            if _meta_codec(meta.get("videocodecid"), _VIDEO_META_IDS) not in (None, "?"):
                expected.add("video")
            if _meta_codec(meta.get("audiocodecid"), _AUDIO_META_IDS) not in (None, "?"):
                expected.add("audio")
            if not self.provider.ertmp_enabled:
                if _meta_codec(meta.get("videocodecid"), _VIDEO_META_IDS) == "H265":
                    expected.discard("video")
                if _meta_codec(meta.get("audiocodecid"), _AUDIO_META_IDS) == "OPUS":
                    expected.discard("audio")
        else:
            expected = {"video", "audio"}
        ready = expected <= have
        if not ready and self.pending:
            span_ms = self._ms(self.pending[-1]) - self._ms(self.pending[0])
            if len(self.pending) >= READY_MAX_PACKETS or span_ms >= READY_MAX_SPAN_MS:
                log.info("RTMP %s (%s): publishing with %s only (no sequence header for %s)", self.peer,
                         self._where(), "+".join(sorted(have)), "+".join(sorted(expected - have)))
                ready = True
        if ready:
            self._publish()

    def _ms(self, packet: Packet) -> int:
        track = self.video if packet.track_id == VIDEO_TRACK_ID else self.audio
        return packet.dts * 1000 // track.timescale if track is not None else 0

    def _publish(self) -> None:
        stream = self.stream
        assert stream is not None and self.app is not None
        tracks = [t for t in (self.video, self.audio) if t is not None]
        stream.set_tracks(tracks)
        if not self.provider.publish(self):
            raise Reject(f"application {self.app.vhost.name}/{self.app.name} went away")
        self.published = True
        pending, self.pending = self.pending, []
        for packet in pending:
            track = stream.tracks[packet.track_id]
            count_packet(track.stats, packet, track.timescale)
            stream.write(packet)

    def _unpublish(self) -> None:
        stream = self.stream
        if stream is None:
            return
        if self.published:
            self.published = False
            self.provider.unpublish(self)
        self.provider.release(self)
        self.pending = []
