"""The LL-HLS HTTP face: OME's URL layout, blocking reload (§1.5), blocking
preload-hinted parts, Cache-Control (§1.6), CORS, gzip for playlists.

Parked requests wait on the stream's change future (resolved when a part
completes, the stream ends or goes away); nothing polls.
"""
from __future__ import annotations

import asyncio
import fnmatch
import gzip
import logging
import time
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import payload, web

from . import llhls_playlist as pl

if TYPE_CHECKING:
    from .llhls import LlhlsPublisherModule
    from .llhls_stream import LlhlsStream, TrackState

log = logging.getLogger(__name__)

M3U8 = "application/vnd.apple.mpegurl"


class _PartsPayload(payload.Payload):
    """A segment body written part by part: a segment is the concatenation of its parts, so
    it is sent from the parts' own bytes instead of joining a fresh copy per request."""

    def __init__(self, parts: list[bytes], content_type: str) -> None:
        super().__init__(parts, content_type=content_type)
        self._size = sum(len(p) for p in parts)

    async def write(self, writer: Any) -> None:
        for part in self._value:
            await writer.write(part)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._value).decode(encoding, errors)


class _Reply(Exception):
    def __init__(self, status: int, cache: str | None, text: str = "") -> None:
        self.status, self.cache, self.text = status, cache, text


def _cache_value(config: Any, key: str, default: str | None) -> str | None:
    """OME's CacheControl keys when written (0 no-cache/no-store, N max-age, -1 none); else ours."""
    cc = getattr(config, "cache_control", None)
    if cc is None or not cc.is_set(key):
        return default
    v = getattr(cc, key)
    if v == 0:
        return "no-cache, no-store"
    if v > 0:
        return f"max-age={v}"
    return None


def _is_uint(v: str) -> bool:
    return v.isascii() and v.isdigit() and len(v) <= 18


def _cors_headers(config: Any, request: web.BaseRequest) -> dict[str, str]:
    cd = getattr(config, "cross_domains", None) if config is not None else None
    if cd is None or not cd.urls:
        return {}
    headers: dict[str, str] = {}
    origin = request.headers.get("Origin")
    if "*" in cd.urls:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin:
        host = origin.split("://", 1)[-1]
        for url in cd.urls:
            pattern = url.rstrip("/")
            if fnmatch.fnmatchcase(origin, pattern) or ("://" not in pattern and fnmatch.fnmatchcase(host, pattern)):
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Allow-Credentials"] = "true"
                break
        headers["Vary"] = "Origin"
    if headers.get("Access-Control-Allow-Origin"):
        for h in cd.headers:
            headers[h.key] = h.value
    return headers


