"""Streams: GET/POST {A}/streams, GET/DELETE {S} (reference §4.4)."""
from __future__ import annotations

import logging
from typing import Any

from ome.api import services
from ome.api.context import Ctx, is_input_stream
from ome.api.envelope import Reply, ok
from ome.api.errors import ApiError, HttpError
from ome.api.jsonfmt import format_time

log = logging.getLogger(__name__)

# Pull properties, each applied only when its JSON type is right.
_PROPERTY_TYPES: dict[str, type] = {
    "persistent": bool,
    "noInputFailoverTimeoutMs": int,
    "unusedStreamDeletionTimeoutMs": int,
    "ignoreRtcpSRTimestamp": bool,
    "retryCount": int,
}


async def list_streams(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    return ok([name for name, stream in ctx.app.streams.items() if is_input_stream(stream)])


async def get_stream(ctx: Ctx) -> Reply:
    assert ctx.stream is not None
    return ok(stream_info(ctx.stream))


async def delete_stream(ctx: Ctx) -> Reply:
    stream, app = ctx.stream, ctx.app
    assert stream is not None and app is not None
    try:
        await stream.stop()
    except ApiError:
        raise
    except Exception:
        log.exception("terminating stream %s/%s/%s failed", app.vhost.name, app.name, stream.name)
        raise HttpError(500, "Could not terminate the stream") from None
    if app.streams.get(stream.name) is stream:
        # the provider normally unpublishes in stop(); make sure modules hear about it
        ctx.server.registry.remove_stream(stream)
    return ok()


def pull_properties(body: dict[str, Any]) -> dict[str, Any]:
    """The typed `properties` of a pull request; retryCount defaults to 1 with a properties object."""
    props = body.get("properties")
    if not isinstance(props, dict):
        return {}
    result: dict[str, Any] = {}
    for key, kind in _PROPERTY_TYPES.items():
        value = props.get(key)
        if kind is bool and isinstance(value, bool):
            result[key] = value
        elif kind is int and isinstance(value, int) and not isinstance(value, bool):
            result[key] = value
    result.setdefault("retryCount", 1)
    return result


async def post_stream(ctx: Ctx) -> Reply:
    app = ctx.app
    assert app is not None
    body = ctx.body
    if not isinstance(body, dict):
        raise HttpError(400, "Request body must be an object")
    name, urls = body.get("name"), body.get("urls")
    if not isinstance(name, str) or not isinstance(urls, list):
        raise HttpError(400, "Stream name or urls is required")
    if not urls:
        raise HttpError(400, "Urls must be at least one")
    if not all(isinstance(url, str) for url in urls):
        raise HttpError(400, "Url must be a string")
    if name in app.streams:
        raise HttpError(409, "Stream already exists")
    puller = getattr(ctx.server, "puller", None)
    pulled = False
    if puller is not None:
        pulled = await services.call(puller.pull, app, name, list(urls), pull_properties(body))
    if not pulled:
        raise HttpError(502, f"Could not pull the stream : {ctx.request_url()}")
    return ok(status=201)


# -- stream info --------------------------------------------------------------------------

def stream_info(stream: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "sourceType": stream.source_type,
        "createdTime": format_time(stream.created_time),
        "tracks": _tracks_json(stream),
    }
    if stream.source_url:
        source["sourceUrl"] = stream.source_url
    outputs = []
    for output in (stream.outputs or {}).values():
        item: dict[str, Any] = {
            "name": output.name,
            "tracks": _tracks_json(output),
        }
        playlists = [_as_json(p) for p in (getattr(output, "playlists", None) or [])]
        playlists += default_playlists(output)
        if playlists or getattr(output, "playlists", None) is not None:
            item["playlists"] = playlists
        outputs.append(item)
    return _drop_empty_strings({"name": stream.name, "input": source, "outputs": outputs})


_LLHLS_VIDEO = ("H264", "H265")
_LLHLS_AUDIO = ("AAC", "OPUS")


def default_playlists(output: Any) -> list[dict[str, Any]]:
    """Each publisher's default playlist, appended at GET time (reference §4.4). LL-HLS: OME's
    `llhls_default` / `llhls` (served as llhls.m3u8) with the first supported video and audio
    tracks, when the app has `<Publishers><LLHLS>` with CreateDefaultPlaylist true."""
    app = getattr(output, "app", None)
    pubs = getattr(getattr(app, "config", None), "publishers", None)
    llhls = getattr(pubs, "llhls", None) if pubs is not None else None
    if llhls is None or not llhls.create_default_playlist:
        return []
    tracks = getattr(output, "tracks", None) or {}
    items = [tracks[k] for k in sorted(tracks)] if isinstance(tracks, dict) else list(tracks)
    video = next((t for t in items if str(getattr(t, "codec", "")).upper() in _LLHLS_VIDEO), None)
    audio = next((t for t in items if str(getattr(t, "codec", "")).upper() in _LLHLS_AUDIO), None)
    if video is None and audio is None:
        return []
    names = [t.name for t in (video, audio) if t is not None and t.name]
    rendition: dict[str, Any] = {"name": "_".join(names)}
    if video is not None:
        rendition["videoVariantName"] = video.name
    if audio is not None:
        rendition["audioVariantName"] = audio.name
    return [{"name": "llhls_default", "fileName": "llhls",
             "options": {"webrtcAutoAbr": True, "hlsChunklistPathDepth": -1, "enableTsPackaging": False},
             "renditions": [rendition]}]


def _tracks_json(stream: Any) -> list[Any]:
    """Tracks in id order, rendered from the Track and its live stats (ome/providers/stats.py)."""
    from ome.media import Track
    from ome.providers.stats import track_info

    tracks = getattr(stream, "tracks", None) or {}
    items = [tracks[k] for k in sorted(tracks)] if isinstance(tracks, dict) else list(tracks)
    return [track_info(t) if isinstance(t, Track) else _as_json(t) for t in items]


def _as_json(value: Any) -> Any:
    to_json = getattr(value, "to_api_json", None)
    return to_json() if callable(to_json) else value


def _drop_empty_strings(value: Any) -> Any:
    """OME omits empty strings from stream-info objects."""
    if isinstance(value, dict):
        return {k: _drop_empty_strings(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty_strings(v) for v in value]
    return value
