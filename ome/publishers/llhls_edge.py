"""Keeps the native edge's stored LL-HLS answers current (edge.py, native/src/edge.c).

Which answers are stored:
- lazily, any answer the handler marks with `store` (init, parts, segments, playlists), under
  the key of the request that missed;
- eagerly, at every new part of a track, for every client context learned from misses (Host,
  Origin, gzip or not; at most MAX_CONTEXTS per stream): the new part, and the chunklist as it is
  now under three keys: no directives, `_HLS_msn=M&_HLS_part=P` and, when the stream can skip,
  with `&_HLS_skip=YES`. Then the chunklist's state is advanced, so the requests parked in C on
  that part are answered from those stored answers, without Python.

Every answer is produced by the same handler (`LlhlsHttp.handle` on a synthetic request of that
context), so a stored answer is byte for byte what Python would have sent.

What is dropped: a track's media answers whose segment left the window; playlist answers older
than the previous segment; a stream's playlist answers when it ends (its parked requests go to
Python, which answers with ENDLIST), and everything when it goes away.
"""
from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any

from .edge import EdgeServer, answer_key, state_key
from .http1 import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from .llhls_http import LlhlsHttp
    from .llhls_stream import LlhlsStream, Part, TrackState

log = logging.getLogger(__name__)

MAX_CONTEXTS = 8
INIT_TAG = 1 << 62                 # init answers stay until their whole group goes


class _StreamEdge:
    """The edge bookkeeping of one LlhlsStream."""

    __slots__ = ("contexts", "groups", "states")

    def __init__(self) -> None:
        self.contexts: dict[tuple[str, str, bool], None] = {}    # (host, origin, gzip), in learning order
        self.groups: dict[int, tuple[int, int]] = {}             # track id -> (media group, playlist group)
        self.states: set[bytes] = set()                          # playlist state keys advanced