class LlhlsHttp:
    def __init__(self, module: "LlhlsPublisherModule") -> None:
        self.module = module

    # -- entry --------------------------------------------------------------------------
    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        parts = request.path.split("/")
        if len(parts) != 4 or parts[0] != "" or not all(parts[1:]):
            return web.Response(status=404, text="Not Found")
        _, app_name, stream_name, file_name = parts
        config = self.module.app_config(app_name, request.host)
        cors = _cors_headers(config, request)
        if request.method == "OPTIONS":
            return web.Response(status=200, headers={**cors, "Access-Control-Allow-Methods": "OPTIONS, GET, HEAD",
                                                     "Access-Control-Allow-Headers":
                                                     request.headers.get("Access-Control-Request-Headers", "*"),
                                                     "Allow": "OPTIONS, GET, HEAD"})
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={**cors, "Allow": "OPTIONS, GET, HEAD"})
        s = self.module.find_stream(app_name, stream_name, request.host)
        try:
            if config is None:
                raise _Reply(404, None, "Not Found")
            resp = await self._dispatch(request, config, s, file_name)
        except _Reply as r:
            headers = dict(cors)
            if r.cache:
                headers["Cache-Control"] = r.cache
            return web.Response(status=r.status, text=r.text,
                                headers=headers)
        resp.headers.update(cors)
        return resp

    async def _dispatch(self, request: web.BaseRequest, config: Any, s: "LlhlsStream | None",
                        file_name: str) -> web.StreamResponse:
        td = s.target_duration if s is not None else 1
        if file_name.endswith(".m3u8"):
            if file_name.startswith("chunklist_"):
                return await self._media_playlist(request, config, s, file_name)
            return await self._master(request, config, s, file_name)
        if not file_name.endswith(".m4s"):
            raise _Reply(404, f"max-age={td}", "Not Found")
        if s is None or s.gone:
            raise _Reply(404, f"max-age={td}", "Not Found")
        fields = file_name[:-4].split("_")
        # init_{id}_{type}_{key}_llhls / seg_{id}_{msn}_{type}_{key}_llhls / part_{id}_{msn}_{idx}_...
        shape = {"init": 5, "seg": 6, "part": 7}.get(fields[0])
        if shape is None or len(fields) != shape or fields[-1] != "llhls" \
                or not all(_is_uint(f) for f in fields[1:shape - 3]):
            raise _Reply(404, f"max-age={td}", "Not Found")
        media_type, key = fields[-3], fields[-2]
        st = s.tracks.get(int(fields[1]))
        if st is None or st.media_type != media_type or (key != s.key and not config.origin_mode):
            raise _Reply(404, f"max-age={td}", "Not Found")
        kind = fields[0]
        content_type = "video/mp4" if st.media_type == "video" else "audio/mp4"
        if kind == "init":
            return self._media(st.init, content_type, _cache_value(config, "segment_max_age", f"max-age={6 * td}"))
        msn = int(fields[2])
        if kind == "seg":
            seg = st.segments.get(msn)
            if seg is None or not seg.complete:
                raise _Reply(404, f"max-age={td}" if seg is None and msn < self._next_msn(st) else "no-store",
                             "Not Found")
            body = _PartsPayload([p.data for p in seg.parts], content_type)
            return self._media(body, content_type, _cache_value(config, "segment_max_age", f"max-age={6 * td}"))
        return await self._part(config, s, st, msn, int(fields[3]), content_type)

    @staticmethod
    def _next_msn(st: "TrackState") -> int:
        last = st.last
        return last[0] + 1 if last else 0

    @staticmethod
    def _media(data: bytes | payload.Payload, content_type: str, cache: str | None) -> web.Response:
        headers = {"Cache-Control": cache} if cache else {}
        return web.Response(body=data, content_type=content_type, headers=headers)

    # -- waiting ------------------------------------------------------------------------
    async def _wait(self, s: "LlhlsStream", deadline: float, done: Callable[[], bool]) -> None:
        """Parks until done() (checked after every change) or 503 at the deadline."""
        if s.gone:
            raise _Reply(404, "no-store", "Not Found")
        if done():
            return
        if s.waiting >= self.module.max_waiters:
            raise _Reply(503, "no-store", "Service Unavailable")
        s.waiting += 1
        try:
            while True:
                if s.gone:
                    raise _Reply(404, "no-store", "Not Found")
                if done():
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Reply(503, "no-store", "Service Unavailable")
                try:
                    await asyncio.wait_for(asyncio.shield(s.changed()), remaining)
                except asyncio.TimeoutError:
                    pass
        finally:
            s.waiting -= 1

    # -- parts --------------------------------------------------------------------------
    async def _part(self, config: Any, s: "LlhlsStream", st: "TrackState", msn: int, idx: int,
                    content_type: str) -> web.Response:
        td = s.target_duration
        cache = _cache_value(config, "partial_segment_max_age", f"max-age={6 * td}")

        def existing():
            seg = st.segments.get(msn)
            return seg.parts[idx] if seg is not None and idx < len(seg.parts) else None

        part = existing()
        if part is None:
            oldest = next(iter(st.segments), None)
            if oldest is not None and msn < oldest:
                raise _Reply(404, f"max-age={td}", "Not Found")          # expired
            if not config.enable_preload_hint or pl.hint(s, st) != (msn, idx):
                raise _Reply(404, "no-store", "Not Found")                # never hinted
            # the hinted part: hold until it is complete, or it can no longer exist
            def settled() -> bool:
                if existing() is not None or s.ended:
                    return True
                seg = st.segments.get(msn)
                return (seg is not None and seg.complete) or (st.last is not None and st.last[0] > msn)
            await self._wait(s, time.monotonic() + 3 * td, settled)
            part = existing()
            if part is None:
                raise _Reply(404, "no-store", "Not Found")
        return self._media(part.data, content_type, cache)

    # -- playlists ----------------------------------------------------------------------
    def _playlist_response(self, request: web.BaseRequest, s: "LlhlsStream", cache_key: Any,
                           render: Callable[[], str], cache: str | None) -> web.Response:
        entry = s.render_cache.get(cache_key)
        if entry is None:
            entry = (render().encode(), None)
            s.render_cache[cache_key] = entry
        body, gz = entry
        headers = {"Vary": "Accept-Encoding"}
        if cache:
            headers["Cache-Control"] = cache
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            if gz is None:
                gz = gzip.compress(body, 5, mtime=0)
                s.render_cache[cache_key] = (body, gz)
            headers["Content-Encoding"] = "gzip"
            body = gz
        return web.Response(body=body, headers={**headers, "Content-Type": M3U8})

    async def _master(self, request: web.BaseRequest, config: Any, s: "LlhlsStream | None",
                      file_name: str) -> web.Response:
        name = file_name[:-5]
        master_cache = _cache_value(config, "master_playlist_max_age", "no-cache")
        if s is None or s.gone:
            raise _Reply(404, "no-store", "Not Found")
        layout = self.module.master_layout(s, name, config)
        if layout is None:
            raise _Reply(404, "no-store", "Not Found")
        await self._wait(s, time.monotonic() + 3 * s.target_duration, s.ready)
        layout = self.module.master_layout(s, name, config)
        renditions, depth = layout
        if not renditions:
            raise _Reply(404, "no-store", "Not Found")
        return self._playlist_response(request, s, ("master", name),
                                       lambda: pl.master_playlist(s, renditions, depth), master_cache)

    async def _media_playlist(self, request: web.BaseRequest, config: Any, s: "LlhlsStream | None",
                              file_name: str) -> web.Response:
        q = request.query
        msn_s, part_s, skip_s = q.get("_HLS_msn"), q.get("_HLS_part"), q.get("_HLS_skip")
        directives = msn_s is not None or part_s is not None
        td = s.target_duration if s is not None else 1
        # step 1: syntax
        if (msn_s is not None and not _is_uint(msn_s)) or (part_s is not None and not _is_uint(part_s)):
            raise _Reply(400, "no-store", "Bad Request")
        if skip_s is not None and skip_s not in ("YES", "v2"):
            raise _Reply(400, "no-store", "Bad Request")
        fields = file_name[:-5].split("_")
        if len(fields) != 5 or fields[-1] != "llhls" or not _is_uint(fields[1]) or s is None or s.gone:
            raise _Reply(404, f"max-age={4 * td if directives else td}", "Not Found")
        st = s.tracks.get(int(fields[1]))
        if st is None or st.media_type != fields[2]:
            # tracks appear once the stream started: park a little for a known stream
            if s.tracks:
                raise _Reply(404, f"max-age={4 * td if directives else td}", "Not Found")
        # step 3: part without msn (step 2: ignored once the playlist has ENDLIST)
        if part_s is not None and msn_s is None and not s.ended:
            raise _Reply(400, "no-store", "Bad Request")
        deadline = time.monotonic() + 3 * td
        await self._wait(s, deadline, s.ready)
        st = s.tracks.get(int(fields[1]))
        if st is None or st.media_type != fields[2]:
            raise _Reply(404, f"max-age={4 * td if directives else td}", "Not Found")
        skip = skip_s is not None and s.can_skip
        if directives and not s.ended:
            if msn_s is None:
                raise _Reply(400, "no-store", "Bad Request")
            m = int(msn_s)
            p = int(part_s) if part_s is not None else None
            m_last, p_last = st.last or (s.first_msn, -1)
            apl = int(3 / s.pt_seconds) if s.pt_seconds < 1 else 3
            if m > m_last + 2:
                raise _Reply(400, "no-store", "Bad Request")
            if p is not None and ((m == m_last and p > p_last + apl) or (m > m_last and p > apl)):
                raise _Reply(400, "no-store", "Bad Request")

            def satisfied() -> bool:
                if s.ended:
                    return True
                last = st.last
                if last is None:
                    return False
                if last[0] > m:
                    return True
                if last[0] < m:
                    return False
                if p is None:
                    return st.segments[m].complete
                return last[1] >= p
            await self._wait(s, deadline, satisfied)
        if directives:
            cache = _cache_value(config, "chunklist_with_directives_max_age", f"max-age={6 * td}")
        else:
            cache = _cache_value(config, "chunklist_max_age", "no-cache")
        last = st.last
        key = ("media", st.id, last, skip, s.ended)
        return self._playlist_response(request, s, key, lambda: pl.media_playlist(s, st, skip=skip), cache)
