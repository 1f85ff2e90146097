"""The registry of virtual hosts -> applications -> streams, and app lifecycle.

Providers and publishers plug in as AppModules: the registry tells them when an
application appears or goes away, and they keep their own per-app state. The
registry itself does no I/O, so every change is immediate and can be undone
(the API relies on that to roll back when persisting fails).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ome.runtime.hosts import host_matches, strip_port

if TYPE_CHECKING:  # only needed for annotations
    from ome.config import ApplicationConfig, VirtualHostConfig
    from ome.media import Packet, StreamSink, Track

log = logging.getLogger(__name__)


class VHostExists(Exception):
    pass


class VHostNotFound(Exception):
    pass


class AppExists(Exception):
    pass


class AppNotFound(Exception):
    pass


class AppModule(Protocol):
    """A provider or publisher that keeps per-application state.

    on_app_created may raise to veto the app (the registry then undoes the
    modules already notified); on_app_deleted must not raise.
    """

    name: str

    async def on_app_created(self, app: "Application") -> None: ...

    async def on_app_deleted(self, app: "Application") -> None: ...


class StreamModule(Protocol):
    """A publisher (or the transcoder) that wants to know about streams.

    The registry calls on_stream_created for every input stream and every
    output stream (outputs after their input), and on_stream_deleted in the
    reverse order. Modules attach sinks to the streams they serve.
    """

    name: str

    def on_stream_created(self, stream: "Stream") -> None: ...

    def on_stream_deleted(self, stream: "Stream") -> None: ...


@dataclass(eq=False)
class Stream:
    """A stream of an application: an input (from a provider) or an output
    (built from an OutputProfile, linked to its input by `origin`)."""

    app: "Application"
    name: str
    source_type: str                      # OME's sourceType: "Rtmp", "SRT", "Transcoder", ...
    source_url: str | None = None
    created_time: float = field(default_factory=time.time)
    origin: "Stream | None" = None        # set on output streams
    outputs: dict[str, "Stream"] = field(default_factory=dict)
    tracks: dict[int, "Track"] = field(default_factory=dict)
    sinks: list["StreamSink"] = field(default_factory=list)
    # Set by the provider: awaited to disconnect the publisher (DELETE stream).
    stop_callback: Any = None
    # Output streams: the profile's playlists as stream info shows them (reference §4.4).
    playlists: list[dict[str, Any]] | None = None
    # Input streams with transcoded outputs: their ome.transcoder.session.TranscodeSession.
    transcoder: Any = None

    async def stop(self) -> None:
        if self.stop_callback is not None:
            await self.stop_callback()

    # -- media fan-out (the provider calls these; sinks receive them) --------
    def add_sink(self, sink: "StreamSink") -> None:
        self.sinks.append(sink)
        if self.tracks:
            sink.on_tracks(self)

    def remove_sink(self, sink: "StreamSink") -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def set_tracks(self, tracks: "list[Track]") -> None:
        self.tracks = {t.id: t for t in tracks}
        for sink in list(self.sinks):
            sink.on_tracks(self)

    def write(self, packet: "Packet") -> None:
        for sink in self.sinks:
            sink.on_packet(self, packet)

    def end(self) -> None:
        for sink in list(self.sinks):
            sink.on_end(self)


@dataclass(eq=False)
class Application:
    vhost: "VirtualHost"
    name: str
    config: "ApplicationConfig"
    dynamic: bool = False
    streams: dict[str, Stream] = field(default_factory=dict)
    created_time: float = field(default_factory=time.time)
    # True while recreate_app replaces this app: modules may hand their per-app state (record
    # and push tasks) over to the app created next under the same name.
    replaced: bool = False

    @property
    def key(self) -> str:
        """OME's internal app key, '#vhost#app' with '#' in names turned to '_'."""
        return f"#{self.vhost.name.replace('#', '_')}#{self.name.replace('#', '_')}"


@dataclass(eq=False)
class VirtualHost:
    name: str
    config: "VirtualHostConfig"
    read_only: bool                       # declared in Server.xml
    template: "ApplicationConfig | None" = None   # the <Name>*</Name> app
    apps: dict[str, Application] = field(default_factory=dict)   # creation order
    created_time: float = field(default_factory=time.time)


