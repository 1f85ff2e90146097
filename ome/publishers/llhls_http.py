"""The LL-HLS HTTP face: OME's URL layout, blocking reload (§1.5), blocking
preload-hinted parts, Cache-Control (§1.6), CORS, gzip for playlists.

Served by the lean HTTP/1.1 server of `http1.py`. A request that can be answered now is
answered synchronously (no task); one that must wait (blocking reload, a preload-hinted
part, a stream not ready yet) returns a future that parks on a change future of the stream,
or of its track when only that track matters (resolved when a part completes, the stream ends
or goes away); nothing polls.
"""
from __future__ import annotations

import asyncio
import fnmatch
import gzip
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Union

from . import llhls_playlist as pl
from .http1 import HttpRequest, HttpResponse
from .llhls_edge import INIT_TAG

if TYPE_CHECKING:
    from .llhls import LlhlsPublisherModule
    from .llhls_edge import LlhlsEdge
    from .llhls_stream import LlhlsStream, TrackState

log = logging.getLogger(__name__)

M3U8 = "application/vnd.apple.mpegurl"


Reply = Union[HttpResponse, "asyncio.Future[HttpResponse]"]   # now, or after parking


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


_header_blocks: dict[tuple, bytes] = {}


def _header_block(content_type: str, cache: str | None, *more: str) -> bytes:
    """The encoded header lines of a media or playlist answer, rendered once per distinct set."""
    key = (content_type, cache, more)
    block = _header_blocks.get(key)
    if block is None:
        lines = [f"Content-Type: {content_type}\r\n"]
        if cache:
            lines.append(f"Cache-Control: {cache}\r\n")
        lines += [f"{h}\r\n" for h in more]
        block = _header_blocks[key] = "".join(lines).encode("latin-1")
    return block


def _deadline(request: HttpRequest, td: int) -> float:
    """When a waiting request gets 503: three target durations after its head arrived (at the
    native edge, which may have parked it before handing it here)."""
    return (request.t0 or time.monotonic()) + 3 * td


def _is_uint(v: str) -> bool:
    return v.isascii() and v.isdigit() and len(v) <= 18


def _cors_headers(config: Any, request: HttpRequest) -> dict[str, str]:
    cd = getattr(config, "cross_domains", None) if config is not None else None
    if cd is None or not cd.urls:
        return {}
    headers: dict[str, str] = {}
    origin = request.header("Origin")
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


class _Parked:
    """One request parked on a stream: callbacks on its change future (the track's, when the
    condition depends on one track only), no task.

    Settles its future with the final response (CORS headers applied): then()'s answer once
    done() holds after a change, 404 when the stream goes away, 503 at the deadline. Holds one
    of the stream's waiting slots until it settles."""

    __slots__ = ("s", "done", "then", "cors", "track_id", "future", "timer")

    def __init__(self, s: "LlhlsStream", deadline: float, done: Callable[[], bool],
                 then: Callable[[], Reply], cors: dict[str, str], track_id: int | None) -> None:
        loop = asyncio.get_running_loop()
        self.s, self.done, self.then, self.cors, self.track_id = s, done, then, cors, track_id
        self.future: asyncio.Future = loop.create_future()
        self.timer = loop.call_later(max(0.0, deadline - time.monotonic()), self._expire)
        s.waiting += 1
        s.changed(track_id).add_done_callback(self._check)

    def _settle(self, response: HttpResponse) -> None:
        _add_cors(response, self.cors)
        self.future.set_result(response)

    def _expire(self) -> None:
        if not self.future.done():
            self.s.waiting -= 1
            self._settle(_reply(_Reply(503, "no-store", "Service Unavailable")))

    def _check(self, _changed: Any = None) -> None:
        if self.future.done():
            return                                  # expired meanwhile
        s = self.s
        if not s.gone:
            try:
                if not self.done():
                    s.changed(self.track_id).add_done_callback(self._check)
                    return
            except Exception as exc:
                self.timer.cancel()
                s.waiting -= 1
                self.future.set_exception(exc)      # the HTTP server logs it and answers 500
                return
        self.timer.cancel()
        s.waiting -= 1
        if s.gone:
            self._settle(_reply(_Reply(404, "no-store", "Not Found")))
            return
        try:
            result = self.then()
        except _Reply as r:
            self._settle(_reply(r))
            return
        except Exception as exc:
            self.future.set_exception(exc)
            return
        if isinstance(result, HttpResponse):
            self._settle(result)
        else:
            result.add_done_callback(self._chain)   # then() parked again (e.g. ready, then msn)

    def _chain(self, inner: asyncio.Future) -> None:
        exc = inner.exception()
        if exc is not None:
            self.future.set_exception(exc)
        else:
            self.future.set_result(inner.result())  # already final (same CORS headers)


