"""Registry operations with OME's error texts and the undo steps the API needs.

The registry does no I/O, so every change here is immediate and can be reverted; the handlers
use that for all-or-nothing batch items and for rolling back when persisting fails.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ome.api.errors import HttpError
from ome.runtime.registry import AppExists, AppNotFound

if TYPE_CHECKING:
    from ome.runtime.registry import Application, Registry, VirtualHost

log = logging.getLogger(__name__)


def read_only_check(vhost: "VirtualHost") -> None:
    if vhost.read_only:
        raise HttpError(403, f"The VirtualHost is read-only: [{vhost.name}]")


async def create_app(registry: "Registry", vhost: "VirtualHost", config: Any, *, name: str | None = None,
                     dynamic: bool = False) -> "Application":
    name = name if name is not None else config.name
    path = f"{vhost.name}/{name}"
    try:
        return await registry.create_app(vhost, config, name=name, dynamic=dynamic)
    except AppExists:
        raise HttpError(409, f"Could not create the application: [{path}] already exists") from None
    except Exception:
        log.exception("creating application %s failed", path)
        raise HttpError(500, f"Failed to create the application: [{path}]") from None


async def delete_app(registry: "Registry", app: "Application") -> None:
    path = f"{app.vhost.name}/{app.name}"
    try:
        await registry.delete_app(app)
    except AppNotFound:
        raise HttpError(404, f"Could not delete the application: [{path}] not exists") from None
    except Exception:
        log.exception("deleting application %s failed", path)
        raise HttpError(500, f"Failed to delete the application: [{path}]") from None


async def recreate_app(registry: "Registry", app: "Application", config: Any) -> "Application":
    """Delete and re-create `app` with `config`; on failure the registry brings the old app back."""
    path = f"{app.vhost.name}/{app.name}"
    try:
        return await registry.recreate_app(app, config)
    except AppNotFound:
        raise HttpError(404, f"Could not delete the application: [{path}] not exists") from None
    except AppExists:
        raise HttpError(409, f"Could not create the application: [{path}] already exists") from None
    except Exception:
        log.exception("re-creating application %s failed", path)
        raise HttpError(500, f"Failed to create the application: [{path}]") from None


async def restore_app(registry: "Registry", vhost: "VirtualHost", name: str, config: Any, dynamic: bool,
                      position: int) -> "Application":
    """Bring a deleted app back at its old listing position (undo of a DELETE)."""
    app = await registry.create_app(vhost, config, name=name, dynamic=dynamic)
    move_to(vhost.apps, name, position)
    return app


def move_to(d: dict[str, Any], key: str, position: int) -> None:
    items = list(d.items())
    index = next(i for i, (k, _) in enumerate(items) if k == key)
    items.insert(min(position, len(items) - 1), items.pop(index))
    d.clear()
    d.update(items)
