"""The LL-HLS publisher: a StreamModule that packages every output stream of
an app with `<Publishers><LLHLS>`, and the HTTP server on
`<Bind><Publishers><LLHLS><Port>` that serves it (OME's URL layout).

Events (`:sendEvent`) and `:concludeHlsLive` arrive on the input stream and
fan out to its output streams here (docs/CONTRACTS.md "Events").
"""
from __future__ import annotations

import logging
import os
import ssl
from typing import TYPE_CHECKING, Any


from ome._native import ffi, lib
from ome.errors import StartupError

from .edge import EdgeServer
from .http1 import HttpServer
from .llhls_edge import LlhlsEdge
from .llhls_http import LlhlsHttp
from .llhls_stream import MAX_WAITERS, LlhlsStream

if TYPE_CHECKING:
    from ome.runtime.registry import Stream

log = logging.getLogger(__name__)


def id3_tag(events: list[Any]) -> bytes | None:
    """One ID3v2.4 tag with a frame per event ({frameType, info, data}, reference §4.3)."""
    frames = ffi.new("omn_buf *")
    try:
        for ev in events:
            if not isinstance(ev, dict):
                return None
            ftype = str(ev.get("frameType", "")).upper()
            info = str(ev.get("info", "") or "").encode()
            data = str(ev.get("data", "") or "").encode()
            if ftype == "TXXX":
                rc = lib.omn_id3_add_txxx(frames, info, len(info), data, len(data))
            elif ftype == "PRIV":
                rc = lib.omn_id3_add_priv(frames, info, len(info), data, len(data))
            elif len(ftype) == 4 and ftype.startswith("T"):
                rc = lib.omn_id3_add_text(frames, ftype.encode(), data, len(data))
            else:
                return None
            if rc != 0:
                return None
        out = ffi.new("omn_buf *")
        try:
            if lib.omn_id3_tag(out, frames.data, frames.len) != 0:
                return None
            return ffi.buffer(out.data, out.len)[:]
        finally:
            lib.omn_buf_free(out)
    finally:
        lib.omn_buf_free(frames)


def _expand(template: str, origin: str) -> str:
    return template.replace("${OriginStreamName}", origin)


def _in_range(value: float, low: float, high: float) -> bool:
    """Template Min/Max filters: -1 (unset) holds."""
    return (low < 0 or value >= low) and (high < 0 or value <= high)


def _kind_ok(encoding_type: str, track: Any) -> bool:
    kind = (encoding_type or "all").lower()
    return kind == "all" or (kind == "bypassed") == bool(track.bypass)


def _bitrate(track: Any) -> int:
    return int(track.stats.get("bitrate_conf") or 0) if track.stats else 0


def template_renditions(tpl: Any, videos: list, audios: list) -> list[tuple[list, list]]:
    """`<RenditionTemplate>`: one rendition per video track that passes VideoTemplate's filters
    (VariantName, EncodingType, Min/Max Width/Height/Framerate/Bitrate), each with the audio
    tracks that pass AudioTemplate's; audio-only renditions when there is no VideoTemplate."""
    def video_ok(st: Any) -> bool:
        vt, t = tpl.video_template, st.track
        if vt is None:
            return True
        fps = float(t.stats.get("framerate_conf") or 0) if t.stats else 0.0
        return ((not vt.variant_name or vt.variant_name == t.name) and _kind_ok(vt.encoding_type, t)
                and _in_range(st.width, vt.min_width, vt.max_width)
                and _in_range(st.height, vt.min_height, vt.max_height)
                and (not fps or _in_range(fps, vt.min_framerate, vt.max_framerate))
                and (not _bitrate(t) or _in_range(_bitrate(t), vt.min_bitrate, vt.max_bitrate)))

    def audio_ok(st: Any) -> bool:
        at, t = tpl.audio_template, st.track
        if at is None:
            return True
        return ((not at.variant_name or at.variant_name == t.name) and _kind_ok(at.encoding_type, t)
                and _in_range(st.sample_rate, at.min_samplerate, at.max_samplerate)
                and _in_range(st.channels, at.min_channel, at.max_channel)
                and (not _bitrate(t) or _in_range(_bitrate(t), at.min_bitrate, at.max_bitrate)))

    matching_audio = [a for a in audios if audio_ok(a)] if tpl.audio_template is not None or not tpl.video_template \
        else audios[:1]
    if tpl.video_template is None and tpl.audio_template is not None:
        return [([], [a]) for a in matching_audio]
    chosen = [v for v in videos if video_ok(v)]
    chosen.sort(key=lambda st: (-st.height, -st.width))
    return [([v], matching_audio[:1]) for v in chosen]


