"""The server process: config -> registry -> storage restore -> listeners.

Start order follows OME plus our persistence: Server.xml vhosts and apps
first, then API-created state restored from Redis, and only then do the
listeners (API, providers, publishers) open, so no client ever sees a
half-restored server.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from ome.config import ServerConfig
from ome.runtime import Registry

log = logging.getLogger(__name__)


class Server:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.registry = Registry()
        self.store: Any = None            # ome.storage.Store once started
        self.api: Any = None              # ome.api.ApiServer when the API is enabled
        self._listeners: list[Any] = []   # provider/publisher servers: start()/stop()
        self._stopped = asyncio.Event()
        self.llhls: Any = None            # ome.publishers.llhls.LlhlsPublisherModule when bound
        from ome.publishers import install_publishers
        install_publishers(self)

    def add_listener(self, listener: Any) -> None:
        """Register a provider/publisher server; it is started after restore."""
        self._listeners.append(listener)

    async def start(self) -> None:
        await self._load_static_config()
        from ome.providers import add_listeners as add_provider_listeners
        add_provider_listeners(self)
        if self.api_enabled():
            from ome.storage import open_store, restore
            self.store = await open_store(self.config)
            await restore(self, self.store)
            from ome.api import ApiServer
            self.api = ApiServer(self)
            await self.api.start()
        else:
            log.info("API Server is disabled")
        for listener in self._listeners:
            await listener.start()
        log.info("server started")

    async def stop(self) -> None:
        for listener in reversed(self._listeners):
            try:
                await listener.stop()
            except Exception:
                log.exception("stopping %r", listener)
        if self.api is not None:
            await self.api.stop()
        for vh in list(self.registry.vhosts.values()):
            for app in list(vh.apps.values()):
                await self.registry.delete_app(app)
        if self.store is not None:
            await self.store.close()
        self._stopped.set()
        log.info("server stopped")

    def api_enabled(self) -> bool:
        api = self.config.bind.managers.api if self.config.bind.managers else None
        return api is not None and (api.port is not None or api.tls_port is not None)

    async def _load_static_config(self) -> None:
        """Create the read-only vhosts and apps declared in Server.xml."""
        for vh_conf in self.config.virtual_hosts:
            template = next((a for a in vh_conf.applications if a.name == "*"), None)
            vhost = self.registry.add_vhost(vh_conf.name, vh_conf, read_only=True, template=template)
            for app_conf in vh_conf.applications:
                if app_conf.name != "*":
                    await self.registry.create_app(vhost, app_conf)