class LlhlsEdge:
    def __init__(self, server: EdgeServer, http: "LlhlsHttp") -> None:
        self.server = server
        self.http = http
        self._group_ids = itertools.count(1)
        self._origin_free: dict[str, bool] = {}        # app path prefix -> told to the edge

    # -- what the handler uses ------------------------------------------------------------
    def _se(self, s: "LlhlsStream") -> _StreamEdge:
        se = s.edge
        if se is None:
            se = s.edge = _StreamEdge()
        return se

    def groups(self, s: "LlhlsStream", st: "TrackState") -> tuple[int, int]:
        se = self._se(s)
        g = se.groups.get(st.id)
        if g is None:
            g = se.groups[st.id] = (next(self._group_ids), next(self._group_ids))
        return g

    def body(self, part: "Part") -> Any:
        if part.edge_body is None:
            part.edge_body = (self.server.body_of(part.raw) if part.raw is not None
                              else self.server.body(part.data))
        return part.edge_body

    def learn(self, s: "LlhlsStream", request: HttpRequest) -> bool:
        """Notes the client context of a request that reached a live stream through the edge.
        False when the stream already has MAX_CONTEXTS others (its answers are then not stored:
        nothing would keep them current)."""
        se = self._se(s)
        free = self._check_origin_free(s.app)
        ctx = (request.header("Host") or "", "" if free else request.header("Origin") or "",
               "gzip" in (request.header("Accept-Encoding") or ""))
        if ctx in se.contexts:
            return True
        if len(se.contexts) >= MAX_CONTEXTS or s.gone or s.ended:
            return False
        se.contexts[ctx] = None
        if s.ready():
            for st in s.tracks.values():
                self._refresh(s, se, st, [ctx])
        return True

    def _check_origin_free(self, app_name: str) -> bool:
        """True when every app of this name answers the same CORS headers to every origin (no
        CrossDomains, or `*`): the edge then keys its answers without the Origin, so every page
        that embeds the stream shares one context. Told to the edge when it changes."""
        free = True
        for vh in self.http.module.server.registry.vhosts.values():
            app = vh.apps.get(app_name)
            pubs = app.config.publishers if app is not None else None
            config = pubs.llhls if pubs is not None else None
            cd = getattr(config, "cross_domains", None) if config is not None else None
            if cd is not None and cd.urls and "*" not in cd.urls:
                free = False
        prefix = f"/{app_name}/"
        if self._origin_free.get(prefix) != free:
            self._origin_free[prefix] = free
            self.server.origin_free(prefix, free)
        return free

    # -- what the stream tells ------------------------------------------------------------
    def on_change(self, s: "LlhlsStream", track_id: int | None) -> None:
        """LlhlsStream's listener: a new part of `track_id`, or (None) a change of every track.
        Runs on the packet path: a failure here is logged, never raised into the packager."""
        try:
            self._on_change(s, track_id)
        except Exception:
            log.exception("llhls %s/%s: the native edge's answers could not be updated", s.app, s.name)

    def _on_change(self, s: "LlhlsStream", track_id: int | None) -> None:
        se = s.edge
        if se is None:
            return
        if s.gone or s.ended:
            self._close(s, se)
            return
        if not se.contexts or not s.ready():
            return
        tracks = s.tracks.values() if track_id is None else [s.tracks[track_id]]
        for st in tracks:
            self._refresh(s, se, st, list(se.contexts))

    def _refresh(self, s: "LlhlsStream", se: _StreamEdge, st: "TrackState", contexts: list) -> None:
        if st.last is None:
            return
        m, p = st.last
        media_group, playlist_group = self.groups(s, st)
        base = f"/{s.app}/{s.name}/"
        chunklist = f"{base}chunklist_{st.id}_{st.media_type}_{s.key}_llhls.m3u8"
        part_path = f"{base}part_{st.id}_{m}_{p}_{st.media_type}_{s.key}_llhls.m4s"
        variants: list[tuple[Any, Any, Any]] = [(None, None, None), (m, p, None)]
        if s.can_skip:
            variants.append((m, p, "YES"))
        hosts = set()
        for ctx in contexts:
            host, origin, gz = ctx
            headers = {b"host": host.encode("latin-1"), b"origin": origin.encode("latin-1")} if origin \
                else {b"host": host.encode("latin-1")}
            if gz:
                headers[b"accept-encoding"] = b"gzip"
            stored = self._store(HttpRequest("GET", part_path, headers, True), answer_key(host, origin, gz, part_path))
            for msn, part, skip in variants:
                query = "" if msn is None else f"?_HLS_msn={msn}&_HLS_part={part}" + (f"&_HLS_skip={skip}" if skip else "")
                stored = self._store(HttpRequest("GET", chunklist + query, headers, True),
                                     answer_key(host, origin, gz, chunklist, msn, part, skip)) and stored
            if stored:
                hosts.add(host)
        # the parked requests of this chunklist wake now (their answers are stored just above)
        td = s.target_duration
        apl = int(3 / s.pt_seconds) if s.pt_seconds < 1 else 3
        for host in hosts:
            key = state_key(host, chunklist)
            se.states.add(key)
            self.server.advance(key, m, p, apl, 3 * td * 1000, self.http.module.max_waiters)
        if p == 0:
            # a new segment: drop what left the window, and playlists older than the previous segment
            oldest = next(iter(st.segments), m)
            self.server.drop(media_group, oldest)
            self.server.drop(playlist_group, m - 1)

    def _store(self, request: HttpRequest, key: bytes) -> bool:
        """Runs the handler on a synthetic request and stores its answer; False when it gave none."""
        result = self.http.handle(request)
        if not isinstance(result, HttpResponse) or result.status != 200 or result.store is None:
            return False          # never happens on a ready stream's newest part; kept safe
        group, tag, bodies = result.store
        if bodies is None:
            body = result.body
            bodies = [self.server.body(b) for b in (body if isinstance(body, list) else [body])]
        self.server.put(key, group, tag, result, bodies)
        return True

    def _close(self, s: "LlhlsStream", se: _StreamEdge) -> None:
        for media_group, playlist_group in se.groups.values():
            self.server.drop(playlist_group)
            if s.gone:
                self.server.drop(media_group)
        for key in se.states:
            self.server.advance(key, 0, 0, 0, 0, 0, open_=False)
        se.states.clear()
        if s.gone:
            se.groups.clear()
            se.contexts.clear()

