"""`<Application><Publishers>` (reference §8.9). A publisher is on when its element is present."""
from __future__ import annotations

import secrets
import string
from typing import Annotated

from .common import CrossDomains, KeyValue
from .errors import Invalid
from .spec import L, ConfigModel, Ctx, X, warn


class PublisherBase(ConfigModel):
    max_connection: Annotated[int, X("MaxConnection")] = 0


class PlayoutDelay(ConfigModel):
    min: Annotated[int, X("Min", required=True)] = 0
    max: Annotated[int, X("Max", required=True)] = 0


def _check_bwe(value: str) -> None:
    # Copy: OME's message names TransportCC, but only REMB is accepted.
    if value.lower() != "remb":
        raise Invalid("Invalid value for BWE. Valid values are 'TransportCC' or 'REMB'")


class WebRtcPublisher(PublisherBase):
    timeout: Annotated[int, X("Timeout")] = 30000
    jitter_buffer: Annotated[bool, X("JitterBuffer")] = False
    rtx: Annotated[bool, X("Rtx")] = False
    ulpfec: Annotated[bool, X("Ulpfec")] = False
    playout_delay: Annotated[PlayoutDelay | None, X("PlayoutDelay")] = None
    create_default_playlist: Annotated[bool, X("CreateDefaultPlaylist")] = True
    bandwidth_estimation: Annotated[str | None, X("BandwidthEstimation", check=_check_bwe)] = None


class Dvr(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    temp_storage_path: Annotated[str, X("TempStoragePath")] = "/tmp/ll_hls_dvr"
    max_duration: Annotated[int, X("MaxDuration")] = 3600
    event_playlist_type: Annotated[bool, X("EventPlaylistType")] = False


class Dump(ConfigModel):
    """LL-HLS dump: `OutputPath` may use ${VHostName} ${AppName} ${StreamName} ${YYYY} ... macros."""

    id: Annotated[str, X("Id")] = ""     # random 8 characters when absent
    enable: Annotated[bool, X("Enable", required=True)] = False
    target_stream_name: Annotated[str, X("TargetStreamName", required=True)] = ""   # wildcard
    output_path: Annotated[str, X("OutputPath", required=True)] = ""
    playlists: Annotated[list[str], L("Playlist", wrapper="Playlists", required=True)] = []

    def finalize(self, ctx: Ctx) -> None:
        if not self.id:
            alphabet = string.ascii_letters + string.digits
            self._fill("id", "".join(secrets.choice(alphabet) for _ in range(8)))


class CacheControl(ConfigModel):
    master_playlist_max_age: Annotated[int, X("MasterPlaylistMaxAge")] = 0
    chunklist_max_age: Annotated[int, X("ChunklistMaxAge")] = 0
    chunklist_with_directives_max_age: Annotated[int, X("ChunklistWithDirectivesMaxAge")] = 60
    segment_max_age: Annotated[int, X("SegmentMaxAge")] = -1
    partial_segment_max_age: Annotated[int, X("PartialSegmentMaxAge")] = -1


class DefaultQueryString(ConfigModel):
    queries: Annotated[list[KeyValue], L("Query", "queries")] = []


class HlsPublisher(PublisherBase):
    """HLS (MPEG-TS, v3); also the base of LL-HLS."""

    origin_mode: Annotated[bool, X("OriginMode")] = False
    server_time_based_segment_numbering: Annotated[bool, X("ServerTimeBasedSegmentNumbering")] = False
    segment_count: Annotated[int, X("SegmentCount")] = 5
    segment_duration: Annotated[float, X("SegmentDuration")] = 10.0
    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None
    dvr: Annotated[Dvr | None, X("DVR")] = None
    dumps: Annotated[list[Dump], L("Dump", wrapper="Dumps")] = []
    cache_control: Annotated[CacheControl | None, X("CacheControl")] = None
    default_query_string: Annotated[DefaultQueryString | None, X("DefaultQueryString")] = None
    create_default_playlist: Annotated[bool, X("CreateDefaultPlaylist")] = True


class Drm(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    info_file: Annotated[str, X("InfoFile")] = ""


class LlhlsPublisher(HlsPublisher):
    """LL-HLS: the part length is `ChunkDuration` (there is no PartDuration)."""

    chunk_duration: Annotated[float, X("ChunkDuration")] = 0.5
    part_hold_back: Annotated[float, X("PartHoldBack")] = 0.0      # 0 = 3 x ChunkDuration
    enable_preload_hint: Annotated[bool, X("EnablePreloadHint")] = True
    drm: Annotated[Drm | None, X("DRM")] = None

    @property
    def effective_part_hold_back(self) -> float:
        return self.part_hold_back if self.part_hold_back > 0 else 3 * self.chunk_duration


class OvtPublisher(PublisherBase):
    pass


class SrtPublisher(PublisherBase):
    pass


class StreamMap(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    path: Annotated[str, X("Path")] = ""


class FilePublisher(PublisherBase):
    root_path: Annotated[str, X("RootPath")] = ""
    file_path: Annotated[str, X("FilePath")] = ""
    info_path: Annotated[str, X("InfoPath")] = ""
    stream_map: Annotated[StreamMap | None, X("StreamMap")] = None
    record: Annotated[StreamMap | None, X("Record", "record")] = None            # deprecated
    record_info: Annotated[str, X("RecordInfo", "recordInfo")] = ""            # deprecated (= Path)


class ThumbnailPublisher(PublisherBase):
    """Needs `<Image>` encodes in an output profile."""

    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None


class PushPublisher(PublisherBase):
    stream_map: Annotated[StreamMap | None, X("StreamMap")] = None
    connection_timeout: Annotated[int, X("ConnectionTimeout", "connectionTimeout")] = -1
    send_timeout: Annotated[int, X("SendTimeout", "sendTimeout")] = -1


class Publishers(ConfigModel):
    app_worker_count: Annotated[int, X("AppWorkerCount")] = 1
    stream_worker_count: Annotated[int, X("StreamWorkerCount")] = 8
    delay_buffer_time_ms: Annotated[int, X("DelayBufferTimeMs")] = 0
    webrtc: Annotated[WebRtcPublisher | None, X("WebRTC", "webrtc")] = None
    hls: Annotated[HlsPublisher | None, X("HLS", "hls")] = None
    llhls: Annotated[LlhlsPublisher | None, X("LLHLS", "llhls")] = None
    ovt: Annotated[OvtPublisher | None, X("OVT", "ovt")] = None
    srt: Annotated[SrtPublisher | None, X("SRT", "srt")] = None
    file: Annotated[FilePublisher | None, X("FILE", "file")] = None
    thumbnail: Annotated[ThumbnailPublisher | None, X("Thumbnail", "thumbnail")] = None
    push: Annotated[PushPublisher | None, X("Push", "push")] = None
    mpegts_push: Annotated[PushPublisher | None, X("MPEGTSPush")] = None   # deprecated -> Push
    rtmp_push: Annotated[PushPublisher | None, X("RTMPPush", "rtmpPush")] = None   # deprecated -> Push
    srt_push: Annotated[PushPublisher | None, X("SRTPush", "srtPush")] = None   # deprecated -> Push

    def finalize(self, ctx: Ctx) -> None:
        for name, xml in (("mpegts_push", "MPEGTSPush"), ("rtmp_push", "RTMPPush"), ("srt_push", "SRTPush")):
            legacy = getattr(self, name)
            if legacy is not None:
                warn(legacy.source_loc, f"<{xml}> is deprecated: use <Push> (Push is turned on)")
                if self.push is None:
                    self._fill("push", legacy)
