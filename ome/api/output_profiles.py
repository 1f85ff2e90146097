"""Output profiles: GET/POST {A}/outputProfiles, GET/PATCH/DELETE {A}/outputProfiles/{p} (reference §4.3).

Every write edits the app's config JSON and re-creates the app (OME drops its clients);
config errors come back as `[HTTP] [Config] … (400)`.
"""
from __future__ import annotations

import copy
import logging
from typing import Any

from ome.api.configs import app_config_json, find_profile, output_profiles_of, parse_app, profile_name
from ome.api.context import Ctx
from ome.api.envelope import Batch, Reply, ok
from ome.api.errors import ConfigFailure, HttpError
from ome.api.lifecycle import read_only_check, recreate_app
from ome.api.persist import persist

log = logging.getLogger(__name__)

_REQUIRED = 'Invalid request body: "name", "outputStreamName", "encodes" are required'
_TYPES = 'Invalid request body: "name" must be a string and "encodes" must be an object'
_NO_ENCODES = 'Invalid request body: "encodes" must have at least one item (videos array or audios array)'
_EMPTY_ENCODES = ('Invalid request body: "encodes" must have at least one item (videos array or audios array) '
                  'and each item must have at least one item')


def _not_found(ctx: Ctx, name: str) -> HttpError:
    assert ctx.app is not None
    return HttpError(404, f"Could not find the output profile: [{ctx.app.vhost.name}/{ctx.app.name}/{name}]")


async def list_profiles(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    source = app_config_json(ctx.app)
    return ok([profile_name(p) for p in output_profiles_of(source)])


async def get_profile(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    name = ctx.params["profile"]
    source = app_config_json(ctx.app)
    index = find_profile(source, name)
    if index < 0:
        raise _not_found(ctx, name)
    return ok(output_profiles_of(source)[index])


def check_profile_shape(item: Any) -> None:
    """OME's top-level checks of one POSTed profile (they fail the whole request)."""
    if not isinstance(item, dict) or not all(k in item for k in ("name", "outputStreamName", "encodes")):
        raise HttpError(400, _REQUIRED)
    encodes = item["encodes"]
    if not isinstance(item["name"], str) or not isinstance(item["outputStreamName"], str) \
            or not isinstance(encodes, dict):
        raise HttpError(400, _TYPES)
    if "videos" not in encodes and "audios" not in encodes:
        raise HttpError(400, _NO_ENCODES)
    count = 0
    for key in ("videos", "audios"):
        if key in encodes:
            if not isinstance(encodes[key], list):
                raise HttpError(400, f'Invalid request body: "encodes.{key}" must be an array')
            count += len(encodes[key])
    if count == 0:
        raise HttpError(400, _EMPTY_ENCODES)


async def post_profiles(ctx: Ctx) -> Reply:
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    read_only_check(vhost)
    if not isinstance(ctx.body, list):
        raise HttpError(400, "Request body must be an array")

    source = app_config_json(app)
    profiles = output_profiles_of(source)
    results: list[tuple[str, HttpError | None]] = []
    for item in ctx.body:
        check_profile_shape(item)
        name = item["name"]
        if find_profile(source, name) >= 0:
            results.append((name, HttpError(409, f'The output profile "{name}" already exists')))
            continue
        profiles.append(copy.deepcopy(item))
        results.append((name, None))

    batch = Batch()
    if all(error is not None for _, error in results):
        # Fix: nothing was added, so the app is not re-created and no client is dropped.
        for _, error in results:
            assert error is not None
            batch.failure(error)
        return batch.reply()

    new_app = await _apply(ctx, source)
    new_source = app_config_json(new_app)
    for name, error in results:
        if error is not None:
            batch.failure(error)
            continue
        index = find_profile(new_source, name)
        if index < 0:
            batch.failure(HttpError(500, "Output profile is created, but not found"))
        else:
            batch.success(output_profiles_of(new_source)[index])
    return batch.reply()


async def patch_profile(ctx: Ctx) -> Reply:
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    read_only_check(vhost)
    body = ctx.body
    if not isinstance(body, dict):
        raise HttpError(400, "Request body must be an object")
    name = ctx.params["profile"]
    source = app_config_json(app)
    index = find_profile(source, name)
    if index < 0:
        raise _not_found(ctx, name)
    for key in sorted(body):  # JsonCpp iterates members in key order
        if key.lower() == "name":
            raise HttpError(400, f"The {key} entry cannot be specified in the modification")
    definition = copy.deepcopy(body)
    definition["name"] = name   # PATCH replaces the whole profile (Copy), keeping its name
    output_profiles_of(source)[index] = definition

    new_app = await _apply(ctx, source, must_have=name,
                           missing=HttpError(500, "Output profile is modified, but not found"))
    new_source = app_config_json(new_app)
    return ok(output_profiles_of(new_source)[find_profile(new_source, name)])


async def delete_profile(ctx: Ctx) -> Reply:
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    read_only_check(vhost)
    name = ctx.params["profile"]
    source = app_config_json(app)
    index = find_profile(source, name)
    if index < 0:
        raise _not_found(ctx, name)
    try:
        del output_profiles_of(source)[index]
    except Exception:
        raise HttpError(403, "Could not delete output profile") from None
    await _apply(ctx, source)
    return ok()


async def _apply(ctx: Ctx, source: dict[str, Any], must_have: str | None = None,
                 missing: HttpError | None = None) -> Any:
    """Parse the edited app JSON, re-create the app, persist it; undo everything on a failure.

    With `must_have`, a re-created app lacking that profile is put back to its previous config
    and `missing` is raised (Fix: OME answers 200 with a null response there).
    """
    app, vhost = ctx.app, ctx.vhost
    assert app is not None and vhost is not None
    try:
        config = parse_app(source)
    except ConfigFailure as exc:
        raise exc.as_http() from None
    registry = ctx.server.registry
    old_config = app.config
    new_app = await recreate_app(registry, app, config)

    async def undo() -> None:
        if vhost.apps.get(new_app.name) is new_app:
            await registry.recreate_app(new_app, old_config)

    if must_have is not None and find_profile(app_config_json(new_app), must_have) < 0:
        await undo()
        assert missing is not None
        raise missing
    stored = app_config_json(new_app)
    await persist(ctx.server, lambda store: store.put_app(vhost.name, new_app.name, stored), undo)
    ctx.app = new_app
    return new_app
