"""`open_store(server)`: pick and open the store the config asks for (reference §6.1)."""
from __future__ import annotations

import logging
from typing import Any

from ome.errors import StartupError

from .embedded import EmbeddedRedis, StorageDirError, find_redis_server
from .memory_store import MemoryStore
from .redis_store import RedisStore, redact_url, url_client_factory
from .settings import URL_SCHEMES, StorageSettings, resolve
from .store import Store

log = logging.getLogger(__name__)

LOUD_WARNING = ("*** API storage: no redis-server binary found, so API-created vhosts, apps and output "
                "profiles are kept IN MEMORY ONLY and will NOT survive a restart. Install redis-server, "
                "or set <Managers><API><Storage><Redis><Url>, to persist them. ***")


async def open_store(server: Any, *, startup_timeout: float = 30.0) -> Store:
    """Open the store for `server` (a Server, or its ServerConfig).

    - `<Storage><Enabled>false` -> memory only.
    - `<Storage><Redis><Url>` non-empty -> that Redis; unreachable for `startup_timeout` s -> StartupError.
    - otherwise an embedded redis-server on `<Storage><Path>`. Without an explicit `<Storage>` and no
      way to run one (no binary, data dir not creatable) -> memory only with a loud warning.
    """
    config = getattr(server, "config", server)
    settings = resolve(config)
    if not settings.enabled:
        log.info("API storage disabled (<Storage><Enabled>false): API changes are kept in memory only")
        return MemoryStore("memory only (storage disabled)")
    if settings.url:
        return await _open_external(settings, startup_timeout)
    return await _open_embedded(settings, startup_timeout)


async def _open_external(settings: StorageSettings, startup_timeout: float) -> Store:
    if not settings.url.startswith(URL_SCHEMES):
        raise StartupError(f"Invalid <Storage><Redis><Url> {redact_url(settings.url)!r}: "
                           "expected redis://, rediss:// or unix://")
    try:
        factory = url_client_factory(settings.url)
        factory()   # parse the URL now: a malformed one is a config problem, not an outage
    except (ValueError, TypeError) as exc:
        raise StartupError(f"Invalid <Storage><Redis><Url> {redact_url(settings.url)!r}: {exc}") from None
    store = RedisStore(factory, settings.prefix, description=f"Redis at {redact_url(settings.url)}")
    await store.open(startup_timeout)
    return store


async def _open_embedded(settings: StorageSettings, startup_timeout: float) -> Store:
    binary = find_redis_server()
    if binary is None:
        if settings.explicit:
            raise StartupError("<Managers><API><Storage> is configured but no redis-server binary was found: "
                               "install redis-server, set <Storage><Redis><Url>, or set <Storage><Enabled>false")
        log.warning(LOUD_WARNING)
        return MemoryStore("memory only (no redis-server binary)")
    embedded = EmbeddedRedis(settings.path, binary, ready_timeout=startup_timeout)
    try:
        await embedded.start()
    except StorageDirError as exc:
        if settings.explicit:
            raise
        log.warning("*** API storage: %s, so API-created vhosts, apps and output profiles are kept IN MEMORY "
                    "ONLY and will NOT survive a restart. Add <Managers><API><Storage> to choose a place. ***",
                    exc)
        return MemoryStore("memory only (data dir not usable)")
    store = RedisStore(embedded.client, settings.prefix,
                       description=f"embedded redis-server on {embedded.endpoint}")
    store.embedded = embedded  # type: ignore[attr-defined]   # for tests and diagnostics
    embedded.on_exit = lambda code: store.mark_down(f"embedded redis-server exited with status {code}")
    embedded.on_restart = store.kick
    store.on_close(embedded.stop)
    try:
        await store.open(startup_timeout)
    except BaseException:
        await embedded.stop()
        raise
    return store
