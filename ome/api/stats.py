"""GET /v1/stats/current… (reference §4.9). Counters are zero until the media path reports them."""
from __future__ import annotations

import time
from typing import Any

from ome.api.context import Ctx
from ome.api.envelope import Reply, ok
from ome.api.jsonfmt import format_time

CONNECTION_KINDS = ("file", "hlsv3", "llhls", "ovt", "push", "srt", "thumbnail", "webrtc")
QUEUES_PATH = "/v1/stats/current/internals/queues"


def metrics_json(created_time: float, source: Any = None) -> dict[str, Any]:
    """One metrics object; `source.metrics` (when a media module provides it) overrides the zeros."""
    created = format_time(created_time)
    body: dict[str, Any] = {
        "createdTime": created,
        "lastUpdatedTime": format_time(time.time()),
        "lastRecvTime": created,
        "lastSentTime": created,
        "maxTotalConnectionTime": created,
        "totalBytesIn": 0, "totalBytesOut": 0,
        "avgThroughputIn": 0, "avgThroughputOut": 0,
        "maxThroughputIn": 0, "maxThroughputOut": 0,
        "lastThroughputIn": 0, "lastThroughputOut": 0,
        "totalConnections": 0, "maxTotalConnections": 0,
        "connections": {kind: 0 for kind in CONNECTION_KINDS},
    }
    provided = getattr(source, "metrics", None)
    to_json = getattr(provided, "to_api_json", None)
    if callable(to_json):
        body.update(to_json())
    return body


def _input_streams(source: Any) -> list[Any]:
    """The streams under a server (its registry), a vhost (its apps) or an app."""
    registry = getattr(source, "registry", None)
    if registry is not None:
        return [s for vh in registry.vhosts.values() for app in vh.apps.values() for s in app.streams.values()]
    apps = getattr(source, "apps", None)
    if apps is not None:
        return [s for app in apps.values() for s in app.streams.values()]
    return list(getattr(source, "streams", {}).values())


def aggregate_json(created_time: float, source: Any) -> dict[str, Any]:
    """Server, vhost and app metrics: the zeros, plus what their byte-counting input streams
    (SRT, MPEG-TS) are receiving: bytes in, the average rate over the container's lifetime and
    the newest receive time (the connection counters stay OME's viewer counts)."""
    body = metrics_json(created_time, source)
    ingest = [m for m in (getattr(s, "metrics", None) for s in _input_streams(source))
              if callable(getattr(m, "totals", None))]
    if ingest:
        totals = [m.totals() for m in ingest]
        total = sum(b for b, _ in totals)
        span = max(time.time() - created_time, 1e-3)
        body.update({"totalBytesIn": total, "avgThroughputIn": int(total * 8 / span)})
        newest = max(t for _, t in totals)
        if newest:
            body["lastRecvTime"] = format_time(newest)
    return body


def transcoder_json(server: Any) -> dict[str, Any]:
    """ome extension: accelerators (devices, engines, sessions on each) and every transcoding session."""
    from ome.transcoder.hwaccel import probe_json
    sessions: dict[str, Any] = {}
    registry = getattr(server, "registry", None)
    for vhost in (registry.vhosts.values() if registry is not None else ()):
        for app in vhost.apps.values():
            for stream in app.streams.values():
                if stream.transcoder is not None:
                    sessions[f"{vhost.name}/{app.name}/{stream.name}"] = stream.transcoder.stats_json()
    return {"hwaccels": probe_json(), "sessions": sessions}


async def server_stats(ctx: Ctx) -> Reply:
    created = getattr(ctx.server, "started_at", None) or ctx.api.started_at
    body = aggregate_json(created, ctx.server)
    body["transcoder"] = transcoder_json(ctx.server)
    return ok(body)


async def vhost_stats(ctx: Ctx) -> Reply:
    assert ctx.vhost is not None
    return ok(aggregate_json(ctx.vhost.created_time, ctx.vhost))


async def app_stats(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    return ok(aggregate_json(ctx.app.created_time, ctx.app))


async def stream_stats(ctx: Ctx) -> Reply:
    assert ctx.stream is not None
    body = metrics_json(ctx.stream.created_time, ctx.stream)
    input_stream = ctx.stream.origin or ctx.stream
    if input_stream.transcoder is not None:
        body["transcoder"] = input_stream.transcoder.stats_json()      # ome extension
    return ok(body)


async def internals(ctx: Ctx) -> Reply:
    return ok([QUEUES_PATH])


async def queues(ctx: Ctx) -> Reply:
    source = getattr(ctx.server, "queues", None)
    return ok(list(source() if callable(source) else []))
