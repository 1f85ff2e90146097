"""Python faces of the native record/push muxers (native/src/fmp4_rec.c, mpegts_mux.c,
flv_mux.c) and the track selection shared by recordings and pushes.

Every method is one C call per packet or per fragment; the bytes come back as Python bytes
only where they leave the process (a file write, a socket write).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ome._native import ffi, lib
from ome.media import MediaKind

if TYPE_CHECKING:
    from ome.media import Track
    from ome.runtime.registry import Stream

CODECS = {"H264": lib.OMN_CODEC_H264, "H265": lib.OMN_CODEC_H265,
          "AAC": lib.OMN_CODEC_AAC, "OPUS": lib.OMN_CODEC_OPUS}
TS_CODECS = ("H264", "H265", "AAC")
FLV_CODECS = ("H264", "AAC")


class MuxError(Exception):
    pass


def select_tracks(stream: "Stream", track_ids: list[int], variant_names: list[str],
                  codecs: tuple[str, ...], *, first_of_each: bool) -> list["Track"]:
    """OME's selection: the tracks named by `trackIds` or `variantNames` (either), else every
    track (records) or the first video and first audio track (pushes), keeping only the
    codecs the container carries. Video first, so track 0 is the default (split) track."""
    tracks = [t for t in stream.tracks.values() if t.codec.upper() in codecs and t.config]
    if track_ids or variant_names:
        tracks = [t for t in tracks if t.id in track_ids or (t.name and t.name in variant_names)]
    videos = [t for t in tracks if t.kind == MediaKind.VIDEO]
    audios = [t for t in tracks if t.kind == MediaKind.AUDIO]
    if first_of_each:
        return videos[:1] + audios[:1]
    return videos + audios


def _mux_tracks(tracks: list["Track"]) -> tuple[Any, list[Any]]:
    arr = ffi.new("omn_mux_track[]", len(tracks))
    keep = []
    for i, t in enumerate(tracks):
        cfg = ffi.from_buffer("uint8_t[]", t.config)
        keep.append(cfg)
        arr[i].codec = CODECS[t.codec.upper()]
        arr[i].config = cfg
        arr[i].config_len = len(t.config)
        arr[i].timescale = t.timescale
    return arr, keep


def _take(buf: Any) -> bytes:
    """The bytes of an omn_buf, which is emptied (its memory is kept for reuse)."""
    if buf.len == 0:
        return b""
    data = ffi.buffer(buf.data, buf.len)[:]
    buf.len = 0
    return data


class Fmp4Writer:
    """Multi-track fragmented MP4: init segment, then one moof+mdat per flush."""

    def __init__(self, tracks: list["Track"]) -> None:
        arr, _keep = _mux_tracks(tracks)
        out = ffi.new("omn_fmp4_rec **")
        rc = lib.omn_fmp4_rec_new(arr, len(tracks), out)
        if rc != 0:
            raise MuxError(f"fmp4 writer: codec configuration refused ({rc})")
        self._rec = ffi.gc(out[0], lib.omn_fmp4_rec_free)
        self._buf = ffi.gc(ffi.new("omn_buf *"), lib.omn_buf_free)

    def init_segment(self) -> bytes:
        lib.omn_fmp4_rec_init_segment(self._rec, self._buf)
        return _take(self._buf)

    def feed(self, index: int, data: bytes, dts: int, pts: int, keyframe: bool) -> bool:
        return lib.omn_fmp4_rec_feed(self._rec, index, data, len(data), dts, pts, keyframe) == 0

    def flush(self) -> bytes:
        lib.omn_fmp4_rec_flush(self._rec, self._buf)
        return _take(self._buf)

    def finish(self) -> bytes:
        lib.omn_fmp4_rec_finish(self._rec, self._buf)
        return _take(self._buf)

    def pending_bytes(self) -> int:
        return int(lib.omn_fmp4_rec_pending_bytes(self._rec))


class TsMuxer:
    """MPEG-TS: whole 188-byte packets per access unit (PAT/PMT before key frames)."""

    def __init__(self, tracks: list["Track"]) -> None:
        arr, _keep = _mux_tracks(tracks)
        out = ffi.new("omn_ts_mux **")
        rc = lib.omn_ts_mux_new(arr, len(tracks), out)
        if rc != 0:
            raise MuxError(f"MPEG-TS muxer: codec configuration refused ({rc})")
        self._mux = ffi.gc(out[0], lib.omn_ts_mux_free)
        self._buf = ffi.gc(ffi.new("omn_buf *"), lib.omn_buf_free)

    def init_segment(self) -> bytes:
        return b""

    def write(self, index: int, data: bytes, dts: int, pts: int, keyframe: bool) -> bytes:
        if lib.omn_ts_mux_write(self._mux, self._buf, index, data, len(data), dts, pts, keyframe) != 0:
            self._buf.len = 0
            return b""
        return _take(self._buf)


class FlvBodies:
    """FLV tag bodies (RTMP message payloads) for H.264 and AAC."""

    def __init__(self) -> None:
        self._buf = ffi.gc(ffi.new("omn_buf *"), lib.omn_buf_free)

    def body(self, codec: str, sequence_header: bool, keyframe: bool, cts_ms: int, data: bytes) -> bytes:
        flv_codec = lib.OMN_FLV_CODEC_H264 if codec == "H264" else lib.OMN_FLV_CODEC_AAC
        kind = lib.OMN_FLV_KIND_SEQUENCE_HEADER if sequence_header else lib.OMN_FLV_KIND_FRAME
        if lib.omn_flv_write_body(self._buf, flv_codec, kind, keyframe, cts_ms, data, len(data)) != 0:
            self._buf.len = 0
            return b""
        return _take(self._buf)
