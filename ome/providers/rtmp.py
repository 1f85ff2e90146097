"""The RTMP provider: a listener on `<Bind><Providers><RTMP><Port>` (every `<Server><IP>`).

URL mapping: `rtmp://host[:port]/{app}/{stream}` -> the vhost whose `<Host><Names>` match
the host (exact, `*`, `*.domain`; first vhost in order wins; no match rejects, as OME),
application `{app}` (query dropped) which must have `<Providers><RTMP>`, stream = the last
path element of the publish name (query dropped). One RtmpSession per connection
(rtmp_session.py); this module owns names, duplicates and registry publish/unpublish.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ome.errors import StartupError
from ome.providers.rtmp_session import RtmpSession
from ome.net import listen_hosts
from ome.runtime.hosts import host_matches

if TYPE_CHECKING:
    from ome.runtime.registry import Application, VirtualHost

log = logging.getLogger("ome.providers.rtmp")


class RtmpProvider:
    name = "rtmp"

    def __init__(self, server: Any, port: int) -> None:
        self.server = server
        self.port = port
        self.ertmp_enabled = bool(server.config.modules.ertmp.enable)
        self.publish_timeout = 10.0         # seconds from connection to publish
        self.ports: list[int] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._sessions: set[RtmpSession] = set()
        self._claims: dict[tuple["Application", str], RtmpSession] = {}

    # -- listener ------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        hosts = listen_hosts(list(self.server.config.ip or []))
        for host in hosts:
            try:
                srv = await loop.create_server(lambda: RtmpSession(self), host, self.port, reuse_address=True)
            except OSError as exc:
                await self.stop()
                raise StartupError(f"RTMP Provider could not listen on {host}:{self.port}: {exc}") from None
            self._servers.append(srv)
        self.ports.append(self.port)
        log.info("RTMP Provider listening on %s port %d%s", ", ".join(hosts), self.port,
                 " (Enhanced RTMP on)" if self.ertmp_enabled else "")

    async def stop(self) -> None:
        for srv in self._servers:
            srv.close()
        for session in list(self._sessions):
            session.abort()
        for srv in self._servers:
            try:
                await asyncio.wait_for(srv.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass
        self._servers.clear()

    def session_opened(self, session: RtmpSession) -> None:
        self._sessions.add(session)

    def session_closed(self, session: RtmpSession) -> None:
        self._sessions.discard(session)

    # -- names -----------------------------------------------------------------------------
    def _vhost_for(self, host: str) -> "VirtualHost | None":
        for vhost in self.server.registry.vhosts.values():
            names = vhost.config.host.names if vhost.config.host is not None else []
            if any(host_matches(n, host) for n in names):
                return vhost
        return None

    def resolve(self, tc_url: str, app_field: str) -> tuple["Application | None", str]:
        """(app, "") or (None, why) for a connect's tcUrl and app."""
        try:
            parts = urlsplit(tc_url) if tc_url else None
            host = (parts.hostname or "") if parts else ""
        except ValueError:
            parts, host = None, ""
        app_name = app_field.split("?", 1)[0].strip("/").split("/", 1)[0]
        if not app_name and parts is not None:
            app_name = parts.path.strip("/").split("/", 1)[0]
        vhost = self._vhost_for(host)
        if vhost is None:
            return None, f"Could not find the virtual host for the domain [{host}] (tcUrl {tc_url!r})"
        app = vhost.apps.get(app_name)
        if app is None:
            return None, f"Could not find the application: [{vhost.name}/{app_name}]"
        if app.config.providers is None or app.config.providers.rtmp is None:
            return None, f"The RTMP provider is not enabled in the application [{vhost.name}/{app_name}]"
        return app, ""

    def event_triggers(self, app: "Application") -> list[tuple[str, Any]]:
        """(AMF data message name, HLSID3v2 config) for each <RTMP><EventGenerator><Event>."""
        rtmp = app.config.providers.rtmp if app.config.providers is not None else None
        if rtmp is None:
            return []
        out = []
        for event in rtmp.event_generator:
            if event.hls_id3v2 is not None and event.trigger:
                out.append((event.trigger.rsplit(":", 1)[-1].strip(), event.hls_id3v2))
        return out

    # -- publish lifecycle -----------------------------------------------------------------
    def claim(self, session: RtmpSession, app: "Application", name: str) -> str | None:
        """Reserve app/name for session at publish time; an error text when refused."""
        key = (app, name)
        holder = self._claims.get(key)
        existing = app.streams.get(name)
        if (holder is not None and holder is not session) or existing is not None:
            rtmp = app.config.providers.rtmp if app.config.providers is not None else None
            if rtmp is None or rtmp.block_duplicate_stream_name:
                return f"the stream [{app.vhost.name}/{app.name}/{name}] is already being published"
            log.info("RTMP %s replaces the publisher of %s/%s/%s (BlockDuplicateStreamName is false)",
                     session.peer, app.vhost.name, app.name, name)
            if holder is not None and holder is not session:
                holder.abort()
            existing = app.streams.get(name)
            if existing is not None:
                self.server.registry.remove_stream(existing)
                asyncio.ensure_future(existing.stop())
        self._claims[key] = session
        return None

    def release(self, session: RtmpSession) -> None:
        if session.app is None or session.stream is None:
            return
        key = (session.app, session.stream.name)
        if self._claims.get(key) is session:
            del self._claims[key]

    def publish(self, session: RtmpSession) -> bool:
        """Put the session's stream (tracks set) into the registry, then its output streams."""
        stream, app = session.stream, session.app
        assert stream is not None and app is not None
        if app.vhost.apps.get(app.name) is not app or self._claims.get((app, stream.name)) is not session:
            return False
        registry = self.server.registry
        registry.add_stream(stream)
        from ome.transcoder import create_outputs
        try:
            create_outputs(registry, stream)
        except Exception:
            log.exception("creating the output streams of %s/%s/%s", app.vhost.name, app.name, stream.name)
        tracks = ", ".join(f"{t.codec} {t.width}x{t.height}" if t.width else
                           f"{t.codec} {t.samplerate} Hz {t.channels} ch" for t in stream.tracks.values())
        log.info("stream created: %s/%s/%s from RTMP %s (%s)", app.vhost.name, app.name, stream.name,
                 session.peer, tracks)
        return True

    def unpublish(self, session: RtmpSession) -> None:
        stream, app = session.stream, session.app
        if stream is None or app is None:
            return
        if app.streams.get(stream.name) is stream:
            self.server.registry.remove_stream(stream)
            log.info("stream deleted: %s/%s/%s", app.vhost.name, app.name, stream.name)