def _add_cors(response: HttpResponse, cors: dict[str, str]) -> None:
    """CORS headers onto an answer; a Vary the answer already has is extended, not replaced."""
    if not cors:
        return
    vary = response.headers.get("Vary")
    response.headers.update(cors)
    if vary and "Vary" in cors:
        response.headers["Vary"] = f"{vary}, {cors['Vary']}"


def _reply(r: _Reply, cors: dict[str, str] | None = None) -> HttpResponse:
    headers = dict(cors) if cors else {}
    if r.cache:
        headers["Cache-Control"] = r.cache
    return HttpResponse.text(r.status, r.text, headers)


class LlhlsHttp:
    def __init__(self, module: "LlhlsPublisherModule") -> None:
        self.module = module
        self.edge: "LlhlsEdge | None" = None     # set when the plain port is the native edge

    def _store(self, s: "LlhlsStream", st: "TrackState", tag: int, bodies: list | None = None,
               playlist: bool = False) -> tuple[int, int, list | None] | None:
        """What the native edge may keep of a 200 answer (HttpResponse.store), when there is one."""
        edge = self.edge
        if edge is None:
            return None
        media_group, playlist_group = edge.groups(s, st)
        return (playlist_group if playlist else media_group), tag, bodies

    # -- entry --------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> Reply:
        parts = request.path.split("/")
        if len(parts) != 4 or parts[0] != "" or not all(parts[1:]):
            return HttpResponse.text(404, "Not Found")
        _, app_name, stream_name, file_name = parts
        host = request.host
        config = self.module.app_config(app_name, host)
        cors = _cors_headers(config, request)
        if request.method == "OPTIONS":
            return HttpResponse(200, {**cors, "Access-Control-Allow-Methods": "OPTIONS, GET, HEAD",
                                      "Access-Control-Allow-Headers":
                                      request.header("Access-Control-Request-Headers", "*"),
                                      "Allow": "OPTIONS, GET, HEAD"})
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, {**cors, "Allow": "OPTIONS, GET, HEAD"})
        s = self.module.find_stream(app_name, stream_name, host)
        if request.edge_key is not None and (self.edge is None or s is None or not self.edge.learn(s, request)):
            request.edge_key = None                 # nothing would keep such an answer current
        try:
            if config is None:
                raise _Reply(404, None, "Not Found")
            result = self._dispatch(request, config, s, file_name, cors)
        except _Reply as r:
            return _reply(r, cors)
        if isinstance(result, HttpResponse):
            _add_cors(result, cors)
        return result                              # a parked request's future is final already

    def _dispatch(self, request: HttpRequest, config: Any, s: "LlhlsStream | None", file_name: str,
                  cors: dict[str, str]) -> Reply:
        td = s.target_duration if s is not None else 1
        if file_name.endswith(".m3u8"):
            if file_name.startswith("chunklist_"):
                return self._media_playlist(request, config, s, file_name, cors)
            return self._master(request, config, s, file_name, cors)
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
            return self._media(st.init, content_type, _cache_value(config, "segment_max_age", f"max-age={6 * td}"),
                               self._store(s, st, INIT_TAG))
        msn = int(fields[2])
        if kind == "seg":
            seg = st.segments.get(msn)
            if seg is None or not seg.complete:
                raise _Reply(404, f"max-age={td}" if seg is None and msn < self._next_msn(st) else "no-store",
                             "Not Found")
            # a segment is the concatenation of its parts: sent from the parts' own bytes
            edge = self.edge
            return self._media([p.data for p in seg.parts], content_type,
                               _cache_value(config, "segment_max_age", f"max-age={6 * td}"),
                               self._store(s, st, msn, [edge.body(p) for p in seg.parts]) if edge else None)
        return self._part(request, config, s, st, msn, int(fields[3]), content_type, cors)

    @staticmethod
    def _next_msn(st: "TrackState") -> int:
        last = st.last
        return last[0] + 1 if last else 0

    @staticmethod
    def _media(data: bytes | list[bytes], content_type: str, cache: str | None,
               store: tuple | None = None) -> HttpResponse:
        r = HttpResponse(200, {}, data, _header_block(content_type, cache))
        r.store = store
        return r

    def _part_response(self, s: "LlhlsStream", st: "TrackState", msn: int, part: Any, content_type: str,
                       cache: str | None) -> HttpResponse:
        edge = self.edge
        return self._media(part.data, content_type, cache,
                           self._store(s, st, msn, [edge.body(part)]) if edge else None)

    # -- waiting ------------------------------------------------------------------------
    def _after(self, s: "LlhlsStream", deadline: float, done: Callable[[], bool],
               then: Callable[[], Reply], cors: dict[str, str], track_id: int | None = None) -> Reply:
        """then() now when done() already holds, else a future of its answer once done() holds after
        a change of the stream, or of track `track_id` only when done() depends on that track alone
        (404 when the stream goes away, 503 at the deadline).

        The waiting slot is taken here, synchronously, so a burst of requests in one loop
        iteration cannot overshoot max_waiters."""
        if s.gone:
            raise _Reply(404, "no-store", "Not Found")
        if done():
            return then()
        if s.waiting >= self.module.max_waiters:
            raise _Reply(503, "no-store", "Service Unavailable")
        return _Parked(s, deadline, done, then, cors, track_id).future

    # -- parts --------------------------------------------------------------------------
    def _part(self, request: HttpRequest, config: Any, s: "LlhlsStream", st: "TrackState", msn: int, idx: int,
              content_type: str, cors: dict[str, str]) -> Reply:
        td = s.target_duration
        cache = _cache_value(config, "partial_segment_max_age", f"max-age={6 * td}")

        def existing():
            seg = st.segments.get(msn)
            return seg.parts[idx] if seg is not None and idx < len(seg.parts) else None

        part = existing()
        if part is not None:
            return self._part_response(s, st, msn, part, content_type, cache)
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

        def answer() -> HttpResponse:
            done = existing()
            if done is None:
                raise _Reply(404, "no-store", "Not Found")
            return self._part_response(s, st, msn, done, content_type, cache)

        return self._after(s, _deadline(request, td), settled, answer, cors, st.id)

    # -- playlists ----------------------------------------------------------------------
    def _playlist_response(self, request: HttpRequest, s: "LlhlsStream", cache_key: Any,
                           render: Callable[[], str], cache: str | None,
                           store: tuple | None = None) -> HttpResponse:
        entry = s.render_cache.get(cache_key)
        if entry is None:
            entry = (render().encode(), None)
            s.render_cache[cache_key] = entry
        body, gz = entry
        if "gzip" in (request.header("Accept-Encoding") or ""):
            if gz is None:
                gz = gzip.compress(body, 5, mtime=0)
                s.render_cache[cache_key] = (body, gz)
            r = HttpResponse(200, {"Vary": "Accept-Encoding"}, gz,
                             _header_block(M3U8, cache, "Content-Encoding: gzip"))
        else:
            r = HttpResponse(200, {"Vary": "Accept-Encoding"}, body, _header_block(M3U8, cache))
        r.store = store
        return r

    def _master(self, request: HttpRequest, config: Any, s: "LlhlsStream | None", file_name: str,
                cors: dict[str, str]) -> Reply:
        name = file_name[:-5]
        master_cache = _cache_value(config, "master_playlist_max_age", "no-cache")
        if s is None or s.gone:
            raise _Reply(404, "no-store", "Not Found")
        if self.module.master_layout(s, name, config) is None:
            raise _Reply(404, "no-store", "Not Found")

        def answer() -> HttpResponse:
            layout = self.module.master_layout(s, name, config)
            renditions, depth = layout if layout is not None else ([], -1)
            if not renditions:
                raise _Reply(404, "no-store", "Not Found")
            return self._playlist_response(request, s, ("master", name),
                                           lambda: pl.master_playlist(s, renditions, depth), master_cache)

        return self._after(s, _deadline(request, s.target_duration), s.ready, answer, cors)

    def _media_playlist(self, request: HttpRequest, config: Any, s: "LlhlsStream | None",
                        file_name: str, cors: dict[str, str]) -> Reply:
        q = request.query if request.query_string else {}
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
        track_id, media_type = int(fields[1]), fields[2]
        st = s.tracks.get(track_id)
        if st is None or st.media_type != media_type:
            # tracks appear once the stream started: park a little for a known stream
            if s.tracks:
                raise _Reply(404, f"max-age={4 * td if directives else td}", "Not Found")
        # step 3: part without msn (step 2: ignored once the playlist has ENDLIST)
        if part_s is not None and msn_s is None and not s.ended:
            raise _Reply(400, "no-store", "Bad Request")
        deadline = _deadline(request, td)

        def render(st: "TrackState") -> HttpResponse:
            skip = skip_s is not None and s.can_skip
            if directives:
                cache = _cache_value(config, "chunklist_with_directives_max_age", f"max-age={6 * td}")
            else:
                cache = _cache_value(config, "chunklist_max_age", "no-cache")
            key = ("media", st.id, st.last, skip, s.ended)
            store = self._store(s, st, st.last[0], playlist=True) if st.last is not None else None
            return self._playlist_response(request, s, key, lambda: pl.media_playlist(s, st, skip=skip), cache,
                                           store)

        def when_ready() -> Reply:
            st = s.tracks.get(track_id)
            if st is None or st.media_type != media_type:
                raise _Reply(404, f"max-age={4 * td if directives else td}", "Not Found")
            if not directives or s.ended:
                return render(st)
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
            return self._after(s, deadline, satisfied, lambda: render(st), cors, st.id)

        return self._after(s, deadline, s.ready, when_ready, cors)
