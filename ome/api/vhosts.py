"""Virtual hosts: GET/POST /v1/vhosts, GET/DELETE /v1/vhosts/{v} (reference §4.1)."""
from __future__ import annotations

import logging
from typing import Any

from ome.api.configs import app_config_json, app_source, parse_vhost, vhost_json
from ome.api.context import Ctx
from ome.api.envelope import Batch, Reply, ok
from ome.api.errors import ApiError, HttpError, internal_error
from ome.api.lifecycle import create_app, move_to, read_only_check
from ome.api.persist import persist

log = logging.getLogger(__name__)


async def list_vhosts(ctx: Ctx) -> Reply:
    return ok(list(ctx.server.registry.vhosts))


async def get_vhost(ctx: Ctx) -> Reply:
    assert ctx.vhost is not None
    return ok(vhost_json(ctx.vhost))


async def post_vhosts(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, list):
        raise HttpError(400, "Request body must be an array")
    batch = Batch()
    for item in ctx.body:
        try:
            batch.success(await _create_vhost(ctx, item))
        except ApiError as exc:
            batch.failure(exc)
        except Exception:
            log.exception("creating a virtual host failed")
            batch.failure(internal_error())
    return batch.reply()


async def _create_vhost(ctx: Ctx, item: Any) -> dict[str, Any]:
    """One batch item, all or nothing: the vhost and all its nested apps, or no trace."""
    registry = ctx.server.registry
    config = parse_vhost(item)
    name = config.name
    if name in registry.vhosts:
        raise HttpError(409, f"The virtual host already exists: [{name}]")
    apps = list(getattr(config, "applications", None) or [])
    template = next((a for a in apps if a.name == "*"), None)
    try:
        vhost = registry.add_vhost(name, config, read_only=False, template=template)
    except Exception:
        log.exception("creating virtual host %s failed", name)
        raise HttpError(400, f"Failed to create the virtual host: [{name}]") from None

    async def undo() -> None:
        if registry.vhosts.get(name) is vhost:
            await registry.delete_vhost(name)

    try:
        for app_config in apps:
            if app_config.name != "*":
                await create_app(registry, vhost, app_config)
    except BaseException:
        await undo()
        raise

    body = vhost_json(vhost)
    stored_apps = [(app.name, app_config_json(app)) for app in vhost.apps.values()]
    template_json = app_source(template) if template is not None else None
    await persist(ctx.server, lambda store: store.put_vhost(name, body, template_json, stored_apps), undo)
    return body


async def delete_vhost(ctx: Ctx) -> Reply:
    vhost = ctx.vhost
    assert vhost is not None
    read_only_check(vhost)
    registry = ctx.server.registry
    name = vhost.name
    position = list(registry.vhosts).index(name)
    saved_apps = [(app.name, app.config, app.dynamic) for app in vhost.apps.values()]
    try:
        await registry.delete_vhost(name)
    except Exception:
        log.exception("deleting virtual host %s failed", name)
        raise HttpError(500, f"Failed to delete the virtual host: [{name}]") from None

    async def undo() -> None:
        restored = registry.add_vhost(name, vhost.config, read_only=False, template=vhost.template)
        move_to(registry.vhosts, name, position)
        for app_name, app_config, dynamic in saved_apps:
            await registry.create_app(restored, app_config, name=app_name, dynamic=dynamic)

    await persist(ctx.server, lambda store: store.delete_vhost(name), undo)
    return ok()
