"""Applications: GET/POST {V}/apps, GET/PATCH/DELETE {A} (reference §4.2)."""
from __future__ import annotations

import logging
from typing import Any

from ome.api.configs import app_config_json, app_json, fill_app_defaults, parse_app
from ome.api.context import Ctx
from ome.api.envelope import Batch, Reply, ok
from ome.api.errors import ApiError, HttpError, internal_error
from ome.api.lifecycle import create_app, delete_app as registry_delete_app, read_only_check, recreate_app, \
    restore_app
from ome.api.persist import persist

log = logging.getLogger(__name__)

# PATCH may not touch these keys, checked in this order.
_PATCH_FORBIDDEN = ("name", "dynamic", "outputProfiles")


async def list_apps(ctx: Ctx) -> Reply:
    assert ctx.vhost is not None
    return ok(list(ctx.vhost.apps))


async def get_app(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    return ok(app_json(ctx.app))


async def post_apps(ctx: Ctx) -> Reply:
    vhost = ctx.vhost
    assert vhost is not None
    read_only_check(vhost)
    if not isinstance(ctx.body, list):
        raise HttpError(400, "Request body must be an array")
    # Fix: validate every item first; a config error in any item creates nothing.
    configs = [parse_app(fill_app_defaults(item)) for item in ctx.body]

    registry = ctx.server.registry
    batch = Batch()
    for config in configs:
        try:
            app = await create_app(registry, vhost, config)

            async def undo(app: Any = app) -> None:
                if vhost.apps.get(app.name) is app:
                    await registry.delete_app(app)

            source = app_config_json(app)
            await persist(ctx.server, lambda store, n=app.name, s=source: store.put_app(vhost.name, n, s), undo)
            batch.success(app_json(app))
        except ApiError as exc:
            batch.failure(exc)
        except Exception:
            log.exception("creating an application failed")
            batch.failure(internal_error())
    return batch.reply()


async def patch_app(ctx: Ctx) -> Reply:
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    read_only_check(vhost)
    body = ctx.body
    if not isinstance(body, dict):
        raise HttpError(400, "Request body must be an object")
    for key in _PATCH_FORBIDDEN:
        if key in body:
            raise HttpError(400, f"Cannot change [{key}] using this API")

    merged = app_config_json(app)
    merge_json(body, merged)
    config = parse_app(merged)

    registry = ctx.server.registry
    old_config = app.config
    new_app = await recreate_app(registry, app, config)

    async def undo() -> None:
        if vhost.apps.get(new_app.name) is new_app:
            await registry.recreate_app(new_app, old_config)

    source = app_config_json(new_app)
    await persist(ctx.server, lambda store: store.put_app(vhost.name, new_app.name, source), undo)
    return ok(app_json(new_app))


async def delete_app(ctx: Ctx) -> Reply:
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    read_only_check(vhost)
    registry = ctx.server.registry
    position = list(vhost.apps).index(app.name)
    await registry_delete_app(registry, app)

    async def undo() -> None:
        if app.name not in vhost.apps:
            await restore_app(registry, vhost, app.name, app.config, app.dynamic, position)

    await persist(ctx.server, lambda store: store.delete_app(vhost.name, app.name), undo)
    return ok()


def merge_json(patch: dict[str, Any], target: dict[str, Any]) -> None:
    """OME's OverwriteJson: objects merge recursively; scalars, arrays and null replace.

    A null leaf removes the setting (OME parses null as absent, so GET no longer shows it).
    """
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_json(value, target[key])
        else:
            target[key] = _without_nulls(value)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value