class Registry:
    def __init__(self) -> None:
        self.vhosts: dict[str, VirtualHost] = {}  # Server.xml order, then creation order
        self._by_host: dict[str, list[VirtualHost]] = {}   # vhosts_for_host cache (reset on vhost changes)
        self._modules: list[AppModule] = []
        self._stream_modules: list[StreamModule] = []

    # -- modules ---------------------------------------------------------
    def add_module(self, module: AppModule) -> None:
        self._modules.append(module)

    def add_stream_module(self, module: StreamModule) -> None:
        self._stream_modules.append(module)

    # -- streams -----------------------------------------------------------
    def add_stream(self, stream: Stream) -> None:
        """Publish an input stream (provider) or an output stream (origin set)."""
        if stream.origin is None:
            stream.app.streams[stream.name] = stream
        else:
            stream.origin.outputs[stream.name] = stream
        for module in self._stream_modules:
            module.on_stream_created(stream)

    def remove_stream(self, stream: Stream) -> None:
        """Unpublish a stream; an input takes its outputs with it."""
        for output in list(stream.outputs.values()):
            self.remove_stream(output)
        for module in reversed(self._stream_modules):
            try:
                module.on_stream_deleted(stream)
            except Exception:
                log.exception("module %s failed to release stream %s", module.name, stream.name)
        stream.end()
        if stream.origin is None:
            if stream.app.streams.get(stream.name) is stream:
                del stream.app.streams[stream.name]
        else:
            stream.origin.outputs.pop(stream.name, None)

    # -- lookups ---------------------------------------------------------
    def vhost(self, name: str) -> VirtualHost:
        try:
            return self.vhosts[name]
        except KeyError:
            raise VHostNotFound(name) from None

    def app(self, vhost: str, name: str) -> Application:
        try:
            return self.vhost(vhost).apps[name]
        except KeyError:
            raise AppNotFound(f"{vhost}/{name}") from None

    # -- virtual hosts -----------------------------------------------------
    def vhosts_for_host(self, host: str | None) -> list[VirtualHost]:
        """The vhosts whose `<Host><Names>` match a client's host name (a `:port` suffix is
        ignored), in Server.xml then creation order; every vhost when the client named none."""
        if not host:
            return list(self.vhosts.values())
        found = self._by_host.get(host)
        if found is None:
            name = strip_port(host)
            found = [vh for vh in self.vhosts.values()
                     if any(host_matches(n, name) for n in (vh.config.host.names if vh.config.host else []))]
            if len(self._by_host) > 1024:        # clients choose Host headers: keep the cache bounded
                self._by_host.clear()
            self._by_host[host] = found
        return found

    def add_vhost(self, name: str, config: "VirtualHostConfig", *, read_only: bool,
                  template: "ApplicationConfig | None" = None) -> VirtualHost:
        """Add an empty vhost; its apps are created with create_app()."""
        if name in self.vhosts:
            raise VHostExists(name)
        vh = VirtualHost(name=name, config=config, read_only=read_only, template=template)
        self.vhosts[name] = vh
        self._by_host.clear()
        return vh

    async def delete_vhost(self, name: str) -> VirtualHost:
        vh = self.vhost(name)
        for app in list(vh.apps.values()):
            await self.delete_app(app)
        del self.vhosts[name]
        self._by_host.clear()
        return vh

    # -- applications ------------------------------------------------------
    async def create_app(self, vhost: VirtualHost, config: "ApplicationConfig", *,
                         name: str | None = None, dynamic: bool = False) -> Application:
        name = name if name is not None else config.name
        if name in vhost.apps:
            raise AppExists(f"{vhost.name}/{name}")
        app = Application(vhost=vhost, name=name, config=config, dynamic=dynamic)
        notified: list[AppModule] = []
        try:
            for module in self._modules:
                await module.on_app_created(app)
                notified.append(module)
        except BaseException:
            for module in reversed(notified):
                await self._notify_deleted(module, app)
            raise
        vhost.apps[name] = app
        log.info("application created: %s/%s", vhost.name, name)
        return app

    async def delete_app(self, app: Application) -> None:
        if app.vhost.apps.get(app.name) is not app:
            raise AppNotFound(f"{app.vhost.name}/{app.name}")
        del app.vhost.apps[app.name]
        for stream in list(app.streams.values()):
            try:
                await stream.stop()
            except Exception:
                log.exception("stopping stream %s/%s", app.name, stream.name)
        for module in reversed(self._modules):
            await self._notify_deleted(module, app)
        log.info("application deleted: %s/%s", app.vhost.name, app.name)

    async def recreate_app(self, app: Application, config: "ApplicationConfig") -> Application:
        """Replace an app by one built from `config` (OME drops its clients).

        When the new config cannot be brought up the previous app is brought
        back with its old config and the error is raised.
        """
        vhost, old_config, position = app.vhost, app.config, list(app.vhost.apps).index(app.name)
        app.replaced = True
        await self.delete_app(app)
        try:
            new = await self.create_app(vhost, config, name=app.name, dynamic=app.dynamic)
        except BaseException:
            await self.create_app(vhost, old_config, name=app.name, dynamic=app.dynamic)
            _move_to(vhost.apps, app.name, position)
            raise
        _move_to(vhost.apps, app.name, position)
        return new

    async def _notify_deleted(self, module: AppModule, app: Application) -> None:
        try:
            await module.on_app_deleted(app)
        except Exception:
            log.exception("module %s failed to release %s/%s", module.name, app.vhost.name, app.name)


def _move_to(d: dict[str, Any], key: str, position: int) -> None:
    """Keep listing order stable across a re-create (GET .../apps)."""
    items = list(d.items())
    idx = next(i for i, (k, _) in enumerate(items) if k == key)
    items.insert(position, items.pop(idx))
    d.clear()
    d.update(items)
