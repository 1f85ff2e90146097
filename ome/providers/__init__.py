"""Providers (ingest). `add_listeners(server)` registers the protocol servers the config asks for;
the server starts them after restore."""
from __future__ import annotations

from typing import Any


def add_listeners(server: Any) -> None:
    bind = server.config.bind.providers if server.config.bind is not None else None
    if bind is not None and bind.rtmp is not None:
        from ome.providers.rtmp import RtmpProvider
        provider = RtmpProvider(server, bind.rtmp.port.port)
        server.rtmp = provider
        server.add_listener(provider)
    if bind is not None and bind.srt is not None:
        from ome.providers.srt import SrtProvider
        server.srt = SrtProvider(server, bind.srt)
        server.add_listener(server.srt)
    if bind is not None and bind.mpegts is not None:
        from ome.providers.mpegts import MpegtsProvider
        server.mpegts = MpegtsProvider(server, bind.mpegts)
        server.add_listener(server.mpegts)
