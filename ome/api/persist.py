"""Persistence hooks: every successful API change is written to `server.store` after the
in-memory change succeeded (reference §6.2). When the store cannot take it the caller undoes
its change and answers 503 `[HTTP] Could not store the API data: storage unavailable (503)`.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ome.api.errors import storage_unavailable

log = logging.getLogger(__name__)


def _storage_unavailable_type() -> type[BaseException]:
    try:
        from ome.storage import StorageUnavailable  # type: ignore[attr-defined]
    except ImportError:
        try:
            from ome.storage.store import StorageUnavailable
        except ImportError:  # storage not built: nothing can be unavailable
            return _NeverRaised
    return StorageUnavailable


class _NeverRaised(Exception):
    pass


async def persist(server: Any, write: Callable[[Any], Awaitable[None]],
                  undo: Callable[[], Awaitable[None]]) -> None:
    """Run `write(store)`; on StorageUnavailable run `undo()` and raise the 503 HttpError."""
    store = getattr(server, "store", None)
    if store is None:
        return
    try:
        await write(store)
    except _storage_unavailable_type() as exc:
        log.warning("storage unavailable, undoing the API change: %s", exc)
        try:
            await undo()
        except Exception:
            log.exception("undoing an API change after a storage failure failed")
        raise storage_unavailable() from None

