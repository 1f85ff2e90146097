"""`<Application><OutputProfiles>` (reference §8.7): transcoding and playlists."""
from __future__ import annotations

from typing import Annotated, Any

from .errors import Invalid
from .spec import L, ConfigModel, Ctx, X, between, to_bitrate, warn


_FALLBACKS = ("fail", "software")


def _check_fallback(value: str) -> None:
    if value.lower() not in _FALLBACKS:
        raise Invalid(f"Invalid Fallback: {value} (fail, software)")


class HwAccel(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    modules: Annotated[str, X("Modules")] = ""   # e.g. "nv:0,qsv" (§10.3)
    # ome extension: what happens when no listed hardware module can take a track. "fail" (OME's rule:
    # software only when `default` is listed) fails that track with an error; "software" falls back to
    # the CPU with a warning. Never silent.
    fallback: Annotated[str, X("Fallback", check=_check_fallback)] = "fail"


class HwAccels(ConfigModel):
    decoder: Annotated[HwAccel | None, X("Decoder")] = None
    encoder: Annotated[HwAccel | None, X("Encoder")] = None


class DecodesOptions(ConfigModel):
    thread_count: Annotated[int, X("ThreadCount")] = 2
    only_keyframes: Annotated[bool, X("OnlyKeyframes")] = False


# -- MediaOptions -------------------------------------------------------------
class Transcription(ConfigModel):
    engine: Annotated[str, X("Engine", required=True)] = ""        # "whisper"
    model: Annotated[str, X("Model", required=True)] = ""
    audio_index_hint: Annotated[int, X("AudioIndexHint")] = 0
    source_language: Annotated[str, X("SourceLanguage")] = "auto"
    translation: Annotated[bool, X("Translation")] = False


class SubtitleRendition(ConfigModel):
    label: Annotated[str, X("Label", required=True)] = ""
    language: Annotated[str, X("Language", required=True)] = ""
    auto_select: Annotated[bool, X("AutoSelect")] = False
    forced: Annotated[bool, X("Forced")] = False
    transcription: Annotated[Transcription | None, X("Transcription")] = None


class Subtitles(ConfigModel):
    enable: Annotated[bool, X("Enable")] = False
    default_label: Annotated[str, X("DefaultLabel")] = ""
    rendition: Annotated[list[SubtitleRendition], L("Rendition")] = []

    def finalize(self, ctx: Ctx) -> None:
        if self.enable and not self.rendition:
            raise Invalid("Subtitle is enabled but no renditions are defined")
        if self.default_label and self.default_label not in [r.label for r in self.rendition]:
            raise Invalid(f"Default label '{self.default_label}' not found in subtitle renditions",
                          "default_label")


class Overlays(ConfigModel):
    enable: Annotated[bool, X("Enable", "enable")] = False
    path: Annotated[str, X("Path", "path")] = ""


class MediaOptions(ConfigModel):
    subtitles: Annotated[Subtitles | None, X("Subtitles")] = None
    overlays: Annotated[Overlays | None, X("Overlays", "overlays")] = None


# -- Encodes ------------------------------------------------------------------
_CMP3 = ("eq", "lte", "gte")


def _cmp(bim: ConfigModel, field: str, xml: str, allowed: tuple[str, ...]) -> None:
    value = getattr(bim, field)
    if value is not None and value.lower() not in allowed:
        raise Invalid(f"BypassIfMatch.{xml} must specified only one of {', '.join(allowed)}", field)


class VideoBypassIfMatch(ConfigModel):
    """Bypass the encode when the input matches: `Codec` eq; `Framerate`/`Width`/`Height` eq|lte|gte; `SAR` eq."""

    codec: Annotated[str | None, X("Codec")] = None
    framerate: Annotated[str | None, X("Framerate")] = None
    width: Annotated[str | None, X("Width")] = None
    height: Annotated[str | None, X("Height")] = None
    sar: Annotated[str | None, X("SAR")] = None
    bitrate: Annotated[str | None, X("Bitrate")] = None

    def finalize(self, ctx: Ctx) -> None:
        _cmp(self, "codec", "Codec", ("eq",))
        _cmp(self, "framerate", "Framerate", _CMP3)
        _cmp(self, "width", "Width", _CMP3)
        _cmp(self, "height", "Height", _CMP3)
        _cmp(self, "sar", "SAR", ("eq",))
        if self.bitrate is not None:
            raise Invalid("BypassIfMatch.Bitrate is not yet supported", "bitrate")


class AudioBypassIfMatch(ConfigModel):
    codec: Annotated[str | None, X("Codec")] = None
    samplerate: Annotated[str | None, X("Samplerate")] = None
    channel: Annotated[str | None, X("Channel")] = None

    def finalize(self, ctx: Ctx) -> None:
        _cmp(self, "codec", "Codec", ("eq",))
        _cmp(self, "samplerate", "Samplerate", _CMP3)
        _cmp(self, "channel", "Channel", _CMP3)


_SKIP_FRAMES = between(0, 120, "SkipFrames must be between 0 and 120")


def _needs_codec_and_bitrate(encode: Any) -> None:
    if encode.bypass:
        return
    if not encode.codec:
        raise Invalid("Codec must be specified when bypass is false", "codec")
    if encode.bitrate is None:
        raise Invalid("Bitrate must be specified when bypass is false", "bitrate")
    if encode.bitrate <= 0:
        raise Invalid(f"Bitrate must be greater than 0: {encode.bitrate}", "bitrate")


class VideoEncode(ConfigModel):
    """`<Video>`: `name` is auto `video_N` when absent (GET still shows it unnamed)."""

    name: Annotated[str, X("Name")] = ""
    bypass: Annotated[bool, X("Bypass")] = False
    codec: Annotated[str, X("Codec")] = ""           # h264, h265, vp8, vp9 (+ module suffix)
    modules: Annotated[str, X("Modules")] = ""
    bitrate: Annotated[int | None, X("Bitrate", conv=to_bitrate)] = None
    width: Annotated[int, X("Width")] = 0
    height: Annotated[int, X("Height")] = 0
    framerate: Annotated[float, X("Framerate")] = 0.0
    skip_frames: Annotated[int, X("SkipFrames", check=_SKIP_FRAMES)] = -1
    preset: Annotated[str, X("Preset")] = ""
    profile: Annotated[str, X("Profile")] = ""
    thread_count: Annotated[int, X("ThreadCount")] = -1
    lookahead: Annotated[int, X("Lookahead")] = -1
    key_frame_interval_type: Annotated[str, X("KeyFrameIntervalType")] = "frame"
    key_frame_interval: Annotated[int, X("KeyFrameInterval")] = 0
    b_frames: Annotated[int, X("BFrames", check=between(0, 16, "BFrames must be between 0 and 16"))] = 0
    bypass_if_match: Annotated[VideoBypassIfMatch | None, X("BypassIfMatch")] = None

    def finalize(self, ctx: Ctx) -> None:
        _needs_codec_and_bitrate(self)
        kind = self.key_frame_interval_type.lower()
        if kind not in ("frame", "time"):
            raise Invalid(f"Invalid KeyFrameIntervalType: {self.key_frame_interval_type} (frame, time)",
                          "key_frame_interval_type")
        self._fill("key_frame_interval_type", kind)
        if self.is_set("key_frame_interval"):
            if kind == "frame" and not 0 <= self.key_frame_interval <= 600:
                raise Invalid("KeyFrameInterval must be between 0 and 600 frames", "key_frame_interval")
            if kind == "time" and not 1 <= self.key_frame_interval <= 10000:
                raise Invalid("KeyFrameInterval must be between 1 and 10000 ms", "key_frame_interval")


class AudioEncode(ConfigModel):
    """`<Audio>`: aac / opus (mp3 is a known codec without an encoder)."""

    name: Annotated[str, X("Name")] = ""
    bypass: Annotated[bool, X("Bypass")] = False
    codec: Annotated[str, X("Codec")] = ""
    modules: Annotated[str, X("Modules")] = ""
    bitrate: Annotated[int | None, X("Bitrate", conv=to_bitrate)] = None
    samplerate: Annotated[int, X("Samplerate")] = 0
    channel: Annotated[int, X("Channel")] = 0
    bypass_if_match: Annotated[AudioBypassIfMatch | None, X("BypassIfMatch")] = None

    def finalize(self, ctx: Ctx) -> None:
        _needs_codec_and_bitrate(self)


class ImageEncode(ConfigModel):
    """`<Image>` (thumbnails): jpeg / png / webp."""

    name: Annotated[str, X("Name")] = ""
    codec: Annotated[str, X("Codec")] = ""
    modules: Annotated[str, X("Modules")] = ""
    width: Annotated[int, X("Width")] = 0
    height: Annotated[int, X("Height")] = 0
    framerate: Annotated[float, X("Framerate")] = 0.0
    skip_frames: Annotated[int, X("SkipFrames", check=_SKIP_FRAMES)] = -1
    bypass_if_match: Annotated[VideoBypassIfMatch | None, X("BypassIfMatch")] = None


class Encodes(ConfigModel):
    videos: Annotated[list[VideoEncode], L("Video", "videos")] = []
    audios: Annotated[list[AudioEncode], L("Audio", "audios")] = []
    images: Annotated[list[ImageEncode], L("Image", "images")] = []

    def finalize(self, ctx: Ctx) -> None:
        for prefix, encodes in (("video", self.videos), ("audio", self.audios), ("image", self.images)):
            for index, encode in enumerate(encodes):
                if not encode.is_set("name"):
                    encode._fill("name", f"{prefix}_{index}")

    def names(self) -> set[str]:
        return {e.name for e in (*self.videos, *self.audios, *self.images)}


# -- Playlists ----------------------------------------------------------------
class PlaylistOptions(ConfigModel):
    web_rtc_auto_abr: Annotated[bool, X("WebRtcAutoAbr")] = True
    hls_chunklist_path_depth: Annotated[int, X("HLSChunklistPathDepth")] = -1
    enable_ts_packaging: Annotated[bool, X("EnableTsPackaging")] = False
    enable_subtitles: Annotated[bool, X("EnableSubtitles")] = True


class Rendition(ConfigModel):
    name: Annotated[str, X("Name", "name", required=True)] = ""
    video: Annotated[str, X("Video", "video")] = ""
    audio: Annotated[str, X("Audio", "audio")] = ""
    video_index_hint: Annotated[int, X("VideoIndexHint", "video_index_hint")] = -1
    audio_index_hint: Annotated[int, X("AudioIndexHint", "audio_index_hint")] = -1


_ENCODING_TYPES = ("all", "encoded", "bypassed")


def _check_encoding_type(value: str) -> None:
    if value.lower() not in _ENCODING_TYPES:
        raise Invalid(f"Invalid EncodingType: {value} (all, encoded, bypassed)")


class VideoTemplate(ConfigModel):
    variant_name: Annotated[str, X("VariantName", "variant_name")] = ""
    encoding_type: Annotated[str, X("EncodingType", "encoding_type", check=_check_encoding_type)] = "all"
    max_width: Annotated[int, X("MaxWidth", "max_width")] = -1
    min_width: Annotated[int, X("MinWidth", "min_width")] = -1
    max_height: Annotated[int, X("MaxHeight", "max_height")] = -1
    min_height: Annotated[int, X("MinHeight", "min_height")] = -1
    max_framerate: Annotated[float, X("MaxFramerate", "max_framerate")] = -1
    min_framerate: Annotated[float, X("MinFramerate", "min_framerate")] = -1
    max_bitrate: Annotated[int, X("MaxBitrate", "max_bitrate", conv=to_bitrate)] = -1
    min_bitrate: Annotated[int, X("MinBitrate", "min_bitrate", conv=to_bitrate)] = -1


class AudioTemplate(ConfigModel):
    variant_name: Annotated[str, X("VariantName", "variant_name")] = ""
    encoding_type: Annotated[str, X("EncodingType", "encoding_type", check=_check_encoding_type)] = "all"
    max_bitrate: Annotated[int, X("MaxBitrate", "max_bitrate", conv=to_bitrate)] = -1
    min_bitrate: Annotated[int, X("MinBitrate", "min_bitrate", conv=to_bitrate)] = -1
    max_samplerate: Annotated[int, X("MaxSamplerate", "max_samplerate")] = -1
    min_samplerate: Annotated[int, X("MinSamplerate", "min_samplerate")] = -1
    max_channel: Annotated[int, X("MaxChannel", "max_channel")] = -1
    min_channel: Annotated[int, X("MinChannel", "min_channel")] = -1


class RenditionTemplate(ConfigModel):
    """One rendition per matching output track; `Name` may use `${Height}`, `${Bitrate}`, ..."""

    name: Annotated[str, X("Name", "name", required=True)] = ""
    video_template: Annotated[VideoTemplate | None, X("VideoTemplate", "video_template")] = None
    audio_template: Annotated[AudioTemplate | None, X("AudioTemplate", "audio_template")] = None


class Playlist(ConfigModel):
    """Served as `<FileName>.m3u8` (also the WebRTC playlist name)."""

    name: Annotated[str, X("Name")] = ""
    file_name: Annotated[str, X("FileName", required=True)] = ""
    options: Annotated[PlaylistOptions | None, X("Options")] = None
    renditions: Annotated[list[Rendition], L("Rendition", "renditions")] = []
    rendition_templates: Annotated[list[RenditionTemplate], L("RenditionTemplate", "rendition_templates")] = []

    def finalize(self, ctx: Ctx) -> None:
        seen: set[str] = set()
        for rendition in self.renditions:
            if rendition.name in seen:
                raise Invalid(f"Duplicate rendition name: {rendition.name}", "renditions")
            seen.add(rendition.name)


class OutputProfile(ConfigModel):
    name: Annotated[str, X("Name", required=True)] = ""
    output_stream_name: Annotated[str, X("OutputStreamName", required=True)] = ""   # e.g. ${OriginStreamName}
    encodes: Annotated[Encodes | None, X("Encodes")] = None
    playlists: Annotated[list[Playlist], L("Playlist", "playlists")] = []

    def finalize(self, ctx: Ctx) -> None:
        files: set[str] = set()
        names = self.encodes.names() if self.encodes else set()
        for playlist in self.playlists:
            if playlist.file_name in files:
                raise Invalid(f"Duplicate playlist file name: {playlist.file_name}", "playlists")
            files.add(playlist.file_name)
            for rendition in playlist.renditions:
                for ref in (rendition.video, rendition.audio):
                    if ref and ref not in names:
                        raise Invalid("Playlist Error", "playlists")


class OutputProfiles(ConfigModel):
    hardware_acceleration: Annotated[bool, X("HardwareAcceleration")] = False   # deprecated
    hwaccels: Annotated[HwAccels | None, X("HWAccels", "hwaccels")] = None
    decodes: Annotated[DecodesOptions | None, X("Decodes", "decodes")] = None
    media_options: Annotated[MediaOptions | None, X("MediaOptions")] = None
    output_profile: Annotated[list[OutputProfile], L("OutputProfile")] = []

    def finalize(self, ctx: Ctx) -> None:
        if self.hardware_acceleration:
            warn(self.source_loc, "<HardwareAcceleration> is deprecated: use <HWAccels>; "
                                  "hardware decoding and encoding are turned on")
            if self.hwaccels is None:
                self._fill("hwaccels", HwAccels())
            for part in ("decoder", "encoder"):
                if getattr(self.hwaccels, part) is None:
                    self.hwaccels._fill(part, HwAccel())
                getattr(self.hwaccels, part)._fill("enable", True)
