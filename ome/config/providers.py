"""`<Application><Providers>` (reference §8.8). A provider is on when its element is present."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from .common import CrossDomains
from .errors import Invalid
from .ports import RangedPort
from .spec import L, ConfigModel, Ctx, X, warn

_TIMESTAMP_MODES = {"zerobased": "ZeroBased", "original": "Original"}


class ProviderBase(ConfigModel):
    """Children common to every provider."""

    _xml_name: ClassVar[str] = ""
    _silence_timeout_supported: ClassVar[bool] = False

    max_connection: Annotated[int, X("MaxConnection")] = 0
    timestamp_mode: Annotated[str | None, X("TimestampMode")] = None   # None = auto
    use_incoming_timestamp: Annotated[bool, X("UseIncomingTimestamp")] = False   # deprecated
    packet_silence_timeout_ms: Annotated[int, X("PacketSilenceTimeoutMs")] = 0

    def finalize(self, ctx: Ctx) -> None:
        if self.timestamp_mode is not None:
            mode = _TIMESTAMP_MODES.get(self.timestamp_mode.lower())
            if mode is None:
                raise Invalid(f"Invalid TimestampMode value: {self.timestamp_mode} "
                              "(expected: ZeroBased, Original)", "timestamp_mode")
            self._fill("timestamp_mode", mode)
        elif self.use_incoming_timestamp:
            warn(self.source_loc, "<UseIncomingTimestamp> is deprecated: use <TimestampMode>Original</TimestampMode>")
            self._fill("timestamp_mode", "Original")
        if self.is_set("packet_silence_timeout_ms") and not self._silence_timeout_supported:
            raise Invalid(f"PacketSilenceTimeoutMs is not supported for this provider type: {self._xml_name}",
                          "packet_silence_timeout_ms")


class HlsId3v2(ConfigModel):
    event_type: Annotated[str, X("EventType", required=True)] = ""   # video / audio / both
    frame_type: Annotated[str, X("FrameType", required=True)] = ""   # TXXX / T??? / PRIV
    info: Annotated[str, X("Info")] = ""
    data: Annotated[str, X("Data", required=True)] = ""


class GeneratorEvent(ConfigModel):
    trigger: Annotated[str, X("Trigger", required=True)] = ""
    hls_id3v2: Annotated[HlsId3v2 | None, X("HLSID3v2")] = None


class RtmpProvider(ProviderBase):
    _xml_name: ClassVar[str] = "RTMP"
    _silence_timeout_supported: ClassVar[bool] = True

    block_duplicate_stream_name: Annotated[bool, X("BlockDuplicateStreamName")] = True
    event_generator: Annotated[list[GeneratorEvent], L("Event", wrapper="EventGenerator")] = []
    passthrough_output_profile: Annotated[bool, X("PassthroughOutputProfile")] = False


class RtspPullProvider(ProviderBase):
    _xml_name: ClassVar[str] = "RTSPPull"

    block_duplicate_stream_name: Annotated[bool, X("BlockDuplicateStreamName")] = True


class RtspProvider(ProviderBase):
    _xml_name: ClassVar[str] = "RTSP"


class OvtProvider(ProviderBase):
    _xml_name: ClassVar[str] = "OVT"


class AudioMapItem(ConfigModel):
    name: Annotated[str, X("Name", required=True)] = ""
    language: Annotated[str, X("Language")] = ""
    characteristics: Annotated[str, X("Characteristics")] = ""


class SrtProvider(ProviderBase):
    _xml_name: ClassVar[str] = "SRT"
    _silence_timeout_supported: ClassVar[bool] = True

    block_duplicate_stream_name: Annotated[bool, X("BlockDuplicateStreamName")] = True
    audio_map: Annotated[list[AudioMapItem], L("Item", wrapper="AudioMap")] = []


class WebRtcProvider(ProviderBase):
    """WebRTC and WHIP ingest."""

    _xml_name: ClassVar[str] = "WebRTC"
    _silence_timeout_supported: ClassVar[bool] = True

    timeout: Annotated[int, X("Timeout")] = 30000
    cross_domains: Annotated[CrossDomains | None, X("CrossDomains")] = None


class FileStream(ConfigModel):
    name: Annotated[str, X("Name", required=True)] = ""
    path: Annotated[str, X("Path", required=True)] = ""


class FileProvider(ProviderBase):
    _xml_name: ClassVar[str] = "FILE"

    root_path: Annotated[str, X("RootPath")] = ""
    stream_map: Annotated[list[FileStream], L("Stream", wrapper="StreamMap")] = []
    passthrough_output_profile: Annotated[bool, X("PassthroughOutputProfile")] = False


class ScheduleProvider(ProviderBase):
    _xml_name: ClassVar[str] = "Schedule"

    media_root_dir: Annotated[str, X("MediaRootDir", required=True)] = ""
    schedule_files_dir: Annotated[str, X("ScheduleFilesDir", required=True)] = ""


class MultiplexProvider(ProviderBase):
    _xml_name: ClassVar[str] = "Multiplex"
    _silence_timeout_supported: ClassVar[bool] = True

    mux_files_dir: Annotated[str, X("MuxFilesDir", required=True)] = ""


class MpegtsStream(ConfigModel):
    """`<Stream><Name>stream_${Port}</Name><Port>4000</Port>`: `${Port}` is expanded per port."""

    name: Annotated[str, X("Name", required=True)] = "stream"
    port: Annotated[RangedPort, X("Port")] = Field(default_factory=lambda: RangedPort([4000], "udp"))


class MpegtsProvider(ProviderBase):
    _xml_name: ClassVar[str] = "MPEGTS"
    _silence_timeout_supported: ClassVar[bool] = True

    stream_map: Annotated[list[MpegtsStream], L("Stream", "streams", wrapper="StreamMap", bare=True)] = []
    audio_map: Annotated[list[AudioMapItem], L("Item", wrapper="AudioMap")] = []

    def finalize(self, ctx: Ctx) -> None:
        super().finalize(ctx)
        if self.packet_silence_timeout_ms == 0:
            self._fill("packet_silence_timeout_ms", 1500)


class Providers(ConfigModel):
    ovt: Annotated[OvtProvider | None, X("OVT", "ovt")] = None
    rtmp: Annotated[RtmpProvider | None, X("RTMP", "rtmp")] = None
    rtsp_pull: Annotated[RtspPullProvider | None, X("RTSPPull", "rtspPull")] = None
    rtsp: Annotated[RtspProvider | None, X("RTSP", "rtsp")] = None
    srt: Annotated[SrtProvider | None, X("SRT", "srt")] = None
    webrtc: Annotated[WebRtcProvider | None, X("WebRTC", "webrtc")] = None
    file: Annotated[FileProvider | None, X("FILE", "file")] = None
    schedule: Annotated[ScheduleProvider | None, X("Schedule", "schedule")] = None
    multiplex: Annotated[MultiplexProvider | None, X("Multiplex", "multiplex")] = None
    mpegts: Annotated[MpegtsProvider | None, X("MPEGTS", "mpegts")] = None