class LlhlsPublisherModule:
    """StreamModule + listener (start/stop)."""

    name = "llhls"

    def __init__(self, server: Any, bind: Any) -> None:
        self.server = server
        self.bind = bind
        self.streams: dict[tuple[str, str, str], LlhlsStream] = {}   # (vhost, app, output name)
        self.max_waiters = MAX_WAITERS
        self.ports: list[int] = []
        self._http_server: HttpServer | None = None      # TLSPort (and Port with OME_MEDIA_EDGE=python)
        self._edge_server: EdgeServer | None = None      # Port: the native edge
        self._http = LlhlsHttp(self)

    # -- lookups for HTTP -----------------------------------------------------------------
    def _vhosts(self, host: str | None):
        """The vhost the request's Host header names: the first whose `<Host><Names>` match, as OME
        (no Host header: every vhost is searched in order)."""
        found = self.server.registry.vhosts_for_host(host)
        return found[:1] if host else found

    def app_config(self, app_name: str, host: str | None = None):
        for vh in self._vhosts(host):
            app = vh.apps.get(app_name)
            if app is not None and app.config.publishers is not None and app.config.publishers.llhls is not None:
                return app.config.publishers.llhls
        return None

    def find_stream(self, app_name: str, stream_name: str, host: str | None = None) -> LlhlsStream | None:
        for vh in self._vhosts(host):
            s = self.streams.get((vh.name, app_name, stream_name))
            if s is not None:
                return s
        return None

    def master_layout(self, s: LlhlsStream, name: str, config: Any) -> tuple[list, int] | None:
        """(renditions, chunklist path depth) of master `name`, or None when there is none."""
        videos = [t for t in s.tracks.values() if t.media_type == "video"]
        audios = [t for t in s.tracks.values() if t.media_type == "audio"]
        if name == "llhls" and config.create_default_playlist:
            return ([(videos[:1], audios[:1])] if (videos or audios) else []), -1
        if "playlist" in name or "chunklist" in name:
            return None
        origin = s.stream.origin
        app = s.stream.app
        profiles = app.config.output_profiles.output_profile if app.config.output_profiles else []
        for profile in profiles:
            if origin is not None and _expand(profile.output_stream_name, origin.name) != s.name:
                continue
            for playlist in profile.playlists:
                if playlist.file_name != name:
                    continue
                depth = playlist.options.hls_chunklist_path_depth if playlist.options else -1
                out = []
                for r in playlist.renditions:
                    v = [t for t in videos if r.video and t.track.name == r.video]
                    a = [t for t in audios if r.audio and t.track.name == r.audio]
                    if (r.video and not v) or (r.audio and not a):
                        log.warning("llhls %s: rendition %s names a missing/unsupported track; dropped",
                                    s.name, r.name)
                        continue
                    out.append((v[:1], a))
                for tpl in playlist.rendition_templates:
                    out += template_renditions(tpl, videos, audios)
                return out, depth
        return None

    # -- StreamModule ----------------------------------------------------------------------
    def on_stream_created(self, stream: "Stream") -> None:
        if stream.origin is None:
            # input stream: the provider's send_event/conclude_live land here unless it set its own
            if getattr(stream, "send_event", None) is None:
                stream.send_event = lambda request, _s=stream: self.on_event(_s, request)   # type: ignore[attr-defined]
            if getattr(stream, "conclude_live", None) is None:
                stream.conclude_live = lambda urgent=False, _s=stream: self.conclude_live(_s, urgent)  # type: ignore[attr-defined]
            return
        pubs = stream.app.config.publishers
        config = pubs.llhls if pubs is not None else None
        if config is None:
            return
        key = (stream.app.vhost.name, stream.app.name, stream.name)
        old = self.streams.pop(key, None)
        if old is not None:
            old.stream.remove_sink(old)
            old.remove()
        s = LlhlsStream(stream, config, vhost=stream.app.vhost.name, app=stream.app.name)
        if self._http.edge is not None:
            s.listener = self._http.edge.on_change
        self.streams[key] = s
        stream.add_sink(s)
        log.info("llhls: serving %s/%s/%s", *key)

    def on_stream_deleted(self, stream: "Stream") -> None:
        if stream.origin is None:
            return
        key = (stream.app.vhost.name, stream.app.name, stream.name)
        s = self.streams.get(key)
        if s is not None and s.stream is stream:
            del self.streams[key]
            stream.remove_sink(s)
            s.remove()

    # -- events ------------------------------------------------------------------------------
    def _outputs(self, input_stream: "Stream") -> list[LlhlsStream]:
        out = []
        for o in input_stream.outputs.values():
            s = self.streams.get((o.app.vhost.name, o.app.name, o.name))
            if s is not None and s.stream is o:
                out.append(s)
        return out

    def on_event(self, input_stream: "Stream", request: Any) -> bool:
        """:sendEvent when no provider hook exists: straight to the LL-HLS outputs of the input
        (with a provider, events reach LlhlsStream.on_event through the sink chain)."""
        done = False
        for s in self._outputs(input_stream):
            done = s.on_event(s.stream, request) or done
        return done

    def conclude_live(self, input_stream: "Stream", urgent: bool = False) -> bool:
        """:concludeHlsLive -> flush the packagers, EXT-X-ENDLIST on every chunklist."""
        outputs = self._outputs(input_stream)
        for s in outputs:
            s.conclude()
        return bool(outputs)

    def edge_stats(self) -> dict[str, int] | None:
        """The native edge's counters (requests, hits, misses, parked, ...), None without it."""
        return self._edge_server.stats() if self._edge_server is not None else None

    def memory_bytes(self) -> int:
        return sum(s.memory_bytes() for s in self.streams.values())

    # -- listener ----------------------------------------------------------------------------
    def _tls_candidates(self) -> list[tuple[list[str], Any]]:
        """(host names, <TLS>) of every vhost with a certificate (Server.xml order), then
        `<Managers><Host><TLS>` as the fallback."""
        out = []
        for vh in self.server.registry.vhosts.values():
            host = getattr(vh.config, "host", None)
            if host is not None and host.tls is not None and host.tls.cert_path:
                out.append((list(host.names), host.tls))
        managers = getattr(self.server.config, "managers", None)
        mhost = getattr(managers, "host", None) if managers is not None else None
        if mhost is not None and mhost.tls is not None and mhost.tls.cert_path:
            out.append((list(mhost.names), mhost.tls))
        return out

    def _ssl_context(self) -> ssl.SSLContext:
        """TLSPort certificate: chosen by SNI among the vhosts' `<Host><TLS>` (names matched as for
        RTMP; an exact name beats `*.domain`, which beats `*`; ties: the first); no SNI or no match
        -> the first certificate found (vhosts in Server.xml order, then `<Managers><Host><TLS>`).
        Loaded once at start."""
        from ome.api.server import _load_chain
        from ome.runtime.hosts import host_matches
        candidates = self._tls_candidates()
        if not candidates:
            raise StartupError("LLHLS Publisher TLSPort needs a certificate in <VirtualHost><Host><TLS> "
                               "or <Managers><Host><TLS>")
        contexts: list[tuple[list[str], ssl.SSLContext]] = []
        for names, tls in candidates:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.set_alpn_protocols(["h2", "http/1.1"])     # HTTP/2 first (http2.py), HTTP/1.1 still
            ctx.ome_alpn = ["h2", "http/1.1"]                # type: ignore[attr-defined]
            try:
                _load_chain(ctx, str(tls.cert_path), str(tls.key_path), str(tls.chain_cert_path or "") or None)
            except (OSError, ssl.SSLError) as exc:
                raise StartupError(f"LLHLS Publisher: could not load the TLS certificate "
                                   f"{tls.cert_path}: {exc}") from None
            contexts.append((names, ctx))
        default = contexts[0][1]
        if len(contexts) > 1:
            def rank(name: str, server_name: str) -> int:
                name = name.strip().lower()
                if name == server_name.lower():
                    return 0
                if not host_matches(name, server_name):
                    return 3
                return 2 if name == "*" else 1

            def by_sni(sslobj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
                if server_name:
                    best = min(((min((rank(n, server_name) for n in names), default=3), i)
                                for i, (names, _c) in enumerate(contexts)))
                    if best[0] < 3:
                        sslobj.context = contexts[best[1]][1]
            default.sni_callback = by_sni
        return default

    async def start(self) -> None:
        from ome.net import listen_hosts
        port = self.bind.port.port if self.bind.port is not None else None
        tls_port = self.bind.tls_port.port if self.bind.tls_port is not None else None
        if port is None and tls_port is None:
            log.info("LLHLS Publisher: Server is disabled - No port is configured")
            return
        context = self._ssl_context() if tls_port is not None else None
        # The plain port is served by the native edge (a C thread answering stored answers);
        # OME_MEDIA_EDGE=python serves it from http1.py on the event loop instead (A/B runs).
        native = port is not None and os.environ.get("OME_MEDIA_EDGE", "native") != "python"
        if native:
            self._edge_server = EdgeServer(self._http.handle)
            self._http.edge = LlhlsEdge(self._edge_server, self._http)
        if tls_port is not None or not native:
            self._http_server = HttpServer(self._http.handle)
        hosts = listen_hosts(list(getattr(self.server.config, "ip", None) or []))
        for number, ssl_context in ((port, None), (tls_port, context)):
            if number is None:
                continue
            server: Any = self._edge_server if ssl_context is None and native else self._http_server
            for host in hosts:
                try:
                    await server.listen(host, number, ssl=ssl_context)
                except OSError as exc:
                    await self.stop()
                    raise StartupError(f"LLHLS Publisher could not listen on {host}:{number}: {exc}") from None
            self.ports.append(number)
            log.info("LLHLS Publisher listening on %s port %d%s", ", ".join(hosts), number,
                     " (TLS)" if ssl_context is not None else "")

    async def stop(self) -> None:
        for s in list(self.streams.values()):
            s.remove()
        if self._http_server is not None:
            await self._http_server.close()
            self._http_server = None
        if self._edge_server is not None:
            await self._edge_server.close()
            self._edge_server = None
            self._http.edge = None
