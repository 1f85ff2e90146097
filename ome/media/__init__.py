"""The stream model shared by providers, the transcoder and publishers."""
from .model import MediaKind, Packet, StreamSink, Track

__all__ = ["MediaKind", "Packet", "StreamSink", "Track"]
