"""Tracks and packets: integer timestamps, each in its track's explicit timescale.

Providers build Tracks from what the publisher announces (codec configs parsed
in native/), then push Packets into their Stream; publishers and the
transcoder subscribe to a Stream as StreamSinks. Packet payloads are the
codec's canonical form for CMAF: length-prefixed (4-byte) NAL units for
H.264/H.265, raw frames for AAC/Opus. Never floats on the media path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ome.runtime.registry import Stream


class MediaKind(str, Enum):
    VIDEO = "Video"
    AUDIO = "Audio"
    DATA = "Data"


@dataclass(eq=False)
class Track:
    id: int
    kind: MediaKind
    codec: str                      # OME's names: "H264", "H265", "AAC", "OPUS", ...
    timescale: int                  # ticks per second of pts/dts (90000 video, samplerate audio)
    config: bytes = b""             # avcC / hvcC record / AudioSpecificConfig / OpusHead
    name: str = ""                  # variant name (encode name for outputs)
    width: int = 0
    height: int = 0
    samplerate: int = 0
    channels: int = 0
    bypass: bool = True             # output tracks: copied from the input, not transcoded
    # Live statistics kept by whoever feeds the track (stream info API).
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class Packet:
    track_id: int
    dts: int                        # in the track's timescale
    pts: int
    keyframe: bool
    data: bytes


class StreamSink(Protocol):
    """A consumer of one stream's media (publisher, transcoder, recorder).

    Calls come from the event loop in order: on_tracks once the track set is
    known (again if it changes), then packets, and on_end when the stream goes.
    A sink must not block: heavy work goes to native threads.
    """

    def on_tracks(self, stream: "Stream") -> None: ...

    def on_packet(self, stream: "Stream", packet: Packet) -> None: ...

    def on_end(self, stream: "Stream") -> None: ...
