"""Scheduled and multiplex channels: {A}/scheduledChannels[/{s}], {A}/multiplexChannels[/{s}] (reference §4.8).

The files and their parsers belong to the Schedule/Multiplex providers (server.schedules,
server.multiplexes, see ome.api.services); this module does OME's checks around them.
"""
from __future__ import annotations

from typing import Any

from ome.api import services
from ome.api.configs import has_provider
from ome.api.context import Ctx, is_input_stream
from ome.api.envelope import Reply, ok
from ome.api.errors import HttpError, StatusOnly


def _service(ctx: Ctx, attr: str, text: str) -> Any:
    service = getattr(ctx.server, attr, None)
    if service is None:
        raise HttpError(500, text)
    return service


def _schedules(ctx: Ctx) -> Any:
    return _service(ctx, "schedules", "Could not get the scheduled provider")


def _multiplexes(ctx: Ctx) -> Any:
    return _service(ctx, "multiplexes", "Could not get the multiplex provider")


def _has_schedule(ctx: Ctx) -> bool:
    assert ctx.app is not None
    return has_provider(ctx.app.config, "schedule", "schedule")


def _has_multiplex(ctx: Ctx) -> bool:
    assert ctx.app is not None
    return has_provider(ctx.app.config, "multiplex", "multiplex")


# -- scheduled ------------------------------------------------------------------------------

async def list_scheduled(ctx: Ctx) -> Reply:
    assert ctx.app is not None
    return ok([name for name, s in ctx.app.streams.items()
               if s.source_type == "Scheduled" and is_input_stream(s)])


async def create_scheduled(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, dict):
        raise HttpError(400, "Invalid request body")
    if not _has_schedule(ctx):
        raise StatusOnly(403)
    await services.call(_schedules(ctx).create, ctx.app, ctx.body)
    return ok(status=201)


async def get_scheduled(ctx: Ctx) -> Reply:
    assert ctx.stream is not None
    return ok(await services.call(_schedules(ctx).get, ctx.app, ctx.stream.name))


def _require_scheduled(ctx: Ctx) -> None:
    assert ctx.stream is not None
    if ctx.stream.source_type != "Scheduled":
        raise HttpError(400, "Stream is not a scheduled stream")


async def patch_scheduled(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, dict):
        raise HttpError(400, "Invalid request body")
    _require_scheduled(ctx)
    if "stream" in ctx.body:
        raise HttpError(400, "Stream object could not be patched")
    service = _schedules(ctx)
    if not _has_schedule(ctx):
        raise StatusOnly(403)
    assert ctx.stream is not None
    await services.call(service.patch, ctx.app, ctx.stream.name, ctx.body)
    return ok(status=201)


async def delete_scheduled(ctx: Ctx) -> Reply:
    _require_scheduled(ctx)
    if not _has_schedule(ctx):
        raise StatusOnly(403)
    assert ctx.stream is not None
    await services.call(_schedules(ctx).delete, ctx.app, ctx.stream.name)
    return ok()


# -- multiplex ------------------------------------------------------------------------------

def _multiplex_app(ctx: Ctx) -> Any:
    service = _multiplexes(ctx)
    if not _has_multiplex(ctx):
        raise HttpError(404, "Could not get the multiplex application")
    return service


async def list_multiplex(ctx: Ctx) -> Reply:
    service = _multiplex_app(ctx)
    return ok(list(await services.call(service.list, ctx.app)))


async def create_multiplex(ctx: Ctx) -> Reply:
    if not isinstance(ctx.body, dict):
        raise HttpError(400, "Invalid request body")
    if not _has_multiplex(ctx):
        raise StatusOnly(403)
    await services.call(_multiplexes(ctx).create, ctx.app, ctx.body)
    return ok(status=201)


def _channel_name(ctx: Ctx) -> str:
    name = ctx.params["channel"]
    if not name:
        raise HttpError(400, "Invalid stream name")
    return name


async def get_multiplex(ctx: Ctx) -> Reply:
    name = _channel_name(ctx)
    service = _multiplex_app(ctx)
    return ok(await services.call(service.get, ctx.app, name))


async def delete_multiplex(ctx: Ctx) -> Reply:
    name = _channel_name(ctx)
    service = _multiplex_app(ctx)
    await services.call(service.delete, ctx.app, name)
    return ok()
